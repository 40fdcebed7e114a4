// Protocol abuse through the real chain: a raw client → tcpserver → levee → the qmail stand-in. Each
// case checks the reply the client gets, that levee ends (tcpserver's `end` line) and leaves no process
// behind, that its log lines stay single clean lines, and where it matters the peak memory of the
// levee process (VmHWM) and what the child actually received.
import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync, readFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { startWrapper, dataSection, sleep, tmpDirFor, type SmtpClient, type Wrapper } from '../harness';
import { peakRssKb, waitNoProcesses } from '../soak/procs';

/** A levee (node) process reading a huge line must not grow past this (baseline is ~50 MB). */
const RSS_LIMIT_KB = 160 * 1024;

/** levee ended, its exit was clean, and nothing of this test is still running. */
async function endedClean(w: Wrapper, count = 1): Promise<void> {
  const conns = await w.ts.waitForIdle(count, 15_000);
  for (const c of conns) assert.equal(c.status, 0, `levee ${c.pid} exit status ${c.status}`);
  const left = await waitNoProcesses('STANDIN_DIR', w.standinDir, 3000);
  assert.deepEqual(
    left.map((p) => `${p.pid} ${p.argv.join(' ')}`),
    [],
    'processes left behind',
  );
  assertCleanLog(w);
}

/** Every stderr line of levee is one printable line: no NUL, no raw control bytes, no stack trace. */
function assertCleanLog(w: Wrapper): void {
  const text = w.ts.stderr();
  assert.doesNotMatch(text, /[\x00-\x08\x0b-\x1f\x7f]/, 'a control byte reached the log');
  assert.doesNotMatch(
    text,
    /\n\s+at .+\(.*:\d+:\d+\)|TypeError|RangeError|ERR_[A-Z_]+ \[/,
    text.slice(-3000),
  );
}

async function oneWrapper(t: TestContext, args: string[] = [], opts = {}): Promise<Wrapper | null> {
  return startWrapper(t, ['--log-level=verbose', ...args], opts);
}

describe('oversized and odd bytes', () => {
  test('a 32 MB line without CRLF: memory stays bounded, then 500 and the session goes on', async (t) => {
    const w = await oneWrapper(t);
    if (!w) return;
    const c = await w.connect('127.0.0.1', 15_000);
    await c.readReply();
    const pid = w.ts.connections()[0]!.pid;
    const mb = Buffer.alloc(1024 * 1024, 'A');
    for (let i = 0; i < 32; i++) await c.write(mb);
    await sleep(200);
    const peak = peakRssKb(pid);
    assert.ok(peak !== null && peak < RSS_LIMIT_KB, `levee peak RSS ${peak} kB`);
    await c.write('\r\nNOOP\r\n');
    assert.equal((await c.readReply(10_000)).lines.join(), '500 Line too long.');
    assert.equal((await c.readReply()).code, 250, 'the NOOP after the long line');
    assert.equal((await c.command('QUIT')).code, 221);
    await endedClean(w);
    // the child never saw any of the long line
    assert.doesNotMatch(w.sessions()[0]!.input.toString('latin1'), /AAAA/);
  });

  test('NUL and 8-bit bytes in commands: answered, parsed addresses clean, log lines clean', async (t) => {
    const w = await oneWrapper(t);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    const lines = [
      Buffer.from('NO\0OP\r\n', 'latin1'),
      Buffer.from('EHLO h\u00e9llo\0.test\r\n', 'latin1'),
      Buffer.from('MAIL FROM:<j\u00f6rg\0\x1b[31m@example.org>\r\n', 'latin1'),
      Buffer.from('RCPT TO:<b\0\r@example.org>\r\n', 'latin1'),
      Buffer.from('\xff\xfe\xfd\r\n', 'latin1'),
    ];
    const codes: number[] = [];
    for (const line of lines) {
      await c.write(line);
      codes.push((await c.readReply()).code);
    }
    assert.deepEqual(codes, [502, 250, 250, 250, 502]);
    assert.equal((await c.command('QUIT')).code, 221);
    await endedClean(w);
  });

  test('64 KB of random binary garbage, then QUIT: every line answered, levee ends cleanly', async (t) => {
    const w = await oneWrapper(t);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    // no LF inside, so the line count (and the reply count) is known: 8 lines of 8 KB
    const garbage = Buffer.concat(
      Array.from({ length: 8 }, () => {
        const b = randomBytes(8192).map((x) => (x === 10 || x === 13 ? 0x20 : x));
        return Buffer.concat([b, Buffer.from('\r\n')]);
      }),
    );
    // a garbage line may begin with a verb by chance; QUIT has to be the only one that ends things
    for (let i = 0; i < garbage.length; i += 8194) garbage[i] = 0x7e;
    await c.write(Buffer.concat([garbage, Buffer.from('QUIT\r\n')]));
    const replies = await c.readAll(9, 10_000);
    assert.equal(replies[8]!.code, 221);
    for (const r of replies.slice(0, 8)) assert.ok(r.code >= 500, r.raw);
    await c.expectClosed();
    await endedClean(w);
  });

  test('an HTTP request on port 25: each line refused, no crash', async (t) => {
    const w = await oneWrapper(t);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    await c.write('GET / HTTP/1.1\r\nHost: mx.example.org\r\nUser-Agent: curl/8\r\n\r\n');
    const replies = await c.readAll(4);
    assert.deepEqual(
      replies.map((r) => r.code),
      [502, 502, 502, 502],
    );
    c.close();
    await endedClean(w);
  });
});

describe('pipelining and ordering', () => {
  test('10,000 pipelined commands in one write: all answered, in order', { timeout: 120_000 }, async (t) => {
    const w = await oneWrapper(t);
    if (!w) return;
    const c = await w.connect('127.0.0.1', 60_000);
    await c.readReply();
    const cmds = ['NOOP', 'RSET', 'XYZZY'];
    const expected = ['250 ok', '250 flushed', '502 unimplemented (#5.5.1)'];
    const n = 10_000;
    await c.write(Array.from({ length: n }, (_, i) => cmds[i % 3] + '\r\n').join('') + 'QUIT\r\n');
    const replies = await c.readAll(n + 1, 60_000);
    for (let i = 0; i < n; i++) assert.equal(replies[i]!.lines.join(), expected[i % 3], `reply ${i}`);
    assert.equal(replies[n]!.code, 221);
    await c.expectClosed();
    await endedClean(w);
  });

  test('commands after QUIT are never run', async (t) => {
    const w = await oneWrapper(t);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    await c.write('QUIT\r\nMAIL FROM:<late@example.org>\r\nNOOP\r\n');
    const rest = await c.expectClosed();
    assert.match(rest, /^221 standin\.test\r\n$/);
    await endedClean(w);
    assert.doesNotMatch(w.sessions()[0]!.input.toString('latin1'), /late@example|NOOP/);
  });

  test('early talk before the banner with greeting-delay-secs: refused, logged, nothing reaches the child', async (t) => {
    const w = await oneWrapper(t, ['--greeting-delay-secs', '2']);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.write('EHLO early.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n');
    const replies = await c.readAll(4, 8000);
    // the earlytalker rejection is announced at MAIL (grace AFTER_FROM, quirk 3) and enforced at RCPT
    assert.equal(replies[3]!.lines.join(), '554 Refused. You are not following the SMTP protocol.');
    await w.waitLog(/: DENIED_EARLYTALKER from: a@example\.org to: b@example\.org /);
    c.close();
    await endedClean(w);
    assert.doesNotMatch(w.sessions()[0]?.input.toString('latin1') ?? '', /RCPT/);
  });
});

describe('slow and half-gone clients', () => {
  test('slowloris, a byte a second: the connection timeout ends it with 421 and a TIMEOUT line', async (t) => {
    const w = await oneWrapper(t, ['--idle-timeout-secs', '2', '--connection-timeout-secs', '4']);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    const started = Date.now();
    for (const ch of 'MAIL FROM:<slow@example.org>\r\n') {
      if (c.isClosed() || c.received().includes('421')) break;
      await c.write(ch).catch(() => undefined);
      await sleep(1000);
    }
    assert.match(c.received(), /421 Timeout\. Talk faster next time\.\r\n/);
    assert.ok(Date.now() - started < 8000, `took ${Date.now() - started} ms`);
    await w.waitLog(/: TIMEOUT from: /);
    await endedClean(w);
  });

  test('a pause longer than idle-timeout-secs in the middle of a command: 421 and a TIMEOUT line', async (t) => {
    const w = await oneWrapper(t, ['--idle-timeout-secs', '1']);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    await c.write('MAIL FR');
    const r = await c.readReply(4000);
    assert.equal(r.lines.join(), '421 Timeout. Talk faster next time.');
    await c.expectClosed();
    await w.waitLog(/: TIMEOUT from: /);
    await endedClean(w);
  });

  test('a half-close in the middle of a line: levee ends and reaps its child', async (t) => {
    const w = await oneWrapper(t);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    await c.write('MAIL FROM:<a@example.org>\r\nRCPT TO:<b@exa');
    c.endWrite();
    await c.expectClosed();
    await endedClean(w);
  });
});

/** A child that offers STARTTLS, answers it with 220 and records every byte it gets after that. */
function tlsChild(dir: string): string[] {
  const script = join(dir, 'tls-child.mjs');
  writeFileSync(
    script,
    `import { readSync, writeSync, appendFileSync } from 'node:fs';
const out = ${JSON.stringify(join(dir, 'after-220'))};
const say = (s) => writeSync(1, s);
say('220 tls-child ESMTP\\r\\n');
const buf = Buffer.alloc(65536);
let pending = '';
let tls = false;
for (;;) {
  let n = 0;
  try { n = readSync(0, buf, 0, buf.length, null); } catch { n = 0; }
  if (n === 0) process.exit(0);
  if (tls) { appendFileSync(out, buf.subarray(0, n)); continue; }
  pending += buf.subarray(0, n).toString('latin1');
  let lf;
  while (!tls && (lf = pending.indexOf('\\n')) >= 0) {
    const line = pending.slice(0, lf).replace(/\\r$/, '');
    pending = pending.slice(lf + 1);
    if (/^EHLO/i.test(line)) say('250-tls-child\\r\\n250 STARTTLS\\r\\n');
    else if (/^STARTTLS/i.test(line)) {
      say('220 ready\\r\\n');
      tls = true;
      appendFileSync(out, Buffer.from(pending, 'latin1'));
    } else say('250 ok\\r\\n');
  }
}
`,
  );
  chmodSync(script, 0o755);
  return [process.execPath, script];
}

describe('STARTTLS command injection (CVE-2011-0411 pattern)', () => {
  test('text pipelined after STARTTLS never reaches the TLS layer of the child', async (t) => {
    const dir = tmpDirFor(t, 'levee-tlsinject-');
    const w = await startWrapper(t, ['--tls-level', 'smtp'], { child: tlsChild(dir) });
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    await c.command('EHLO x.test');
    await c.write('STARTTLS\r\nNOOP\r\n');
    assert.equal((await c.readReply()).code, 220);
    // the client's TLS handshake would start here; what the child sees next must be only that
    await c.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]));
    await c.expectNothing(500).catch(() => undefined);
    c.close();
    await w.ts.waitForIdle(1, 10_000);
    const after = readFileSync(join(dir, 'after-220')).toString('latin1');
    assert.ok(!after.includes('NOOP'), `injected text reached the child after 220: ${JSON.stringify(after)}`);
  });

  test('with tls-level none: STARTTLS is refused and the pipelined NOOP is an ordinary command', async (t) => {
    const w = await oneWrapper(t, ['--tls-level', 'none']);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    await c.write('STARTTLS\r\nNOOP\r\n');
    const [tls, noop] = await c.readAll(2);
    assert.equal(tls!.code, 554);
    assert.equal(noop!.code, 250);
    assert.equal((await c.command('QUIT')).code, 221);
    await endedClean(w);
  });
});

const SMUGGLING: [string, string][] = [
  ['<LF>.<LF>', '\n.\n'],
  ['<LF>.<CR><LF>', '\n.\r\n'],
  ['<CR>.<CR>', '\r.\r'],
  ['<CR><LF>.<LF>', '\r\n.\n'],
  ['<CR><LF>.<CR>', '\r\n.\r'],
];

describe('SMTP smuggling split across packets', () => {
  for (const [name, seq] of SMUGGLING) {
    test(`${name} cut at every byte: one message, no smuggled command runs`, async (t) => {
      const w = await oneWrapper(t);
      if (!w) return;
      for (let cut = 0; cut <= seq.length; cut++) {
        const c: SmtpClient = await w.connect('127.0.0.1');
        await c.readReply();
        await c.command('MAIL FROM:<a@example.org>');
        await c.command('RCPT TO:<b@example.org>');
        assert.equal((await c.command('DATA')).code, 354);
        const smuggled = 'MAIL FROM:<evil@x.example>\r\nRCPT TO:<v@example.org>\r\nDATA\r\nsmuggled\r\n';
        const payload = `Subject: s\r\n\r\nbody${seq}${smuggled}`;
        const at = 'Subject: s\r\n\r\nbody'.length + cut;
        await c.write(payload.slice(0, at));
        await sleep(30);
        await c.write(payload.slice(at));
        await sleep(30);
        await c.write('\r\n.\r\n');
        assert.match((await c.readReply(5000)).lines.join(), /^250 ok 1700000000 qp \d+$/);
        assert.equal((await c.command('QUIT')).code, 221);
        await c.expectClosed();
      }
      await endedClean(w, seq.length + 1);
      for (const s of w.sessions()) {
        assert.equal(s.messages.length, 1, 'exactly one message per connection');
        const outside = s.input.toString('latin1').replace(s.messages[0]!.toString('latin1'), '');
        assert.doesNotMatch(outside, /evil@x\.example/);
      }
    });
  }

  test('a smuggling attempt and then the client vanishes: no message is completed', async (t) => {
    const w = await oneWrapper(t);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    await c.command('MAIL FROM:<a@example.org>');
    await c.command('RCPT TO:<b@example.org>');
    await c.command('DATA');
    await c.write(dataSection('x').subarray(0, 3));
    await c.write('\n.\nQUIT\r\n\r.\r\n');
    await sleep(200);
    c.close();
    await endedClean(w);
    const [s] = w.sessions();
    assert.doesNotMatch(s!.input.toString('latin1'), /\r\n\.\r\n/, 'the child got an end of data');
    assert.ok(!w.logLines().some((l) => l.startsWith('ALLOWED')));
  });
});
