// Filters on the client's rDNS name (spec §2.4 steps 2–9 and 14, §4.2–4.4): reject-empty-rdns,
// reject-ip-in-cc-rdns, rdns-whitelist/-blacklist (entries, files, directory trees) and
// reject-unresolvable-rdns.
//
// A PTR lookup that failed temporarily (timeout, SERVFAIL) is not proof that the client has no name:
// levee lets such a client through the empty-rDNS check with a logged note instead of refusing it
// (spamdyke could not tell the two apart).
import { matchRdnsEntry } from '../match/rdns';
import { isIpInCcRdns } from '../match/ip-in-name';
import { searchEntriesThenFiles, searchRdnsDirs } from '../lists/read';
import { makeRejection } from '../session/rejections';
import { isPermanentFailure, type DnsAnswer } from '../dns';
import { ALLOW, CONTINUE, reject, type Filter, type FilterInput } from './types';
import { hitDetail, listLog } from './common';

export const rdnsMissing: Filter = {
  name: 'rdns-missing',
  stage: 'connect',
  kind: 'blacklist',
  enabled: (o) => o['reject-empty-rdns'],
  run(input) {
    const { ip, rdns, rdnsTemporaryFailure } = input.facts;
    if (ip === '0.0.0.0' || rdns !== '') return CONTINUE;
    if (rdnsTemporaryFailure) {
      input.log.verbose(
        `reject-empty-rdns: not applied to ${ip}: its rDNS lookup failed temporarily, which is not a missing name`,
      );
      return CONTINUE;
    }
    input.log.filter('FILTER_RDNS_MISSING', [['ip', ip]]);
    return reject(makeRejection('rdnsMissing', input.o, '', 'rdns-missing'));
  },
};

export const ipInCcRdns: Filter = {
  name: 'ip-in-cc-rdns',
  stage: 'connect',
  kind: 'blacklist',
  enabled: (o) => o['reject-ip-in-cc-rdns'],
  run(input) {
    const { ip, rdns } = input.facts;
    if (rdns === '' || !isIpInCcRdns(ip, rdns)) return CONTINUE;
    input.log.filter('FILTER_IP_IN_CC_RDNS', [
      ['ip', ip],
      ['rdns', rdns],
    ]);
    return reject(makeRejection('ipInCcRdns', input.o, '', 'ip-in-cc-rdns'));
  },
};

type NameList = 'rdns-whitelist' | 'rdns-blacklist';

/** entries, then files, then directory trees: the FILTER field and the traffic-line reason of a hit. */
function searchNameLists(
  input: FilterInput,
  list: NameList,
): { field: readonly [string, string]; reason: string } | null {
  const rdns = input.facts.rdns;
  if (rdns === '') return null;
  const hit = searchEntriesThenFiles(
    input.o[`${list}-entry`],
    input.o[`${list}-file`],
    (entry) => matchRdnsEntry(entry, rdns),
    listLog(input.log),
  );
  if (hit) return hitDetail(hit);
  const dirHit = searchRdnsDirs(input.o[`${list}-dir`], rdns);
  // spamdyke prints the configured directory after `path:`; the traffic line gets the file found
  return dirHit ? { field: ['path', dirHit.dir], reason: dirHit.path } : null;
}

export const rdnsWhitelist: Filter = {
  name: 'rdns-whitelist',
  stage: 'connect',
  kind: 'whitelist',
  enabled: (o) =>
    o['rdns-whitelist-entry'].length > 0 ||
    o['rdns-whitelist-file'].length > 0 ||
    o['rdns-whitelist-dir'].length > 0,
  run(input) {
    const hit = searchNameLists(input, 'rdns-whitelist');
    if (!hit) return CONTINUE;
    input.log.filter('FILTER_WHITELIST_NAME', [
      ['ip', input.facts.ip],
      ['rdns', input.facts.rdns],
      hit.field,
    ]);
    return ALLOW;
  },
};

export const rdnsBlacklist: Filter = {
  name: 'rdns-blacklist',
  stage: 'connect',
  kind: 'blacklist',
  enabled: (o) =>
    o['rdns-blacklist-entry'].length > 0 ||
    o['rdns-blacklist-file'].length > 0 ||
    o['rdns-blacklist-dir'].length > 0,
  run(input) {
    const hit = searchNameLists(input, 'rdns-blacklist');
    if (!hit) return CONTINUE;
    input.log.filter('FILTER_BLACKLIST_NAME', [
      ['ip', input.facts.ip],
      ['rdns', input.facts.rdns],
      hit.field,
    ]);
    return reject(makeRejection('blacklistName', input.o, hit.reason, 'rdns-blacklist'));
  },
};

/**
 * What reject-unresolvable-rdns decides without DNS: names starting with `localhost` pass only for
 * 127.0.0.1 and are refused otherwise (spamdyke's prefix compare); an IPv6 client is not checked,
 * because only A records are asked (spec §5.6) and an IPv6-only host has none.
 */
export function resolvableWithoutDns(ip: string, rdns: string): 'pass' | 'refuse' | 'ask' {
  if (rdns.startsWith('localhost')) return ip === '127.0.0.1' ? 'pass' : 'refuse';
  return ip.includes(':') ? 'pass' : 'ask';
}

function addressOfRdns(input: FilterInput): Promise<DnsAnswer<string[]>> | null {
  const { ip, rdns } = input.facts;
  if (rdns === '' || resolvableWithoutDns(ip, rdns) !== 'ask') return null;
  return input.memo(`a:${rdns}`, () => input.dns().a(rdns));
}

export const unresolvableRdns: Filter = {
  name: 'unresolvable-rdns',
  stage: 'connect',
  kind: 'blacklist',
  enabled: (o) => o['reject-unresolvable-rdns'],
  prefetch(input) {
    void addressOfRdns(input);
  },
  async run(input) {
    const { ip, rdns } = input.facts;
    if (rdns === '') return CONTINUE;
    const pending = addressOfRdns(input);
    if (pending) {
      const a = await pending;
      if (a.ok && a.value.length > 0) return CONTINUE;
      if (!a.ok && !isPermanentFailure(a.failure)) {
        input.log.verbose(
          `reject-unresolvable-rdns: not applied to ${ip}: the address lookup of ${rdns} failed temporarily (${a.failure})`,
        );
        return CONTINUE;
      }
    } else if (resolvableWithoutDns(ip, rdns) === 'pass') return CONTINUE;
    input.log.filter('FILTER_RDNS_RESOLVE', [
      ['ip', ip],
      ['rdns', rdns],
    ]);
    return reject(makeRejection('rdnsResolve', input.o, '', 'unresolvable-rdns'));
  },
};
