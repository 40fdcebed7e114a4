// ip-whitelist-entry/-file and ip-blacklist-entry/-file (spec §2.4 steps 10–11, §4.1).
// Errata 1: the IP blacklist also runs for the unknown address 0.0.0.0.
import { matchIpEntry } from '../match/ip';
import { searchEntriesThenFiles } from '../lists/read';
import { makeRejection } from '../session/rejections';
import { ALLOW, CONTINUE, reject, type Filter, type FilterInput } from './types';
import { hitDetail, listLog } from './common';

function search(input: FilterInput, entries: readonly string[], files: readonly string[]) {
  const client = { ip: input.facts.ip, rdns: input.facts.rdns, remoteInfo: input.facts.remoteInfo };
  return searchEntriesThenFiles(entries, files, (e) => matchIpEntry(e, client), listLog(input.log));
}

export const ipWhitelist: Filter = {
  name: 'ip-whitelist',
  stage: 'connect',
  kind: 'whitelist',
  enabled: (o) => o['ip-whitelist-entry'].length > 0 || o['ip-whitelist-file'].length > 0,
  run(input) {
    const hit = search(input, input.o['ip-whitelist-entry'], input.o['ip-whitelist-file']);
    if (!hit) return CONTINUE;
    input.log.filter('FILTER_WHITELIST_IP', [['ip', input.facts.ip], hitDetail(hit).field]);
    return ALLOW;
  },
};

export const ipBlacklist: Filter = {
  name: 'ip-blacklist',
  stage: 'connect',
  kind: 'blacklist',
  enabled: (o) => o['ip-blacklist-entry'].length > 0 || o['ip-blacklist-file'].length > 0,
  run(input) {
    const hit = search(input, input.o['ip-blacklist-entry'], input.o['ip-blacklist-file']);
    if (!hit) return CONTINUE;
    const d = hitDetail(hit);
    input.log.filter('FILTER_BLACKLIST_IP', [['ip', input.facts.ip], d.field]);
    return reject(makeRejection('blacklistIp', input.o, d.reason, 'ip-blacklist'));
  },
};
