// Byte-level I/O of one session: the client side (fd 0/1 from tcpserver) and the child side
// (qmail-smtpd on two pipes). Both work on Buffers; nothing here knows SMTP beyond "a line ends in
// LF" and "a reply is complete when its last line has a space after the code".
// In wrapper mode fd 0/1 and the child are libuv handles (handles.ts), so a session loads none of
// node:net, node:stream and node:child_process; where that is not possible (see handles.ts), and
// for levee serve's sockets, the same classes work on node's streams, required where they are
// used: a run that ends before the session (a configuration error, --help) never loads them.
import type { ChildProcess } from 'node:child_process';
import { fstatSync } from 'node:fs';
import type { SocketConstructorOpts } from 'node:net';
import type { Readable } from 'node:stream';
import { HandleSource, ViewSlot, clientReadBuffer, spawnWithHandles } from './handles';

/**
 * What levee uses of a byte stream it reads: node's Readables (net.Socket, TLSSocket, a child's
 * stdout) and HandleSource have it.
 */
export interface ByteSource {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  destroy(): unknown;
  removeAllListeners(event?: string): unknown;
}

/** What levee uses of a byte stream it writes: node's Writables and HandleSink have it. */
export interface ByteSink {
  write(chunk: Uint8Array, cb?: (e?: Error | null) => void): boolean;
  end(cb?: () => void): unknown;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  once(event: 'error', listener: (e: Error) => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  readonly writableLength: number;
  readonly writableNeedDrain: boolean;
}

const LF = 10;
const EMPTY = Buffer.alloc(0);
/** longest command line levee accepts (spamdyke forwarded longer lines in 16 KiB pieces) */
export const MAX_COMMAND_LINE = 16384;
/** longest reply line levee reads from the child before treating it as complete */
const MAX_REPLY_LINE = 65536;
/** stop reading from the client while this much unprocessed input is queued (lock-step) */
const CLIENT_HIGH_WATER = 256 * 1024;
/** most bytes queued for the child's stdin before the body relay waits for it */
const CHILD_WRITE_AHEAD = 256 * 1024;

/** the reused-buffer slot of each socket openStdinSocket made */
const readSlots = new WeakMap<ByteSource, ViewSlot>();

/** Where the reads of `input` go when it reads into one reused buffer. */
function viewSlotOf(input: ByteSource): ViewSlot | undefined {
  return input instanceof HandleSource ? input.views : readSlots.get(input);
}

/**
 * fd 0 as a socket that reads into one reused buffer (Node's `onread`): a message body then costs
 * no allocation and no garbage per read (shared/research/perf.md: the per-chunk Buffers of a
 * Readable stream are most of the relay's cost, in GC time and in RSS). null when fd 0 is not a
 * pipe or a socket (a file, a terminal): process.stdin is used then.
 */
export function openStdinSocket(): Readable | null {
  try {
    const st = fstatSync(0);
    if (!st.isFIFO() && !st.isSocket()) return null;
  } catch {
    return null;
  }
  const slot = new ViewSlot();
  const buffer = clientReadBuffer();
  // `onread` in the constructor is Node >= 12 (documented there since 22; @types/node lacks it)
  const options: SocketConstructorOpts & { onread: { buffer: Buffer; callback: (n: number) => boolean } } = {
    fd: 0,
    readable: true,
    writable: false,
    // fd 1 is often the same TCP socket: the end of our input must never shut down our output
    allowHalfOpen: true,
    onread: {
      buffer,
      callback: (n: number) => slot.deliver(buffer.subarray(0, n), socket),
    },
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Socket } = require('node:net') as typeof import('node:net');
  const socket = new Socket(options);
  readSlots.set(socket, slot);
  return socket;
}

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

/** pump(): go on with the next chunk */
export const PUMP_MORE = -1;
/** pump(): stop reading the body (the session ends) */
export const PUMP_STOP = -2;
export type Consumer = (chunk: Buffer, reused: boolean) => number | Promise<number>;
export type PumpEnd = { kind: 'ended' } | { kind: 'eof' } | { kind: 'stopped' };
interface Pumping {
  consume: Consumer;
  resolve: (end: PumpEnd) => void;
  reject: (e: Error) => void;
  /** a chunk is being consumed asynchronously (reading is paused) */
  busy: boolean;
}

export class ClientIO {
  /** the first queued chunk (empty only when nothing is queued) */
  private buf: Buffer = EMPTY;
  /** chunks queued after `buf`: kept apart, so a large body is never copied to join them */
  private more: Buffer[] = [];
  /** bytes in `buf` and `more` */
  private queued = 0;
  private eof = false;
  private discardingLongLine = false;
  private paused = false;
  private readonly signal = new Signal();
  private readonly listeners = new Set<() => void>();
  /** the input's reused-buffer slot, while this reads it */
  private views: ViewSlot | undefined;
  /** DATA mode: where arriving chunks go instead of the queue (see pump) */
  private pumping: Pumping | null = null;

  constructor(
    public input: ByteSource,
    public output: ByteSink,
    private readonly onData: (chunk: Buffer) => void,
  ) {
    this.attach(input);
  }

  /**
   * Switches to other streams (after a TLS handshake: the TLS socket's plaintext). Queued input
   * is dropped: nothing the client sent before the switch may be used (CVE-2011-0411).
   */
  replaceStreams(input: ByteSource, output: ByteSink): void {
    this.views?.readViews(null);
    this.views = undefined;
    this.input.removeAllListeners('data');
    this.input.removeAllListeners('end');
    this.input.removeAllListeners('error');
    this.buf = EMPTY;
    this.more = [];
    this.queued = 0;
    this.paused = false;
    this.eof = false;
    this.input = input;
    this.output = output;
    this.attach(input);
  }

  private attach(input: ByteSource): void {
    this.views = viewSlotOf(input);
    for (const c of this.views?.readViews((view) => this.arrived(view, true)) ?? []) this.arrived(c, false);
    input.on('data', (c: Buffer) => {
      if (!this.arrived(c, false)) input.pause();
    });
    const ended = () => {
      this.eof = true;
      const p = this.pumping;
      if (p && !p.busy) this.endPump({ kind: 'eof' });
      this.notify();
    };
    input.on('end', ended);
    input.on('error', ended);
  }

  /**
   * A chunk from the client; `reused` when it is a view of the read buffer (copied before it is
   * kept). False pauses reading.
   */
  private arrived(c: Buffer, reused: boolean): boolean {
    this.onData(c);
    if (c.length === 0) return true;
    if (this.pumping) return this.feed(this.pumping, c, reused);
    this.enqueue(reused ? Buffer.from(c) : c);
    return true;
  }

  private enqueue(c: Buffer): void {
    if (this.buf.length) this.more.push(c);
    else this.buf = c;
    this.queued += c.length;
    if (this.queued > CLIENT_HIGH_WATER && !this.paused) {
      this.paused = true;
      this.input.pause();
    }
    this.notify();
  }

  /**
   * DATA mode: hands the client's bytes to `consume` as they arrive, without queueing or copying
   * them. `consume` returns (or resolves to) PUMP_MORE to go on, PUMP_STOP to stop, or the index
   * in the chunk where the body ended: the bytes from there on (pipelined commands) are queued.
   * A chunk may be a view of the read buffer (`reused`): it stays valid until `consume` returns,
   * or until the promise it returns settles (reading pauses meanwhile).
   */
  async pump(consume: Consumer): Promise<PumpEnd> {
    // what was queued before DATA mode first (owned buffers)
    while (this.buf.length) {
      const c = this.take(this.buf.length);
      let r = consume(c, false);
      if (typeof r !== 'number') r = await r;
      if (r === PUMP_STOP) return { kind: 'stopped' };
      if (r >= 0) {
        this.unread(c.subarray(r));
        return { kind: 'ended' };
      }
    }
    if (this.eof) return { kind: 'eof' };
    return new Promise<PumpEnd>((resolve, reject) => {
      this.pumping = { consume, resolve, reject, busy: false };
      if (this.paused) {
        this.paused = false;
        this.input.resume();
      }
    });
  }

  private feed(p: Pumping, c: Buffer, reused: boolean): boolean {
    let r: number | Promise<number>;
    try {
      r = p.consume(c, reused);
    } catch (e) {
      this.endPump({ kind: 'error', error: e as Error });
      return false;
    }
    if (typeof r === 'number') return this.stepDone(p, c, reused, r);
    p.busy = true;
    r.then(
      (n) => {
        p.busy = false;
        // reading was paused for this chunk; it goes on whether or not the body continues
        if (this.stepDone(p, c, reused, n) && !this.paused) this.input.resume();
      },
      (e: Error) => {
        p.busy = false;
        this.endPump({ kind: 'error', error: e });
      },
    );
    return false;
  }

  /** After one chunk: true to keep reading. */
  private stepDone(p: Pumping, c: Buffer, reused: boolean, r: number): boolean {
    if (this.pumping !== p) return true; // interrupted meanwhile
    if (r === PUMP_STOP) {
      this.endPump({ kind: 'stopped' });
      return false;
    }
    if (r >= 0) {
      this.endPump({ kind: 'ended' });
      const rest = c.subarray(r);
      if (rest.length) this.enqueue(reused ? Buffer.from(rest) : rest);
      return true;
    }
    if (this.eof) {
      this.endPump({ kind: 'eof' });
      return false;
    }
    return true;
  }

  private endPump(end: PumpEnd | { kind: 'error'; error: Error }): void {
    const p = this.pumping;
    if (!p) return;
    this.pumping = null;
    if (end.kind === 'error') p.reject(end.error);
    else p.resolve(end);
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

  /** Takes `n` bytes (at most all of `buf`) from the front of the queue. */
  private take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.queued -= out.length;
    this.buf = n >= this.buf.length ? (this.more.shift() ?? EMPTY) : this.buf.subarray(n);
    if (this.paused && this.queued < CLIENT_HIGH_WATER / 2) {
      this.paused = false;
      this.input.resume();
    }
    return out;
  }

  /** The next line without its LF (a CR before it is kept; the caller strips it). */
  async readLine(): Promise<LineResult> {
    for (;;) {
      let i = this.buf.indexOf(LF);
      if (i < 0 && this.more.length) {
        // a line split across chunks: join what is queued (bounded: a line longer than
        // MAX_COMMAND_LINE is discarded below)
        this.buf = Buffer.concat([this.buf, ...this.more]);
        this.more = [];
        i = this.buf.indexOf(LF);
      }
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
      } else if (this.queued > MAX_COMMAND_LINE) {
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

  /** The first queued chunk, or the next one to arrive (TLS passthrough). */
  async readChunk(): Promise<Buffer | 'eof'> {
    for (;;) {
      if (this.buf.length) return this.take(this.buf.length);
      if (this.eof) return 'eof';
      await this.signal.wait();
    }
  }

  /** Puts bytes back in front of the queue (pipelined commands after the end of DATA). */
  unread(b: Buffer): void {
    if (!b.length) return;
    if (this.buf.length) this.more.unshift(this.buf);
    this.buf = b;
    this.queued += b.length;
  }

  /** Drops queued input (STARTTLS: nothing sent before the handshake may be used, CVE-2011-0411). */
  discardQueued(): void {
    while (this.buf.length) this.take(this.buf.length);
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
    this.endPump({ kind: 'error', error: e });
  }

  /** Ends the client connection once everything written has been flushed. */
  async end(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.output.writableEnded || this.output.destroyed) return resolve();
      this.output.end(() => resolve());
      this.output.once('error', () => resolve());
    });
    // stop reading: an open stdin would keep the process alive after the session
    this.views?.readViews(null);
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
  readonly input: ByteSink;
  /** bytes from the downstream (its stdout) */
  readonly output: ByteSource;
  /** resolves when the downstream is gone (process exited / socket closed) */
  readonly exited: Promise<ChildExit>;
  /** set when it could not be started or connected */
  readonly startError: Error | undefined;
  /** ends it by force (a child that does not exit after its input was closed) */
  kill(signal: NodeJS.Signals): void;
}

/** Starts the child with stdin/stdout on pipes and stderr inherited (spec §5.2). */
export function spawnDownstream(argv: readonly string[], env: NodeJS.ProcessEnv): Downstream {
  const handles = spawnWithHandles(argv, env);
  if (handles) return handles;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
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

  /**
   * Queues bytes for the child; false when the caller should wait for `drain()`. Up to
   * CHILD_WRITE_AHEAD bytes may be queued (the stream's own 16 KiB mark would stop the body relay
   * after every chunk: reading the next chunk while the last one is still being written is what
   * keeps both pipes busy).
   */
  write(b: Buffer): boolean {
    const stdin = this.down.input;
    if (this.cutOff || stdin.destroyed || stdin.writableEnded) return true;
    return stdin.write(b) || stdin.writableLength < CHILD_WRITE_AHEAD;
  }

  /**
   * Writes bytes that may be a view of a reused buffer: null when the child's pipe took them at
   * once, else a promise that settles when they have been written (the buffer may be reused then).
   */
  writeFlushed(b: Buffer): Promise<void> | null {
    const stdin = this.down.input;
    if (this.cutOff || stdin.destroyed || stdin.writableEnded) return null;
    let written = false;
    let wake: (() => void) | undefined;
    stdin.write(b, () => {
      written = true;
      wake?.();
    });
    if (written || stdin.writableLength === 0) return null;
    return new Promise((resolve) => {
      if (written) resolve();
      else wake = resolve;
    });
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
