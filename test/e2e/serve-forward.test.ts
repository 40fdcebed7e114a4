// `levee serve --forward`: the downstream is an MTA over TCP. A real exim daemon (byte-exact
// delivery), and a small scripted MTA that shows what levee tells it about the client: XCLIENT when
// advertised, a PROXY v1 line with --proxy-protocol, and fail-closed when XCLIENT is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import type { TestContext } from 'node:test';
import {
  dataSection,
  EXIM_BIN,
  exactDataArgs,
  listFile,
  needTools,
  runSwaks,
  setupExim,
  SmtpClient,
  tmpDirFor,
  type Exim,
} from '../harness';
import { startLeveeServer, type LeveeServer } from './modes';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** exim as a daemon on a random loopback port (never 25), delivering into the harness Maildir. */
async function startEximDaemon(t: TestContext): Promise<{ exim: Exim; port: number }> {
  const exim = await setupExim();
  t.after(() => exim.cleanup());
  const port = await freePort();
  const conf = `${exim.dir}/exim.conf`;
  const daemonLines = [
    `daemon_smtp_ports = ${port}`,
    'local_interfaces = 127.0.0.1',
    `pid_file_path = ${exim.dir}/exim.pid`,
  ];
  writeFileSync(conf, daemonLines.join('\n') + '\n' + readFileSync(conf, 'utf8'));
  const proc = spawn(EXIM_BIN, ['-C', conf, '-bdf', '-oX', String(port), '-odi'], { stdio: 'ignore' });
  t.after(() => {
    proc.kill('SIGTERM');
  });
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (i > 100) throw new Error(`exim did not start listening:\n${exim.logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { exim, port };
}

async function startForwarding(
  t: TestContext,
  target: number,
  serveArgs: string[] = [],
): Promise<LeveeServer> {
  const dir = tmpDirFor(t, 'levee-lists-');
  const rcpthosts = listFile(dir, 'rcpthosts', ['example.org']);
  const args = [
    '--log-target',
    'stderr',
    '--log-level=debug',
    '--dns-level',
    'none',
    '--qmail-rcpthosts-file',
    rcpthosts,
  ];
  const server = await startLeveeServer('serve', args, { forward: `127.0.0.1:${target}`, serveArgs });
  t.after(() => server.stop());
  return server;
}

test('--forward to exim -bd: swaks and a raw client deliver byte-exact', async (t) => {
  if (!needTools(t, ['exim4', 'swaks'], { root: true })) return;
  const { exim, port } = await startEximDaemon(t);
  const server = await startForwarding(t, port);
  const body = Buffer.from(
    'Subject: via proxy\r\nX-Bytes: \xe9\xff\r\n\r\n.dot line\r\n' + 'y'.repeat(5000) + '\r\n',
    'latin1',
  );
  const scratch = tmpDirFor(t, 'levee-swaks-');
  const r = await runSwaks([
    '--server',
    '127.0.0.1',
    '--port',
    String(server.port),
    '--from',
    'a@sender.test',
    '--to',
    'user@example.org',
    ...exactDataArgs(`${scratch}/data`, dataSection(body)),
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const c = await SmtpClient.connect(server.port, { localAddress: '127.0.0.15' });
  assert.equal((await c.readReply()).code, 220);
  assert.equal((await c.command('EHLO raw.test')).code, 250);
  assert.equal((await c.command('MAIL FROM:<b@sender.test>')).code, 250);
  assert.equal((await c.command('RCPT TO:<user@example.org>')).code, 250);
  assert.equal((await c.command('DATA')).code, 354);
  await c.write(dataSection(body));
  assert.equal((await c.readReply()).code, 250);
  assert.equal((await c.command('QUIT')).code, 221);
  const msgs = await exim.waitForMessages(2);
  const expected = Buffer.from(body.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  for (const m of msgs) assert.deepEqual(exim.bodyOf(m), expected);
  await server.waitForStderr(/ALLOWED from: b@sender\.test to: user@example\.org origin_ip: 127\.0\.0\.15 /);
});

interface FakeMta {
  port: number;
  /** everything each connection sent, in order of connection */
  received: string[];
}

/** A scripted MTA: advertises XCLIENT (answering it with `xclientReply`), accepts everything else. */
async function startFakeMta(t: TestContext, xclientReply: string | null): Promise<FakeMta> {
  const received: string[] = [];
  const server = net.createServer((s) => {
    const index = received.push('') - 1;
    let pending = '';
    let inData = false;
    s.write('220 fake.test ESMTP\r\n');
    s.on('data', (c: Buffer) => {
      received[index] += c.toString('latin1');
      pending += c.toString('latin1');
      for (;;) {
        if (inData) {
          const end = pending.indexOf('\r\n.\r\n');
          if (end < 0) return;
          pending = pending.slice(end + 5);
          inData = false;
          s.write('250 queued\r\n');
          continue;
        }
        const lf = pending.indexOf('\n');
        if (lf < 0) return;
        const line = pending.slice(0, lf).replace(/\r$/, '');
        pending = pending.slice(lf + 1);
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO') {
          s.write(
            `250-fake.test\r\n${xclientReply !== null ? '250-XCLIENT NAME ADDR PORT HELO\r\n' : ''}250 8BITMIME\r\n`,
          );
        } else if (verb === 'XCLIENT') s.write(xclientReply ?? '500 no\r\n');
        else if (verb === 'DATA') {
          inData = true;
          s.write('354 go\r\n');
          pending = '\r\n' + pending;
        } else if (verb === 'QUIT') s.end('221 bye\r\n');
        else s.write('250 ok\r\n');
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, received };
}

async function sendOne(port: number, from: string): Promise<SmtpClient> {
  const c = await SmtpClient.connect(port, { localAddress: from });
  const banner = await c.readReply();
  assert.equal(banner.code, 220, banner.raw);
  await c.command('EHLO me.test');
  await c.command('MAIL FROM:<a@sender.test>');
  assert.equal((await c.command('RCPT TO:<user@example.org>')).code, 250);
  await c.command('QUIT');
  await c.expectClosed();
  return c;
}

test('--forward with an MTA that offers XCLIENT: it learns the client address and port', async (t) => {
  const mta = await startFakeMta(t, '220 fake.test hello again\r\n');
  const server = await startForwarding(t, mta.port);
  const c = await sendOne(server.port, '127.0.0.16');
  // the client sees the greeting that follows XCLIENT, never levee's own EHLO exchange
  assert.match(c.received(), /^220 fake\.test hello again\r\n250-/);
  const got = mta.received[0]!;
  assert.match(
    got,
    /^EHLO \S+\r\nXCLIENT ADDR=127\.0\.0\.16 PORT=\d+ NAME=\[UNAVAILABLE\]\r\nEHLO me\.test\r\n/,
  );
});

test('--forward --proxy-protocol: a PROXY v1 line comes first, then the client session', async (t) => {
  const mta = await startFakeMta(t, '220 unused\r\n');
  const server = await startForwarding(t, mta.port, ['--proxy-protocol']);
  await sendOne(server.port, '127.0.0.17');
  const got = mta.received[0]!;
  assert.match(
    got,
    new RegExp(`^PROXY TCP4 127\\.0\\.0\\.17 127\\.0\\.0\\.1 \\d+ ${server.port}\\r\\nEHLO me\\.test\\r\\n`),
  );
  assert.ok(!got.includes('XCLIENT'));
});

test('--forward fails closed when the MTA refuses XCLIENT, and when it is down', async (t) => {
  const mta = await startFakeMta(t, '550 not authorised\r\n');
  const server = await startForwarding(t, mta.port);
  const c = await SmtpClient.connect(server.port);
  const first = await c.readReply();
  assert.ok(first.code >= 400, `expected a refusal, got ${first.raw}`);
  await c.expectClosed();
  assert.ok(!/MAIL FROM/i.test(mta.received.join('')));
  await server.waitForStderr(/MTA refused XCLIENT: 550 not authorised/);

  const downPort = await freePort();
  const down = await startForwarding(t, downPort);
  const d = await SmtpClient.connect(down.port);
  assert.ok((await d.readReply()).code >= 400);
  await d.expectClosed();
  await down.waitForStderr(/ECONNREFUSED/);
});
