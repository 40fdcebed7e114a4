// The optional native spawn helper (native/spawn.c, built at install into build/Release): starts
// the child with posix_spawn instead of libuv's fork (and reads list files in one call, below). On a Node-sized process fork costs 4-6 ms on
// the virtual machines measured (page tables copied, the parent's pages faulted again after it)
// against ~1 ms; levee pays it once per connection. handles.ts uses this when it loads and falls
// back to libuv's spawn when it does not (not built, LEVEE_NATIVE_SPAWN=0, an ENOEXEC script).
//
// Exit statuses come from SIGCHLD: while a helper-started child runs, a listener reaps it by pid
// (waitpid WNOHANG; children that libuv started are left to libuv), and a timer holds the event
// loop open as libuv's process handle would. The helper needs none of handles.ts's bindings, so the
// child starts before they are loaded.
import { join } from 'node:path';

interface NativeHelper {
  /** [pid, stdin write fd, stdout read fd], or a negative errno */
  spawn(
    file: string,
    argv: readonly string[],
    envPairs: readonly string[],
  ): [number, number, number] | number;
  /** null while running; [exit code or -1, signal number or 0]; or a negative errno */
  reap(pid: number): [number, number] | number | null;
  /** a whole file as a one-byte string, or a negative errno */
  readLatin1?(path: string): string | number;
  /** bin/levee's: a file mapped read-only, as a Buffer; or a negative errno */
  mapBuffer?(path: string): Buffer | number;
  /** bin/levee's: a file mapped read-only, as a one-byte string (where Node has external strings) */
  mapLatin1?(path: string): string | number;
}

/** what the helper reports when a child ends: an exit code, or the number of the signal */
export interface NativeExit {
  code: number | null;
  signal: number;
}

export interface NativeChild {
  pid: number;
  stdinFd: number;
  stdoutFd: number;
  exited: Promise<NativeExit>;
  /** signals the child while it has not been reaped (so never a recycled pid) */
  kill(signal: NodeJS.Signals): void;
}

/** the compiled helper, next to dist/ in the package (bin/levee runs dist/levee.cjs) */
export const NATIVE_SPAWN_FILE = join(__dirname, '..', 'build', 'Release', 'levee_spawn.node');

let helper: NativeHelper | null | undefined;

/** `why` when LEVEE_NATIVE_SPAWN=0 turned the helper off */
export const NATIVE_SPAWN_OFF = 'LEVEE_NATIVE_SPAWN=0';

/** The helper, or null when levee uses libuv's spawn. */
export function nativeSpawnHelper(): NativeHelper | null {
  if (helper === undefined) {
    // bin/levee has loaded it already when it mapped the bundle (or found it missing or turned off)
    const m = module as { leveeHelper?: Partial<NativeHelper> };
    helper = 'leveeHelper' in m ? checked(m.leveeHelper ?? null) : loadHelper().helper;
  }
  return helper;
}

function checked(h: Partial<NativeHelper> | null): NativeHelper | null {
  return typeof h?.spawn === 'function' && typeof h.reap === 'function' ? (h as NativeHelper) : null;
}

/** The helper in `file`, or null and why not (for --config-test). */
export function loadHelper(file = NATIVE_SPAWN_FILE): { helper: NativeHelper | null; why: string } {
  if (process.env.LEVEE_NATIVE_SPAWN === '0') return { helper: null, why: NATIVE_SPAWN_OFF };
  try {
    const mod = { exports: {} as Partial<NativeHelper> };
    process.dlopen(mod, file);
    const h = checked(mod.exports);
    return { helper: h, why: h ? '' : `${file} is not levee's spawn helper` };
  } catch (e) {
    return { helper: null, why: (e as Error).message.split('\n')[0] };
  }
}

/**
 * A file's bytes as a one-byte string, read by the helper in one native call (node:fs's
 * readFileSync is a dozen JS calls, each compiled at its first use in the process: ~0.4 ms for a
 * connection's first list file); undefined without the helper. Fails as node:fs does: an Error
 * with code, errno and node's message, so callers handle both alike.
 */
export function readLatin1Native(path: string, h = nativeSpawnHelper()): string | undefined {
  if (!h?.readLatin1) return undefined;
  const r = h.readLatin1(path);
  if (typeof r === 'string') return r;
  // the error path only: node:util is part of node's bootstrap
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const [code, text] = (require('node:util') as typeof import('node:util')).getSystemErrorMap().get(r) ?? [
    'EIO',
    'i/o error',
  ];
  const e: NodeJS.ErrnoException = new Error(`${code}: ${text}, open '${path}'`);
  e.code = code;
  e.errno = r;
  e.syscall = 'open';
  e.path = path;
  throw e;
}

const running = new Map<number, { h: NativeHelper; done: (exit: NativeExit) => void }>();
let keepAlive: NodeJS.Timeout | undefined;

function reapChildren(): void {
  for (const [pid, { h, done }] of running) {
    const r = h.reap(pid);
    if (r === null) continue;
    running.delete(pid);
    // a negative errno (ECHILD: reaped elsewhere) leaves the status unknown
    done(typeof r === 'number' ? { code: null, signal: 0 } : { code: r[1] ? null : r[0], signal: r[1] });
  }
  if (running.size === 0) {
    process.removeListener('SIGCHLD', reapChildren);
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

/**
 * Starts argv with the helper: the child on two fresh pipes (levee's ends returned, close-on-exec),
 * or a negative errno when it could not start.
 */
export function nativeSpawn(
  h: NativeHelper,
  argv: readonly string[],
  envPairs: readonly string[],
): NativeChild | number {
  let r: [number, number, number] | number;
  try {
    r = h.spawn(argv[0], argv, envPairs);
  } catch {
    r = -22; // EINVAL: an argument the helper cannot pass (a NUL byte)
  }
  if (typeof r === 'number') return r;
  const [pid, stdinFd, stdoutFd] = r;
  const exited = new Promise<NativeExit>((done) => running.set(pid, { h, done }));
  if (running.size === 1) {
    // set up after the child started (it is on the connection's critical path): a child that
    // ended before the listener was there is found by the sweep right after
    process.on('SIGCHLD', reapChildren);
    keepAlive = setInterval(() => {}, 0x7fffffff);
    reapChildren();
  }
  return {
    pid,
    stdinFd,
    stdoutFd,
    exited,
    kill(signal) {
      if (!running.has(pid)) return;
      try {
        process.kill(pid, signal);
      } catch {
        // gone meanwhile: its SIGCHLD is on the way
      }
    },
  };
}
