// Header blacklist (spec §4.6): whitespace-normalised, lower-cased POSIX fnmatch(pattern, line, 0)
// against fully unfolded header lines. Text is handled as latin1 (one char per byte), as spamdyke
// works on bytes in the C locale: only ASCII letters are lower-cased.
import { isBlank, isDigit, isSpace, isXDigit } from '../text';

/** spamdyke's MAX_NETWORK_BUF: the longest unfolded header (and normalised text) it looks at. */
export const MAX_HEADER_BYTES = 16383;

/** Lower-case ASCII, each whitespace run → one space (a leading one included), trailing space dropped. */
export function normalizeHeaderLine(s: string): string {
  let out = '';
  const n = Math.min(s.length, MAX_HEADER_BYTES);
  for (let i = 0; i < n; i++) {
    const code = s.charCodeAt(i);
    if (isSpace(code)) {
      if (!out.endsWith(' ')) out += ' ';
    } else out += code >= 65 && code <= 90 ? String.fromCharCode(code + 32) : s[i];
  }
  return out.endsWith(' ') ? out.slice(0, -1) : out;
}

const CHAR_CLASSES: Record<string, (c: number) => boolean> = {
  alnum: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  alpha: (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  blank: isBlank,
  cntrl: (c) => c < 32 || c === 127,
  digit: isDigit,
  graph: (c) => c > 32 && c < 127,
  lower: (c) => c >= 97 && c <= 122,
  print: (c) => c >= 32 && c < 127,
  punct: (c) => c > 32 && c < 127 && !((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)),
  space: isSpace,
  upper: (c) => c >= 65 && c <= 90,
  xdigit: isXDigit,
};

const NO_MATCH = -1;
/** The pattern can never match (a trailing backslash, an unknown [:class:]), as in glibc. */
const NEVER = -2;

/** `[...]` at p[pi] against one character: the index after the bracket, NO_MATCH or NEVER. */
function matchBracket(p: string, pi: number, ch: string): number {
  let j = pi + 1;
  const negate = p[j] === '!' || p[j] === '^';
  if (negate) j++;
  const code = ch.charCodeAt(0);
  let matched = false;
  for (let first = true; ; first = false) {
    if (j >= p.length) return ch === '[' ? pi + 1 : NO_MATCH; // unterminated: a literal `[`
    let c = p[j] as string;
    if (c === ']' && !first) {
      j++;
      break;
    }
    if (c === '[' && p[j + 1] === ':') {
      const close = p.indexOf(':]', j + 2);
      if (close >= 0) {
        const test = CHAR_CLASSES[p.slice(j + 2, close)];
        if (!test) return NEVER;
        if (test(code)) matched = true;
        j = close + 2;
        continue;
      }
    }
    if (c === '\\') {
      j++;
      if (j >= p.length) return ch === '[' ? pi + 1 : NO_MATCH;
      c = p[j] as string;
    }
    j++;
    if (p[j] === '-' && j + 1 < p.length && p[j + 1] !== ']') {
      let hi = p[j + 1] as string;
      j += 2;
      if (hi === '\\' && j < p.length) hi = p[j++] as string;
      if (code >= c.charCodeAt(0) && code <= hi.charCodeAt(0)) matched = true;
    } else if (ch === c) matched = true;
  }
  return matched !== negate ? j : NO_MATCH;
}

/** One non-`*` pattern element at p[pi] against one character. */
function matchOne(p: string, pi: number, ch: string): number {
  const c = p[pi];
  if (c === '?') return pi + 1;
  if (c === '[') return matchBracket(p, pi, ch);
  if (c === '\\') {
    if (pi + 1 >= p.length) return NEVER;
    return p[pi + 1] === ch ? pi + 2 : NO_MATCH;
  }
  return c === ch ? pi + 1 : NO_MATCH;
}

/**
 * POSIX fnmatch(pattern, text, 0): `*`, `?`, `[set]`, `[!set]`/`[^set]`, ranges, `[:class:]`,
 * backslash escapes; `*` and `?` match any character including `/` and a leading `.`. Iterative with
 * a single backtrack point (the last `*`), so the cost is at most pattern × text, never exponential.
 */
export function fnmatch(pattern: string, text: string): boolean {
  let pi = 0;
  let ti = 0;
  let starPi = -1;
  let starTi = -1;
  while (ti < text.length) {
    if (pi < pattern.length) {
      if (pattern[pi] === '*') {
        while (pattern[pi] === '*') pi++;
        if (pi === pattern.length) return true;
        starPi = pi;
        starTi = ti;
        continue;
      }
      const next = matchOne(pattern, pi, text[ti] as string);
      if (next === NEVER) return false;
      if (next !== NO_MATCH) {
        pi = next;
        ti++;
        continue;
      }
    }
    if (starPi < 0) return false;
    pi = starPi;
    ti = ++starTi;
  }
  while (pattern[pi] === '*') pi++;
  return pi === pattern.length;
}

/**
 * One header-blacklist entry or file line against one unfolded header line. Both must contain `:`
 * (an entry without one is ignored); both are normalised, then the entry must match the whole line.
 */
export function matchHeaderEntry(entry: string, unfoldedLine: string): boolean {
  if (!entry.includes(':') || !unfoldedLine.includes(':')) return false;
  const line = normalizeHeaderLine(unfoldedLine);
  const pattern = normalizeHeaderLine(entry);
  return line !== '' && pattern !== '' && fnmatch(pattern, line);
}

/**
 * Reassembles folded header lines during DATA. Feed each header line without its CRLF; a line that
 * does not start with whitespace completes the previous header, which `push` returns. A blank (or
 * all-whitespace) line ends the header block: it also completes the pending header, and later pushes
 * are ignored. Continuations are appended as they are (leading whitespace kept, normalised later) up to
 * MAX_HEADER_BYTES; `onTooLong` is told once per header that reached the limit.
 */
export class HeaderUnfolder {
  private current = '';
  private reachedLimit = false;
  private done = false;

  constructor(private readonly onTooLong?: (headerStart: string) => void) {}

  get ended(): boolean {
    return this.done;
  }

  push(line: Buffer | string): string | null {
    if (this.done) return null;
    const s = typeof line === 'string' ? line : line.toString('latin1');
    let lead = 0;
    while (lead < s.length && isSpace(s.charCodeAt(lead))) lead++;
    const blank = lead === s.length;
    let completed: string | null = null;
    if ((lead === 0 || blank) && this.current !== '') {
      completed = this.current;
      this.current = '';
      this.reachedLimit = false;
    }
    if (blank) this.done = true;
    else if (this.current.length < MAX_HEADER_BYTES) {
      this.current += s.slice(0, MAX_HEADER_BYTES - this.current.length);
      if (this.current.length === MAX_HEADER_BYTES && !this.reachedLimit) {
        this.reachedLimit = true;
        this.onTooLong?.(this.current);
      }
    }
    return completed;
  }

  /** The header still pending at the end of the message (none after the blank line). */
  finish(): string | null {
    const last = this.current;
    this.current = '';
    this.done = true;
    return last !== '' ? last : null;
  }
}
