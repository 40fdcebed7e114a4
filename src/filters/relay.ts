// Relay control: the "recipient validity" step of spec §2.4 (unqualified recipient, relaying, then
// invalid/unavailable through recipient-validation-command) and the relay grant of §5.1
// (RELAYCLIENT, relay-level, ip-relay-*, rdns-relay-*). It runs for whitelisted and authenticated
// sessions too: whitelisting never grants relaying (spamdyke 5.0).
import { existsSync } from 'node:fs';
import type { OptionValues } from '../options/table';
import { matchIpEntry } from '../match/ip';
import { matchRdnsEntry } from '../match/rdns';
import { searchEntriesThenFiles } from '../lists/read';
import { cdbFindFirst } from '../cdb/file';
import { errnoText, type Logger } from '../log';
import { makeRejection } from '../session/rejections';
import { CONTINUE, reject, type ConnectionFacts, type Filter, type FilterInput, type Verdict } from './types';
import { hitDetail, listLog } from './common';
import { validateRecipient } from './recipient-checks';

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

/** Is any source of local domains configured (or present at qmail's default paths)? */
export function hasRcpthostsSource(o: OptionValues): boolean {
  return rcpthostsFiles(o).length > 0 || morercpthostsFiles(o).length > 0;
}

export type RelayLevel = 'block-all' | 'normal' | 'allow-all';

/** relay-level as spamdyke applies it: unset becomes normal once an rcpthosts source exists. */
export function effectiveRelayLevel(o: OptionValues): RelayLevel | undefined {
  return o['relay-level'] ?? (hasRcpthostsSource(o) ? 'normal' : undefined);
}

// One answer per connection: main.ts asks while building the child's environment and the relay
// filter asks at every RCPT; the FILTER_RELAY_IP / FILTER_RDNS_NAME line is logged once, as spamdyke
// decides this once at connect. Keyed by the connection's facts, so nothing outlives a connection.
const granted = new WeakMap<ConnectionFacts, boolean>();

/**
 * Does levee itself allow this client to relay (§5.1)? Logs what matched (FILTER_RELAY_IP /
 * FILTER_RDNS_NAME at verbose) the first time it is asked for a connection.
 */
export function relayGranted(o: OptionValues, facts: ConnectionFacts, log: Logger): boolean {
  const known = granted.get(facts);
  if (known !== undefined) return known;
  const answer = decideRelayGrant(o, facts, log);
  granted.set(facts, answer);
  return answer;
}

function decideRelayGrant(o: OptionValues, facts: ConnectionFacts, log: Logger): boolean {
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
  for (const cdb of morercpthostsFiles(o)) if (morercpthostsHas(cdb, domain, log)) return true;
  return false;
}

/**
 * morercpthosts.cdb lookup the way qmail-smtpd does it: the domain itself, then each `.parent`
 * suffix (so a `.example.com` key covers subdomains). spamdyke 5.0.1 looks up the exact domain only;
 * the suffix keys are the ones qmail would accept anyway, so levee and qmail agree. A missing or
 * broken file is logged and matches nothing.
 */
export function morercpthostsHas(file: string, domain: string, log: Logger): boolean {
  const keys = [Buffer.from(domain, 'latin1')];
  for (let i = domain.indexOf('.'); i >= 0; i = domain.indexOf('.', i + 1))
    keys.push(Buffer.from(domain.slice(i), 'latin1'));
  try {
    return cdbFindFirst(file, keys) !== null;
  } catch (e) {
    log.error(`unable to search CDB file ${file}: ${errnoText(e)}`);
    return false;
  }
}

/** Splits `user@domain` as the session formats it. */
export function splitAddress(a: string): { user: string; domain: string } {
  const at = a.lastIndexOf('@');
  return at < 0 ? { user: a, domain: '' } : { user: a.slice(0, at), domain: a.slice(at + 1) };
}

/**
 * spamdyke's recipient validation flow (filter_recipient_valid_inner): unqualified → a RELAYCLIENT
 * value skips the local-domain and relaying steps (qmail would append it and accept) → local
 * domain? → relaying → validation command for local recipients.
 */
export const relayControl: Filter = {
  name: 'relay',
  stage: 'rcpt',
  kind: 'recipient',
  overrides: true,
  always: true,
  enabled: () => true,
  async run(input: FilterInput): Promise<Verdict> {
    const o = input.o;
    const { user, domain } = splitAddress(input.recipient ?? '');
    const rc = input.facts.relayClient;
    const authenticated = input.authUser !== '';
    if (!domain && !authenticated) {
      // spamdyke prints this keyword without its argument (quirk 12)
      input.log.filter('FILTER_UNQUALIFIED_RECIPIENT', []);
      return reject(makeRejection('unqualifiedRecipient', o, '', 'relay'));
    }
    if (!rc && !isLocalDomain(o, domain, input.log)) {
      const allowed = rc !== undefined || relayGranted(o, input.facts, input.log);
      if (o['relay-level'] === 'block-all' || (!authenticated && !allowed)) {
        input.log.filter('FILTER_RELAYING', []);
        return reject(makeRejection('relaying', o, '', 'relay'));
      }
      return CONTINUE;
    }
    return validateRecipient(input, domain, user);
  },
};
