// Wrapper mode's I/O straight on libuv's stream handles: fd 0/1 and the child's two pipes, and the
// child itself (started by the native helper, native-spawn.ts, or on a libuv Process handle),
// without node:net, node:stream and node:child_process. Those three modules cost
// ~10 ms of every connection's start-up to load (a node script spawning `cat` through
// child_process reaches the child's first byte ~9 ms after `node -e 0` would have exited; through
// the handles here it is there before) and a share of every idle connection's memory. levee needs
// little of them: bytes in, bytes out, a child, its exit status.
//
// The handles come from process.binding (src/bindings.ts), the same objects node:net and
// node:child_process are built on. Everything is feature-checked when loaded: when a binding is
// missing or looks different, or the deprecation would be printed (--pending-deprecation), or
// LEVEE_NODE_STREAMS=1 asks for it, levee uses node's public modules instead (io.ts), with the same
// behaviour. Both paths run in the test suite.
import { EventEmitter } from 'node:events';
import { closeSync, fstatSync } from 'node:fs';
import type { ChildExit, Downstream } from './io';
import { nativeSpawn, nativeSpawnHelper, type NativeChild } from './native-spawn';
import { internalBinding, publicModulesOnly } from '../bindings';

/** The StreamBase methods of a libuv stream handle (Pipe, TCP) that levee uses. */
interface StreamHandle {
  open(fd: number): number;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buffer: Uint8Array): void;
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  shutdown(req: ShutdownReq): number;
  close(cb?: () => void): void;
  /** must always be a function (node aborts on anything else) */
  onread: (arrayBuffer?: ArrayBuffer) => void;
  readonly writeQueueSize: number;
}
interface WriteReq {
  handle: StreamHandle;
  oncomplete: (status: number) => void;
  async: boolean;
  /** the bytes being written: libuv reads them until oncomplete, so they must stay alive */
  buffer: Uint8Array | null;
}
interface ShutdownReq {
  handle: StreamHandle;
  oncomplete: (status: number) => void;
}
interface ProcessHandle {
  spawn(options: {
    file: string;
    args: string[];
    envPairs: string[];
    stdio: ({ type: 'pipe'; handle: StreamHandle } | { type: 'fd'; fd: number })[];
    detached: boolean;
    windowsHide: boolean;
    windowsVerbatimArguments: boolean;
  }): number;
  kill(signal: number): number;
  close(): void;
  /** signalCode: the signal's name, '' when the child exited */
  onexit: (exitCode: number, signalCode: string) => void;
  readonly pid: number;
}
interface Bindings {
  Pipe: new (type: number) => StreamHandle;
  TCP: new (type: number) => StreamHandle;
  pipeSocket: number;
  tcpSocket: number;
  Process: new () => ProcessHandle;
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => ShutdownReq;
  state: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
  UV_EOF: number;
  errname: (code: number) => string;
  signals: Readonly<Record<string, number>>;
  errno: Readonly<Record<string, number>>;
}

let loaded: Bindings | null | undefined;

/** The handle bindings, or null when levee must use node's public stream modules. */
function handleBindings(): Bindings | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  // internalBinding gives nothing when levee must use the public modules; the checks below fail then
  const binding = (name: string): Record<string, unknown> => internalBinding(name) ?? {};
  const pipe = binding('pipe_wrap');
  const tcp = binding('tcp_wrap');
  const stream = binding('stream_wrap');
  const uv = binding('uv');
  const constants = binding('constants') as {
    os?: { signals?: Record<string, number>; errno?: Record<string, number> };
  };
  const b = {
    Pipe: pipe.Pipe,
    TCP: tcp.TCP,
    pipeSocket: (pipe.constants as Record<string, number> | undefined)?.SOCKET,
    tcpSocket: (tcp.constants as Record<string, number> | undefined)?.SOCKET,
    Process: binding('process_wrap').Process,
    WriteWrap: stream.WriteWrap,
    ShutdownWrap: stream.ShutdownWrap,
    state: stream.streamBaseState,
    kReadBytesOrError: stream.kReadBytesOrError,
    kArrayBufferOffset: stream.kArrayBufferOffset,
    kLastWriteWasAsync: stream.kLastWriteWasAsync,
    UV_EOF: uv.UV_EOF,
    errname: uv.errname,
    signals: constants.os?.signals,
    errno: constants.os?.errno,
  };
  const fns = [b.Pipe, b.TCP, b.Process, b.WriteWrap, b.ShutdownWrap, b.errname];
  const nums = [
    b.pipeSocket,
    b.tcpSocket,
    b.kReadBytesOrError,
    b.kArrayBufferOffset,
    b.kLastWriteWasAsync,
    b.UV_EOF,
  ];
  if (
    fns.every((f) => typeof f === 'function') &&
    nums.every((n) => typeof n === 'number') &&
    b.state instanceof Int32Array &&
    typeof b.signals?.SIGTERM === 'number' &&
    typeof b.errno?.ENOEXEC === 'number' &&
    typeof (b.Pipe as { prototype?: { useUserBuffer?: unknown } }).prototype?.useUserBuffer === 'function'
  ) {
    loaded = b as unknown as Bindings;
  }
  return loaded;
}

function errnoError(b: Bindings, code: number, syscall: string, path?: string): NodeJS.ErrnoException {
  const name = b.errname(code);
  const e: NodeJS.ErrnoException = new Error(`${syscall}${path === undefined ? '' : ` ${path}`} ${name}`);
  e.errno = code;
  e.code = name;
  e.syscall = path === undefined ? syscall : `${syscall} ${path}`;
  if (path !== undefined) e.path = path;
  return e;
}

/**
 * Where the reads into one reused buffer go (fd 0 as a HandleSource, or as io.ts's net.Socket):
 * to the reader of views, each valid until the reader returns (false pauses reading, and the view
 * then stays valid until reading resumes); with no reader, as copies to 'data' listeners, or kept
 * for the next reader.
 */
export class ViewSlot {
  private reader: ((view: Buffer) => boolean) | null = null;
  private early: Buffer[] = [];

  /** One read; false: pause reading. */
  deliver(view: Buffer, source: EventEmitter): boolean {
    if (this.reader) return this.reader(view);
    const copy = Buffer.from(view);
    if (source.listenerCount('data') > 0) source.emit('data', copy);
    else this.early.push(copy);
    return true;
  }

  /** From now on reads go to `reader` (null: to 'data' listeners). Returns what came before. */
  readViews(reader: ((view: Buffer) => boolean) | null): Buffer[] {
    this.reader = reader;
    return this.early.splice(0);
  }
}

/**
 * The read side of a handle, shaped like the part of a Readable levee uses ('data', 'end', 'error',
 * 'close', pause, resume, destroy). With `buffer`, every read lands in that one buffer and goes
 * through `views`; without, each read is a fresh Buffer for the 'data' listeners.
 */
export class HandleSource extends EventEmitter {
  destroyed = false;
  /** fd 0 and fd 1 are the same socket: TLS can go natively onto this handle (tls.ts) */
  sharesSocketWithOutput = false;
  /** set when reading into one reused buffer */
  readonly views: ViewSlot | undefined;
  private reading = false;
  private ended = false;
  /** the last view of `buffer` handed out */
  private view: Buffer | undefined;

  constructor(
    private readonly b: Bindings,
    private readonly handle: StreamHandle,
    private readonly buffer?: Buffer,
  ) {
    super();
    if (buffer) {
      handle.useUserBuffer(buffer);
      this.views = new ViewSlot();
    }
    handle.onread = (arrayBuffer) => this.onRead(arrayBuffer);
    // reading starts at once, as a net.Socket's does (what arrives before anyone reads waits in
    // `views`)
    process.nextTick(() => this.resume());
  }

  private onRead(arrayBuffer: ArrayBuffer | undefined): void {
    const n = this.b.state[this.b.kReadBytesOrError];
    if (n > 0) {
      if (this.buffer && this.views) {
        // most reads fill the same length (a pipe's 64 KiB): one view object serves them all
        if (this.view?.length !== n) this.view = this.buffer.subarray(0, n);
        if (!this.views.deliver(this.view, this)) this.pause();
      } else if (arrayBuffer) {
        this.emit('data', Buffer.from(arrayBuffer, this.b.state[this.b.kArrayBufferOffset], n));
      }
      return;
    }
    if (n === 0) return;
    this.stopReading();
    if (this.ended) return;
    this.ended = true;
    if (n === this.b.UV_EOF) this.emit('end');
    else this.emit('error', errnoError(this.b, n, 'read'));
    // nothing more can be read: the descriptor goes (levee serve runs thousands of sessions; the
    // write side, when there is one, is always a handle of its own)
    this.destroy();
  }

  private stopReading(): void {
    if (this.reading) this.handle.readStop();
    this.reading = false;
  }

  pause(): this {
    this.stopReading();
    return this;
  }

  resume(): this {
    if (this.reading || this.ended || this.destroyed) return this;
    const err = this.handle.readStart();
    if (err === 0) this.reading = true;
    else {
      this.ended = true;
      const e = errnoError(this.b, err, 'read');
      process.nextTick(() => this.emit('error', e));
    }
    return this;
  }

  /**
   * Gives the handle up to something else (node:tls on stdin's TCP socket): levee stops reading
   * it and no longer closes it.
   */
  release(): StreamHandle {
    this.stopReading();
    this.handle.onread = () => undefined; // node asserts a function here
    this.ended = true;
    this.destroyed = true;
    return this.handle;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.stopReading();
    this.handle.close(() => this.emit('close'));
    return this;
  }
}

/** Bytes queued on a sink before write() asks the caller to wait for 'drain' (a Writable's default). */
const SINK_HIGH_WATER = 16 * 1024;

/**
 * The write side of a handle, shaped like the part of a Writable levee uses: write(chunk, cb)
 * returns false past 16 KiB queued ('drain' follows), end(cb) shuts the handle's write side down
 * once everything is written, then closes it (unless `keepOpen`: fd 1 is the same socket as fd 0
 * under tcpserver, and the read side may still be in use).
 */
export class HandleSink extends EventEmitter {
  destroyed = false;
  writableEnded = false;
  writableNeedDrain = false;
  private pending = 0;
  private closed = false;

  constructor(
    private readonly b: Bindings,
    private readonly handle: StreamHandle,
  ) {
    super();
  }

  get writableLength(): number {
    return this.pending;
  }

  write(chunk: Uint8Array, cb?: (e?: Error | null) => void): boolean {
    if (this.destroyed || this.writableEnded) {
      const e = new Error('write after end');
      if (cb) process.nextTick(cb, e);
      return false;
    }
    const req = new this.b.WriteWrap();
    req.handle = this.handle;
    req.async = false;
    const n = chunk.length;
    req.oncomplete = (status) => {
      req.buffer = null;
      this.pending -= n;
      if (status < 0) this.fail(errnoError(this.b, status, 'write'));
      cb?.(status < 0 ? errnoError(this.b, status, 'write') : null);
      if (this.writableNeedDrain && this.pending < SINK_HIGH_WATER) {
        this.writableNeedDrain = false;
        this.emit('drain');
      }
    };
    const err = this.handle.writeBuffer(req, chunk);
    if (err !== 0) {
      const e = errnoError(this.b, err, 'write');
      this.fail(e);
      if (cb) process.nextTick(cb, e);
      return false;
    }
    if (this.b.state[this.b.kLastWriteWasAsync]) {
      // libuv writes from these bytes until oncomplete: keep them alive (set only now, so a write
      // that completed at once leaves nothing behind)
      req.buffer = chunk;
      this.pending += n;
    } else cb?.(null);
    if (this.pending >= SINK_HIGH_WATER) this.writableNeedDrain = true;
    return !this.writableNeedDrain;
  }

  private fail(e: Error): void {
    if (this.destroyed) return;
    this.destroy();
    process.nextTick(() => this.emit('error', e));
  }

  end(cb?: () => void): this {
    if (this.writableEnded || this.destroyed) {
      if (cb) process.nextTick(cb);
      return this;
    }
    this.writableEnded = true;
    // libuv runs the shutdown after the writes queued before it
    const req = new this.b.ShutdownWrap();
    req.handle = this.handle;
    req.oncomplete = () => {
      this.destroy();
      this.emit('finish');
      cb?.();
    };
    if (this.handle.shutdown(req) !== 0) req.oncomplete(0);
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    if (!this.closed) {
      this.closed = true;
      this.handle.close(() => this.emit('close'));
    }
    return this;
  }
}

/** What a descriptor is, when a handle can take it; null for a file, a terminal, a closed fd. */
function streamKind(fd: number): { kind: 'socket' | 'pipe'; dev: number; ino: number } | null {
  try {
    const st = fstatSync(fd);
    const kind = st.isSocket() ? 'socket' : st.isFIFO() ? 'pipe' : null;
    return kind && { kind, dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

function openFd(b: Bindings, fd: number, kind: 'socket' | 'pipe'): StreamHandle | null {
  const handle = kind === 'socket' ? new b.TCP(b.tcpSocket) : new b.Pipe(b.pipeSocket);
  if (handle.open(fd) === 0) return handle;
  return null;
}

/** size of the one buffer fd 0 is read into (a pipe holds 64 KiB; a TCP socket may hold more) */
export const READ_BUFFER_BYTES = 256 * 1024;

/**
 * The buffer fd 0 is read into: the one bin/levee read the bundle and its code cache into, when it
 * left it on this module (its pages are already faulted in, ~10 µs each on some VMs), else a new
 * one. Taken once.
 */
export function clientReadBuffer(): Buffer {
  const m = module as { leveeReadBuffer?: unknown };
  const b = m.leveeReadBuffer;
  m.leveeReadBuffer = undefined;
  return Buffer.isBuffer(b) && b.length >= READ_BUFFER_BYTES ? b : Buffer.allocUnsafe(READ_BUFFER_BYTES);
}

/**
 * fd 0 and fd 1 as handle streams (pipes or sockets, as tcpserver and xinetd give them); null
 * when the bindings are not there or either fd is something else (a file, a terminal).
 */
export function openClientHandles(): { input: HandleSource; output: HandleSink } | null {
  const b = handleBindings();
  if (!b) return null;
  // both checked before either is opened: closing a handle would close its descriptor
  const inFd = streamKind(0);
  const outFd = streamKind(1);
  if (!inFd || !outFd) return null;
  const inHandle = openFd(b, 0, inFd.kind);
  const outHandle = inHandle && openFd(b, 1, outFd.kind);
  if (!inHandle || !outHandle) throw new Error('unable to open the client connection (fd 0/1)');
  const input = new HandleSource(b, inHandle, clientReadBuffer());
  // tcpserver's fd 0 and fd 1 are one socket (the same inode); a test's two socketpairs are not
  input.sharesSocketWithOutput = inFd.kind === 'socket' && inFd.dev === outFd.dev && inFd.ino === outFd.ino;
  return { input, output: new HandleSink(b, outHandle) };
}

/**
 * Starts argv[0] (looked up in PATH like execvp) with stdin and stdout on pipes and stderr
 * inherited; null when the bindings are not there. A child that cannot start gives startError
 * `spawn <file> <ERRNAME>` (the text node:child_process gives) and an exit of null/null. The
 * native helper (native-spawn.ts) starts it when it is built; libuv's fork-based spawn otherwise.
 */
export function spawnWithHandles(argv: readonly string[], env: NodeJS.ProcessEnv): Downstream | null {
  if (publicModulesOnly()) return null;
  const envPairs: string[] = [];
  // for-in, not Object.entries: no pair arrays (this runs in V8's interpreter at every connection)
  for (const k in env) {
    const v = env[k];
    if (v !== undefined) envPairs.push(`${k}=${v}`);
  }
  const helper = nativeSpawnHelper();
  // the child first, the bindings while it starts
  const child = helper ? nativeSpawn(helper, argv, envPairs) : undefined;
  const b = handleBindings();
  if (!b) {
    // not expected where the helper loads (the same Node); the public modules start it again
    if (typeof child === 'object') {
      child.kill('SIGKILL');
      closeSync(child.stdinFd);
      closeSync(child.stdoutFd);
    }
    return null;
  }
  if (typeof child === 'object') return nativeDownstream(b, child);
  // ENOEXEC: a script without #! line, which libuv's execvp hands to /bin/sh
  if (child !== undefined && child !== -b.errno.ENOEXEC) return failedDownstream(b, child, argv[0]);
  return uvSpawn(b, argv, envPairs);
}

function nativeDownstream(b: Bindings, child: NativeChild): Downstream {
  const stdinPipe = new b.Pipe(b.pipeSocket);
  const stdoutPipe = new b.Pipe(b.pipeSocket);
  stdinPipe.open(child.stdinFd);
  stdoutPipe.open(child.stdoutFd);
  const stdin = new HandleSink(b, stdinPipe);
  const stdout = new HandleSource(b, stdoutPipe);
  const exited = child.exited.then(({ code, signal }): ChildExit => {
    // as node:child_process does: nobody reads the child's stdin any more
    stdin.destroy();
    return { code, signal: signal ? signalName(b, signal) : null };
  });
  return { input: stdin, output: stdout, exited, startError: undefined, kill: (s) => child.kill(s) };
}

/** a child that could not start: its error, ended at once (its unused pipes closed) */
function failedDownstream(
  b: Bindings,
  err: number,
  file: string,
  stdin = new HandleSink(b, new b.Pipe(b.pipeSocket)),
  stdout = new HandleSource(b, new b.Pipe(b.pipeSocket)),
): Downstream {
  stdin.destroy();
  stdout.destroy();
  return {
    input: stdin,
    output: stdout,
    exited: Promise.resolve({ code: null, signal: null }),
    startError: errnoError(b, err, 'spawn', file),
    kill() {},
  };
}

function signalName(b: Bindings, n: number): NodeJS.Signals | null {
  for (const [name, value] of Object.entries(b.signals)) if (value === n) return name as NodeJS.Signals;
  return null;
}

/** libuv's spawn (fork + exec), on a Process handle */
function uvSpawn(b: Bindings, argv: readonly string[], envPairs: string[]): Downstream {
  const proc = new b.Process();
  const stdinPipe = new b.Pipe(b.pipeSocket);
  const stdoutPipe = new b.Pipe(b.pipeSocket);
  let resolveExit!: (x: ChildExit) => void;
  const exited = new Promise<ChildExit>((r) => (resolveExit = r));
  const stdin = new HandleSink(b, stdinPipe);
  const stdout = new HandleSource(b, stdoutPipe);
  let running = false;
  proc.onexit = (exitCode, signalCode) => {
    running = false;
    proc.close();
    // as node:child_process does: nobody reads the child's stdin any more (its stdout is closed
    // by its own EOF, after whatever the child wrote last has been read)
    stdin.destroy();
    const signal = signalCode ? (signalCode as NodeJS.Signals) : null;
    resolveExit({ code: signal ? null : exitCode, signal });
  };
  const err = proc.spawn({
    file: argv[0],
    args: [...argv],
    envPairs,
    stdio: [
      { type: 'pipe', handle: stdinPipe },
      { type: 'pipe', handle: stdoutPipe },
      { type: 'fd', fd: 2 },
    ],
    detached: false,
    windowsHide: false,
    windowsVerbatimArguments: false,
  });
  if (err !== 0) {
    proc.close();
    return failedDownstream(b, err, argv[0], stdin, stdout);
  }
  running = true;
  return {
    input: stdin,
    output: stdout,
    exited,
    startError: undefined,
    kill(signal) {
      if (running) proc.kill(b.signals[signal] ?? b.signals.SIGTERM);
    },
  };
}
