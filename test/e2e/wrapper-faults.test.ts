// Timeouts and failures in wrapper mode: each ends cleanly, with a log line, with no process left
// behind and never with a 250 for a message the child did not accept.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWrapper, dataSection, sleep, tmpDirFor } from '../harness';

/** tcpserver's `end PID status S` lines: levee exited (and with it, its child was reaped). */
async function ended(w: NonNullable<Awaited<ReturnType<typeof startWrapper>>>, n = 1) {
  const conns = await w.ts.waitForIdle(n, 15_000);
  for (const c of conns) assert.notEqual(c.status, null, 'levee exited');
  return conns;
}

/** No process whose parent is gone and that still runs the stand-in for this test's directory. */
function standinProcesses(dir: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const env = readFileSync(join('/proc', p, 'environ'), 'latin1');
      const argv = readFileSync(join('/proc', p, 'cmdline'), 'latin1').split('\0');
      // the stand-in itself (tcpserver's own command line names it too, as an argument)
      if (env.includes(`STANDIN_DIR=${dir}\0`) && argv[1]?.endsWith('qmail-standin.mjs'))
        pids.push(Number(p));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

describe('timeouts', () => {
  test('idle-timeout-secs: 421 Timeout, a TIMEOUT log line, child reaped', async (t) => {
    const w = await startWrapper(t, ['--idle-timeout-secs', '1']);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    await c.command('MAIL FROM:<a@example.org>');
    await c.command('RCPT TO:<b@example.org>');
    const r = await c.readReply(4000);
    assert.equal(r.lines.join(), '421 Timeout. Talk faster next time.');
    await c.expectClosed();
    await ended(w);
    assert.ok(
      w
        .logLines()
        .includes(
          'TIMEOUT from: a@example.org to: b@example.org origin_ip: 127.0.0.1 origin_rdns: (unknown) auth: (unknown) encryption: (none) reason: TIMEOUT',
        ),
      w.logLines().join('\n'),
    );
    assert.deepEqual(standinProcesses(w.standinDir), []);
  });

  test('idle-timeout-secs counts from the last activity: a client that keeps talking is not cut at the first deadline', async (t) => {
    const w = await startWrapper(t, ['--idle-timeout-secs', '1']);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    const start = Date.now();
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 600));
      assert.deepEqual((await c.command('NOOP')).lines, ['250 ok'], `NOOP ${i + 1} answered`);
    }
    assert.ok(Date.now() - start > 1500, 'past the first idle deadline');
    const quietFrom = Date.now();
    const r = await c.readReply(4000);
    const quiet = Date.now() - quietFrom;
    assert.equal(r.lines.join(), '421 Timeout. Talk faster next time.');
    assert.ok(quiet >= 800 && quiet < 2500, `timed out ${quiet} ms after the last command`);
    await c.expectClosed();
  });

  test('connection-timeout-secs ends a client that keeps talking (slowloris)', async (t) => {
    const w = await startWrapper(t, ['--connection-timeout-secs', '2']);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    const started = Date.now();
    // one byte every 300 ms never lets the idle timer fire; the connection timer does
    for (const ch of 'NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP') {
      if (c.isClosed()) break;
      await c.write(ch).catch(() => {});
      await sleep(300);
      if (c.received().includes('421')) break;
    }
    assert.match(c.received(), /421 Timeout\. Talk faster next time\.\r\n/);
    assert.ok(Date.now() - started < 4500);
    await ended(w);
  });
});

describe('the client goes away', () => {
  test('mid-DATA: the message is discarded (the child never gets its end), a log line, no orphan', async (t) => {
    const w = await startWrapper(t, ['--log-level=info']);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    await c.command('MAIL FROM:<a@example.org>');
    await c.command('RCPT TO:<b@example.org>');
    await c.command('DATA');
    await c.write('Subject: half\r\n\r\nonly half of it');
    await sleep(100);
    c.close();
    await ended(w);
    await w.waitLog(/client disconnected during DATA/);
    const [s] = w.sessions();
    assert.doesNotMatch(s.input.toString(), /\r\n\.\r\n/);
    assert.ok(!w.logLines().some((l) => l.startsWith('ALLOWED')));
    assert.deepEqual(standinProcesses(w.standinDir), []);
  });

  test('before the greeting and after a half-close: levee exits and reaps its child', async (t) => {
    const w = await startWrapper(t, []);
    if (!w) return;
    const c1 = await w.connect('127.0.0.1');
    c1.close();
    const c2 = await w.connect('127.0.0.1');
    await c2.readReply();
    await c2.write('NOOP\r\n');
    c2.endWrite();
    await c2.expectClosed();
    assert.match(c2.received(), /250 ok\r\n$/);
    await ended(w, 2);
    assert.deepEqual(standinProcesses(w.standinDir), []);
  });
});

describe('the child fails', () => {
  for (const stage of ['banner', 'mail', 'rcpt', 'data', 'dot'] as const) {
    test(`the child dies at ${stage}: the client gets 421, levee logs it, nothing is accepted`, async (t) => {
      const w = await startWrapper(t, [], { env: { STANDIN_DIE_AT: stage } });
      if (!w) return;
      const c = await w.connect('127.0.0.1');
      const steps = ['MAIL FROM:<a@example.org>', 'RCPT TO:<b@example.org>', 'DATA'];
      let last = await c.readReply();
      for (const s of steps) {
        if (last.code === 421) break;
        last = await c.command(s);
      }
      if (last.code === 354) {
        await c.write(dataSection('Subject: x\r\n\r\nbody\r\n'));
        last = await c.readReply();
      }
      assert.equal(last.lines.join(), '421 Service temporarily unavailable. Try again later.');
      await c.expectClosed();
      await ended(w);
      assert.ok(
        w.logLines().some((l) => /^ERROR: child process \S+ ended .*\(status 1\)$/.test(l)),
        w.logLines().join('\n'),
      );
      assert.ok(!w.logLines().some((l) => l.startsWith('ALLOWED')));
    });
  }

  test('a child that cannot be started: 421 and a clear error line', async (t) => {
    const dir = tmpDirFor(t, 'levee-nochild-');
    const w = await startWrapper(t, [], { child: [join(dir, 'no-such-qmail-smtpd')] });
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    const r = await c.readReply();
    assert.equal(r.lines.join(), '421 Service temporarily unavailable. Try again later.');
    await c.expectClosed();
    await ended(w);
    assert.ok(
      w
        .logLines()
        .some(
          (l) =>
            l.startsWith(`ERROR: unable to start child process ${join(dir, 'no-such-qmail-smtpd')}: `) &&
            l.includes('ENOENT'),
        ),
      w.logLines().join('\n'),
    );
  });
});

describe('unusual children', () => {
  test('a child that is a shell script without a #! line still runs (execvp hands it to /bin/sh)', async (t) => {
    const dir = tmpDirFor(t, 'levee-script-');
    const script = join(dir, 'smtpd-script');
    // posix_spawn refuses it (ENOEXEC): levee falls back to libuv's spawn, whose execvp runs sh
    writeFileSync(script, 'printf "220 script ready\\r\\n"; read line; printf "221 script bye\\r\\n"\n', {
      mode: 0o755,
    });
    const w = await startWrapper(t, [], { child: [script] });
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    assert.equal((await c.readReply()).lines.join(), '220 script ready');
    assert.equal((await c.command('QUIT')).lines.join(), '221 script bye');
    await c.expectClosed();
    const [conn] = await ended(w);
    assert.equal(conn.status, 0);
  });
});

describe('full-log-dir', () => {
  test('one transcript file per connection, mode 0600, with both directions', async (t) => {
    const logDir = tmpDirFor(t, 'levee-fulllog-');
    const w = await startWrapper(t, ['--full-log-dir', logDir]);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    await c.readReply();
    await c.command('HELO x.test');
    await c.command('QUIT');
    await ended(w);
    const files = readdirSync(logDir);
    assert.equal(files.length, 1);
    assert.match(files[0], /^\d{8}_\d{6}_\d+_\w+$/);
    const text = readFileSync(join(logDir, files[0]), 'latin1');
    assert.match(text, /^\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d STARTED: VERSION = \S+, PID = \d+\n/);
    assert.match(text, /FROM CHILD TO REMOTE: \d+ bytes\n220 standin\.test ESMTP\r\n/);
    assert.match(text, /FROM REMOTE TO CHILD: \d+ bytes\nHELO x\.test\r\n/);
    assert.match(text, /CLOSED/);
  });
});
