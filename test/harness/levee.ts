// levee in wrapper mode as production runs it: tcpserver → bin/levee [options] → child. The
// default child is the qmail stand-in, whose recordings tell a test exactly what the child saw.
import type { TestContext } from 'node:test';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { needTools, tmpDir, LEVEE_BIN, QMAIL_STANDIN } from './tools';
import { startTcpserver, type Tcpserver } from './tcpserver';
import { SmtpClient } from './smtp-client';

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

export interface Wrapper {
  ts: Tcpserver;
  port: number;
  /** the stand-in's recording directory */
  standinDir: string;
  /** a scratch directory for list files etc. */
  dir: string;
  connect(localAddress?: string, timeoutMs?: number): Promise<SmtpClient>;
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

/**
 * Starts tcpserver running levee with `args` (logging to stderr at verbose, no DNS unless the test
 * gives DNS options, example.org local) in front of `child` (default: the stand-in).
 * `args` may be a function of a scratch dir, for list files. Returns null when skipped.
 */
export async function startWrapper(
  t: TestContext,
  args: string[] | ((dir: string) => string[]),
  opts: { child?: string[]; env?: Record<string, string>; dns?: boolean } = {},
): Promise<Wrapper | null> {
  if (!needTools(t, ['tcpserver'])) return null;
  // removed only after tcpserver and every levee/child under it are gone
  const standin = tmpDir('levee-standin-');
  const lists = tmpDir('levee-lists-');
  const standinDir = standin.dir;
  const dir = lists.dir;
  const rcpthosts = listFile(dir, 'rcpthosts', ['example.org', '.example.org']);
  const extra = typeof args === 'function' ? args(dir) : args;
  const base = ['--log-target', 'stderr', '--log-level=verbose', '--qmail-rcpthosts-file', rcpthosts];
  if (!opts.dns) base.push('--dns-level', 'none');
  const child = opts.child ?? [process.execPath, QMAIL_STANDIN];
  const ts = await startTcpserver([LEVEE_BIN, ...base, ...extra, ...child], {
    env: { STANDIN_DIR: standinDir, ...opts.env },
  });
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
    ts,
    port: ts.port,
    standinDir,
    dir,
    connect: (localAddress = '127.0.0.1', timeoutMs = 5000) =>
      SmtpClient.connect(ts.port, { localAddress, timeoutMs }),
    sessions: () => readStandin(standinDir),
    logLines,
    waitLog: async (re, ms = 5000) => {
      await ts.waitForStderr(re, ms);
      return logLines().find((l) => re.test(l)) ?? '';
    },
  };
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
