// DNS list filters (spec §2.4 steps 15–18 and MAIL FROM steps 3/5, §5.6): dns-whitelist (RWL),
// rhs-whitelist, dns-blacklist (RBL) and rhs-blacklist. The rhs-* lists run twice: at connect on the
// rDNS name, and at MAIL FROM on the sender domain.
//
// Every zone of every list is asked in prefetch(), so the whole stage costs one DNS round trip; run()
// awaits the memoised answers and takes the first listed zone in configured order, as spamdyke does.
// levee differences (documented in docs/filters/dns-lists.md): a zone that does not answer, or answers
// with an error code (127.255.255.0/24) or an address outside 127.0.0.0/8, never rejects; it is logged
// as an error once per connection. A `zone=filter` entry only counts answers that pass the filter.
import { readListLines } from '../lists/read';
import { parseRblZoneEntry, rblReplySuffix, type RblResult, type RblZone } from '../dns';
import { makeRejection, type RejectionKey } from '../session/rejections';
import type { OptionValues } from '../options/table';
import { ALLOW, CONTINUE, reject, type Filter, type FilterInput, type Stage, type Verdict } from './types';
import { listLog } from './common';

type ListOption = 'dns-whitelist' | 'dns-blacklist' | 'rhs-whitelist' | 'rhs-blacklist';

/** The zones of one list: entries first, then each file's lines (list-file rules), in order. */
export function zonesOf(input: FilterInput, list: ListOption): RblZone[] {
  const entries = input.o[`${list}-entry`];
  const files = input.o[`${list}-file`];
  const zones: RblZone[] = [];
  const bad = (text: string, where: string): void =>
    input.log.error(`invalid ${list} zone ${JSON.stringify(text)} ${where}: ignored`);
  for (const entry of entries) {
    if (entry === '') continue;
    const zone = parseRblZoneEntry(entry);
    if (zone) zones.push(zone);
    else bad(entry, 'on the command line or in a configuration file');
  }
  for (const file of files) {
    for (const { text, line } of readListLines(file, listLog(input.log)) ?? []) {
      const zone = parseRblZoneEntry(text);
      if (zone) zones.push(zone);
      else bad(text, `in ${file}(${line})`);
    }
  }
  return zones;
}

/** The zones, read once per connection and configuration (config-dir may change the options). */
function zonesMemo(input: FilterInput, list: ListOption): Promise<RblZone[]> {
  const key = `zones:${list}:${JSON.stringify([input.o[`${list}-entry`], input.o[`${list}-file`]])}`;
  return input.memo(key, () => Promise.resolve(zonesOf(input, list)));
}

const zoneKey = (zone: RblZone): string => `${zone.zone}=${zone.filter?.text ?? ''}`;

type Lookup = { kind: 'ip'; ip: string } | { kind: 'name'; name: string };

function lookupOne(input: FilterInput, what: Lookup, zone: RblZone): Promise<RblResult> {
  if (what.kind === 'ip')
    return input.memo(`rbl:${what.ip}:${zoneKey(zone)}`, () => input.dns().rbl(what.ip, zone));
  return input.memo(`rhsbl:${what.name}:${zoneKey(zone)}`, () => input.dns().rhsbl(what.name, zone));
}

/** Starts every zone's lookup; the answers in zone order. */
async function lookupAll(input: FilterInput, list: ListOption, what: Lookup): Promise<RblResult[]> {
  const zones = await zonesMemo(input, list);
  return Promise.all(zones.map((zone) => lookupOne(input, what, zone)));
}

/** Logs `message` once per connection under `key`, however often the filter runs (config-dir). */
function logOnce(input: FilterInput, key: string, message: string): void {
  void input.memo(`logged:${key}`, () => {
    input.log.error(message);
    return Promise.resolve(true);
  });
}

/** Zone errors and lookups that got no answer: logged, never a listing. */
function reportProblems(input: FilterInput, list: ListOption, subject: string, r: RblResult): void {
  if (r.zoneError) logOnce(input, `zone:${list}:${zoneKey(r.zone)}`, `${list} ${r.zoneError}`);
  if (!r.listed && r.failure && r.failure !== 'nxdomain' && r.failure !== 'nodata') {
    logOnce(
      input,
      `failure:${list}:${subject}:${zoneKey(r.zone)}`,
      `${list}: no answer from ${r.zone.displayZone} for ${subject} (${r.failure}); not treated as a listing`,
    );
  }
}

/** The first listed zone in configured order, after logging problems with the others. */
async function firstListed(input: FilterInput, list: ListOption, what: Lookup): Promise<RblResult | null> {
  const subject = what.kind === 'ip' ? what.ip : what.name;
  const results = await lookupAll(input, list, what);
  for (const r of results) reportProblems(input, list, subject, r);
  return results.find((r) => r.listed) ?? null;
}

const listConfigured = (o: OptionValues, list: ListOption): boolean =>
  o[`${list}-entry`].length > 0 || o[`${list}-file`].length > 0;

/** RWL/RBL look the client IP up; not for an unknown client or the local host. */
function ipLookup(input: FilterInput): Lookup | null {
  const ip = input.facts.ip;
  return ip === '0.0.0.0' || ip === '127.0.0.1' || ip === '::1' ? null : { kind: 'ip', ip };
}

/** RHSWL/RHSBL at connect look the rDNS name up; not for the local host or a client without rDNS. */
function rdnsLookup(input: FilterInput): Lookup | null {
  const { ip, rdns } = input.facts;
  return ip === '127.0.0.1' || ip === '::1' || rdns === '' ? null : { kind: 'name', name: rdns };
}

/** RHSWL/RHSBL at MAIL FROM look the sender domain up; not for the null sender or a bare user. */
export function senderDomainOf(sender: string | undefined): string {
  const at = (sender ?? '').lastIndexOf('@');
  return at < 0 ? '' : (sender ?? '').slice(at + 1);
}

function senderLookup(input: FilterInput): Lookup | null {
  const domain = senderDomainOf(input.sender);
  return domain === '' ? null : { kind: 'name', name: domain };
}

interface ListFilterSpec {
  name: string;
  stage: Stage;
  list: ListOption;
  subject: (input: FilterInput) => Lookup | null;
  onListed: (input: FilterInput, what: Lookup, r: RblResult) => Verdict;
}

function listFilter(spec: ListFilterSpec): Filter {
  const whitelist = spec.list.endsWith('whitelist');
  return {
    name: spec.name,
    stage: spec.stage,
    kind: whitelist ? 'whitelist' : 'blacklist',
    enabled: (o) => listConfigured(o, spec.list),
    prefetch(input) {
      const what = spec.subject(input);
      if (what) void lookupAll(input, spec.list, what);
    },
    async run(input) {
      const what = spec.subject(input);
      if (!what) return CONTINUE;
      const hit = await firstListed(input, spec.list, what);
      return hit ? spec.onListed(input, what, hit) : CONTINUE;
    },
  };
}

const subjectText = (what: Lookup): string => (what.kind === 'ip' ? what.ip : what.name);

function rejectListed(input: FilterInput, key: RejectionKey, name: string, r: RblResult): Verdict {
  return reject(makeRejection(key, input.o, r.zone.displayZone, name, { suffix: rblReplySuffix(r) }));
}

export const dnsWhitelist: Filter = listFilter({
  name: 'dns-whitelist',
  stage: 'connect',
  list: 'dns-whitelist',
  subject: ipLookup,
  onListed(input, what, r) {
    input.log.filter('FILTER_RWL_MATCH', [
      ['ip', subjectText(what)],
      ['rwl', r.zone.displayZone],
    ]);
    return ALLOW;
  },
});

function rhsWhitelistOn(stage: Stage, subject: (input: FilterInput) => Lookup | null): Filter {
  return listFilter({
    name: 'rhs-whitelist',
    stage,
    list: 'rhs-whitelist',
    subject,
    onListed(input, what, r) {
      input.log.filter('FILTER_RHSWL_MATCH', [
        ['domain', subjectText(what)],
        ['rhswl', r.zone.displayZone],
      ]);
      return ALLOW;
    },
  });
}

function rhsBlacklistOn(stage: Stage, subject: (input: FilterInput) => Lookup | null): Filter {
  return listFilter({
    name: 'rhs-blacklist',
    stage,
    list: 'rhs-blacklist',
    subject,
    onListed(input, what, r) {
      input.log.filter('FILTER_RHSBL_MATCH', [
        ['domain', subjectText(what)],
        ['rhsbl', r.zone.displayZone],
      ]);
      return rejectListed(input, 'rhsblMatch', 'rhs-blacklist', r);
    },
  });
}

export const dnsBlacklist: Filter = listFilter({
  name: 'dns-blacklist',
  stage: 'connect',
  list: 'dns-blacklist',
  subject: ipLookup,
  onListed(input, what, r) {
    input.log.filter('FILTER_RBL_MATCH', [
      ['ip', subjectText(what)],
      ['rbl', r.zone.displayZone],
    ]);
    return rejectListed(input, 'rblMatch', 'dns-blacklist', r);
  },
});

/** rhs-whitelist on the rDNS name (connect, §2.4 step 16). */
export const rhsWhitelistRdns: Filter = rhsWhitelistOn('connect', rdnsLookup);
/** rhs-blacklist on the rDNS name (connect, §2.4 step 18). */
export const rhsBlacklistRdns: Filter = rhsBlacklistOn('connect', rdnsLookup);
/** rhs-whitelist on the sender domain (MAIL FROM step 3: after sender-whitelist). */
export const rhsWhitelistSender: Filter = rhsWhitelistOn('mail', senderLookup);
/** rhs-blacklist on the sender domain (MAIL FROM step 5: after sender-blacklist). */
export const rhsBlacklistSender: Filter = rhsBlacklistOn('mail', senderLookup);
