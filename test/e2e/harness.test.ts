// Proves the end-to-end harness on real parts, without levee: tcpserver spawning the qmail stand-in,
// exim behind tcpserver driven by swaks, and the raw client against `cat`. If these fail, every other
// e2e failure is suspect.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import {
  QMAIL_STANDIN,
  SmtpClient,
  dataSection,
  exactDataArgs,
  missingTools,
  needTools,
  runSwaks,
  setupExim,
  startTcpserver,
  tmpDirFor,
} from '../harness';

const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8'));

describe('tools', () => {
  test('needTools skips outside CI and throws under CI when a command is missing', () => {
    const skipped: string[] = [];
    const fakeContext = { skip: (message: string) => skipped.push(message) } as unknown as TestContext;
    const savedCi = process.env.CI;
    try {
      delete process.env.CI;
      assert.equal(needTools(fakeContext, ['levee-no-such-tool']), false);
      assert.match(skipped[0], /needs levee-no-such-tool \(apt-get install levee-no-such-tool\)/);
      process.env.CI = 'true';
      assert.throws(() => needTools(fakeContext, ['levee-no-such-tool']), /CI must run every test/);
      assert.equal(needTools(fakeContext, ['sh']), true);
      assert.equal(skipped.length, 1);
    } finally {
      if (savedCi === undefined) delete process.env.CI;
      else process.env.CI = savedCi;
    }
    assert.equal(missingTools(['sh']), null);
    assert.match(missingTools(['swaks-not-here', 'tcpserver']) ?? '', /^needs swaks-not-here /);
  });

  test('dataSection dot-stuffs and terminates', () => {
    assert.equal(dataSection('a\r\n.b\r\n..c').toString(), 'a\r\n..b\r\n...c\r\n.\r\n');
    assert.equal(dataSection('.x\r\n').toString(), '..x\r\n.\r\n');
    assert.equal(dataSection('').toString(), '.\r\n');
    // bare LF is not a line end in SMTP, so a dot after it is not stuffed
    assert.equal(dataSection('a\n.b').toString(), 'a\n.b\r\n.\r\n');
  });
});

describe('tcpserver -> qmail stand-in', () => {
  test('pipelined replies come in order and the stand-in records every byte', async (t) => {
    if (!needTools(t, ['tcpserver'])) return;
    const dir = tmpDirFor(t, 'standin');
    const server = await startTcpserver([QMAIL_STANDIN], { env: { STANDIN_DIR: dir } });
    t.after(() => server.stop());
    const client = await SmtpClient.connect(server.port, { localAddress: '127.0.0.33' });
    t.after(() => client.close());

    assert.equal((await client.readReply()).raw, '220 standin.test ESMTP\r\n');
    const ehlo = await client.command('EHLO client.test');
    assert.deepEqual(ehlo.lines, ['250-standin.test', '250-PIPELINING', '250 8BITMIME']);
    const pipelined =
      'MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<reject.me@example.net>\r\nDATA\r\n';
    await client.write(pipelined);
    const replies = await client.readAll(4);
    assert.deepEqual(
      replies.map((reply) => reply.raw),
      [
        '250 ok\r\n',
        '250 ok\r\n',
        "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\r\n",
        '354 go ahead\r\n',
      ],
    );
    // 8-bit bytes, a NUL, a line that needs dot-stuffing, bare LFs with dots (which must not end DATA)
    const message = Buffer.concat([
      Buffer.from('Subject: caf\u00e9\r\n\r\n'),
      Buffer.from([0xff, 0x00, 0x80, 0x0d, 0x0a]),
      Buffer.from('.leading dot\r\nbare\n.\nstill body\r\n'),
    ]);
    const wire = dataSection(message);
    await client.write(wire);
    const accepted = await client.readReply();
    assert.match(accepted.raw, /^250 ok 1700000000 qp \d+\r\n$/);
    assert.equal((await client.command('QUIT')).raw, '221 standin.test\r\n');
    assert.equal(await client.expectClosed(), '');

    const [conn] = await server.waitForIdle(1);
    assert.deepEqual(conn, { pid: conn.pid, remoteIp: '127.0.0.33', allowed: true, status: 0 });
    assert.equal(accepted.raw, `250 ok 1700000000 qp ${conn.pid}\r\n`);
    const base = join(dir, String(conn.pid));
    const sent = Buffer.concat([
      Buffer.from('EHLO client.test\r\n' + pipelined),
      wire,
      Buffer.from('QUIT\r\n'),
    ]);
    assert.deepEqual(readFileSync(`${base}.in`), sent);
    // the .eml is the data section without the final CRLF.CRLF, still dot-stuffed
    assert.deepEqual(readFileSync(`${base}.1.eml`), wire.subarray(0, wire.length - 5));
    const env = readJson(`${base}.env.json`);
    assert.equal(env.TCPREMOTEIP, '127.0.0.33');
    assert.equal(env.TCPLOCALPORT, String(server.port));
    assert.equal(env.PROTO, 'TCP');
    assert.deepEqual(readJson(`${base}.exit.json`).status, 0);
  });

  test('empty message, feature keywords, injected delay and death', async (t) => {
    if (!needTools(t, ['tcpserver'])) return;
    const dir = tmpDirFor(t, 'standin-faults');
    const env = { STANDIN_DIR: dir, STANDIN_AUTH: '1', STANDIN_STARTTLS: '1', STANDIN_DELAY_MS: '300' };
    const slow = await startTcpserver([QMAIL_STANDIN], { env });
    t.after(() => slow.stop());
    const client = await SmtpClient.connect(slow.port);
    t.after(() => client.close());
    await client.expectNothing(150); // the banner is delayed
    await client.readReply(1000);
    const ehlo = await client.command('EHLO x', 1000);
    assert.deepEqual(ehlo.lines, [
      '250-standin.test',
      '250-PIPELINING',
      '250-AUTH LOGIN PLAIN',
      '250-STARTTLS',
      '250 8BITMIME',
    ]);
    await client.write('MAIL FROM:<>\r\nRCPT TO:<x@y>\r\nDATA\r\n.\r\nFOO\r\nQUIT\r\n');
    const codes = (await client.readAll(6, 3000)).map((reply) => reply.code);
    assert.deepEqual(codes, [250, 250, 354, 250, 502, 221]);
    const [conn] = await slow.waitForIdle(1);
    assert.deepEqual(readFileSync(join(dir, `${conn.pid}.1.eml`)), Buffer.alloc(0));

    const dying = await startTcpserver([QMAIL_STANDIN], {
      env: { STANDIN_DIR: dir, STANDIN_DIE_AT: 'rcpt' },
    });
    t.after(() => dying.stop());
    const victim = await SmtpClient.connect(dying.port);
    t.after(() => victim.close());
    await victim.write('HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n');
    await victim.expectClosed();
    assert.equal(victim.received(), '220 standin.test ESMTP\r\n250 standin.test\r\n250 ok\r\n');
    const [died] = await dying.waitForIdle(1);
    assert.equal(died.status, 256, 'exit status 1 as a wait status');
  });

  test('each STANDIN_DIE_AT point exits 1 before replying there', async (t) => {
    const dir = tmpDirFor(t, 'standin-die');
    const banner = '220 standin.test ESMTP\r\n';
    const ehlo = '250-standin.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n';
    const expectedOutput: Record<string, string> = {
      banner: '',
      ehlo: banner,
      mail: banner + ehlo,
      rcpt: banner + ehlo + '250 ok\r\n',
      data: banner + ehlo + '250 ok\r\n250 ok\r\n',
      body: banner + ehlo + '250 ok\r\n250 ok\r\n354 go ahead\r\n',
      dot: banner + ehlo + '250 ok\r\n250 ok\r\n354 go ahead\r\n',
    };
    for (const [point, output] of Object.entries(expectedOutput)) {
      const child = spawn(process.execPath, [QMAIL_STANDIN], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', STANDIN_DIR: dir, STANDIN_DIE_AT: point },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      let replies = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (replies += chunk));
      child.stdin.on('error', () => {}); // it may be gone before reading everything
      child.stdin.end('EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhello\r\n.\r\nQUIT\r\n');
      const code = await new Promise<number | null>((done) => child.on('close', (status) => done(status)));
      assert.equal(code, 1, `STANDIN_DIE_AT=${point}`);
      assert.equal(replies, output, `STANDIN_DIE_AT=${point}`);
    }
  });

  test('a 100 MB body streams to disk with flat memory', async (t) => {
    const dir = tmpDirFor(t, 'standin-big');
    const child = spawn(process.execPath, [QMAIL_STANDIN], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', STANDIN_DIR: dir },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let replies = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (replies += chunk));
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    const write = (data: string | Buffer) =>
      new Promise<void>((done) => (child.stdin.write(data) ? done() : child.stdin.once('drain', done)));

    const line = Buffer.from('x'.repeat(998) + '\r\n');
    const lines = 100 * 1024;
    const sentDigest = createHash('sha256');
    await write('HELO big\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n');
    const batch = Buffer.concat(Array.from({ length: 64 }, () => line));
    for (let i = 0; i < lines / 64; i++) {
      await write(batch);
      sentDigest.update(batch);
    }
    await write('.\r\nQUIT\r\n');
    child.stdin.end();
    assert.equal(await exited, 0);
    assert.match(replies, /354 go ahead\r\n250 ok 1700000000 qp \d+\r\n221 standin.test\r\n$/);

    const eml = readFileSync(join(dir, `${child.pid}.1.eml`));
    assert.equal(eml.length, lines * line.length - 2);
    // the body's final CRLF belongs to the terminator, so it is not in the .eml
    const storedDigest = createHash('sha256').update(eml).update('\r\n').digest('hex');
    assert.equal(storedDigest, sentDigest.digest('hex'));
    const maxRssKb = Number(readJson(join(dir, `${child.pid}.exit.json`)).maxRssKb);
    assert.ok(maxRssKb < 120 * 1024, `peak memory ${maxRssKb} kB for a 100 MB body`);
  });

  test('a tcprules cdb denies and sets variables', async (t) => {
    if (!needTools(t, ['tcpserver', 'tcprules'])) return;
    const dir = tmpDirFor(t, 'rules');
    writeFileSync(
      join(dir, 'rules.txt'),
      '127.0.0.2:deny\n:allow,RELAYCLIENT="",SPAMDYKE_TEST="hello world"\n',
    );
    execFileSync('tcprules', [join(dir, 'rules.cdb'), join(dir, 'rules.tmp')], {
      input: readFileSync(join(dir, 'rules.txt')),
    });
    const server = await startTcpserver([QMAIL_STANDIN], {
      env: { STANDIN_DIR: dir },
      rulesCdb: join(dir, 'rules.cdb'),
    });
    t.after(() => server.stop());

    const denied = await SmtpClient.connect(server.port, { localAddress: '127.0.0.2' });
    t.after(() => denied.close());
    assert.equal(await denied.expectClosed(), '');
    assert.equal(denied.received(), '');

    const allowed = await SmtpClient.connect(server.port, { localAddress: '127.0.0.3' });
    t.after(() => allowed.close());
    await allowed.readReply();
    await allowed.command('QUIT');
    const conns = await server.waitForIdle(2);
    assert.deepEqual(
      conns.map((conn) => [conn.remoteIp, conn.allowed]),
      [
        ['127.0.0.2', false],
        ['127.0.0.3', true],
      ],
    );
    const env = readJson(join(dir, `${conns[1].pid}.env.json`));
    assert.equal(env.RELAYCLIENT, '');
    assert.equal(env.SPAMDYKE_TEST, 'hello world');
  });
});

describe('tcpserver -> exim, driven by swaks', () => {
  // Each message: the data section swaks sends, and the bytes exim must store after its Received header.
  const cases = [
    {
      name: 'plain text',
      message:
        'From: a@example.org\r\nTo: b@example.net\r\nSubject: plain\r\n\r\nhello\r\n.dot line\r\n\r\nend  \r\n',
      args: [] as string[],
    },
    {
      name: '8-bit UTF-8 body, pipelined',
      message:
        'Subject: =?UTF-8?Q?gr=C3=BC=C3=9Fe?=\r\n\r\nGr\u00fc\u00dfe aus K\u00f6ln \u2603\r\n\u00e9\u00e8\r\n',
      args: ['--pipeline'],
    },
  ];
  for (const { name, message, args } of cases) {
    test(`${name}: the body arrives byte-exact in the Maildir`, async (t) => {
      if (!needTools(t, ['tcpserver', 'swaks', 'exim4'], { root: true })) return;
      const exim = await setupExim();
      t.after(() => exim.cleanup());
      const server = await startTcpserver(exim.childArgv);
      t.after(() => server.stop());
      const dataArgs = exactDataArgs(join(exim.dir, 'message.txt'), dataSection(message));
      const result = await runSwaks([
        ...['--server', `127.0.0.1:${server.port}`, '--local-interface', '127.0.0.5'],
        ...['--from', 'a@example.org', '--to', 'b@example.net', ...dataArgs, ...args],
      ]);
      assert.equal(result.code, 0, `swaks failed:\n${result.stdout}${result.stderr}\n${exim.logs()}`);
      const [stored] = await exim.waitForMessages(1);
      assert.match(
        stored.toString('utf8'),
        /^Received: from \S+ \(\[127\.0\.0\.5\]|^Received: from \[127\.0\.0\.5\]/,
      );
      assert.deepEqual(exim.bodyOf(stored), Buffer.from(message.replace(/\r\n/g, '\n')));
      await server.waitForIdle(1);
    });
  }
});

describe('raw client against tcpserver -> cat', () => {
  test('replies, timeouts that show what arrived, half-close', async (t) => {
    if (!needTools(t, ['tcpserver'])) return;
    const server = await startTcpserver(['cat']);
    t.after(() => server.stop());
    const client = await SmtpClient.connect(server.port, { timeoutMs: 2000 });
    t.after(() => client.close());

    await client.write('250-first\r\n250-second\r\n250 last\r\n354\r\n');
    assert.deepEqual(await client.readReply(), {
      code: 250,
      lines: ['250-first', '250-second', '250 last'],
      raw: '250-first\r\n250-second\r\n250 last\r\n',
    });
    assert.equal((await client.readReply()).code, 354);

    await client.write('451 no line end yet');
    await assert.rejects(
      client.readReply(200),
      /timed out after 200 ms waiting for a reply;[^]*451 no line end yet/,
    );
    await assert.rejects(client.expectClosed(100), /timed out after 100 ms waiting for the server to close/);
    const silence = client.expectNothing(1000);
    await client.write('!');
    await assert.rejects(silence, /expected silence for 1000 ms but data arrived/);

    client.endWrite(); // cat sees EOF, exits, and tcpserver closes the socket
    assert.equal(await client.expectClosed(), '451 no line end yet!');
    await assert.rejects(client.readReply(), /connection closed while waiting for a reply/);
    const [conn] = await server.waitForIdle(1);
    assert.equal(conn.status, 0);
    assert.match(server.stderr(), new RegExp(`tcpserver: end ${conn.pid} status 0`));
  });
});
