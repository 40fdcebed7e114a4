// ip-in-rdns-keyword-whitelist/-blacklist (spec §2.4 steps 12–13, §4.4): the client's IP is in its
// rDNS name and every keyword of an entry or file line occurs in the name. The IP test comes first,
// so a name without the IP costs no file reads.
import { isIpInName, matchKeywordEntry } from '../match/ip-in-name';
import { OPEN_KEYWORDS, searchEntriesThenFiles, type ListHit } from '../lists/read';
import { makeRejection } from '../session/rejections';
import type { FilterFields } from '../log/types';
import { ALLOW, CONTINUE, reject, type Filter, type FilterInput } from './types';
import { hitDetail, listLog } from './common';

type KeywordList = 'ip-in-rdns-keyword-whitelist' | 'ip-in-rdns-keyword-blacklist';

function searchKeywords(input: FilterInput, list: KeywordList): ListHit | null {
  const { ip, rdns } = input.facts;
  if (rdns === '' || !isIpInName(ip, rdns)) return null;
  return searchEntriesThenFiles(
    input.o[`${list}-entry`],
    input.o[`${list}-file`],
    (entry) => matchKeywordEntry(entry, ip, rdns),
    listLog(input.log),
    OPEN_KEYWORDS,
  );
}

/** `ip: rdns: keyword: K file: (none)` for an entry, `... file: F(N)` for a file line (spec §3.4). */
function keywordFields(input: FilterInput, hit: ListHit): FilterFields {
  const file = hit.file === undefined ? '(none)' : `${hit.file}(${hit.line})`;
  return [
    ['ip', input.facts.ip],
    ['rdns', input.facts.rdns],
    ['keyword', hit.value],
    ['file', file],
  ];
}

export const ipInRdnsKeywordWhitelist: Filter = {
  name: 'ip-in-rdns-keyword-whitelist',
  stage: 'connect',
  kind: 'whitelist',
  enabled: (o) =>
    o['ip-in-rdns-keyword-whitelist-entry'].length > 0 || o['ip-in-rdns-keyword-whitelist-file'].length > 0,
  run(input) {
    const hit = searchKeywords(input, 'ip-in-rdns-keyword-whitelist');
    if (!hit) return CONTINUE;
    input.log.filter('FILTER_IP_IN_RDNS_WHITELIST', keywordFields(input, hit));
    return ALLOW;
  },
};

export const ipInRdnsKeywordBlacklist: Filter = {
  name: 'ip-in-rdns-keyword-blacklist',
  stage: 'connect',
  kind: 'blacklist',
  enabled: (o) =>
    o['ip-in-rdns-keyword-blacklist-entry'].length > 0 || o['ip-in-rdns-keyword-blacklist-file'].length > 0,
  run(input) {
    const hit = searchKeywords(input, 'ip-in-rdns-keyword-blacklist');
    if (!hit) return CONTINUE;
    input.log.filter('FILTER_IP_IN_RDNS_BLACKLIST', keywordFields(input, hit));
    const reason = hitDetail(hit).reason;
    return reject(makeRejection('ipInRdns', input.o, reason, 'ip-in-rdns-keyword-blacklist'));
  },
};
