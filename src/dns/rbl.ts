// DNSBL zone entries, answer classification and the reply suffix. Pure.
// Why answers are classified at all: a DNSBL answer is not a boolean. Spamhaus answers
// 127.255.255.252/254/255 when it refuses a query (typo, public resolver, rate limit); treating that
// as a listing rejects every client (shared/research/anchors.md §0 item 1, §6 item 7).
import { normaliseHostName, parseIpv4 } from './names';
import type { DnsFailure } from './types';

/** Per-octet allowed values, postscreen style: `127.0.0.[2..11]`, `127.0.[2;4;6].2`. */
export interface AddrFilter {
  /** four entries, one per octet; each a list of inclusive [low, high] ranges */
  readonly octets: readonly (readonly (readonly [number, number])[])[];
  /** the filter as written, for logs */
  readonly text: string;
}

export interface RblZone {
  /** the zone as queried (lower case, no trailing dot); may contain a DQS key */
  zone: string;
  filter?: AddrFilter;
  /** the zone as shown to clients and in logs: never contains a DQS key */
  displayZone: string;
}

export interface RblResult {
  listed: boolean;
  zone: RblZone;
  /** first TXT string of the listed name, unsanitised; use rblReplySuffix() before showing it */
  txt?: string;
  /** A answers that counted as a listing */
  answers?: string[];
  /** set when the zone answered with an error code or an address outside 127.0.0.0/8 */
  zoneError?: string;
  /** why nothing was found: nxdomain/nodata (not listed) or a temporary failure */
  failure?: DnsFailure;
  /** the query name that was listed, else the first one asked; written with displayZone, so safe to log */
  queried: string;
}

function parseOctetPattern(text: string): [number, number][] | null {
  const octet = (t: string): number | null => (/^\d{1,3}$/.test(t) && Number(t) <= 255 ? Number(t) : null);
  const single = octet(text);
  if (single !== null) return [[single, single]];
  const m = /^\[([0-9.;]+)\]$/.exec(text);
  if (!m) return null;
  const ranges: [number, number][] = [];
  for (const part of m[1].split(';')) {
    const bounds = part.split('..');
    if (bounds.length > 2) return null;
    const low = octet(bounds[0]);
    const high = octet(bounds[bounds.length - 1]);
    if (low === null || high === null || low > high) return null;
    ranges.push([low, high]);
  }
  return ranges;
}

/** `d.d.d.d` where each d is a number or `[a..b;c;...]`; null if malformed. */
export function parseAddrFilter(text: string): AddrFilter | null {
  const parts = text.match(/\[[^\]]*\]|[^.[\]]+/g);
  if (!parts || parts.length !== 4 || parts.join('.') !== text) return null;
  const octets: [number, number][][] = [];
  for (const part of parts) {
    const ranges = parseOctetPattern(part);
    if (!ranges) return null;
    octets.push(ranges);
  }
  return { octets, text };
}

export function addrFilterMatches(filter: AddrFilter, address: string): boolean {
  const octets = parseIpv4(address);
  if (!octets) return false;
  return octets.every((value, i) => filter.octets[i].some(([low, high]) => value >= low && value <= high));
}

/**
 * Data Query Service keys are a long random first label (`<key>.zen.dq.spamhaus.net`); they are secrets
 * that must not reach a client or a log line.
 */
export function displayZoneOf(zone: string): string {
  const labels = zone.split('.');
  if (labels.length >= 3 && /^[a-z0-9]{26,}$/.test(labels[0])) return labels.slice(1).join('.');
  return zone;
}

/** `zone` or `zone=filter` (e.g. `zen.spamhaus.org=127.0.0.[2..11]`); null if malformed. */
export function parseRblZoneEntry(entry: string): RblZone | null {
  const text = entry.trim();
  const eq = text.indexOf('=');
  const zone = normaliseHostName(eq < 0 ? text : text.slice(0, eq));
  if (zone === null) return null;
  if (eq < 0) return { zone, displayZone: displayZoneOf(zone) };
  const filter = parseAddrFilter(text.slice(eq + 1).trim());
  return filter ? { zone, filter, displayZone: displayZoneOf(zone) } : null;
}

export interface AnswerVerdict {
  /** answers that count as a listing */
  listing: string[];
  zoneError?: string;
}

function errorCodeMeaning(address: string): string {
  switch (address) {
    case '127.255.255.252':
      return 'the zone name is misspelt or not served';
    case '127.255.255.254':
      return 'the list refuses queries through this resolver (public/open resolver or unregistered key)';
    case '127.255.255.255':
      return 'the list is rate-limiting this resolver';
    default:
      return 'the list reports a query error';
  }
}

/**
 * Splits A answers into listings and zone errors: an answer in 127.0.0.0/8 outside 127.255.255.0/24 that
 * passes the zone's filter is a listing; 127.255.255.0/24 or anything outside 127.0.0.0/8 is a zone
 * error, never a listing; other 127/8 answers that the filter rejects are ignored.
 */
export function classifyRblAnswers(zone: RblZone, answers: readonly string[]): AnswerVerdict {
  const listing: string[] = [];
  const errors: string[] = [];
  for (const address of answers) {
    const octets = parseIpv4(address);
    if (!octets || octets[0] !== 127) {
      errors.push(
        `${zone.displayZone} answered ${octets ? address : 'a malformed address'}, outside 127.0.0.0/8`,
      );
    } else if (octets[1] === 255 && octets[2] === 255) {
      errors.push(`${zone.displayZone} answered ${address}, an error code: ${errorCodeMeaning(address)}`);
    } else if (!zone.filter || addrFilterMatches(zone.filter, address)) {
      listing.push(address);
    }
  }
  return errors.length
    ? { listing, zoneError: `${errors.join('; ')}; not treated as a listing` }
    : { listing };
}

const MAX_TXT_SHOWN = 200;

/** Printable ASCII only, whitespace runs folded, capped: TXT text comes from the network. */
export function sanitiseDnsText(text: string, max = MAX_TXT_SHOWN): string {
  const clean = text
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  return clean.length > max ? clean.slice(0, max) : clean;
}

/** The text appended to the RBL/RHSBL rejection (spec §3.1 rows 15/16): `<zone>` or `<zone>: <TXT>`. */
export function rblReplySuffix(r: RblResult): string {
  const txt = r.txt === undefined ? '' : sanitiseDnsText(r.txt);
  return txt === '' ? r.zone.displayZone : `${r.zone.displayZone}: ${txt}`;
}
