// syslog on a real unix datagram socket: the test binds one in a temp dir (as syslogd binds
// /dev/log) and checks the exact datagrams levee sends there.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SyslogSender } from '../../src/log/syslog';

interface Receiver {
  on(event: 'message', listener: (buf: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  bind(path: string): void;
  close(): void;
}
type UnixDgram = { createSocket(type: 'unix_dgram'): Receiver };

let dgram: UnixDgram | null = null;
let loadError = '';
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  dgram = require('unix-dgram') as UnixDgram;
} catch (err) {
  loadError = (err as Error).message;
}

/** Skips locally without the native addon, fails in CI (project rule). */
function needDgram(t: { skip(msg: string): void }): boolean {
  if (dgram) return true;
  if (process.env.CI) assert.fail(`unix-dgram cannot be loaded: ${loadError}`);
  t.skip(`unix-dgram native addon not loadable (${loadError})`);
  return false;
}

const LOG_MODULE = resolve(__dirname, '../../src/log/index.ts');
const DRIVER = `
const { Logger } = require(${JSON.stringify(LOG_MODULE)});
const spec = JSON.parse(process.argv[2]);
const loaded = () => Object.keys(require.cache).some((k) => k.includes('unix-dgram'));
const before = loaded();
const log = new Logger(spec.options);
for (const [method, ...args] of spec.calls) log[method](...args);
const report = JSON.stringify({ before, after: loaded() }) + '\\n';
if (spec.noClose) process.stdout.write(report);
else log.close().then(() => process.stdout.write(report));
`;

let dir = '';
let driver = '';
let seq = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'levee-syslog-'));
  driver = join(dir, 'driver.cjs');
  writeFileSync(driver, DRIVER);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A bound datagram socket standing in for syslogd. */
function listen(path = join(dir, `log${seq++}.sock`)): { path: string; got: Buffer[]; close(): void } {
  const sock = dgram!.createSocket('unix_dgram');
  const got: Buffer[] = [];
  sock.on('message', (buf) => got.push(Buffer.from(buf)));
  sock.on('error', (err) => assert.fail(err));
  sock.bind(path);
  return {
    path,
    got,
    close: () => {
      sock.close();
      if (existsSync(path)) unlinkSync(path);
    },
  };
}

async function waitFor(got: Buffer[], count: number, ms = 5000): Promise<string[]> {
  const until = Date.now() + ms;
  while (got.length < count && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  return got.map((b) => b.toString('utf8'));
}

function run(
  socketPath: string,
  spec: object,
): { stdout: string; stderr: string; status: number | null; ms: number } {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', driver, JSON.stringify(spec)], {
    encoding: 'utf8',
    timeout: 15_000,
    env: { ...process.env, LEVEE_SYSLOG_SOCKET: socketPath },
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, ms: Date.now() - started };
}

const STAMP = String.raw`(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3]\d \d\d:\d\d:\d\d`;
const traffic = {
  code: 'DENIED_BLACKLIST_IP',
  sender: 'a@example.com',
  recipient: 'b@example.org',
  ip: '11.22.33.44',
  rdns: '',
  auth: '',
  encryption: '',
  reason: '11.22.33',
};

describe('syslog target', () => {
  test('RFC 3164 datagrams: facility mail, ident levee, PID, priority per level', async (t) => {
    if (!needDgram(t)) return;
    const server = listen();
    try {
      const r = run(server.path, {
        options: { level: 'debug', targets: ['syslog'], format: 'text', pid: 555 },
        calls: [
          ['error', 'unable to read file /etc/x'],
          ['traffic', traffic],
          [
            'filter',
            'FILTER_BLACKLIST_IP',
            [
              ['ip', '11.22.33.44'],
              ['entry', '11.22.33'],
            ],
          ],
          ['debug', 'line\r\nwith CRLF'],
          ['info', 'plain info'],
        ],
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '', 'nothing on stderr when only syslog is configured');
      const msgs = await waitFor(server.got, 5);
      const expected = [
        ['19', 'ERROR: unable to read file /etc/x'],
        [
          '22',
          'DENIED_BLACKLIST_IP from: a@example.com to: b@example.org origin_ip: 11.22.33.44 origin_rdns: (unknown) auth: (unknown) encryption: (none) reason: 11.22.33',
        ],
        ['22', 'FILTER_BLACKLIST_IP ip: 11.22.33.44 entry: 11.22.33'],
        ['23', 'DEBUG: line\\x0d\\x0awith CRLF'],
        ['22', 'plain info'],
      ] as const;
      assert.equal(msgs.length, expected.length);
      msgs.forEach((m, i) => {
        const [pri, text] = expected[i]!;
        const head = new RegExp(`^<${pri}>${STAMP} levee\\[555\\]: `).exec(m);
        assert.ok(head, `datagram ${i}: ${m}`);
        assert.equal(m.slice(head[0].length), text);
      });
    } finally {
      server.close();
    }
  });

  test('the syslog timestamp is local time now', async (t) => {
    if (!needDgram(t)) return;
    const server = listen();
    try {
      run(server.path, {
        options: { level: 'error', targets: ['syslog'], format: 'text' },
        calls: [['error', 'x']],
      });
      const [msg] = await waitFor(server.got, 1);
      const stamp = new RegExp(`^<19>(${STAMP}) levee\\[(\\d+)\\]: ERROR: x$`).exec(msg ?? '');
      assert.ok(stamp, msg);
      const now = new Date();
      const sent = new Date(`${stamp[1]} ${now.getFullYear()}`);
      assert.ok(Math.abs(now.getTime() - sent.getTime()) < 60_000, `${stamp[1]} vs ${now.toString()}`);
    } finally {
      server.close();
    }
  });

  test('JSON format sends one JSON object per datagram', async (t) => {
    if (!needDgram(t)) return;
    const server = listen();
    try {
      run(server.path, {
        options: { level: 'info', targets: ['syslog', 'stderr'], format: 'json', pid: 8 },
        calls: [
          ['traffic', traffic],
          ['event', 'disconnect', { duration_ms: 5 }],
        ],
      });
      const msgs = await waitFor(server.got, 2);
      assert.equal(msgs.length, 2);
      const bodies = msgs.map((m) => {
        const head = new RegExp(`^<22>${STAMP} levee\\[8\\]: `).exec(m);
        assert.ok(head, m);
        return JSON.parse(m.slice(head[0].length)) as Record<string, unknown>;
      });
      assert.equal(bodies[0]!.event, 'traffic');
      assert.equal(bodies[0]!.code, 'DENIED_BLACKLIST_IP');
      assert.equal(bodies[1]!.event, 'disconnect');
      assert.equal(bodies[1]!.duration_ms, 5);
    } finally {
      server.close();
    }
  });

  test('unix-dgram is loaded on the first syslog line, not at start-up', async (t) => {
    if (!needDgram(t)) return;
    const server = listen();
    try {
      const quiet = run(server.path, {
        options: { level: 'error', targets: ['syslog'], format: 'text' },
        calls: [['info', 'below the level']],
      });
      assert.deepEqual(JSON.parse(quiet.stdout), { before: false, after: false });
      const loud = run(server.path, {
        options: { level: 'error', targets: ['syslog'], format: 'text' },
        calls: [['error', 'x']],
      });
      assert.deepEqual(JSON.parse(loud.stdout), { before: false, after: true });
    } finally {
      server.close();
    }
  });

  test('a process that never calls close() still exits promptly', async (t) => {
    if (!needDgram(t)) return;
    const server = listen();
    try {
      const r = run(server.path, {
        options: { level: 'error', targets: ['syslog'], format: 'text' },
        calls: [['error', 'x']],
        noClose: true,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.ms < 5000, `took ${r.ms} ms`);
      assert.equal((await waitFor(server.got, 1)).length, 1);
    } finally {
      server.close();
    }
  });

  test('no syslog socket: lines are dropped, stderr still works, nothing crashes', () => {
    const r = run(join(dir, 'no-such.sock'), {
      options: { level: 'info', targets: ['syslog', 'stderr'], format: 'text', pid: 3 },
      calls: [
        ['error', 'one'],
        ['traffic', traffic],
      ],
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^levee\[3\]: ERROR: one\nlevee\[3\]: DENIED_BLACKLIST_IP from: /);
  });

  test('a restarted syslog daemon (new socket at the same path) gets later lines', async (t) => {
    if (!needDgram(t)) return;
    const path = join(dir, 'restart.sock');
    const first = listen(path);
    const sender = new SyslogSender(99, path);
    try {
      assert.equal(sender.send(6, 'before restart'), true);
      assert.equal((await waitFor(first.got, 1)).length, 1);
      first.close();
      const second = listen(path);
      try {
        assert.equal(sender.send(6, 'after restart'), true);
        const [msg] = await waitFor(second.got, 1);
        assert.match(msg ?? '', new RegExp(`^<22>${STAMP} levee\\[99\\]: after restart$`));
      } finally {
        second.close();
      }
    } finally {
      sender.close();
    }
  });
});
