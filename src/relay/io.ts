// Byte-level I/O of one session: the client side (fd 0/1 from tcpserver) and the child side
// (qmail-smtpd on two pipes). Both work on Buffers; nothing here knows SMTP beyond "a line ends in
// LF" and "a reply is complete when its last line has a space after the code".
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

const LF = 10;
const EMPTY = Buffer.alloc(0);
/** longest command line levee accepts (spamdyke forwarded longer lines in 16 KiB pieces) */
export const MAX_COMMAND_LINE = 16384;
/** longest reply line levee reads from the child before treating it as complete */
const MAX_REPLY_LINE = 65536;
/** stop reading from the client while this much unprocessed input is queued (lock-step) */
const CLIENT_HIGH_WATER = 256 * 1024;

/** Waits are interrupted with this when the session must stop waiting (timeout, child gone...). */
export class Interrupted extends Error {
  constructor(readonly why: 'timeout' | 'closing') {
    super(why);
  }
}

type Waiter = { resolve: () => void; reject: (e: Error) => void };

/** A one-slot "something changed" signal that can be interrupted. */
class Signal {
  private waiter: Waiter | null = null;
  private interrupted: Interrupted | null = null;

  wait(): Promise<void> {
    if (this.interrupted) return Promise.reject(this.interrupted);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.resolve();
  }

  interrupt(e: Interrupted): void {
    this.interrupted = e;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(e);
  }
}

export type LineResult = Buffer | 'eof' | 'toolong';

export class ClientIO {
  private buf: Buffer = EMPTY;
  private eof = false;
  private discardingLongLine = false;
  private paused = false;
  private readonly signal = new Signal();
  private readonly listeners = new Set<() => void>();

  constructor(
    public input: Readable,
    public output: Writable,
    private readonly onData: (chunk: Buffer) => void,
  ) {
    this.attach(input);
  }

  /**
   * Switches to other streams (after a TLS handshake: the TLS socket's plaintext). Queued input
   * is dropped: nothing the client sent before the switch may be used (CVE-2011-0411).
   */
  replaceStreams(input: Readable, output: Writable): void {
    this.input.removeAllListeners('data');
    this.input.removeAllListeners('end');
    this.input.removeAllListeners('error');
    this.buf = EMPTY;
    this.paused = false;
    this.eof = false;
    this.input = input;
    this.output = output;
    this.attach(input);
  }

  private attach(input: Readable): void {
    input.on('data', (c: Buffer) => {
      this.onData(c);
      this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
      if (this.buf.length > CLIENT_HIGH_WATER && !this.paused) {
        this.paused = true;
        input.pause();
      }
      this.notify();
    });
    input.on('end', () => {
      this.eof = true;
      this.notify();
    });
    input.on('error', () => {
      this.eof = true;
      this.notify();
    });
  }

  private notify(): void {
    this.signal.wake();
    for (const l of this.listeners) l();
  }

  /** called when something arrives (used to wait on client and child at once) */
  onReadable(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  get hasInput(): boolean {
    return this.buf.length > 0 || this.eof;
  }

  get atEof(): boolean {
    return this.eof && this.buf.length === 0;
  }

  private take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = n >= this.buf.length ? EMPTY : this.buf.subarray(n);
    if (this.paused && this.buf.length < CLIENT_HIGH_WATER / 2) {
      this.paused = false;
      this.input.resume();
    }
    return out;
  }

  /** The next line without its LF (a CR before it is kept; the caller strips it). */
  async readLine(): Promise<LineResult> {
    for (;;) {
      const i = this.buf.indexOf(LF);
      if (this.discardingLongLine) {
        if (i >= 0) {
          this.take(i + 1);
          this.discardingLongLine = false;
          continue;
        }
        this.take(this.buf.length);
      } else if (i > MAX_COMMAND_LINE) {
        this.take(i + 1);
        return 'toolong';
      } else if (i >= 0) {
        const line = this.take(i + 1);
        return line.subarray(0, i);
      } else if (this.buf.length > MAX_COMMAND_LINE) {
        this.take(this.buf.length);
        this.discardingLongLine = true;
        return 'toolong';
      }
      if (this.eof) {
        if (this.buf.length && !this.discardingLongLine) return this.take(this.buf.length);
        return 'eof';
      }
      await this.signal.wait();
    }
  }

  /** Whatever input is queued, or the next chunk (DATA mode). */
  async readChunk(): Promise<Buffer | 'eof'> {
    for (;;) {
      if (this.buf.length) return this.take(this.buf.length);
      if (this.eof) return 'eof';
      await this.signal.wait();
    }
  }

  /** Puts bytes back in front of the queue (pipelined commands after the end of DATA). */
  unread(b: Buffer): void {
    if (b.length) this.buf = this.buf.length ? Buffer.concat([b, this.buf]) : b;
  }

  /** Drops queued input (STARTTLS: nothing sent before the handshake may be used, CVE-2011-0411). */
  discardQueued(): void {
    this.take(this.buf.length);
  }

  /** Waits until input arrives (or EOF), without consuming it. */
  async waitInput(): Promise<void> {
    if (this.hasInput) return;
    await this.signal.wait();
  }

  /** stop reading (backpressure towards the child) */
  pause(): void {
    this.input.pause();
  }

  resume(): void {
    if (!this.paused) this.input.resume();
  }

  write(b: Buffer): boolean {
    if (this.output.destroyed || this.output.writableEnded) return false;
    return this.output.write(b);
  }

  interrupt(e: Interrupted): void {
    this.signal.interrupt(e);
  }

  /** Ends the client connection once everything written has been flushed. */
  async end(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.output.writableEnded || this.output.destroyed) return resolve();
      this.output.end(() => resolve());
      this.output.once('error', () => resolve());
    });
    // stop reading: an open stdin would keep the process alive after the session
    this.input.removeAllListeners('data');
    this.input.pause();
    this.input.destroy();
  }
}

export interface Reply {
  code: number;
  /** the reply's lines without line endings, latin1 */
  lines: string[];
  /** exactly as the child sent it */
  raw: Buffer;
}

/** The reply's last line, code included: the traffic line's reason for ALLOWED / DENIED_OTHER
 * (spec §3.3: `250_ok_1430000000_qp_1234`). */
export function replyText(r: Reply): string {
  return r.lines[r.lines.length - 1] ?? '';
}

export function replyToBuffer(lines: readonly string[]): Buffer {
  return Buffer.from(lines.map((l) => l + '\r\n').join(''), 'latin1');
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The other end of the session: qmail-smtpd on two pipes (wrapper mode, `levee serve --exec`) or an
 * MTA over TCP (`levee serve --forward`). Everything above this interface is the same for both.
 */
export interface Downstream {
  /** bytes to the downstream (its stdin) */
  readonly input: Writable;
  /** bytes from the downstream (its stdout) */
  readonly output: Readable;
  /** resolves when the downstream is gone (process exited / socket closed) */
  readonly exited: Promise<ChildExit>;
  /** set when it could not be started or connected */
  readonly startError: Error | undefined;
  /** ends it by force (a child that does not exit after its input was closed) */
  kill(signal: NodeJS.Signals): void;
}

/** Starts the child with stdin/stdout on pipes and stderr inherited (spec §5.2). */
export function spawnDownstream(argv: readonly string[], env: NodeJS.ProcessEnv): Downstream {
  const proc: ChildProcess = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'], env });
  let startError: Error | undefined;
  const exited = new Promise<ChildExit>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
    proc.on('error', (e) => {
      startError ??= e;
      if (proc.pid === undefined) resolve({ code: null, signal: null });
    });
  });
  return {
    input: proc.stdin!,
    output: proc.stdout!,
    exited,
    get startError() {
      return startError;
    },
    kill: (signal) => {
      proc.kill(signal);
    },
  };
}

export class ChildIO {
  readonly exited: Promise<ChildExit>;
  /** the child's stdin is closed; its further output is discarded */
  cutOff = false;
  private buf: Buffer = EMPTY;
  private pending: string[] = [];
  private pendingRaw: Buffer[] = [];
  private replies: Reply[] = [];
  private stdoutEnded = false;
  private readonly signal = new Signal();
  private readonly listeners = new Set<() => void>();
  private rawSink: ((chunk: Buffer) => void) | undefined;
  exitInfo: ChildExit | undefined;

  constructor(
    readonly down: Downstream,
    private readonly onOutput: (chunk: Buffer, filtered: boolean) => void,
  ) {
    this.exited = down.exited.then((x) => {
      this.exitInfo = x;
      if (down.startError) {
        this.stdoutEnded = true;
        this.notify();
      }
      return x;
    });
    // writes to a child that has gone away must not kill levee
    down.input.on('error', () => {});
    const out = down.output;
    out.on('data', (c: Buffer) => (this.rawSink ? this.rawSink(c) : this.onStdout(c)));
    out.on('end', () => {
      this.stdoutEnded = true;
      this.notify();
    });
    out.on('error', () => {
      this.stdoutEnded = true;
      this.notify();
    });
  }

  get startError(): Error | undefined {
    return this.down.startError;
  }

  /** From now on the child's output goes to `sink` unparsed (TLS passthrough). */
  takeOverOutput(sink: (chunk: Buffer) => void): void {
    this.rawSink = sink;
  }

  private notify(): void {
    this.signal.wake();
    for (const l of this.listeners) l();
  }

  onReadable(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private onStdout(c: Buffer): void {
    this.onOutput(c, this.cutOff);
    if (this.cutOff) return;
    let data = this.buf.length ? Buffer.concat([this.buf, c]) : c;
    for (;;) {
      let i = data.indexOf(LF);
      if (i < 0 && data.length > MAX_REPLY_LINE) i = data.length - 1;
      if (i < 0) break;
      const rawLine = data.subarray(0, i + 1);
      data = data.subarray(i + 1);
      let end = rawLine.length;
      if (rawLine[end - 1] === LF) end--;
      if (end > 0 && rawLine[end - 1] === 13) end--;
      const line = rawLine.toString('latin1', 0, end);
      this.pending.push(line);
      this.pendingRaw.push(rawLine);
      // a reply ends at a line whose 4th character is not '-' (RFC 5321 §4.2.1)
      if (!(line.length > 3 && line[3] === '-')) {
        const code = /^\d{3}/.test(line) ? Number(line.slice(0, 3)) : 0;
        this.replies.push({ code, lines: this.pending, raw: Buffer.concat(this.pendingRaw) });
        this.pending = [];
        this.pendingRaw = [];
      }
    }
    this.buf = data.length ? Buffer.from(data) : EMPTY;
    this.notify();
  }

  get hasReply(): boolean {
    return this.replies.length > 0;
  }

  get gone(): boolean {
    return this.stdoutEnded && this.replies.length === 0;
  }

  /** The next complete reply, or null when the child's output ended. */
  async readReply(): Promise<Reply | null> {
    for (;;) {
      const r = this.replies.shift();
      if (r) return r;
      if (this.stdoutEnded || this.cutOff) return null;
      await this.signal.wait();
    }
  }

  takeReply(): Reply | undefined {
    return this.replies.shift();
  }

  write(b: Buffer): boolean {
    const stdin = this.down.input;
    if (this.cutOff || stdin.destroyed || stdin.writableEnded) return true;
    return stdin.write(b);
  }

  /** Closes the child's input (end of session; it then exits). */
  endInput(): void {
    this.down.input.end();
  }

  /** Resolves when the child's stdin can take more (or is gone). */
  drain(): Promise<void> {
    const stdin = this.down.input;
    if (!stdin.writableNeedDrain || stdin.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        stdin.off('drain', done);
        stdin.off('close', done);
        resolve();
      };
      stdin.on('drain', done);
      stdin.on('close', done);
    });
  }

  /** "Cutting qmail off" (§5.2): close its input; whatever it still says is discarded. */
  cut(): void {
    if (this.cutOff) return;
    this.cutOff = true;
    this.replies = [];
    this.down.input.end();
    this.notify();
  }

  interrupt(e: Interrupted): void {
    this.signal.interrupt(e);
  }

  /** Waits for the child to exit; after `graceMs` it is killed (every child has a timeout). */
  async reap(graceMs: number): Promise<ChildExit> {
    if (this.exitInfo) return this.exitInfo;
    this.down.input.end();
    const timer = setTimeout(() => {
      this.down.kill('SIGTERM');
      setTimeout(() => this.down.kill('SIGKILL'), 2000).unref();
    }, graceMs);
    timer.unref();
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }
}
