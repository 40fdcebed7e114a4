// Where a graylist entry lives (spec §4.8): GDIR/<recipient-domain>/<recipient-user>/<sender-domain>/
// <sender-user>. Pure: no file system here.
//
// Every component comes from the wire, so it is canonicalised until it can only ever name one entry
// below the root: lower-cased; anything outside `a-z0-9@_-.` becomes `_` (spamdyke's rule, which also
// covers `/`, NUL and every non-ASCII character); and, beyond spamdyke, a leading `.` becomes `_` (so
// `.`, `..` and hidden names are impossible; names starting with `.` are reserved for levee's lock and
// temporary files), an empty component becomes `_`, and a component longer than MAX_COMPONENT is cut
// and given a hash of the whole, so two long addresses do not share an entry and no name passes the
// file system's 255-byte limit.

/** Longest component kept as it is; longer ones become a prefix + `~` + 16 hex digits (< 255 bytes). */
export const MAX_COMPONENT = 200;

/** The null sender's domain and user directory (spec §4.8). */
export const NONE = '_none';

const ALLOWED = /[^a-z0-9@_.-]/g;

/** FNV-1a over UTF-16 code units with two seeds: 64 bits of spread, dependency-free and fast. */
function hash64(s: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** One path component of the graylist tree, safe to join under the root. */
export function canonicalComponent(raw: string): string {
  let s = raw.toLowerCase().replace(ALLOWED, '_');
  if (s === '') return '_';
  if (s.startsWith('.')) s = '_' + s.slice(1);
  if (s.length > MAX_COMPONENT) s = `${s.slice(0, MAX_COMPONENT)}~${hash64(raw)}`;
  return s;
}

export interface EntryKey {
  /** recipient domain: the directory whose existence switches graylisting on for the domain */
  readonly domain: string;
  readonly user: string;
  readonly senderDomain: string;
  readonly senderUser: string;
}

function split(address: string): { user: string; domain: string } {
  const at = address.lastIndexOf('@');
  return at < 0
    ? { user: address, domain: '' }
    : { user: address.slice(0, at), domain: address.slice(at + 1) };
}

/**
 * The four components for a recipient and a sender as the session formats them (`user@domain`,
 * '' for the null sender). Null when the recipient has no domain or no user (nothing to graylist
 * under). A sender without a domain gets `_none` as its domain.
 */
export function entryKey(recipient: string, sender: string): EntryKey | null {
  const r = split(recipient);
  if (r.domain === '' || r.user === '') return null;
  const s = split(sender);
  const nullSender = sender === '' || (s.user === '' && s.domain === '');
  return {
    domain: canonicalComponent(r.domain),
    user: canonicalComponent(r.user),
    senderDomain: nullSender || s.domain === '' ? NONE : canonicalComponent(s.domain),
    senderUser: nullSender ? NONE : canonicalComponent(s.user),
  };
}

/** `<user>/<sender-domain>/<sender-user>`: the entry below its domain directory. */
export function entryRelPath(k: EntryKey): string {
  return `${k.user}/${k.senderDomain}/${k.senderUser}`;
}

/** The pre-4.0 entry file of the same tuple, relative to the domain directory (`user/sender@domain`). */
export function legacyRelPath(k: EntryKey): string | null {
  if (k.senderDomain === NONE) return null;
  const name = `${k.senderUser}@${k.senderDomain}`;
  // the combined name may pass the length limit even when each half did not
  return name.length > MAX_COMPONENT ? null : `${k.user}/${name}`;
}

/** The line appended when a sender passes: `"<ip> <rdns>"`, or `"<ip>"` without an rDNS name. */
export function passLine(ip: string, rdns: string): string {
  // the rDNS name came from DNS: keep the line one line whatever it holds
  const name = rdns.replace(/[\0-\x20\x7f]/g, '_');
  return name === '' ? ip : `${ip} ${name}`;
}

/** Does the entry's content already hold this line? */
export function hasLine(content: string, line: string): boolean {
  return content.split('\n').includes(line);
}

export interface EntryTimes {
  /** seconds since the epoch */
  readonly now: number;
  /** the entry file's mtime, seconds */
  readonly mtime: number;
  readonly size: number;
  readonly minSecs: number;
  readonly maxSecs: number;
}

/**
 * spec §4.8: an existing entry lets mail through when it is old enough (or already non-empty) and
 * not too old; `expired` entries are truncated, which starts the wait again.
 */
export function decideEntry(t: EntryTimes): { pass: boolean; expired: boolean } {
  const oldEnough = t.minSecs === 0 || t.mtime + t.minSecs <= t.now || t.size > 0;
  const fresh = t.maxSecs === 0 || t.mtime + t.maxSecs >= t.now;
  if (oldEnough && fresh) return { pass: true, expired: false };
  return { pass: false, expired: t.maxSecs > 0 && t.mtime + t.maxSecs <= t.now };
}
