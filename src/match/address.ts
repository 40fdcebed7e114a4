// MAIL FROM / RCPT TO address extraction (spec §2.5, errata 8) and sender/recipient list entries
// (§4.5, quirk 7). The parser follows spamdyke's find_address character for character, including
// its leniencies: `,:;[]\"` inside an unquoted local part are kept, the same characters inside a
// domain are dropped, a `[domain literal]` loses its brackets, folding whitespace inside a quoted
// local part disappears, and parsing simply stops at anything else (so ESMTP parameters after the
// closing `>` are ignored). One deliberate difference: inside a quoted local part spamdyke also keeps
// control characters, DEL and any backslash-escaped byte; levee drops those that are not printable
// ASCII, so a parsed address only ever holds characters 0x20–0x7e.
import { asciiLower, examineEntry } from './rdns';

export interface ParsedAddress {
  local: string;
  domain: string;
}

/** spamdyke's MAX_BUF: how much of a local part or domain is collected while parsing. */
const MAX_PARSE = 1023;
/** spamdyke's MAX_ADDRESS: the length each part is cut to afterwards (§2.5: 511 characters). */
const MAX_PART = 511;

const ATEXT = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+-/=?^_`{|}~";
const KEPT_IN_LOCAL = '",:;[]\\';
const DROPPED_IN_DOMAIN = '",;[]\\';
const TRIM_STOPS = ',:;[]\\';

/** One-character membership; '' (past the end) and 8-bit characters are never members. */
function isIn(set: string, c: string): boolean {
  return c !== '' && set.includes(c);
}

function trimDots(s: string): string {
  let from = 0;
  let to = s.length;
  while (from < to && s[from] === '.') from++;
  while (to > from && s[to - 1] === '.') to--;
  return s.slice(from, to);
}

class AddressScanner {
  /** The local part buffer, shared by the top level and a source route, as in the original. */
  local = '';
  /** Set when the domain stopped at a second `@`: a multi-hop source route (errata 8). */
  sawSecondHop = false;

  constructor(private readonly h: string) {}

  /** The character at i ('' past the end); 8-bit characters become '\x80', which no rule accepts. */
  at(i: number): string {
    if (i < 0 || i >= this.h.length) return '';
    const c = this.h[i] as string;
    return c.charCodeAt(0) > 127 ? '\x80' : c;
  }

  code(i: number): number {
    const c = this.at(i);
    return c === '' ? 0 : c.charCodeAt(0);
  }

  skipFws(end: number, pos: number): number {
    while (pos < end && ' \t\r\n'.includes(this.at(pos)) && this.at(pos) !== '') pos++;
    return pos;
  }

  /** find_username: returns the characters consumed, or -1 when there is nothing to scan. */
  findLocal(start: number, end: number): number {
    if (end <= 0) return -1;
    let pos = start;
    let collected = '';
    let quoted = false;
    if (this.at(pos) === '"') {
      pos++;
      while (pos < end) {
        const saved = pos;
        pos = this.skipFws(end, pos);
        while (pos < end && collected.length < MAX_PARSE) {
          const c = this.code(pos);
          const control = (c >= 1 && c <= 8) || c === 11 || c === 12 || (c >= 14 && c <= 31);
          const qtext = c === 33 || (c >= 35 && c <= 91) || (c >= 93 && c <= 127);
          if (control || qtext) {
            // levee keeps only printable ASCII: control characters and DEL never reach a log line.
            if (c >= 32 && c < 127) collected += this.at(pos);
            pos++;
          } else if (c === 92 && pos < end - 1) {
            const escaped = this.code(pos + 1);
            if (escaped >= 32 && escaped < 127) collected += this.at(pos + 1);
            pos += 2;
          } else break;
        }
        if (saved === pos) break;
      }
      pos = this.skipFws(end, pos);
      if (this.at(pos) === '"') {
        pos++;
        quoted = true;
      } else {
        collected = '';
        pos = start;
      }
    }
    if (!quoted) {
      while (pos <= end && collected.length < MAX_PARSE) {
        const c = this.at(pos);
        if (!isIn(ATEXT, c) && !isIn(KEPT_IN_LOCAL, c)) break;
        collected += c;
        pos++;
      }
    }
    if (collected === '') {
      this.local = '';
      return 0;
    }
    if (collected.startsWith('prvs=')) {
      // BATV: prvs=tag=user or prvs=user/tag → user
      const afterLastEquals = collected.slice(collected.lastIndexOf('=') + 1);
      const slash = afterLastEquals.indexOf('/');
      this.local = slash < 0 ? afterLastEquals : afterLastEquals.slice(0, slash);
    } else this.local = collected;
    return pos - start;
  }

  /**
   * find_domain: the domain after the next `@`, or null when there is nothing to scan. A `:` in the
   * domain is a source route (`@hop:user@domain`): spamdyke re-parses the local part and domain from
   * after it, recursively; that recursion is a loop here, so a hostile line cannot exhaust the stack.
   */
  findDomain(start: number, end: number): { domain: string } | null {
    if (end <= start) return null;
    let pos = start;
    for (let level = 0; ; level++) {
      while (pos <= end && this.at(pos) !== '@') pos++;
      pos++;
      // (spamdyke's `[domain literal]` branch can never succeed: it rejects `[` itself. The brackets
      // are dropped below like any other illegal character.)
      let domain = '';
      let routed = false;
      while (pos <= end && domain.length < MAX_PARSE) {
        const c = this.at(pos);
        if (isIn(ATEXT, c)) {
          domain += c;
          pos++;
        } else if (c === ':') {
          pos++;
          pos += this.findLocal(pos, end);
          routed = true;
          break;
        } else if (isIn(DROPPED_IN_DOMAIN, c)) pos++;
        else {
          if (level === 0 && c === '@') this.sawSecondHop = true;
          break;
        }
      }
      // After a route the inner domain replaces this one, unless there is nothing left to scan.
      if (!routed || end <= pos) return { domain: trimDots(domain) };
    }
  }
}

/**
 * The address in a MAIL FROM / RCPT TO line (pass the whole line, or anything containing the `:`),
 * lower-cased. `<>` gives { local: '', domain: '' }. A missing local part is returned as '' for the
 * caller to judge (spamdyke rejects such a RCPT as unparseable). null only for a multi-hop source
 * route (`<@a,@b:user@example.org>`), which spamdyke cannot parse (errata 8).
 */
export function parseAddress(argText: string): ParsedAddress | null {
  const h = argText;
  const len = h.length;
  if (len === 0) return { local: '', domain: '' };
  const s = new AddressScanner(h);
  let pos = 0;
  let end = len;
  // The address starts after the first `:` and spaces; with `<` it ends at the last `>`.
  for (pos = 0; pos < len; pos++) {
    if (h[pos] !== ':') continue;
    pos++;
    while (pos < len && h[pos] === ' ') pos++;
    if (pos < len && h[pos] === '<') {
      while (end >= pos && h[end] !== '>') end--;
      if (end < pos) end = len;
      else pos++;
    }
    break;
  }
  // Trim to the first and last characters that may belong to an address.
  const legalEdge = (c: string): boolean => isIn(ATEXT, c) || c === '"' || c === '@';
  while (pos < end) {
    const c = s.at(pos);
    if (legalEdge(c) || isIn(TRIM_STOPS, c)) break;
    pos++;
  }
  while (end > pos && !legalEdge(s.at(end))) end--;

  const consumed = s.findLocal(pos, end);
  if (consumed !== -1) pos += consumed;
  const found = s.findDomain(pos, end);
  const local = s.local.slice(0, MAX_PART);
  const domain = found ? found.domain.slice(0, MAX_PART) : '';
  if (local === '' && s.sawSecondHop) return null;
  return { local: asciiLower(local), domain: asciiLower(domain) };
}

/** `user@domain`, `user`, `@domain` or '' — the compared form (§4.5) and the log form (§3.3). */
export function formatAddress(a: ParsedAddress): string {
  if (a.local !== '') return a.domain !== '' ? `${a.local}@${a.domain}` : a.local;
  return a.domain !== '' ? `@${a.domain}` : '';
}

/**
 * One sender-/recipient-*-entry or file line against a formatted, lower-case address: `user@domain`
 * exactly, `@example.com` for that domain and its subdomains, `user@` for that user anywhere. With
 * `senderBlacklistEntryQuirk` (sender-blacklist-entry only, quirk 7) `user@` also matches `user.x@…`.
 */
export function matchAddressEntry(
  entry: string,
  address: string,
  opts?: { senderBlacklistEntryQuirk?: boolean },
): boolean {
  if (address === '') return false;
  return examineEntry(address, entry, '@', '@.', '@', opts?.senderBlacklistEntryQuirk ? '@.' : '@');
}
