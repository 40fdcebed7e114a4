// tcprules-style IP entries (spec §4.1, quirk 5): ip-*-entry/-file, ip-relay-*, graylist-exception-ip-*.
//
// The IPv4 grammar is spamdyke's, reproduced through its scanf-based parser so the odd cases behave the
// same: `11.22.33.44`, `011.022.033.044`, prefixes (`11.22.33`, `11.22.`), ranges (`11.22.33-44.55`,
// where a range whose end is below its start or above 255 matches anything), trailing garbage that
// silently turns an entry into a prefix, `a.b.c.d/N` and `a.b.c.d/m.m.m.m`, `:instructions` (ignored;
// a leading `:` matches every client), `info@pattern` (TCPREMOTEINFO, case-insensitive) and `=name`
// (rDNS: bare `=`, `=.example.com` anywhere, `=example.com` at the start or after a dot).
//
// levee extension, IPv6 (spamdyke had none):
//   2001:db8::1            one address (any valid RFC 4291 text form; no %zone)
//   2001:db8::/32          a network, prefix length 0..128
//   [2001:db8::1]          the same with brackets; recommended, because `:` also starts the ignored
//   [2001:db8::]/32        tcprules instructions: `[2001:db8::1]:allow` is unambiguous.
//   info@2001:db8::/32     TCPREMOTEINFO prefix as for IPv4
// A bare entry is read as IPv6 when its longest `:`-separated prefix is a valid IPv6 address (or
// address/prefix); the rest is taken as instructions. `::` alone keeps spamdyke's meaning of "leading
// `:` matches everyone". IPv6 entries match only IPv6 clients; a v4-mapped client (`::ffff:a.b.c.d`) is
// an IPv4 client and matches IPv4 entries. A leading `:`, `info@` and `=name` work for IPv6 clients too.
import type { IPv6 } from 'ipaddr.js';
import { asciiLower } from './rdns';
import { parseIpv4 } from '../dns/names';
import { isDigit, isXDigit } from '../text';

// ipaddr.js is loaded on the first IPv6 address or entry only: most connections and most list
// lines are IPv4, and levee starts once per connection (the bundle keeps it external).
type IpaddrModule = typeof import('ipaddr.js');
let ipaddrModule: IpaddrModule | undefined;
function ipaddr(): IpaddrModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (ipaddrModule ??= require('ipaddr.js') as IpaddrModule);
}

export interface ClientFacts {
  ip: string /* normalised: dotted quad or IPv6 text */;
  rdns: string /* '' if none */;
  remoteInfo?: string;
}

type ParsedClient = { kind: 'v4'; octets: readonly number[] } | { kind: 'v6'; addr: IPv6 };

function parseV6(s: string): IPv6 | null {
  if (s.includes('%') || !ipaddr().IPv6.isValid(s)) return null;
  try {
    return ipaddr().IPv6.parse(s);
  } catch {
    return null;
  }
}

/**
 * The client address as levee uses it everywhere: a dotted quad is kept as given (leading zeros
 * included, as spamdyke does), a v4-mapped IPv6 address becomes its dotted quad, any other IPv6 address
 * becomes its canonical lower-case compressed form (RFC 5952). Anything else is null.
 */
export function normalizeClientIp(raw: string): string | null {
  if (parseIpv4(raw)) return raw;
  const v6 = parseV6(raw);
  if (!v6) return null;
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address().toString() : v6.toRFC5952String();
}

// Lists are matched line by line against the same client, so remember the last parse.
let cachedIp: string | null = null;
let cachedClient: ParsedClient | null = null;

function parseClient(ip: string): ParsedClient | null {
  if (ip === cachedIp) return cachedClient;
  let parsed: ParsedClient | null = null;
  const quad = parseIpv4(ip);
  if (quad) parsed = { kind: 'v4', octets: quad };
  else {
    const v6 = parseV6(ip);
    if (v6) {
      parsed = v6.isIPv4MappedAddress()
        ? { kind: 'v4', octets: v6.toIPv4Address().octets }
        : { kind: 'v6', addr: v6 };
    }
  }
  cachedIp = ip;
  cachedClient = parsed;
  return parsed;
}

// ---- IPv6 entries (levee extension) --------------------------------------------------------------

interface V6Pattern {
  addr: IPv6;
  bits: number;
}

function parseV6WithPrefix(text: string): V6Pattern | null {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  let bits = 128;
  if (slash >= 0) {
    const bitsText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bitsText)) return null;
    bits = Number(bitsText);
    if (bits > 128) return null;
  }
  const addr = parseV6(addrText);
  return addr ? { addr, bits } : null;
}

/** Up to 4 hex digits, then a colon: how every IPv6 address starts. */
function startsLikeV6(text: string): boolean {
  const n = Math.min(text.length, 5);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 58) return true;
    if (!isXDigit(c)) return false;
  }
  return false;
}

/** The IPv6 pattern at the start of `text` (the part after any `info@`), or null if it is not IPv6. */
function parseV6Pattern(text: string): V6Pattern | null {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return null;
    let inner = text.slice(1, close);
    let rest = text.slice(close + 1);
    const prefix = /^\/\d{1,3}/.exec(rest);
    if (prefix) {
      inner += prefix[0];
      rest = rest.slice(prefix[0].length);
    }
    return rest === '' || rest.startsWith(':') ? parseV6WithPrefix(inner) : null;
  }
  // Quick rejection keeps IPv4 lines cheap: a v6 address starts with at most 4 hex digits and a colon.
  if (!startsLikeV6(text)) return null;
  const parts = text.split(':');
  for (let n = parts.length; n >= 3; n--) {
    const candidate = parts.slice(0, n).join(':');
    if (!/[0-9a-fA-F]/.test(candidate)) return null; // bare `::` keeps the spamdyke meaning
    const p = parseV6WithPrefix(candidate);
    if (p) return p;
  }
  return null;
}

// ---- scanf emulation for the IPv4 grammar ----------------------------------------------------------

const isDigitOrDashCode = (c: number): boolean => isDigit(c) || c === 45;

/** `%<width>[<set>]`: at least one char of the set, at most `width`. */
function scanSet(s: string, pos: number, width: number, inSet: (c: number) => boolean): string | null {
  let end = pos;
  while (end < s.length && end - pos < width && inSet(s.charCodeAt(end))) end++;
  return end > pos ? s.slice(pos, end) : null;
}

/** sscanf(entry, "%7[0-9-].%7[0-9-].%7[0-9-].%7[0-9-]/%3[0-9].%3[0-9].%3[0-9].%3[0-9]") */
function scanTcprules(s: string): { octets: string[]; masks: string[] } {
  const octets: string[] = [];
  const masks: string[] = [];
  let pos = 0;
  for (let i = 0; i < 4; i++) {
    if (i > 0) {
      if (s[pos] !== '.') return { octets, masks };
      pos++;
    }
    const o = scanSet(s, pos, 7, isDigitOrDashCode);
    if (o === null) return { octets, masks };
    octets.push(o);
    pos += o.length;
  }
  if (s[pos] !== '/') return { octets, masks };
  pos++;
  for (let i = 0; i < 4; i++) {
    if (i > 0) {
      if (s[pos] !== '.') break;
      pos++;
    }
    const m = scanSet(s, pos, 3, isDigit);
    if (m === null) break;
    masks.push(m);
    pos += m.length;
  }
  return { octets, masks };
}

/** `%<width>d` at pos (width counts the sign); null on a matching failure. */
function scanInt(s: string, pos: number, width: number): { value: number; next: number } | null {
  let i = pos;
  let sign = 1;
  if (s[i] === '-' || s[i] === '+') {
    if (s[i] === '-') sign = -1;
    i++;
  }
  const start = i;
  while (i < s.length && i - pos < width && isDigit(s.charCodeAt(i))) i++;
  if (i === start) return null;
  return { value: sign * Number(s.slice(start, i)), next: i };
}

/** sscanf(octet, "%3d-%3d") (or "%3d-%d"): how many converted, the base and the range end (-1 if none). */
function scanOctet(s: string, rangeWidth: number): { count: number; base: number; end: number } {
  const a = scanInt(s, 0, 3);
  if (!a) return { count: 0, base: 0, end: -1 };
  if (s[a.next] !== '-') return { count: 1, base: a.value, end: -1 };
  const b = scanInt(s, a.next + 1, rangeWidth);
  return b ? { count: 2, base: a.value, end: b.value } : { count: 1, base: a.value, end: -1 };
}

function digitsAndDots(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 46 && !isDigit(c)) return false;
  }
  return true;
}

/** The octets of a plain line (matchPlainV4): one array for every line, not one per line. */
const plainOctets = [0, 0, 0, 0];

/**
 * matchV4Numeric for the lines most lists hold: up to four dot-separated runs of digits and no mask
 * (`192.0.2.1`, `10.`, `192.168.`), read the way the scanner reads them (a run is at most 7 characters,
 * its value the first 3 digits, whatever follows the runs is ignored) without its strings and arrays:
 * every line of every list is matched at every connection, in V8's interpreter. Null for a line with
 * a range or a mask, which needs the full scan.
 */
function matchPlainV4(p: string, target: readonly number[]): boolean | null {
  const n = p.length;
  let pos = 0;
  let count = 0;
  while (count < 4) {
    if (count > 0) {
      if (pos >= n || p.charCodeAt(pos) !== 46) break;
      pos++;
    }
    const start = pos;
    let value = 0;
    while (pos < n && pos - start < 7) {
      const c = p.charCodeAt(pos);
      if (c === 45) return null;
      if (!isDigit(c)) break;
      if (pos - start < 3) value = value * 10 + c - 48;
      pos++;
    }
    if (pos === start) break;
    plainOctets[count++] = value;
  }
  if (count === 0) return false;
  if (count === 4 && p.charCodeAt(pos) === 47) return null;
  for (let j = 0; j < count; j++) {
    const o = plainOctets[j] as number;
    if (o > 255 || o !== target[j]) return false;
  }
  return true;
}

function matchV4Numeric(pattern: string, target: readonly number[]): boolean {
  return matchPlainV4(pattern, target) ?? scanV4Entry(pattern, target);
}

/** The whole tcprules grammar (prefix, ranges, CIDR, dotted mask); exported as the reference of the tests. */
export function scanV4Entry(pattern: string, target: readonly number[]): boolean {
  const { octets, masks } = scanTcprules(pattern);
  if (octets.length === 0) return false;
  if (masks.length === 0) {
    // Prefix form: every scanned octet must match; whatever follows them is ignored (quirk 5).
    for (let j = 0; j < octets.length; j++) {
      const o = scanOctet(octets[j] as string, 3);
      const t = target[j] as number;
      if (o.count === 0 || o.base < 0 || o.base > 255) return false;
      if (o.end === -1 && o.base !== t) return false;
      // A range whose end is below its start or above 255 matches anything (quirk 5).
      if (o.end >= o.base && o.end <= 255 && (o.base > t || o.end < t)) return false;
    }
    return true;
  }
  if (masks.length !== 1 && masks.length !== 4) return false; // `/a.b` etc. never match
  const base: number[] = [];
  for (const text of octets) {
    const o = scanOctet(text, masks.length === 1 ? 3 : Infinity);
    if (o.count === 0 || o.base < 0 || o.base > 255) return false;
    base.push(o.base); // ranges in the base address are ignored when a mask is given
  }
  const mask = [0, 0, 0, 0];
  if (masks.length === 1) {
    const bits = Number(masks[0]);
    if (bits > 32) return false;
    for (let k = 0; k < bits; k++) mask[k >> 3] = (mask[k >> 3] as number) | (0x80 >> (k % 8));
  } else {
    for (let k = 0; k < 4; k++) {
      const m = Number(masks[k]);
      if (m > 255) return false;
      mask[k] = m;
    }
  }
  return mask.every((m, k) => (m & (target[k] as number)) === (m & (base[k] as number)));
}

// ---- the entry matcher ----------------------------------------------------------------------------

/** Does one IP list entry (or file line) match the client? */
export function matchIpEntry(entry: string, client: ClientFacts): boolean {
  const parsed = parseClient(client.ip);
  if (!parsed || entry === '') return false;
  // a line of digits and dots (most lines of most lists) needs none of the forms below
  if (digitsAndDots(entry)) return parsed.kind === 'v4' && matchPlainV4(entry, parsed.octets) === true;

  // IPv6 entries first: their colons would otherwise be read as the instruction separator.
  const colon = entry.indexOf(':');
  const at = entry.indexOf('@');
  const hasInfo = at >= 0 && (colon < 0 || at < colon);
  const v6 = parseV6Pattern(hasInfo ? entry.slice(at + 1) : entry);
  if (v6) {
    if (hasInfo && !infoMatches(entry.slice(0, at), client.remoteInfo)) return false;
    return parsed.kind === 'v6' && parsed.addr.match(v6.addr, v6.bits);
  }

  if (colon === 0) return true;
  let pattern = colon > 0 ? entry.slice(0, colon) : entry;
  const infoAt = pattern.indexOf('@');
  if (infoAt >= 0) {
    if (!infoMatches(pattern.slice(0, infoAt), client.remoteInfo)) return false;
    pattern = pattern.slice(infoAt + 1);
  }

  if (pattern.startsWith('=')) {
    if (client.rdns === '') return false;
    const needle = asciiLower(pattern.slice(1));
    if (needle === '') return true;
    // spamdyke looks at the first occurrence only.
    const found = client.rdns.indexOf(needle);
    return found >= 0 && (found === 0 || needle.startsWith('.') || client.rdns[found - 1] === '.');
  }
  return parsed.kind === 'v4' && matchV4Numeric(pattern, parsed.octets);
}

function infoMatches(info: string, remoteInfo: string | undefined): boolean {
  return remoteInfo !== undefined && asciiLower(info) === asciiLower(remoteInfo);
}
