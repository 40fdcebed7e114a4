// Runs ucspi-tcp's tcpserver on a free loopback port, as production would run levee: one process per
// connection, TCP* variables in the environment, the socket on fd 0/1. tcpserver is a direct child of
// the test process so that node reaps it (PID 1 here reaps orphans lazily).
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { childEnv } from './tools';

export interface TcpserverOptions {
  /** Added to the environment of tcpserver and so of every spawned program. */
  env?: Record<string, string>;
  /** Address to bind; default 127.0.0.1 (ucspi-tcp has no IPv6). */
  host?: string;
  /** -c N: most simultaneous connections (tcpserver's default is 40). */
  concurrency?: number;
  /** -x FILE: a tcprules cdb (allow/deny, environment per client address). */
  rulesCdb?: string;
  /** More tcpserver options, placed before the host (e.g. ['-l', 'mx.test']). */
  extraArgs?: string[];
  /** How long to wait for the port; default 5000 ms. */
  startTimeoutMs?: number;
}

/** One connection as tcpserver -v reported it. `status` is the raw wait status (exit code × 256). */
export interface TcpserverConnection {
  pid: number;
  remoteIp: string;
  /** false for a client that a rules cdb denied (it got EOF, no program ran) */
  allowed: boolean;
  /** null while the program runs */
  status: number | null;
}

export interface Tcpserver {
  host: string;
  port: number;
  /** Everything on tcpserver's stderr: its own -v lines and whatever the programs wrote to stderr. */
  stderr(): string;
  /** Resolves with the first match of `re` in stderr (now or later); rejects after `ms` (default 5000). */
  waitForStderr(re: RegExp, ms?: number): Promise<string>;
  /** Connections seen so far, in order. */
  connections(): TcpserverConnection[];
  /** Resolves when `count` connections were reported and all of them have ended (default 5000 ms). */
  waitForIdle(count?: number, ms?: number): Promise<TcpserverConnection[]>;
  /** Stops tcpserver, gives running programs up to `graceMs` (default 2000) to end, then kills them. */
  stop(graceMs?: number): Promise<void>;
}

const LOG_LINE = /^tcpserver: (pid|ok|end|deny) (\d+)(?: from (\S+)| status (\d+))?/;

export function startTcpserver(prog: string[], opts: TcpserverOptions = {}): Promise<Tcpserver> {
  if (prog.length === 0) throw new Error('startTcpserver: no program given');
  const host = opts.host ?? '127.0.0.1';
  const args = ['-1', '-v', '-R', '-H'];
  if (opts.concurrency !== undefined) args.push('-c', String(opts.concurrency));
  if (opts.rulesCdb !== undefined) args.push('-x', opts.rulesCdb);
  // Without -l tcpserver asks DNS for the local name at start-up: on a machine with a slow or absent
  // resolver that is a random multi-second stall before the port is reported.
  const extra = opts.extraArgs ?? [];
  if (!extra.includes('-l')) args.push('-l', 'localhost');
  args.push(...extra, host, '0', ...prog);

  const child = spawn('tcpserver', args, { env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  // A test that forgets stop() must not hang the test file: nothing here keeps node alive, and
  // tcpserver is killed when the test process exits.
  child.unref();
  (child.stdout as Socket).unref();
  (child.stderr as Socket).unref();
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  let stderrText = '';
  let partialLine = '';
  let stdoutText = '';
  let exited = false;
  let stderrClosed = false;
  const byPid = new Map<number, TcpserverConnection>();
  const order: TcpserverConnection[] = [];
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());

  const track = (line: string) => {
    const m = LOG_LINE.exec(line);
    if (!m) return;
    const [, kind, pidText, fromIp, statusText] = m;
    const pid = Number(pidText);
    let conn = byPid.get(pid);
    // a `pid` line always starts a connection: after thousands of connections (soak) the kernel
    // reuses PIDs, and the earlier connection with this PID has ended
    if ((!conn || kind === 'pid') && kind !== 'end') {
      conn = { pid, remoteIp: fromIp ?? '', allowed: true, status: null };
      byPid.set(pid, conn);
      order.push(conn);
    }
    if (!conn) return;
    if (kind === 'deny') {
      conn.allowed = false;
      conn.status = 0;
    } else if (kind === 'end') conn.status = Number(statusText);
    // ok/deny lines carry ":local:ip:port :remote-ip::port"; take the IP from there if "pid" was missed
    const remote = / :([^:\s]*)::\d+\s*$/.exec(line);
    if (conn.remoteIp === '' && remote) conn.remoteIp = remote[1];
  };

  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderrText += chunk;
    const lines = (partialLine + chunk).split('\n');
    partialLine = lines.pop() ?? '';
    lines.forEach(track);
    notify();
  });
  child.stderr.on('close', () => {
    stderrClosed = true;
    notify();
  });
  const exitedPromise = new Promise<void>((done) =>
    child.on('exit', () => {
      exited = true;
      process.removeListener('exit', killOnExit);
      notify();
      done();
    }),
  );

  // Waits until `check` returns a value (checked now and after every stderr chunk or exit).
  const waitUntil = <T>(check: () => T | undefined, ms: number, what: string): Promise<T> =>
    new Promise<T>((resolveWait, rejectWait) => {
      const attempt = (): boolean => {
        const value = check();
        if (value === undefined) return false;
        finish();
        resolveWait(value);
        return true;
      };
      const listener = () => void attempt();
      const timer = setTimeout(() => {
        finish();
        rejectWait(
          new Error(`tcpserver: timed out after ${ms} ms waiting for ${what}; stderr so far:\n${stderrText}`),
        );
      }, ms);
      const finish = () => {
        clearTimeout(timer);
        listeners.delete(listener);
      };
      listeners.add(listener);
      attempt();
    });

  const server: Omit<Tcpserver, 'port'> = {
    host,
    stderr: () => stderrText,
    waitForStderr: (re, ms = 5000) =>
      waitUntil(
        () => {
          const m = re.exec(stderrText);
          return m ? m[0] : undefined;
        },
        ms,
        String(re),
      ),
    connections: () => order.map((conn) => ({ ...conn })),
    waitForIdle: (count = 1, ms = 5000) =>
      waitUntil(
        () =>
          order.length >= count && order.every((conn) => conn.status !== null)
            ? order.map((conn) => ({ ...conn }))
            : undefined,
        ms,
        `${count} finished connection(s)`,
      ),
    async stop(graceMs = 2000) {
      child.ref(); // keep node alive until the exit event
      if (!exited) child.kill('SIGTERM');
      await exitedPromise;
      // The programs share tcpserver's stderr pipe: it closes when the last of them has exited.
      try {
        await waitUntil(() => (stderrClosed ? true : undefined), graceMs, 'running programs to end');
      } catch {
        for (const conn of order) {
          if (conn.status !== null) continue;
          try {
            process.kill(conn.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        child.stderr.destroy();
      }
    },
  };

  return new Promise<Tcpserver>((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectStart(new Error(`tcpserver did not report its port; stderr:\n${stderrText}`));
    }, opts.startTimeoutMs ?? 5000);
    child.on('error', (err) => {
      clearTimeout(timer);
      rejectStart(new Error(`cannot run tcpserver: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      rejectStart(
        new Error(`tcpserver exited (${code ?? signal}) before reporting a port; stderr:\n${stderrText}`),
      );
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdoutText += chunk;
      const m = /^(\d+)\n/.exec(stdoutText);
      if (!m) return;
      clearTimeout(timer);
      resolveStart({ ...server, port: Number(m[1]) });
    });
  });
}
