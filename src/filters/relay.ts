// Relay control: the "recipient validity" step of spec §2.4 (unqualified recipient, relaying) and
// the relay grant of §5.1 (RELAYCLIENT, relay-level, ip-relay-*, rdns-relay-*). It runs for
// whitelisted and authenticated sessions too: whitelisting never grants relaying (spamdyke 5.0).
import { existsSync } from 'node:fs';
import type { OptionValues } from '../options/table';
import { matchIpEntry } from '../match/ip';
import { matchRdnsEntry } from '../match/rdns';
import { searchEntriesThenFiles } from '../lists/read';
import { makeRejection } from '../session/rejections';
import { CONTINUE, reject, type ConnectionFacts, type Filter, type FilterInput } from './types';
import { hitDetail, listLog } from './common';
import type { Logger } from '../log';

const DEFAULT_RCPTHOSTS = '/var/qmail/control/rcpthosts';
const DEFAULT_MORERCPTHOSTS = '/var/qmail/control/morercpthosts.cdb';

/** qmail-rcpthosts-file, or qmail's own file when it exists and the option is not set. */
export function rcpthostsFiles(o: OptionValues): readonly string[] {
  if (o['qmail-rcpthosts-file'].length) return o['qmail-rcpthosts-file'];
  return existsSync(DEFAULT_RCPTHOSTS) ? [DEFAULT_RCPTHOSTS] : [];
}

export function morercpthostsFiles(o: OptionValues): readonly string[] {
  if (o['qmail-morercpthosts-cdb'].length) return o['qmail-morercpthosts-cdb'];
  return existsSync(DEFAULT_MORERCPTHOSTS) ? [DEFAULT_MORERCPTHOSTS] : [];
}

/**
 * Does levee itself allow this client to relay (§5.1)? `reason` names what matched, for the
 * FILTER_RELAY_IP / FILTER_RDNS_NAME verbose lines.
 */
export function relayGranted(o: OptionValues, facts: ConnectionFacts, log: Logger): boolean {
  if (o['relay-level'] === 'allow-all') return true;
  const ll = listLog(log);
  if (o['ip-relay-entry'].length || o['ip-relay-file'].length) {
    const client = { ip: facts.ip, rdns: facts.rdns, remoteInfo: facts.remoteInfo };
    const hit = searchEntriesThenFiles(
      o['ip-relay-entry'],
      o['ip-relay-file'],
      (e) => matchIpEntry(e, client),
      ll,
    );
    if (hit) {
      log.filter('FILTER_RELAY_IP', [['ip', facts.ip], hitDetail(hit).field]);
      return true;
    }
  }
  if (facts.rdns && (o['rdns-relay-entry'].length || o['rdns-relay-file'].length)) {
    const hit = searchEntriesThenFiles(
      o['rdns-relay-entry'],
      o['rdns-relay-file'],
      (e) => matchRdnsEntry(e, facts.rdns),
      ll,
    );
    if (hit) {
      log.filter('FILTER_RDNS_NAME', [['ip', facts.ip], ['rdns', facts.rdns], hitDetail(hit).field]);
      return true;
    }
  }
  return false;
}

/** Is `domain` one this server accepts mail for (rcpthosts, morercpthosts.cdb)? */
export function isLocalDomain(o: OptionValues, domain: string, log: Logger): boolean {
  if (domain === '') return false;
  const files = rcpthostsFiles(o);
  if (files.length && searchEntriesThenFiles([], files, (e) => matchRdnsEntry(e, domain), listLog(log)))
    return true;
  for (const cdb of morercpthostsFiles(o)) if (cdbHasKey(cdb, domain, log)) return true;
  return false;
}

/** morercpthosts.cdb lookup; filled in by the CDB reader (spec §2.4; issue: envelope filters). */
function cdbHasKey(_file: string, _key: string, _log: Logger): boolean {
  return false;
}

/** Splits `user@domain` as the session formats it. */
function splitAddress(a: string): { user: string; domain: string } {
  const at = a.lastIndexOf('@');
  return at < 0 ? { user: a, domain: '' } : { user: a.slice(0, at), domain: a.slice(at + 1) };
}

export interface RelayState {
  /** RELAYCLIENT set or levee granted relaying */
  relayAllowed: boolean;
}

export const relayControl: Filter = {
  name: 'relay',
  stage: 'rcpt',
  kind: 'recipient',
  overrides: true,
  always: true,
  enabled: () => true,
  run(input: FilterInput) {
    const o = input.o;
    let { user, domain } = splitAddress(input.recipient ?? '');
    // qmail semantics: a RELAYCLIENT value is appended to the recipient (to the domain, or to the
    // user name when there is no domain)
    const rc = input.facts.relayClient;
    if (rc) {
      if (domain) domain += rc.toLowerCase();
      else user += rc.toLowerCase();
    }
    const authenticated = input.authUser !== '';
    if (!domain && !authenticated) {
      input.log.filter('FILTER_UNQUALIFIED_RECIPIENT', [['recipient', user]]);
      return reject(makeRejection('unqualifiedRecipient', o, user, 'relay'));
    }
    if (domain && isLocalDomain(o, domain, input.log)) return CONTINUE;
    const allowed = rc !== undefined || relayGrantedMemo(input);
    if (o['relay-level'] === 'block-all' || (!authenticated && !allowed)) {
      input.log.filter('FILTER_RELAYING', []);
      return reject(makeRejection('relaying', o, '', 'relay'));
    }
    return CONTINUE;
  },
};

function relayGrantedMemo(input: FilterInput): boolean {
  return relayGranted(input.o, input.facts, input.log);
}
