// levee as production runs it, in either mode, in front of a child (default: the qmail stand-in, whose
// recordings tell a test exactly what the child saw):
//   'wrapper': tcpserver → bin/levee [options] child (one levee process per connection);
//   'serve':   bin/levee serve --listen 127.0.0.1:0 [options] --exec child (one daemon).
// One test table runs in both: `for (const mode of LEVEE_MODES) describe(mode, ...)` with
// `startWrapper(t, args, { mode })`, or a whole file with LEVEE_E2E_MODE=serve.
import type { TestContext } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childEnv, needTools, tmpDir, LEVEE_BIN, QMAIL_STANDIN } from './tools';
import { startTcpserver, type Tcpserver, type TcpserverConnection } from './tcpserver';
import { SmtpClient } from './smtp-client';

export type LeveeMode = 'wrapper' | 'serve';
export const LEVEE_MODES: readonly LeveeMode[] = ['wrapper', 'serve'];

/** The mode a test runs in when it names none: LEVEE_E2E_MODE, else wrapper. */
export function defaultLeveeMode(): LeveeMode {
  const m = process.env.LEVEE_E2E_MODE;
  if (m === undefined || m === '' || m === 'wrapper') return 'wrapper';
  if (m === 'serve') return 'serve';
  throw new Error(`LEVEE_E2E_MODE must be wrapper or serve, not ${JSON.stringify(m)}`);
}

export interface StandinSession {
  pid: number;
  /** every byte the child received */
  input: Buffer;
  env: Record<string, string>;
  /** DATA sections as received (not unstuffed), in order */
  messages: Buffer[];
}

export function readStandin(dir: string): StandinSession[] {
  const files = readdirSync(dir);
  const pids = [...new Set(files.filter((f) => f.endsWith('.env.json')).map((f) => Number(f.split('.')[0])))];
  return pids.sort().map((pid) => {
    const msgs = files
      .filter((f) => new RegExp(`^${pid}\\.\\d+\\.eml$`).test(f))
      .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]))
      .map((f) => readFileSync(join(dir, f)));
    let input = Buffer.alloc(0);
    try {
      input = readFileSync(join(dir, `${pid}.in`));
    } catch {
      // the child died before reading anything
    }
    return {
      pid,
      input,
      env: JSON.parse(readFileSync(join(dir, `${pid}.env.json`), 'utf8')),
      messages: msgs,
    };
  });
}

/** A running `levee serve` daemon. */
export interface ServeDaemon {
  port: number;
  process: ChildProcess;
  /** everything the daemon (and its children) wrote to stderr */
  stderr(): string;
  /** resolves with the first match of `re` in stderr; rejects after `ms` (default 5000) */
  waitForStderr(re: RegExp, ms?: number): Promise<string>;
  /** resolves with the daemon's exit code */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3000) */
  stop(graceMs?: number): Promise<void>;
}

function waitForText(
  get: () => string,
  re: RegExp,
  ms: number,
  onChange: (l: () => void) => () => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let off = () => {};
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${ms} ms waiting for ${re} in:\n${get()}`));
    }, ms);
    const check = () => {
      const m = re.exec(get());
      if (!m) return;
      clearTimeout(timer);
      off();
      resolve(m[0]);
    };
    off = onChange(check);
    check();
  });
}

/**
 * Starts `bin/levee serve --listen 127.0.0.1:0 (or opts.listen) [serveArgs] [leveeArgs] <downstream>` (downstream:
 * `--exec child...` or `--forward HOST:PORT`) and waits for the port it prints on stdout.
 */
export async function startServeDaemon(
  serveArgs: readonly string[],
  leveeArgs: readonly string[],
  downstream: readonly string[],
  opts: { env?: Record<string, string>; startTimeoutMs?: number; listen?: string } = {},
): Promise<ServeDaemon> {
  const argv = ['serve', '--listen', opts.listen ?? '127.0.0.1:0', ...serveArgs, ...leveeArgs, ...downstream];
  const proc = spawn(LEVEE_BIN, argv, { env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const changed = () => listeners.forEach((l) => l());
  proc.stdout!.on('data', (c: Buffer) => ((out += c.toString('utf8')), changed()));
  proc.stderr!.on('data', (c: Buffer) => ((err += c.toString('utf8')), changed()));
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => (changed(), resolve(code))),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  // a test that forgets stop() must not leave a daemon behind
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));
  const onChange = (l: () => void) => (listeners.add(l), () => listeners.delete(l));
  let port: number;
  try {
    const line = await Promise.race([
      waitForText(() => out, /^\d+\n/, opts.startTimeoutMs ?? 5000, onChange),
      exited.then((code) =>
        Promise.reject(new Error(`levee serve exited (${code}) before listening:\n${err}`)),
      ),
    ]);
    port = Number(line.trim());
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  return {
    port,
    process: proc,
    stderr: () => err,
    waitForStderr: (re, ms = 5000) => waitForText(() => err, re, ms, onChange),
    exited,
    stop: async (graceMs = 3000) => {
      if (gone) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Sockets the process holds (listeners, client connections, pipes to children, DNS). */
function socketCount(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

function hasChildren(pid: number): boolean {
  return readdirSync(`/proc/${pid}/task`).some(
    (tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim() !== '',
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * tcpserver's shape over a serve daemon, so wrapper tests run unchanged. Serve mode has no
 * per-connection process: connections are the ones the test opened through `noteConnection`, and
 * "all ended" means the daemon holds no child process and no socket beyond those it had when idle
 * (a session reaps its child and writes its log lines before it closes the client socket). There
 * is no exit status either: a finished connection reports status 0.
 */
function serveAsTcpserver(daemon: ServeDaemon): Tcpserver & { noteConnection(ip: string): void } {
  const pid = daemon.process.pid!;
  const idleSockets = socketCount(pid);
  const conns: TcpserverConnection[] = [];
  const busy = () => {
    try {
      return hasChildren(pid) || socketCount(pid) > idleSockets;
    } catch {
      return false; // the daemon is gone: nothing runs any more
    }
  };
  return {
    host: '127.0.0.1',
    port: daemon.port,
    stderr: daemon.stderr,
    waitForStderr: daemon.waitForStderr,
    connections: () => conns.map((c) => ({ ...c })),
    noteConnection: (ip) => void conns.push({ pid, remoteIp: ip, allowed: true, status: null }),
    async waitForIdle(count = 1, ms = 5000) {
      const deadline = Date.now() + ms;
      while (conns.length < count || busy()) {
        if (Date.now() > deadline) {
          throw new Error(
            `levee serve: timed out after ${ms} ms waiting for ${count} finished connection(s) ` +
              `(${conns.length} opened); stderr so far:\n${daemon.stderr()}`,
          );
        }
        await sleep(10);
      }
      // the lines were in the pipe before the sockets closed; give the event loop a turn to read them
      await sleep(30);
      for (const c of conns) c.status = 0;
      return conns.map((c) => ({ ...c }));
    },
    stop: (graceMs = 2000) => daemon.stop(graceMs),
  };
}

export interface Wrapper {
  mode: LeveeMode;
  /** tcpserver in wrapper mode; in serve mode the same shape over the daemon (see serveAsTcpserver) */
  ts: Tcpserver;
  port: number;
  /** the stand-in's recording directory */
  standinDir: string;
  /** a scratch directory for list files etc. */
  dir: string;
  connect(localAddress?: string, timeoutMs?: number): Promise<SmtpClient>;
  /**
   * Counts a connection the test opened itself (swaks, its own socket) toward ts.waitForIdle:
   * tcpserver sees every connection, a serve daemon only those it is told of. Default 127.0.0.1.
   */
  noteConnection(ip?: string): void;
  sessions(): StandinSession[];
  /** levee's log lines (the `levee[PID]: ` prefix removed) */
  logLines(): string[];
  /** waits until a log line matches */
  waitLog(re: RegExp, ms?: number): Promise<string>;
}

/** Writes `lines` to a file in `dir` and returns its path. */
export function listFile(dir: string, name: string, lines: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.map((l) => l + '\n').join(''));
  return p;
}

export interface WrapperOptions {
  child?: string[];
  /** added to the environment of tcpserver / the daemon, and so of levee and the child */
  env?: Record<string, string>;
  dns?: boolean;
  /** default: defaultLeveeMode() */
  mode?: LeveeMode;
}

/**
 * Starts levee with `args` (logging to stderr at verbose, no DNS unless the test gives DNS options,
 * example.org local) in front of `child` (default: the stand-in), in `opts.mode`.
 * `args` may be a function of a scratch dir, for list files. Returns null when skipped.
 */
export async function startWrapper(
  t: TestContext,
  args: string[] | ((dir: string) => string[]),
  opts: WrapperOptions = {},
): Promise<Wrapper | null> {
  const mode = opts.mode ?? defaultLeveeMode();
  if (mode === 'wrapper' && !needTools(t, ['tcpserver'])) return null;
  // removed only after the server and every levee/child under it are gone
  const standin = tmpDir('levee-standin-');
  const lists = tmpDir('levee-lists-');
  const standinDir = standin.dir;
  const dir = lists.dir;
  const rcpthosts = listFile(dir, 'rcpthosts', ['example.org', '.example.org']);
  const extra = typeof args === 'function' ? args(dir) : args;
  const base = ['--log-target', 'stderr', '--log-level=verbose', '--qmail-rcpthosts-file', rcpthosts];
  if (!opts.dns) base.push('--dns-level', 'none');
  const child = opts.child ?? [process.execPath, QMAIL_STANDIN];
  const env = { STANDIN_DIR: standinDir, ...opts.env };
  let ts: Tcpserver;
  let noteConnection = (_ip: string) => {};
  try {
    if (mode === 'wrapper') ts = await startTcpserver([LEVEE_BIN, ...base, ...extra, ...child], { env });
    else {
      const served = serveAsTcpserver(
        await startServeDaemon([], [...base, ...extra], ['--exec', ...child], { env }),
      );
      ts = served;
      noteConnection = served.noteConnection;
    }
  } catch (e) {
    standin.cleanup();
    lists.cleanup();
    throw e;
  }
  t.after(async () => {
    await ts.stop();
    standin.cleanup();
    lists.cleanup();
  });
  const logLines = () =>
    ts
      .stderr()
      .split('\n')
      .filter((l) => /^levee\[\d+\]: /.test(l))
      .map((l) => l.replace(/^levee\[\d+\]: /, ''));
  return {
    mode,
    ts,
    port: ts.port,
    standinDir,
    dir,
    connect: async (localAddress = '127.0.0.1', timeoutMs = 5000) => {
      const c = await SmtpClient.connect(ts.port, { localAddress, timeoutMs });
      noteConnection(localAddress);
      return c;
    },
    noteConnection: (ip = '127.0.0.1') => noteConnection(ip),
    sessions: () => readStandin(standinDir),
    logLines,
    waitLog: async (re, ms = 5000) => {
      await ts.waitForStderr(re, ms);
      return logLines().find((l) => re.test(l)) ?? '';
    },
  };
}

/** startWrapper bound to one mode, for a test table that runs in both modes. */
export function wrapperStarter(mode: LeveeMode): typeof startWrapper {
  return (t, args, opts = {}) => startWrapper(t, args, { ...opts, mode });
}

/** The traffic line levee logs, built from its parts (spec §3.3). */
export function trafficLine(
  code: string,
  from: string,
  to: string,
  ip: string,
  reason: string,
  rdns = '(unknown)',
  auth = '(unknown)',
  enc = '(none)',
): string {
  return `${code} from: ${from} to: ${to} origin_ip: ${ip} origin_rdns: ${rdns} auth: ${auth} encryption: ${enc} reason: ${reason}`;
}
