// The full-log-dir transcript (spec §3.6): one file per connection holding every byte exchanged,
// every log line and the connection's events, in spamdyke's layout. Synchronous writes: it is only
// used when configured, and a transcript must not lose its tail when the process exits.
import { closeSync, constants, fchmodSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { errnoText } from './errno';
import { transcriptFileStamp, transcriptTimestamp } from './format';
import { escapeUnsafe, safeLine } from './sanitize';
import type { TranscriptDirection, TranscriptFlags } from './types';

export type TranscriptSection = 'CURRENT CONFIG' | 'CURRENT ENVIRONMENT';
type Grouped = TranscriptSection | 'LOG OUTPUT';

const OPEN_ATTEMPTS = 5;
const FILE_MODE = 0o600;

function hexBytes(data: Buffer): string {
  let out = '';
  for (const byte of data) out += (byte < 16 ? '0' : '') + byte.toString(16) + ' ';
  return out;
}

export class Transcript {
  private fd: number | null;
  private flags: TranscriptFlags = {};
  /** LOG OUTPUT and the config sections get one header for a run of consecutive lines, like spamdyke */
  private lastGroup: Grouped | null = null;

  private constructor(
    fd: number,
    /** where the file is (for error messages and tests) */
    readonly path: string,
    private readonly onError: ((message: string) => void) | undefined,
  ) {
    this.fd = fd;
  }

  /**
   * Creates `DIR/YYYYMMDD_HHMMSS_<pid>_<random>` (O_CREAT|O_EXCL, mode 0600) and writes the
   * STARTED line. Logs nothing itself: on failure it calls `onError` with spamdyke's text
   * (`unable to open traffic log file PATH: REASON`) and returns null. Later write failures close the
   * transcript and are reported through `onError` once.
   */
  static open(
    dir: string,
    version: string,
    pid: number,
    onError?: (message: string) => void,
    now: Date = new Date(),
  ): Transcript | null {
    const stamp = transcriptFileStamp(now);
    let path = '';
    for (let attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
      path = join(dir, `${stamp}_${pid}_${Math.floor(Math.random() * 0x7fffffff)}`);
      try {
        const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, FILE_MODE);
        const t = new Transcript(fd, path, onError);
        try {
          fchmodSync(fd, FILE_MODE); // the umask may have narrowed it; spamdyke chmod()s too
        } catch {
          // the file exists with the umask's mode, which is never wider than 0600
        }
        t.write(`${transcriptTimestamp(now)} STARTED: VERSION = ${safeLine(version)}, PID = ${pid}\n`);
        return t.fd === null ? null : t;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        onError?.(`unable to open traffic log file ${path}: ${errnoText(err)}`);
        return null;
      }
    }
    onError?.(`unable to open traffic log file ${path}: ${errnoText({ code: 'EEXIST' })}`);
    return null;
  }

  get isOpen(): boolean {
    return this.fd !== null;
  }

  /** Connection state shown in later headers; chunk() flags update it too. */
  setFlags(flags: TranscriptFlags): void {
    this.flags = { ...flags };
  }

  /** Bytes as they passed; passthrough TLS (ciphertext) is written as space-separated hex. */
  chunk(direction: TranscriptDirection, data: Buffer, flags?: TranscriptFlags): void {
    if (flags) this.setFlags(flags);
    this.lastGroup = null;
    const header = `\n${transcriptTimestamp(new Date())} ${direction}: ${data.length} bytes${this.flagText()}\n`;
    const body = this.flags.passthrough ? Buffer.from(hexBytes(data), 'latin1') : data;
    this.write(Buffer.concat([Buffer.from(header, 'utf8'), body]));
  }

  section(name: TranscriptSection, lines: readonly string[]): void {
    let out = this.groupHeader(name);
    for (const line of lines) out += safeLine(line) + '\n';
    this.write(out);
  }

  /** `- Remote IP = 1.2.3.4`, `- TLS negotiated and started`, ...; a leading `- ` is optional. */
  eventLine(text: string): void {
    this.lastGroup = null;
    const body = text.startsWith('- ') ? text.slice(2) : text;
    this.write(`\n${transcriptTimestamp(new Date())}${this.flagText()} - ${safeLine(body)}\n`);
  }

  logOutput(line: string): void {
    this.write(this.groupHeader('LOG OUTPUT') + safeLine(line) + '\n');
  }

  close(): void {
    if (this.fd === null) return;
    this.write(`\n${transcriptTimestamp(new Date())} CLOSED\n`);
    this.closeFd();
  }

  private groupHeader(group: Grouped): string {
    if (this.lastGroup === group) return '';
    this.lastGroup = group;
    return `\n${transcriptTimestamp(new Date())} ${group}${this.flagText()}\n`;
  }

  private flagText(): string {
    let text = '';
    if (this.flags.passthrough) text += ' TLS_PASSTHROUGH';
    else if (this.flags.tls) text += ' TLS';
    if (this.flags.authUser) text += ' AUTH:' + escapeUnsafe(this.flags.authUser).replaceAll(' ', '\\x20');
    return text;
  }

  private write(data: string | Buffer): void {
    if (this.fd === null) return;
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let offset = 0;
      while (offset < buf.length) offset += writeSync(this.fd, buf, offset, buf.length - offset);
    } catch (err) {
      this.closeFd();
      this.onError?.(`unable to write to traffic log file ${this.path}: ${errnoText(err)}`);
    }
  }

  private closeFd(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // nothing more can be done for a descriptor that will not close
    }
    this.fd = null;
  }
}
