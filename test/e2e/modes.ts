// levee started the two ways production runs it, behind one shape, so one scenario table can run in
// both: 'wrapper' = tcpserver → bin/levee [options] child (one process per connection), 'serve' =
// bin/levee serve --listen 127.0.0.1:0 [options] --exec child (one daemon; the bound port is the
// first line it prints on stdout).
import type { ChildProcess } from 'node:child_process';
import { LEVEE_BIN, startServeDaemon, startTcpserver, type LeveeMode } from '../harness';

export type { LeveeMode };

export interface LeveeServerOptions {
  /** the downstream command; wrapper mode appends it, serve mode puts it after --exec */
  child?: string[];
  /** serve mode only: --forward HOST:PORT instead of a child */
  forward?: string;
  /** serve mode only: daemon flags (--max-connections, --rules ...) */
  serveArgs?: string[];
  /** added to the environment of levee (and so of its children) */
  env?: Record<string, string>;
  /** serve mode only: the --listen address (default 127.0.0.1:0) */
  listen?: string;
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
  const daemon = await startServeDaemon(opts.serveArgs ?? [], leveeArgs, downstream, {
    env: opts.env,
    startTimeoutMs: opts.startTimeoutMs,
    listen: opts.listen,
  });
  return { mode, ...daemon };
}
