// Query-name building for PTR / RBL / RHSBL lookups, and the address parsing it needs. Pure.
// Own IPv4/IPv6 parsers on purpose: node's net.isIPv6 compiles a large regex on first use (~6 ms,
// shared/research/perf.md §5), which a per-connection process should not pay for every IPv4 client.
import { isDigit } from '../text';

/** Strict dotted quad: four decimal octets 0..255. */
export function parseIpv4(text: string): number[] | null {
  // by hand, not a regular expression: one array per call (it runs for many list lines and DNS
  // answers at every connection, in V8's interpreter)
  const octets: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : -1;
    if (isDigit(c)) {
      if (++digits > 3) return null;
      value = value * 10 + (c - 48);
      continue;
    }
    if (digits === 0 || value > 255 || (c !== 46 && c !== -1) || octets.length === 4) return null;
    octets.push(value);
    value = 0;
    digits = 0;
  }
  return octets.length === 4 ? octets : null;
}

/** IPv6 text (with `::` and an optional dotted-quad tail, no zone id) -> eight 16-bit groups. */
export function parseIpv6(text: string): number[] | null {
  if (text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return null;
  let body = text;
  const tail: number[] = [];
  if (body.includes('.')) {
    const lastColon = body.lastIndexOf(':');
    const v4 = lastColon < 0 ? null : parseIpv4(body.slice(lastColon + 1));
    if (!v4) return null;
    tail.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    body = body.slice(0, lastColon + 1); // keeps the colon: `::ffff:` / `::` / `1:2:3:4:5:6:`
    if (!body.endsWith('::')) body = body.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
    return groups.map((g) => parseInt(g, 16));
  };
  const head = parseGroups(halves[0]);
  const rest = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (!head || !rest) return null;
  const given = head.length + rest.length + tail.length;
  if (halves.length === 2) {
    if (given > 7) return null;
    return [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail];
  }
  return given === 8 ? [...head, ...tail] : null;
}

export type ParsedIp = { family: 4; octets: number[] } | { family: 6; groups: number[] };

/** Parses a client address; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes IPv4, as lists are keyed on it. */
export function parseIp(text: string): ParsedIp | null {
  const v4 = parseIpv4(text);
  if (v4) return { family: 4, octets: v4 };
  const v6 = parseIpv6(text);
  if (!v6) return null;
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) {
    return { family: 4, octets: [v6[6] >> 8, v6[6] & 255, v6[7] >> 8, v6[7] & 255] };
  }
  return { family: 6, groups: v6 };
}

/** `d.c.b.a` for IPv4, 32 reversed nibbles for IPv6; null when the text is not an address. */
export function reversedIpLabels(ip: string): string | null {
  const parsed = parseIp(ip);
  if (!parsed) return null;
  if (parsed.family === 4) return [...parsed.octets].reverse().join('.');
  const nibbles = parsed.groups.map((g) => g.toString(16).padStart(4, '0')).join('');
  return nibbles.split('').reverse().join('.');
}

/** The PTR query name: `d.c.b.a.in-addr.arpa` or `<32 nibbles>.ip6.arpa`. */
export function ptrQueryName(ip: string): string | null {
  const parsed = parseIp(ip);
  const labels = reversedIpLabels(ip);
  if (!parsed || labels === null) return null;
  return `${labels}.${parsed.family === 4 ? 'in-addr.arpa' : 'ip6.arpa'}`;
}

const MAX_NAME_LENGTH = 253;

/**
 * Lower-cases a host name and strips trailing dots (spamdyke 5.0.0 does the same). Returns null for a
 * name that cannot be queried: empty, too long, an empty or over-long label, or a character outside
 * letters, digits, `-` and `_`. Such names come from the wire (rDNS, sender domains), so no query is sent.
 */
export function normaliseHostName(name: string): string | null {
  const lower = stripTrailingDots(name.toLowerCase());
  if (lower === '' || lower.length > MAX_NAME_LENGTH) return null;
  // label by label, by hand: every rDNS name, sender domain and MX target passes here
  let labelStart = 0;
  for (let i = 0; i <= lower.length; i++) {
    const c = i < lower.length ? lower.charCodeAt(i) : 46;
    if (c === 46) {
      if (i === labelStart || i - labelStart > 63) return null;
      labelStart = i + 1;
    } else if (!isLabelCode(c)) return null;
  }
  return lower;
}

/** a-z, 0-9, `-` and `_` */
const isLabelCode = (c: number): boolean => (c >= 97 && c <= 122) || isDigit(c) || c === 45 || c === 95;

/** `name` without its trailing dots. */
export function stripTrailingDots(name: string): string {
  let end = name.length;
  while (end > 0 && name.charCodeAt(end - 1) === 46) end--;
  return end === name.length ? name : name.slice(0, end);
}

/** At most this many RHSBL names per lookup: a hostile 100-label rDNS name must not cost 100 queries. */
export const MAX_RHSBL_NAMES = 10;

/**
 * RHSBL names for `name`: the name itself, then each parent down to the registered domain (taken as the
 * last two labels, as spamdyke does): `a.mail.example.com` -> `a.mail.example.com`, `mail.example.com`,
 * `example.com`. Deep names keep the full name plus the parents nearest the registered domain.
 */
export function rhsblCandidates(name: string): string[] {
  const labels = name.split('.');
  const names: string[] = [];
  const count = Math.max(1, labels.length - 1);
  for (let i = 0; i < count; i++) names.push(labels.slice(i).join('.'));
  if (names.length <= MAX_RHSBL_NAMES) return names;
  return [names[0], ...names.slice(names.length - (MAX_RHSBL_NAMES - 1))];
}

/** `<labels>.<zone>` if the result is a legal DNS name, else null. */
export function joinQueryName(labels: string, zone: string): string | null {
  const name = `${labels}.${zone}`;
  return name.length <= MAX_NAME_LENGTH ? name : null;
}
