// The DATA section, scanned on Buffers as it streams from the client to the child.
//
// Why it exists: spamdyke 5.0.1 let `<LF>.<LF>`, `<LF>.<CR><LF>` and `<CR><LF>.<LF>` end DATA at the
// child, after which the client's remaining text ran as new SMTP commands (the receiving half of SMTP
// smuggling, CVE-2023-51764..6). levee ends DATA only on `<CR><LF>.<CR><LF>` and forwards every other
// byte so that no downstream can read an end there:
//   - every line goes to the child ending in CRLF (a bare LF becomes CRLF, as spamdyke did, so broken
//     clients still work with qmail, which refuses bare LF);
//   - a line that starts with `.` followed by CR or LF but is not the real end (wrong line endings
//     around it) is dot-stuffed once more, so the child un-stuffs it to content, never to an end.
// Bare CR inside a line is content and passes unchanged. Everything else passes byte for byte, and the
// common case (all CRLF) forwards subarrays of the input chunk without copying.

const LF = 10;
const CR = 13;
const DOT = 46;
const CRLF = Buffer.from('\r\n');
const STUFFED_DOT_CRLF = Buffer.from('..\r\n');
const STUFFED_DOT_CR = Buffer.from('..\r');
const DOT_ONLY = Buffer.from('.');

export interface ScanResult {
  /** bytes to forward to the child (content only; the terminator is not included) */
  readonly out: Buffer;
  /** true when `<CR><LF>.<CR><LF>` was found */
  readonly ended: boolean;
  /** bytes after the terminator (pipelined commands), when ended */
  readonly rest: Buffer;
}

const EMPTY = Buffer.alloc(0);

export class DataScanner {
  /** a line ended in a bare LF (converted to CRLF) */
  sawBareLf = false;
  /** a dot line with the wrong line endings was seen (a smuggling attempt or a broken client) */
  sawBadDotLine = false;
  /** content bytes received from the client (terminator excluded) */
  bytesIn = 0;

  private lineStart = true;
  /** the line before the current one ended with CRLF (the DATA command counts as such) */
  private prevTermCrlf = true;
  /** the last input byte was CR (decides whether an LF at the start of the next chunk is bare) */
  private lastCr = false;
  /** held at a line start across a chunk boundary: '.' or '.\r' */
  private held: 0 | 1 | 2 = 0;

  push(chunk: Buffer): ScanResult {
    const out: Buffer[] = [];
    const len = chunk.length;
    let i = 0;
    if (this.held) {
      // re-create the held bytes in front of this chunk's first bytes and resolve them
      const r = this.resolveDot(chunk, 0, this.held === 2, out);
      if (r === -2) return this.finish(out, true, chunk.subarray(this.endAt));
      if (r === -1) return this.finish(out, false, EMPTY);
      i = r;
    }
    let seg = i;
    while (i < len) {
      if (this.lineStart) {
        this.lineStart = false;
        if (chunk[i] === DOT) {
          if (i > seg) out.push(chunk.subarray(seg, i));
          const r = this.resolveDot(chunk, i + 1, false, out);
          if (r === -2) return this.finish(out, true, chunk.subarray(this.endAt));
          if (r === -1) return this.finish(out, false, EMPTY);
          i = seg = r;
          continue;
        }
      }
      const j = chunk.indexOf(LF, i);
      if (j < 0) {
        this.lastCr = chunk[len - 1] === CR;
        i = len;
        break;
      }
      const crBefore = j > 0 ? chunk[j - 1] === CR : this.lastCr;
      if (crBefore) {
        this.prevTermCrlf = true;
      } else {
        // bare LF: forward the line with CRLF instead
        if (j > seg) out.push(chunk.subarray(seg, j));
        out.push(CRLF);
        seg = j + 1;
        this.sawBareLf = true;
        this.prevTermCrlf = false;
      }
      this.lastCr = false;
      this.lineStart = true;
      i = j + 1;
    }
    if (len > seg) out.push(seg === 0 ? chunk : chunk.subarray(seg, len));
    return this.finish(out, false, EMPTY);
  }

  private endAt = 0;

  /**
   * A line began with '.'; `p` is the index of the byte after it (after '.\r' when `afterCr`).
   * Returns the index to continue from, -1 when more input is needed (state held), or -2 at the
   * real end of data (`endAt` = index after it).
   */
  private resolveDot(chunk: Buffer, p: number, afterCr: boolean, out: Buffer[]): number {
    if (!afterCr) {
      if (p >= chunk.length) {
        this.held = 1;
        return -1;
      }
      const b1 = chunk[p];
      if (b1 === LF) {
        // `.<LF>`: never an end; stuff it and end the line with CRLF
        out.push(STUFFED_DOT_CRLF);
        this.held = 0;
        this.sawBareLf = true;
        this.sawBadDotLine = true;
        this.prevTermCrlf = false;
        this.lastCr = false;
        this.lineStart = true;
        return p + 1;
      }
      if (b1 !== CR) {
        out.push(DOT_ONLY);
        this.held = 0;
        this.lastCr = false;
        return p;
      }
      p++;
    }
    if (p >= chunk.length) {
      this.held = 2;
      return -1;
    }
    this.held = 0;
    if (chunk[p] === LF) {
      if (this.prevTermCrlf) {
        this.endAt = p + 1;
        return -2;
      }
      // `<LF>.<CR><LF>`: the line before ended in a bare LF, so this is content
      out.push(STUFFED_DOT_CRLF);
      this.sawBadDotLine = true;
      this.prevTermCrlf = true;
      this.lastCr = false;
      this.lineStart = true;
      return p + 1;
    }
    // `.<CR>` followed by more text: a bare CR after a line-start dot; stuff it so a downstream that
    // treats CR as a line end still sees content
    out.push(STUFFED_DOT_CR);
    this.sawBadDotLine = true;
    this.lastCr = true;
    return p;
  }

  private finish(out: Buffer[], ended: boolean, rest: Buffer): ScanResult {
    const buf = out.length === 0 ? EMPTY : out.length === 1 ? out[0] : Buffer.concat(out);
    this.bytesIn += buf.length;
    return { out: buf, ended, rest };
  }
}
