// The header blacklist (spec §4.6, §2.4 DATA, quirk 13, errata 11): one HeaderGate per message sits
// between the DATA scanner and the child. While the header block lasts it holds the bytes back and
// matches each completed, unfolded header; at the blank line that ends the headers it releases what
// it held and steps aside, so the body streams through untouched.
//
// Memory: it never holds more than MAX_HELD_BYTES (spamdyke's 512 KiB buffer). When a header block
// is larger, the held bytes are released and the rest of the headers stream through while still being
// matched: a later match still refuses the message, because the session cuts the child off before the
// terminating dot reaches it (an unterminated message is discarded). Of one physical line only the
// first MAX_HEADER_BYTES are kept for matching (spamdyke's unfolded-header limit).
//
// Pattern files are read once per message (spamdyke re-reads them per header line; a message is short
// enough that this makes no difference to what matches).
import type { OptionValues } from '../options/table';
import type { Logger } from '../log';
import { HeaderUnfolder, MAX_HEADER_BYTES, matchHeaderEntry } from '../match/header';
import { readListLines } from '../lists/read';
import { makeRejection, type Rejection } from '../session/rejections';
import { listLog } from './common';

/** spamdyke buffers up to 512 KiB of DATA while it looks at the headers. */
export const MAX_HELD_BYTES = 512 * 1024;

const LF = 10;
const CR = 13;
const EMPTY = Buffer.alloc(0);

export function headerFilterEnabled(o: OptionValues): boolean {
  return o['header-blacklist-entry'].length > 0 || o['header-blacklist-file'].length > 0;
}

/**
 * Entries from config-dir files accumulate for the whole message (spec §4.6): the options a message
 * is checked with are the connection's plus every pattern a recipient's config-dir files added.
 */
export function accumulateHeaderPatterns(into: OptionValues, from: OptionValues): OptionValues {
  const union = (a: readonly string[], b: readonly string[]): string[] => [
    ...a,
    ...b.filter((x) => !a.includes(x)),
  ];
  return {
    ...into,
    'header-blacklist-entry': union(into['header-blacklist-entry'], from['header-blacklist-entry']),
    'header-blacklist-file': union(into['header-blacklist-file'], from['header-blacklist-file']),
  };
}

interface Pattern {
  readonly text: string;
  readonly file?: string;
  readonly line?: number;
}

type GateState = 'headers' | 'body' | 'rejected';

export class HeaderGate {
  private state: GateState = 'headers';
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** false once the held bytes had to be released (over MAX_HELD_BYTES) */
  private holding = true;
  /** the current physical line, its first MAX_HEADER_BYTES bytes (latin1) */
  private line = '';
  private lineBytes = 0;
  private rejection: Rejection | undefined;
  private patterns: Pattern[] | undefined;
  private readonly unfolder: HeaderUnfolder;

  constructor(
    private readonly o: OptionValues,
    private readonly log: Logger,
  ) {
    this.unfolder = new HeaderUnfolder((start) =>
      log.verbose(
        `header longer than ${MAX_HEADER_BYTES} bytes, only its start is checked: ${start.slice(0, 60)}`,
      ),
    );
  }

  /** the headers are over and passed: push() now returns its input unchanged, keeping nothing */
  get inBody(): boolean {
    return this.state === 'body';
  }

  /**
   * Feed content bytes as they go to the child (kept while headers are held: the caller must not
   * reuse their memory); returns the bytes to release to the child now (empty
   * while headers are held), or a rejection once a header matched.
   */
  push(chunk: Buffer): { release: Buffer; rejection?: Rejection } {
    if (this.state === 'body') return { release: chunk };
    if (this.state === 'rejected') return { release: EMPTY, rejection: this.rejection };
    let from = 0;
    while (from < chunk.length) {
      const lf = chunk.indexOf(LF, from);
      const end = lf < 0 ? chunk.length : lf;
      this.addToLine(chunk, from, end);
      if (lf < 0) break;
      from = lf + 1;
      const seen = this.completeLine();
      if (seen === 'match') return this.rejected();
      if (seen === 'end') {
        // headers over: everything held plus the rest of this chunk goes on, then the body streams
        this.state = 'body';
        return { release: this.releaseHeld(chunk) };
      }
    }
    if (this.holding && this.heldBytes + chunk.length <= MAX_HELD_BYTES) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      return { release: EMPTY };
    }
    if (this.holding) {
      this.holding = false;
      this.log.verbose(`headers longer than ${MAX_HELD_BYTES} bytes: passing them on while checking them`);
    }
    return { release: this.releaseHeld(chunk) };
  }

  /** End of data: the bytes still held (headers shorter than the message), or the rejection. */
  end(): { release: Buffer; rejection?: Rejection } {
    if (this.state === 'rejected') return this.rejected();
    if (this.state === 'headers') {
      // a message that is all headers: its last line and last header complete here
      const seen = this.lineBytes > 0 ? this.completeLine() : 'more';
      if (seen === 'match') return this.rejected();
      const last = this.unfolder.finish();
      if (last !== null && this.check(last)) return this.rejected();
      this.state = 'body';
    }
    return { release: this.releaseHeld(EMPTY) };
  }

  private rejected(): { release: Buffer; rejection?: Rejection } {
    this.held = [];
    this.heldBytes = 0;
    return { release: EMPTY, rejection: this.rejection };
  }

  private releaseHeld(tail: Buffer): Buffer {
    if (this.held.length === 0) return tail;
    const out = Buffer.concat(tail.length ? [...this.held, tail] : this.held);
    this.held = [];
    this.heldBytes = 0;
    return out;
  }

  private addToLine(chunk: Buffer, from: number, end: number): void {
    const room = MAX_HEADER_BYTES + 1 - this.line.length; // +1: a CR before the LF is stripped later
    if (room > 0 && end > from) this.line += chunk.toString('latin1', from, Math.min(end, from + room));
    this.lineBytes += end - from;
  }

  /** A physical line ended: a header matched, the blank line ended the headers, or neither. */
  private completeLine(): 'match' | 'end' | 'more' {
    let text = this.line;
    this.line = '';
    this.lineBytes = 0;
    if (text.charCodeAt(text.length - 1) === CR) text = text.slice(0, -1);
    // the scanner dot-stuffs; the header itself starts after the extra dot
    if (text.startsWith('.')) text = text.slice(1);
    const completed = this.unfolder.push(text);
    if (completed !== null && this.check(completed)) return 'match';
    return this.unfolder.ended ? 'end' : 'more';
  }

  private loadPatterns(): Pattern[] {
    if (this.patterns) return this.patterns;
    const patterns: Pattern[] = this.o['header-blacklist-entry']
      .filter((e) => e !== '')
      .map((text) => ({ text }));
    for (const file of this.o['header-blacklist-file']) {
      for (const { text, line } of readListLines(file, listLog(this.log)) ?? [])
        patterns.push({ text, file, line });
    }
    this.patterns = patterns;
    return patterns;
  }

  /** Matches one unfolded header; on a hit logs it, decides the rejection and returns true. */
  private check(header: string): boolean {
    const hit = this.loadPatterns().find((p) => matchHeaderEntry(p.text, header));
    if (!hit) return false;
    const field: readonly [string, string] =
      hit.file !== undefined ? ['file', `${hit.file}(${hit.line})`] : ['entry', hit.text];
    const reason = hit.file !== undefined ? `${hit.file}:${hit.line}` : hit.text;
    this.log.filter('FILTER_HEADER_BLACKLIST', [['header', header], field]);
    this.rejection = makeRejection('headerBlacklisted', this.o, reason, 'header-blacklist');
    this.state = 'rejected';
    return true;
  }
}
