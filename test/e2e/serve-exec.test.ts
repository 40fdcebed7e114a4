// `levee serve --exec`: the daemon in front of the qmail stand-in. Many sessions at once, the
// connection limits, tcprules, SIGHUP and SIGTERM during traffic, and the --inetd one-shot mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import {
  dataSection,
  LEVEE_BIN,
  listFile,
  needTools,
  QMAIL_STANDIN,
  readStandin,
  SmtpClient,
  startTcpserver,
  tmpDirFor,
} from '../harness';
import { startLeveeServer, type LeveeServer } from './modes';
import type { TestContext } from 'node:test';

interface Daemon {
  server: LeveeServer;
  standinDir: string;
  dir: string;
}

async function startDaemon(
  t: TestContext,
  serveArgs: string[],
  extra: (dir: string) => string[] = () => [],
  listen?: string,
): Promise<Daemon> {
  // after-hooks run in the order they were added: the daemon and its children stop before their
  // directories are removed (a stand-in still writing made the removal fail, and the daemon, never
  // stopped, kept the test file from exiting)
  const started: { server?: LeveeServer } = {};
  t.after(() => started.server?.stop());
  const standinDir = tmpDirFor(t, 'levee-standin-');
  const dir = tmpDirFor(t, 'levee-serve-');
  const rcpthosts = listFile(dir, 'rcpthosts', ['example.org']);
  const args = ['--log-target', 'stderr', '--log-level=verbose', '--dns-level', 'none'];
  args.push('--qmail-rcpthosts-file', rcpthosts, ...extra(dir));
  const server = await startLeveeServer('serve', args, {
    child: [process.execPath, QMAIL_STANDIN],
    env: { STANDIN_DIR: standinDir },
    serveArgs,
    listen,
  });
  started.server = server;
  return { server, standinDir, dir };
}

/** Connects, greets and opens a transaction up to DATA's 354. */
async function openTransaction(
  port: number,
  from = '127.0.0.1',
  sender = 'a@sender.test',
): Promise<SmtpClient> {
  const c = await SmtpClient.connect(port, { localAddress: from });
  assert.equal((await c.readReply()).code, 220);
  assert.equal((await c.command('EHLO client.test')).code, 250);
  assert.equal((await c.command(`MAIL FROM:<${sender}>`)).code, 250);
  assert.equal((await c.command('RCPT TO:<user@example.org>')).code, 250);
  assert.equal((await c.command('DATA')).code, 354);
  return c;
}

function messageNumber(i: number): Buffer {
  return Buffer.from(
    `Subject: message ${i}\r\n\r\n${`line ${i} `.repeat(50 + i)}\r\n.dot ${i}\r\n`,
    'latin1',
  );
}

/** What the stand-in stores for a DATA section (still dot-stuffed, without CRLF.CRLF). */
function stored(message: Buffer): Buffer {
  const wire = dataSection(message);
  return wire.subarray(0, wire.length - 5);
}

/** Messages the stand-in got whole (a session cut off mid-DATA leaves a partial file without CRLF.CRLF). */
function deliveredMessages(standinDir: string): Buffer[] {
  return readStandin(standinDir)
    .filter((s) => s.input.includes('\r\n.\r\n'))
    .flatMap((s) => s.messages);
}

test('50 concurrent sessions are all delivered byte-exact; a client that vanishes harms none', async (t) => {
  const { server, standinDir } = await startDaemon(t, ['--max-connections', '60']);
  const rude = await openTransaction(server.port);
  await rude.write('Subject: never finished\r\n\r\nhalf a bo');
  const sends = Array.from({ length: 50 }, async (_, i) => {
    const c = await openTransaction(server.port, `127.0.1.${i + 1}`);
    if (i === 10) rude.close();
    await c.write(dataSection(messageNumber(i)));
    const r = await c.readReply(10_000);
    assert.equal(r.code, 250, r.raw);
    assert.equal((await c.command('QUIT')).code, 221);
  });
  await Promise.all(sends);
  const got = new Set(deliveredMessages(standinDir).map((m) => m.toString('latin1')));
  assert.equal(got.size, 50);
  for (let i = 0; i < 50; i++)
    assert.ok(got.has(stored(messageNumber(i)).toString('latin1')), `message ${i}`);
});

test('IPv6: the daemon listens on [::1]; the client is ::1 in IP lists, log lines and the child environment', async (t) => {
  const start = (entry: string) => startDaemon(t, [], () => ['--ip-blacklist-entry', entry], '[::1]:0');
  const { server: listed } = await start('::1/128');
  const c = await SmtpClient.connect(listed.port, { host: '::1' });
  assert.equal((await c.readReply()).code, 220);
  assert.equal((await c.command('MAIL FROM:<a@sender.test>')).code, 250);
  assert.equal((await c.command('RCPT TO:<user@example.org>')).code, 554);
  await listed.waitForStderr(
    /DENIED_BLACKLIST_IP from: a@sender\.test to: user@example\.org origin_ip: ::1 /,
  );
  c.close();

  const { server: open, standinDir } = await start('::2');
  const d = await SmtpClient.connect(open.port, { host: '::1' });
  assert.equal((await d.readReply()).code, 220);
  assert.equal((await d.command('MAIL FROM:<a@sender.test>')).code, 250);
  assert.equal((await d.command('RCPT TO:<user@example.org>')).code, 250);
  assert.equal((await d.command('DATA')).code, 354);
  await d.write(dataSection(messageNumber(6)));
  assert.equal((await d.readReply()).code, 250);
  assert.equal((await d.command('QUIT')).code, 221);
  await open.waitForStderr(/ALLOWED from: a@sender\.test to: user@example\.org origin_ip: ::1 /);
  const sessions = readStandin(standinDir).filter((s) => s.messages.length > 0);
  assert.equal(sessions.length, 1);
  assert.deepEqual(sessions[0].messages, [stored(messageNumber(6))]);
  assert.equal(sessions[0].env.TCPREMOTEIP, '::1');
});

test('a full daemon answers 421 and closes; limits count per IP too', async (t) => {
  const { server } = await startDaemon(t, ['--max-connections', '2', '--max-per-ip', '1']);
  const a = await SmtpClient.connect(server.port, { localAddress: '127.0.0.5' });
  assert.equal((await a.readReply()).code, 220);
  const sameIp = await SmtpClient.connect(server.port, { localAddress: '127.0.0.5' });
  assert.equal((await sameIp.readReply()).raw, '421 Too many connections. Try again later.\r\n');
  await sameIp.expectClosed();
  const b = await SmtpClient.connect(server.port, { localAddress: '127.0.0.6' });
  assert.equal((await b.readReply()).code, 220);
  const third = await SmtpClient.connect(server.port, { localAddress: '127.0.0.7' });
  assert.equal((await third.readReply()).code, 421);
  await third.expectClosed();
  // a slot that is given back can be used again
  assert.equal((await a.command('QUIT')).code, 221);
  await a.expectClosed();
  await server.waitForStderr(/refused connection from 127\.0\.0\.7: too many connections/);
  let again: SmtpClient | undefined;
  for (let i = 0; i < 50 && !again; i++) {
    const c = await SmtpClient.connect(server.port, { localAddress: '127.0.0.8' });
    if ((await c.readReply()).code === 220) again = c;
    else await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(again, 'no slot after a session ended');
  assert.equal((await again.command('QUIT')).code, 221);
  assert.equal((await b.command('QUIT')).code, 221);
});

test('tcprules: deny closes silently; VAR="value" reaches the child and RELAYCLIENT allows relaying', async (t) => {
  if (!needTools(t, ['tcprules'])) return;
  const rulesDir = tmpDirFor(t, 'levee-rules-');
  const cdb = join(rulesDir, 'rules.cdb');
  execFileSync('tcprules', [cdb, join(rulesDir, 'rules.tmp')], {
    input: '127.0.0.9:deny\n127.0.0.10:allow,RELAYCLIENT="",GREETING="hi there"\n127.0.:allow\n:deny\n',
  });
  const { server, standinDir } = await startDaemon(t, ['--rules', cdb]);
  const denied = await SmtpClient.connect(server.port, { localAddress: '127.0.0.9' });
  assert.equal(await denied.expectClosed(), '');
  const c = await SmtpClient.connect(server.port, { localAddress: '127.0.0.10' });
  assert.equal((await c.readReply()).code, 220);
  await c.command('HELO client.test');
  await c.command('MAIL FROM:<a@sender.test>');
  assert.equal((await c.command('RCPT TO:<someone@elsewhere.test>')).code, 250);
  await c.command('QUIT');
  await c.expectClosed();
  const plain = await SmtpClient.connect(server.port, { localAddress: '127.0.0.11' });
  assert.equal((await plain.readReply()).code, 220);
  await plain.command('HELO client.test');
  await plain.command('MAIL FROM:<a@sender.test>');
  assert.equal((await plain.command('RCPT TO:<someone@elsewhere.test>')).code, 554);
  await plain.command('QUIT');
  const envs = readStandin(standinDir).map((s) => s.env);
  const relayed = envs.find((e) => e.TCPREMOTEIP === '127.0.0.10');
  assert.equal(relayed?.GREETING, 'hi there');
  assert.equal(relayed?.RELAYCLIENT, '');
  assert.equal(relayed?.PROTO, 'TCP');
  assert.ok(!envs.some((e) => e.TCPREMOTEIP === '127.0.0.9'), 'a denied client started a child');
  await server.waitForStderr(/connection from 127\.0\.0\.9 denied by rules/);
});

test('SIGHUP: new connections get the new config, a running session keeps going', async (t) => {
  let conf = '';
  const { server, standinDir } = await startDaemon(t, [], (dir) => {
    conf = join(dir, 'levee.conf');
    writeFileSync(conf, 'sender-blacklist-entry=old@sender.test\n');
    return ['--config-file', conf];
  });
  const running = await openTransaction(server.port, '127.0.0.1', 'new@sender.test');
  await running.write('Subject: across a reload\r\n\r\nfirst half\r\n');
  writeFileSync(conf, 'sender-blacklist-entry=new@sender.test\n');
  server.process!.kill('SIGHUP');
  await server.waitForStderr(/configuration reloaded/);
  await running.write('second half\r\n.\r\n');
  assert.equal((await running.readReply()).code, 250);
  await running.command('QUIT');
  const fresh = await SmtpClient.connect(server.port);
  await fresh.readReply();
  await fresh.command('HELO client.test');
  await fresh.command('MAIL FROM:<new@sender.test>');
  assert.equal((await fresh.command('RCPT TO:<user@example.org>')).code, 554);
  await fresh.command('QUIT');
  assert.deepEqual(deliveredMessages(standinDir), [
    Buffer.from('Subject: across a reload\r\n\r\nfirst half\r\nsecond half'),
  ]);
});

test('SIGTERM: stops accepting, lets the session in DATA finish, then exits 0', async (t) => {
  const { server, standinDir } = await startDaemon(t, ['--shutdown-secs', '20']);
  const c = await openTransaction(server.port);
  const message = messageNumber(7);
  const wire = dataSection(message);
  await c.write(wire.subarray(0, 100));
  server.process!.kill('SIGTERM');
  await server.waitForStderr(/SIGTERM: no new connections; waiting for 1 session/);
  await assert.rejects(
    new Promise((resolve, reject) => {
      const s = net.connect(server.port, '127.0.0.1', () => (s.destroy(), resolve(undefined)));
      s.on('error', reject);
    }),
    /ECONNREFUSED/,
  );
  await c.write(wire.subarray(100));
  assert.equal((await c.readReply()).code, 250);
  assert.equal((await c.command('QUIT')).code, 221);
  const code = await Promise.race([
    server.exited,
    new Promise((r) => setTimeout(() => r('still running'), 5000)),
  ]);
  assert.equal(code, 0);
  assert.deepEqual(deliveredMessages(standinDir), [stored(message)]);
});

test('SIGTERM deadline: sessions still open then are closed and the daemon exits', async (t) => {
  const { server } = await startDaemon(t, ['--shutdown-secs', '1']);
  const c = await SmtpClient.connect(server.port);
  assert.equal((await c.readReply()).code, 220);
  server.process!.kill('SIGTERM');
  await c.expectClosed(5000);
  const code = await Promise.race([
    server.exited,
    new Promise((r) => setTimeout(() => r('still running'), 15_000)),
  ]);
  assert.equal(code, 0);
});

test('--inetd: one connection on fd 0 (here from tcpserver), facts from the socket', async (t) => {
  if (!needTools(t, ['tcpserver'])) return;
  const standinDir = tmpDirFor(t, 'levee-standin-');
  const dir = tmpDirFor(t, 'levee-lists-');
  const rcpthosts = listFile(dir, 'rcpthosts', ['example.org']);
  const ts = await startTcpserver(
    [
      LEVEE_BIN,
      'serve',
      '--inetd',
      '--log-target',
      'stderr',
      '--dns-level',
      'none',
      '--qmail-rcpthosts-file',
      rcpthosts,
      '--exec',
      process.execPath,
      QMAIL_STANDIN,
    ],
    { env: { STANDIN_DIR: standinDir } },
  );
  t.after(() => ts.stop());
  const c = await openTransaction(ts.port, '127.0.0.12');
  await c.write(dataSection(messageNumber(1)));
  assert.equal((await c.readReply()).code, 250);
  assert.equal((await c.command('QUIT')).code, 221);
  await c.expectClosed();
  const [session] = readStandin(standinDir);
  assert.equal(session?.env.TCPREMOTEIP, '127.0.0.12');
  assert.deepEqual(session?.messages, [stored(messageNumber(1))]);
});
