// The relative paths a config-dir tree is probed at (spec §4.7), most specific first, per criterion.
// Pure. Every component comes from the connection (IP, PTR name, envelope addresses), so a value that
// could name anything but one file below its criterion directory gives no paths at all: components
// must be non-empty, free of `/` and NUL, not `.`/`..`, not one of the tree's own names (`_ip_`,
// `_rdns_`, `_sender_`, `_recipient_`, `_at_`) and at most 255 bytes.
//
// IPv6 (levee extension; spamdyke only knows dotted quads): `_ip_/` followed by the eight hextets of
// the address written out in full, lower case, four digits each, e.g. 2001:db8::1 →
// `_ip_/2001/0db8/0000/0000/0000/0000/0000/0001`, then the shorter prefixes down to `_ip_/2001`.
// A four-digit hextet can never be an IPv4 octet (those are written without leading zeros), so one
// tree serves both. A v4-mapped address is looked up as its dotted quad (the session already
// normalises it so).

export type Criterion = 'ip' | 'rdns' | 'sender' | 'recipient';

/** The search order of spec §4.7. */
export const CRITERIA: readonly Criterion[] = ['ip', 'rdns', 'sender', 'recipient'];

export const RESERVED = new Set(['_ip_', '_rdns_', '_sender_', '_recipient_', '_at_']);

export function criterionDir(c: Criterion): string {
  return `_${c}_`;
}

const MAX_NAME = 255;

function safeComponent(s: string): boolean {
  return (
    s !== '' &&
    s !== '.' &&
    s !== '..' &&
    s.length <= MAX_NAME &&
    !s.includes('/') &&
    !s.includes('\0') &&
    !RESERVED.has(s)
  );
}

/** `a/b/c/d`, `a/b/c`, `a/b`, `a`: every prefix of `parts`, longest first ([] if any part is unsafe). */
function prefixes(parts: readonly string[]): string[] {
  if (parts.length === 0 || !parts.every(safeComponent)) return [];
  const out: string[] = [];
  for (let n = parts.length; n > 0; n--) out.push(parts.slice(0, n).join('/'));
  return out;
}

/** The eight full hextets of an IPv6 address in text form, or null. */
export function ipv6Hextets(ip: string): string[] | null {
  if (!/^[0-9a-f:.]+$/i.test(ip)) return null;
  let text = ip.toLowerCase();
  let tail: string[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // an embedded dotted quad as the last 32 bits
    const q = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    if (q.length !== 4 || q.some((n) => !Number.isInteger(n) || n > 255)) return null;
    const [a, b, c, d] = q as [number, number, number, number];
    tail = [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    text = text.slice(0, lastColon + 1) + 'x';
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const split = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = split(halves[0] as string);
  const rest = halves.length === 2 ? split(halves[1] as string) : [];
  const fix = (groups: string[]): string[] | null => {
    const out: string[] = [];
    for (const g of groups) {
      if (g === 'x') out.push(...tail);
      else if (/^[0-9a-f]{1,4}$/.test(g)) out.push(g);
      else return null;
    }
    return out;
  };
  const h = fix(head);
  const r = fix(rest);
  if (!h || !r) return null;
  const missing = 8 - h.length - r.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  return [...h, ...Array<string>(missing).fill('0'), ...r].map((g) => g.padStart(4, '0'));
}

/** `_ip_` paths: dotted quad octets (as numbers, so `011` is `11`), or the IPv6 form above. */
export function ipPaths(ip: string): string[] {
  const quad = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (quad) {
    const octets = quad.slice(1).map(Number);
    return octets.every((n) => n <= 255) ? prefixes(octets.map(String)) : [];
  }
  const hextets = ipv6Hextets(ip);
  return hextets ? prefixes(hextets) : [];
}

/** `_rdns_` paths: labels reversed (`mail.example.com` → `com/example/mail`, `com/example`, `com`). */
export function rdnsPaths(rdns: string): string[] {
  if (rdns === '') return [];
  return prefixes(rdns.toLowerCase().split('.').reverse());
}

/** spamdyke's user-name canonicalisation: outside `a-zA-Z0-9@_-.` → `_`, then lower case. */
export function canonicalUser(user: string): string {
  return user.replace(/[^a-zA-Z0-9@_.-]/g, '_').toLowerCase();
}

/**
 * `_sender_` / `_recipient_` paths for `user@domain`: `<reversed domain>/_at_/<user>`, then the
 * domain levels (`com/example/home`, `com/example`, `com`). An address without a domain has none;
 * an unsafe user name drops only the user file.
 */
export function addressPaths(address: string): string[] {
  const at = address.lastIndexOf('@');
  if (at < 0) return [];
  const domainPaths = prefixes(
    address
      .slice(at + 1)
      .toLowerCase()
      .split('.')
      .reverse(),
  );
  if (domainPaths.length === 0) return [];
  const user = canonicalUser(address.slice(0, at));
  const userPath = safeComponent(user) ? [`${domainPaths[0]}/_at_/${user}`] : [];
  return [...userPath, ...domainPaths];
}

export interface Who {
  readonly ip: string;
  readonly rdns: string;
  readonly sender: string;
  readonly recipient: string;
}

export function candidatePaths(who: Who): Record<Criterion, string[]> {
  return {
    ip: ipPaths(who.ip),
    rdns: rdnsPaths(who.rdns),
    sender: addressPaths(who.sender),
    recipient: addressPaths(who.recipient),
  };
}
