// Connection load: `levee serve --exec sink` (proxy mode: one daemon, a child per connection) against
// tcpserver → levee → sink (wrapper mode: a node process per connection), both next to tcpserver
// running the C sink directly (the floor). One client, in this process: N 0-byte sessions
// (greeting, EHLO, QUIT) one at a time, then N with 8 in flight. Reported: connections per second and
// the greeting latency (connect() to the end of the 220 line), whose p99 minus the floor's p99 is what
// levee adds. Rounds interleave the three servers so load bursts on a shared machine hit all alike.
// Also home of the loopback server starters that bench/tls.mjs uses.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { LEVEE, NODE, row, sleep } from './lib.mjs';

/** Resolves `promise`, or rejects with `what` after `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Spawns a listening server that prints its bound port as the first line on stdout (tcpserver -1,
 * `levee serve --listen 127.0.0.1:0`). Keeps the last 4 KB of stderr for error messages; stop() sends
 * SIGTERM and SIGKILL after 3 s.
 */
async function startListener(label, cmd, env) {
  const proc = spawn(cmd[0], cmd.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (c) => (stderr = (stderr + c.toString('latin1')).slice(-4000)));
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal)));
  let out = '';
  const port = await withTimeout(
    new Promise((resolve, reject) => {
      proc.stdout.on('data', (c) => {
        out += c.toString('latin1');
        const m = /^(\d+)\n/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      proc.once('error', reject);
      exited.then((code) => reject(new Error(`${label} exited (${code}) before listening: ${stderr}`)));
    }),
    10000,
    `${label} listening port`,
  ).catch((e) => {
    proc.kill('SIGKILL');
    throw e;
  });
  proc.stdout.resume();
  return {
    label,
    port,
    pid: proc.pid,
    stderr: () => stderr,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * `tcpserver -1 -R -H -l mx.bench.test 127.0.0.1 0 cmd...`: one `cmd` per connection, the socket on
 * fd 0/1. `-l` as in qmail's usual run script: without it every forked tcpserver child asks the
 * resolv.conf server for the PTR of 127.0.0.1 (-H only skips the remote name), and a resolver that
 * drops a query now and then stalls that greeting by 3 s (seen here: 1 session in ~54).
 */
export function startTcpserver(label, cmd, env) {
  return startListener(
    label,
    ['tcpserver', '-1', '-R', '-H', '-l', 'mx.bench.test', '127.0.0.1', '0', ...cmd],
    env,
  );
}

/** `levee serve --listen 127.0.0.1:0 [levee options] --exec child...` (the measured copy of levee). */
export function startLeveeServe(label, leveeArgs, child, env) {
  return startListener(
    label,
    [
      NODE,
      LEVEE,
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--shutdown-secs',
      '2',
      ...leveeArgs,
      '--exec',
      ...child,
    ],
    env,
  );
}

/**
 * Line-by-line SMTP replies from a socket (any Duplex). next() resolves with the complete reply
 * (all of its lines) as one latin1 string.
 */
export class ReplyReader {
  constructor(stream) {
    this.buf = '';
    this.waiter = null;
    this.failure = null;
    this.attach(stream);
  }
  attach(stream) {
    this.stream = stream;
    stream.on('data', (c) => {
      this.buf += c.toString('latin1');
      this.waiter?.();
    });
    const ended = (e) => {
      this.failure ??= e ?? new Error('connection closed');
      this.waiter?.();
    };
    stream.on('end', () => ended());
    stream.on('close', () => ended());
    stream.on('error', (e) => ended(e));
  }
  /** the next complete reply (last line "NNN " or "NNN"), or a rejection after `ms` */
  next(ms = 30000) {
    return withTimeout(
      new Promise((resolve, reject) => {
        const check = () => {
          const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\n/.exec(this.buf);
          if (m) {
            this.buf = this.buf.slice(m[0].length);
            this.waiter = null;
            resolve(m[0]);
          } else if (this.failure) {
            this.waiter = null;
            reject(new Error(`${this.failure.message}; unread: ${JSON.stringify(this.buf.slice(0, 200))}`));
          }
        };
        this.waiter = check;
        check();
      }),
      ms,
      'SMTP reply',
    );
  }
  /** the next reply, which must start with `code` */
  async expect(code, what, ms) {
    const r = await this.next(ms);
    if (!r.startsWith(code))
      throw new Error(`${what}: expected ${code}, got ${JSON.stringify(r.slice(0, 300))}`);
    return r;
  }
}

export function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.removeListener('error', reject), resolve(s)));
    s.once('error', reject);
  });
}

/** One 0-byte session; returns milliseconds from connect() to the greeting and to the close. */
async function zeroByteSession(port) {
  const t0 = performance.now();
  const s = await withTimeout(connect(port), 30000, 'connect');
  try {
    const r = new ReplyReader(s);
    await r.expect('220', 'greeting');
    const greetMs = performance.now() - t0;
    s.write('EHLO bench.test\r\n');
    await r.expect('250', 'EHLO');
    s.write('QUIT\r\n');
    await r.expect('221', 'QUIT');
    await withTimeout(
      new Promise((resolve) => (s.destroyed || s.readableEnded ? resolve() : s.once('close', resolve))),
      10000,
      'close after QUIT',
    );
    return { greetMs, totalMs: performance.now() - t0 };
  } finally {
    s.destroy();
  }
}

/** `count` sessions against `port`, `concurrency` at a time; returns their figures and the wall time. */
async function sessionBatch(port, count, concurrency) {
  const results = [];
  let started = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (started < count) {
      started++;
      results.push(await zeroByteSession(port));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { results, wallMs: performance.now() - t0 };
}

/** nearest-rank percentile */
function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  return v.length ? v[Math.max(0, Math.ceil((p / 100) * v.length) - 1)] : NaN;
}

export async function serveLoadBench(ctx) {
  const { tools, fx } = ctx;
  const n = ctx.quick ? 100 : 300;
  const rounds = ctx.quick ? 2 : 4;
  const concurrency = 8;
  const leveeArgs = ['--dns-level', 'none', '--log-target', 'stderr'];
  // tcpserver sets TCPREMOTEIP itself; RELAYCLIENT as in the other "no filters" rows
  const env = fx.envNone;
  const servers = [];
  try {
    servers.push(await startTcpserver('tcpserver → sink', [tools.sink], env));
    servers.push(await startLeveeServe('levee serve --exec sink', leveeArgs, [tools.sink], env));
    servers.push(
      await startTcpserver('tcpserver → levee → sink', [NODE, LEVEE, ...leveeArgs, tools.sink], env),
    );
    // one session each first: a server that cannot complete a session fails here with its stderr
    for (const s of servers) {
      await zeroByteSession(s.port).catch((e) => {
        throw new Error(`${s.label}: ${e.message}\n${s.stderr()}`);
      });
    }
    const passes = [
      { name: 'sequential', concurrency: 1 },
      { name: `${concurrency} concurrent`, concurrency },
    ];
    // figures[pass][server] = { results: [], wallMs }
    const figures = passes.map(() => servers.map(() => ({ results: [], wallMs: 0 })));
    for (let round = 0; round < rounds; round++) {
      const share = Math.floor(n / rounds) + (round < n % rounds ? 1 : 0);
      for (const [p, pass] of passes.entries()) {
        // rotate the order each round so no server always goes first
        for (let k = 0; k < servers.length; k++) {
          const i = (k + round) % servers.length;
          const b = await sessionBatch(servers[i].port, share, pass.concurrency).catch((e) => {
            throw new Error(`${servers[i].label}: ${e.message}\n${servers[i].stderr()}`);
          });
          figures[p][i].results.push(...b.results);
          figures[p][i].wallMs += b.wallMs;
          ctx.progress(`serve-load round ${round + 1}/${rounds}, ${pass.name}, ${servers[i].label}`);
          await sleep(50);
        }
      }
    }
    const rows = [];
    for (const [p, pass] of passes.entries()) {
      const rate = figures[p].map((f) => (f.results.length * 1000) / f.wallMs);
      const p99 = figures[p].map((f) =>
        percentile(
          f.results.map((r) => r.greetMs),
          99,
        ),
      );
      const p50 = figures[p].map((f) =>
        percentile(
          f.results.map((r) => r.greetMs),
          50,
        ),
      );
      rows.push(
        row(
          'serve-load',
          `${n} 0-byte sessions, ${pass.name}: ${servers[0].label} (floor)`,
          rate[0],
          'conn/s',
        ),
      );
      for (const i of [1, 2]) {
        rows.push(
          row('serve-load', `  ${servers[i].label}`, rate[i], 'conn/s', {
            baseLabel: 'floor',
            base: rate[0],
            ratio: rate[i] / rate[0],
          }),
        );
      }
      for (const i of [1, 2]) {
        rows.push(
          row(
            'serve-load',
            `  ${servers[i].label}: greeting p99 (p50 ${p50[i].toFixed(1)} ms)`,
            p99[i],
            'ms',
            {
              baseLabel: `floor p99 (p50 ${p50[0].toFixed(1)} ms)`,
              base: p99[0],
              delta: p99[i] - p99[0],
            },
          ),
        );
      }
    }
    return rows;
  } finally {
    for (const s of servers) await s.stop();
  }
}
