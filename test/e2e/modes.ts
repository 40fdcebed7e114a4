// levee started the two ways production runs it, behind one shape, so one scenario table can run in
// both: 'wrapper' = tcpserver → bin/levee [options] child (one process per connection), 'serve' =
// bin/levee serve --listen 127.0.0.1:0 [options] --exec child (one daemon; the bound port is the
// first line it prints on stdout).
import { spawn, type ChildProcess } from 'node:child_process';
import { childEnv, LEVEE_BIN, startTcpserver } from '../harness';

export type LeveeMode = 'wrapper' | 'serve';

export interface LeveeServerOptions {
  /** the downstream command; wrapper mode appends it, serve mode puts it after --exec */
  child?: string[];
  /** serve mode only: --forward HOST:PORT instead of a child */
  forward?: string;
  /** serve mode only: daemon flags (--max-connections, --rules ...) */
  serveArgs?: string[];
  /** added to the environment of levee (and so of its children) */
  env?: Record<string, string>;
  /** how long to wait for the port; default 5000 ms */
  startTimeoutMs?: number;
}

export interface LeveeServer {
  mode: LeveeMode;
  port: number;
  /** everything levee (and tcpserver, and the children) wrote to stderr */
  stderr(): string;
  /** resolves with the first match of `re` in stderr; rejects after `ms` (default 5000) */
  waitForStderr(re: RegExp, ms?: number): Promise<string>;
  /** serve mode: the daemon process (for signals); undefined in wrapper mode */
  process: ChildProcess | undefined;
  /** serve mode: resolves with the daemon's exit code */
  exited: Promise<number | null>;
  /** stops it (SIGTERM, then SIGKILL after `graceMs`, default 3000) */
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

export async function startLeveeServer(
  mode: LeveeMode,
  leveeArgs: readonly string[],
  opts: LeveeServerOptions = {},
): Promise<LeveeServer> {
  const child = opts.child ?? [];
  if (mode === 'wrapper') {
    const ts = await startTcpserver([LEVEE_BIN, ...leveeArgs, ...child], { env: opts.env });
    return {
      mode,
      port: ts.port,
      stderr: () => ts.stderr(),
      waitForStderr: (re, ms = 5000) => ts.waitForStderr(re, ms),
      process: undefined,
      exited: new Promise(() => {}),
      stop: (graceMs = 3000) => ts.stop(graceMs),
    };
  }
  const downstream = opts.forward ? ['--forward', opts.forward] : ['--exec', ...child];
  const argv = ['serve', '--listen', '127.0.0.1:0', ...(opts.serveArgs ?? []), ...leveeArgs, ...downstream];
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
    mode,
    port,
    stderr: () => err,
    waitForStderr: (re, ms = 5000) => waitForText(() => err, re, ms, onChange),
    process: proc,
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
