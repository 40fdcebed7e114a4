// The Logger as a process sees it: what reaches fd 2, one write per line, under a full pipe.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const LOG_MODULE = resolve(__dirname, '../../src/log/index.ts');
let dir = '';
let driver = '';

// The child runs a list of Logger calls given as JSON: [method, ...args].
const DRIVER = `
const { Logger } = require(${JSON.stringify(LOG_MODULE)});
const spec = JSON.parse(process.argv[2]);
if (spec.touchStderr) process.stderr; // node makes a stderr pipe non-blocking, as in production
const log = new Logger(spec.options);
for (let r = 0; r < (spec.repeat || 1); r++)
  for (const [method, ...args] of spec.calls)
    log[method](...args.map((a) => (typeof a === 'string' ? a.replace('%i', String(r)) : a)));
log.close().then(() => process.stdout.write('done\\n'));
`;

interface Spec {
  options: { level: string; targets: string[]; format: string; pid?: number };
  calls: unknown[][];
  repeat?: number;
  touchStderr?: boolean;
}

function runDriver(spec: Spec): { stderr: string; stdout: string; status: number | null } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', driver, JSON.stringify(spec)], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { stderr: r.stderr, stdout: r.stdout, status: r.status };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'levee-log-'));
  driver = join(dir, 'driver.cjs');
  writeFileSync(driver, DRIVER);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const traffic = {
  code: 'DENIED_BLACKLIST_IP',
  sender: 'a@example.com',
  recipient: 'b@example.org',
  ip: '11.22.33.44',
  rdns: '',
  auth: '',
  encryption: '',
  reason: '11.22.33',
  filter: 'ip-blacklist',
  replyCode: 554,
};

describe('text format on stderr', () => {
  test('levee[PID]: prefix, levels gate what is written', () => {
    const r = runDriver({
      options: { level: 'info', targets: ['stderr'], format: 'text', pid: 4242 },
      calls: [
        ['error', 'unable to open file /x: No such file or directory'],
        ['traffic', traffic],
        [
          'filter',
          'FILTER_BLACKLIST_IP',
          [
            ['ip', '11.22.33.44'],
            ['entry', '11.22.33'],
          ],
        ],
        ['debug', 'not shown'],
        ['event', 'connect', { ip: '1.2.3.4' }],
      ],
    });
    assert.equal(r.status, 0);
    assert.equal(
      r.stderr,
      'levee[4242]: ERROR: unable to open file /x: No such file or directory\n' +
        'levee[4242]: DENIED_BLACKLIST_IP from: a@example.com to: b@example.org origin_ip: 11.22.33.44 origin_rdns: (unknown) auth: (unknown) encryption: (none) reason: 11.22.33\n',
    );
  });

  test('verbose adds FILTER lines, debug adds DEBUG lines; none writes nothing', () => {
    const calls = [
      ['filter', 'FILTER_RELAYING', []],
      ['debug', 'looking up 1.2.3.4'],
      ['error', 'boom'],
    ];
    const verbose = runDriver({
      options: { level: 'verbose', targets: ['stderr'], format: 'text', pid: 1 },
      calls,
    });
    assert.equal(verbose.stderr, 'levee[1]: FILTER_RELAYING\nlevee[1]: ERROR: boom\n');
    const debug = runDriver({
      options: { level: 'debug', targets: ['stderr'], format: 'text', pid: 1 },
      calls,
    });
    assert.equal(
      debug.stderr,
      'levee[1]: FILTER_RELAYING\nlevee[1]: DEBUG: looking up 1.2.3.4\nlevee[1]: ERROR: boom\n',
    );
    const none = runDriver({
      options: { level: 'none', targets: ['stderr'], format: 'text', pid: 1 },
      calls,
    });
    assert.equal(none.stderr, '');
    assert.equal(none.stdout, 'done\n');
  });

  test('the real pid is used by default', () => {
    const r = runDriver({
      options: { level: 'error', targets: ['stderr'], format: 'text' },
      calls: [['error', 'x']],
    });
    assert.match(r.stderr, /^levee\[\d+\]: ERROR: x\n$/);
  });

  test('hostile text stays on one line', () => {
    const r = runDriver({
      options: { level: 'info', targets: ['stderr'], format: 'text', pid: 9 },
      calls: [['info', 'a\r\nlevee[1]: FAKE\u0000\u2028end' + 'z'.repeat(9000)]],
    });
    const lines = r.stderr.split('\n');
    assert.equal(lines.length, 2, 'one line and the final newline');
    assert.ok(lines[0]!.startsWith('levee[9]: a\\x0d\\x0alevee[1]: FAKE\\x00\\u2028end'));
    assert.ok(Buffer.byteLength(r.stderr) < 4096, 'fits in one atomic pipe write');
  });

  test('a closed stderr does not crash the logger', () => {
    const r = spawnSync(
      'sh',
      [
        '-c',
        `exec "${process.execPath}" --import tsx "${driver}" "$0" 2>&-`,
        JSON.stringify({
          options: { level: 'info', targets: ['stderr'], format: 'text' },
          calls: [
            ['error', 'one'],
            ['error', 'two'],
          ],
        }),
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'done\n');
  });
});

describe('JSON format on stderr', () => {
  test('one object per line with the documented schema', () => {
    const r = runDriver({
      options: { level: 'verbose', targets: ['stderr'], format: 'json', pid: 77 },
      calls: [
        ['event', 'connect', { ip: '11.22.33.44', rdns: '' }],
        [
          'filter',
          'FILTER_BLACKLIST_IP',
          [
            ['ip', '11.22.33.44'],
            ['entry', '11.22.33'],
          ],
        ],
        ['traffic', { ...traffic, reason: 'two words' }],
        ['error', 'bad\nthing'],
        ['event', 'disconnect', { duration_ms: 12.5, filters_ms: 3 }],
      ],
    });
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 5);
    const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const rec of recs) {
      assert.equal(rec.pid, 77);
      assert.ok(!Number.isNaN(Date.parse(rec.ts as string)), 'ISO timestamp');
    }
    const strip = ({ ts: _ts, ...rest }: Record<string, unknown>): Record<string, unknown> => rest;
    assert.deepEqual(strip(recs[0]!), {
      pid: 77,
      event: 'connect',
      level: 'info',
      ip: '11.22.33.44',
      rdns: '',
    });
    assert.deepEqual(strip(recs[1]!), {
      pid: 77,
      event: 'filter',
      level: 'verbose',
      keyword: 'FILTER_BLACKLIST_IP',
      fields: { ip: '11.22.33.44', entry: '11.22.33' },
    });
    assert.deepEqual(strip(recs[2]!), {
      pid: 77,
      event: 'traffic',
      level: 'info',
      code: 'DENIED_BLACKLIST_IP',
      from: 'a@example.com',
      to: 'b@example.org',
      ip: '11.22.33.44',
      rdns: '',
      auth: '',
      encryption: '',
      reason: 'two words',
      filter: 'ip-blacklist',
      reply_code: 554,
      log_only: false,
    });
    assert.deepEqual(strip(recs[3]!), { pid: 77, event: 'error', level: 'error', msg: 'bad\\x0athing' });
    assert.deepEqual(strip(recs[4]!), {
      pid: 77,
      event: 'disconnect',
      level: 'info',
      duration_ms: 12.5,
      filters_ms: 3,
    });
  });

  test('events are not written below info', () => {
    const r = runDriver({
      options: { level: 'error', targets: ['stderr'], format: 'json' },
      calls: [['event', 'connect', { ip: '1.2.3.4' }]],
    });
    assert.equal(r.stderr, '');
  });
});

describe('one write per line (multilog must never see a torn line)', () => {
  test('two processes logging 1000 long lines each into one slow pipe', async () => {
    const LINE = 3000;
    const spec = (tag: string): string =>
      JSON.stringify({
        options: { level: 'info', targets: ['stderr'], format: 'text' },
        touchStderr: true,
        repeat: 1000,
        calls: [['info', `${tag} %i ${tag.repeat(LINE)}`]],
      });
    const child = (tag: string): string => `"${process.execPath}" --import tsx "${driver}" '${spec(tag)}'`;
    // the reader waits first, so the pipe fills and both writers meet EAGAIN
    const script = `{ ${child('A')} & ${child('B')} & wait; } 2>&1 >/dev/null | { sleep 0.5; cat; }`;
    const out = await new Promise<string>((resolveOut, reject) => {
      const p = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        p.kill('SIGKILL');
        reject(new Error('timed out'));
      }, 60_000);
      p.stdout.on('data', (c: Buffer) => chunks.push(c));
      p.on('close', () => {
        clearTimeout(timer);
        resolveOut(Buffer.concat(chunks).toString('utf8'));
      });
    });
    const lines = out.split('\n');
    assert.equal(lines.pop(), '', 'output ends with a newline');
    assert.equal(lines.length, 2000);
    const next: Record<string, number> = { A: 0, B: 0 };
    const shape = new RegExp(`^levee\\[\\d+\\]: ([AB]) (\\d+) (A{${LINE}}|B{${LINE}})$`);
    for (const line of lines) {
      const m = shape.exec(line);
      assert.ok(m, `torn or mixed line: ${line.slice(0, 80)}...`);
      assert.equal(m[3]![0], m[1], 'body belongs to the same writer');
      assert.equal(Number(m[2]), next[m[1]!], `writer ${m[1]} lines in order, none lost`);
      next[m[1]!]!++;
    }
    assert.deepEqual(next, { A: 1000, B: 1000 });
  });
});
