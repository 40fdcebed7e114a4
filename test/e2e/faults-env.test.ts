// Faults around levee: DNS that is down, silent or lying; a child that crashes at every SMTP stage
// or is killed; list files that cannot be read; a client that vanishes at every stage. The outcome is
// always the documented one (a temporary 4xx, or fail-open with a log line), never a 250 for a message
// the child did not accept, never a crash or a stack trace, and no process left behind.
import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  startWrapper,
  startDnsServers,
  dnsServersMissing,
  dataSection,
  sleep,
  DNS_ZONES,
  type Wrapper,
  type DnsServers,
} from '../harness';
import { processesWithEnv, waitNoProcesses } from '../soak/procs';

async function endedClean(w: Wrapper, count = 1): Promise<void> {
  const conns = await w.ts.waitForIdle(count, 15_000);
  for (const c of conns) assert.equal(c.status, 0, `levee ${c.pid} exit status ${c.status}`);
  const left = await waitNoProcesses('STANDIN_DIR', w.standinDir, 3000);
  assert.deepEqual(
    left.map((p) => `${p.pid} ${p.argv.join(' ')}`),
    [],
    'processes left behind',
  );
  const text = w.ts.stderr();
  assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+\)?\n|TypeError|RangeError|Unhandled/, text.slice(-3000));
}

/** MAIL, RCPT, DATA, a body, QUIT; returns the reply codes (stops at the first 421 or closed connection). */
async function conversation(w: Wrapper, ip = '127.0.0.1', timeoutMs = 5000): Promise<number[]> {
  const c = await w.connect(ip, timeoutMs);
  const codes = [(await c.readReply(timeoutMs)).code];
  for (const line of ['MAIL FROM:<a@example.org>', 'RCPT TO:<b@example.org>', 'DATA']) {
    if (codes.at(-1) === 421) break;
    codes.push((await c.command(line, timeoutMs)).code);
  }
  if (codes.at(-1) === 354) {
    await c.write(dataSection('Subject: fault\r\n\r\nbody\r\n'));
    codes.push((await c.readReply(timeoutMs)).code);
  }
  if (!c.isClosed()) await c.command('QUIT', timeoutMs).catch(() => undefined);
  c.close();
  return codes;
}

/** The DNS test servers for one test, or null when skipped (under CI a missing package fails). */
async function dnsFor(t: TestContext): Promise<DnsServers | null> {
  const missing = dnsServersMissing();
  if (missing) {
    if (process.env.CI) throw new Error(`CI must run every test, but this one ${missing}`);
    t.skip(missing);
    return null;
  }
  const dns = await startDnsServers();
  t.after(() => dns.stop());
  return dns;
}

/** A UDP port on 127.0.0.1 with nothing behind it (the kernel answers ICMP port unreachable). */
async function closedUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  const port = await new Promise<number>((done) => s.bind(0, '127.0.0.1', () => done(s.address().port)));
  await new Promise<void>((done) => s.close(() => done()));
  return port;
}

describe('DNS faults: never a listing, never a hang', () => {
  test('the DNS server is down: the RBL fails open with a log line', async (t) => {
    const dns = await dnsFor(t);
    if (!dns) return;
    const port = await closedUdpPort();
    const w = await startWrapper(
      t,
      [
        '--dns-server-ip',
        `127.0.0.1:${port}`,
        '--dns-timeout-secs',
        '2',
        '--dns-blacklist-entry',
        DNS_ZONES.zen,
      ],
      { dns: true },
    );
    if (!w) return;
    const started = Date.now();
    assert.deepEqual(await conversation(w, '127.0.0.2', 8000), [220, 250, 250, 354, 250]);
    assert.ok(Date.now() - started < 6000, `${Date.now() - started} ms`);
    await w.waitLog(/no answer from zen\.test for 127\.0\.0\.2 \(\w+\); not treated as a listing/);
    await endedClean(w);
  });

  test('the DNS server never answers: the lookup gives up within dns-timeout-secs and fails open', async (t) => {
    const dns = await dnsFor(t);
    if (!dns) return;
    const w = await startWrapper(
      t,
      [
        ...['--dns-server-ip', `127.0.0.1:${dns.silentPort}`, '--dns-timeout-secs', '2'],
        ...['--dns-blacklist-entry', DNS_ZONES.zen, '--reject-empty-rdns'],
      ],
      { dns: true },
    );
    if (!w) return;
    const started = Date.now();
    assert.deepEqual(await conversation(w, '127.0.0.2', 10_000), [220, 250, 250, 354, 250]);
    assert.ok(Date.now() - started < 8000, `${Date.now() - started} ms`);
    await w.waitLog(/no answer from zen\.test for 127\.0\.0\.2 \(timeout\)/);
    await w.waitLog(/reject-empty-rdns: not applied to 127\.0\.0\.2/);
    await endedClean(w);
  });

  test('a list that answers outside 127.0.0.0/8 is not a listing, and says so', async (t) => {
    const dns = await dnsFor(t);
    if (!dns) return;
    const w = await startWrapper(
      t,
      ['--dns-server-ip', `127.0.0.1:${dns.port}`, '--dns-blacklist-entry', DNS_ZONES.outside],
      { dns: true },
    );
    if (!w) return;
    assert.deepEqual(await conversation(w, '127.0.0.2'), [220, 250, 250, 354, 250]);
    await w.waitLog(/outside\.test answered 192\.0\.2\.1, outside 127\.0\.0\.0\/8/);
    await endedClean(w);
  });

  test('a real listing still rejects (the fault tests above are not vacuous)', async (t) => {
    const dns = await dnsFor(t);
    if (!dns) return;
    const w = await startWrapper(
      t,
      ['--dns-server-ip', `127.0.0.1:${dns.port}`, '--dns-blacklist-entry', DNS_ZONES.zen],
      { dns: true },
    );
    if (!w) return;
    const codes = await conversation(w, '127.0.0.2');
    assert.equal(codes[2], 554);
    await endedClean(w);
  });
});

describe('the child crashes', () => {
  for (const stage of ['banner', 'ehlo', 'mail', 'rcpt', 'data', 'body', 'dot'] as const) {
    test(`at ${stage}: 421, an ERROR line, never a 250 for the message, no orphan`, async (t) => {
      const w = await startWrapper(t, [], { env: { STANDIN_DIE_AT: stage } });
      if (!w) return;
      const c = await w.connect('127.0.0.1');
      const codes = [(await c.readReply()).code];
      for (const line of ['EHLO x.test', 'MAIL FROM:<a@example.org>', 'RCPT TO:<b@example.org>', 'DATA']) {
        if (codes.at(-1) === 421) break;
        codes.push((await c.command(line)).code);
      }
      if (codes.at(-1) === 354) {
        // a body bigger than a pipe buffer, so levee is still writing when the child is gone
        await c.write(
          dataSection('Subject: crash\r\n\r\n' + 'x'.repeat(70) + '\r\n'.repeat(1) + 'y'.repeat(200_000)),
        );
        codes.push((await c.readReply()).code);
      }
      assert.equal(codes.at(-1), 421, `replies: ${codes.join(' ')}`);
      assert.ok(!codes.slice(0, -1).includes(421));
      if (stage === 'body' || stage === 'dot') assert.equal(codes.at(-2), 354);
      await c.expectClosed();
      await endedClean(w);
      assert.ok(
        w.logLines().some((l) => /^ERROR: child process \S+ ended .*\(status 1\)$/.test(l)),
        w.logLines().join('\n'),
      );
      assert.ok(!w.logLines().some((l) => l.startsWith('ALLOWED')));
    });
  }

  test('killed by a signal while levee waits for its reply: 421 and the signal in the log', async (t) => {
    const w = await startWrapper(t, [], { env: { STANDIN_DELAY_MS: '1500' } });
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply(5000);
    await c.write('MAIL FROM:<a@example.org>\r\n');
    await sleep(300);
    // levee's own argv names the stand-in too, as its child command: the stand-in is argv[1]
    const standins = processesWithEnv('STANDIN_DIR', w.standinDir).filter((p) =>
      (p.argv[1] ?? '').endsWith('qmail-standin.mjs'),
    );
    assert.equal(standins.length, 1);
    process.kill(standins[0]!.pid, 'SIGKILL');
    assert.equal(
      (await c.readReply(5000)).lines.join(),
      '421 Service temporarily unavailable. Try again later.',
    );
    await c.expectClosed();
    await endedClean(w);
    await w.waitLog(/ERROR: child process \S+ ended .*\(signal SIGKILL\)/);
  });
});

describe('list files that cannot be read', () => {
  // spamdyke's fopen() succeeds on a directory and every read fails, so it reads 65,536 empty "lines"
  // and logs the too-many-lines notice (verbose); levee copies that. Other failures are ERROR lines.
  const cases: [string, RegExp, (dir: string) => string][] = [
    [
      'a directory',
      /^ignoring file content past line 65536: /,
      (dir) => {
        mkdirSync(join(dir, 'blacklist.d'));
        return join(dir, 'blacklist.d');
      },
    ],
    [
      'a dangling symlink',
      /^ERROR: unable to open file for searching .*: No such file or directory$/,
      (dir) => {
        symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
        return join(dir, 'dangling');
      },
    ],
  ];
  for (const [name, expected, make] of cases) {
    test(`ip-blacklist-file is ${name}: fail open, a log line naming the file`, async (t) => {
      let path = '';
      const w = await startWrapper(t, (dir) => {
        path = make(dir);
        return [
          '--ip-blacklist-file',
          path,
          '--sender-blacklist-file',
          path,
          '--recipient-blacklist-file',
          path,
        ];
      });
      if (!w) return;
      assert.deepEqual(await conversation(w), [220, 250, 250, 354, 250]);
      await endedClean(w);
      const about = w.logLines().filter((l) => l.includes(path));
      assert.ok(about.length >= 1, w.logLines().join('\n'));
      assert.ok(
        about.every((l) => expected.test(l)),
        about.join('\n'),
      );
    });
  }
});

describe('the client vanishes', () => {
  const steps = ['EHLO x.test', 'MAIL FROM:<a@example.org>', 'RCPT TO:<b@example.org>', 'DATA'];
  for (let k = 0; k <= steps.length; k++) {
    const where = k === 0 ? 'after the banner' : `after ${steps[k - 1]!.split(/[ :]/)[0]}`;
    test(`${where}: levee ends with status 0 and reaps its child; nothing delivered`, async (t) => {
      const w = await startWrapper(t, []);
      if (!w) return;
      const c = await w.connect('127.0.0.1');
      await c.readReply();
      for (const line of steps.slice(0, k)) await c.command(line);
      c.close();
      await endedClean(w);
      const [s] = w.sessions();
      assert.doesNotMatch(s?.input.toString('latin1') ?? '', /\r\n\.\r\n/);
      assert.ok(!w.logLines().some((l) => l.startsWith('ALLOWED')));
    });
  }

  test('right after the final dot: the child still gets the whole message and levee logs it', async (t) => {
    const w = await startWrapper(t, []);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    for (const line of steps) await c.command(line);
    await c.write(dataSection('Subject: gone\r\n\r\nbye\r\n'));
    c.close();
    await endedClean(w);
    const [s] = w.sessions();
    assert.equal(s?.messages.length, 1);
    assert.equal(s?.messages[0]!.toString('latin1'), 'Subject: gone\r\n\r\nbye');
    await w.waitLog(/ALLOWED from: a@example\.org to: b@example\.org/);
  });
});
