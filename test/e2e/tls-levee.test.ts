// TLS that levee terminates itself (spec §5.5, §3.2): STARTTLS through tcpserver (the socket on
// fd 0/1), through levee serve --exec (the accepted socket) and over plain pipes, SMTPS, the
// anti-injection rule, refusals and failures, and a 10 MB body byte for byte to exim inside TLS.
// Certificates are made with openssl in a scratch dir.
import { test, describe } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { spawn, execFileSync } from 'node:child_process';
import { Duplex } from 'node:stream';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LEVEE_MODES,
  needTools,
  tmpDirFor,
  startWrapper,
  wrapperStarter,
  runSwaks,
  setupExim,
  exactDataArgs,
  dataSection,
  LEVEE_BIN,
  QMAIL_STANDIN,
  readStandin,
  type Wrapper,
} from '../harness';

interface Certs {
  cert: string;
  key: string;
  /** the key encrypted with `keyPassword` */
  encryptedKey: string;
  keyPassword: string;
}

function makeCerts(t: TestContext): Certs | null {
  if (!needTools(t, ['openssl'])) return null;
  const dir = tmpDirFor(t, 'levee-certs-');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const encryptedKey = join(dir, 'key-enc.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', key, '-out', cert, '-days', '30', '-subj', '/CN=mx.test'],
    ],
    { stdio: 'ignore' },
  );
  execFileSync(
    'openssl',
    ['pkey', '-in', key, '-aes256', '-passout', 'pass:pw-secret', '-out', encryptedKey],
    {
      stdio: 'ignore',
    },
  );
  return { cert, key, encryptedKey, keyPassword: 'pw-secret' };
}

/** A line-based SMTP conversation over any stream (plain socket, TLS socket, pipes). */
class Conversation {
  private buf = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;
  constructor(public stream: Duplex) {
    this.attach(stream);
  }
  private attach(s: Duplex): void {
    s.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake?.();
    });
    s.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
    s.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    s.on('error', () => {
      this.ended = true;
      this.wake?.();
    });
  }
  /** Switches to TLS on the same connection (after 220); nothing buffered may be left. */
  async startTls(): Promise<tls.TLSSocket> {
    assert.equal(this.buf.length, 0, `unexpected bytes before the handshake: ${this.buf}`);
    const raw = this.stream;
    raw.removeAllListeners('data');
    const s = tls.connect({ socket: raw, rejectUnauthorized: false, servername: 'mx.test' });
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error('TLS handshake timed out')), 5000);
      s.once('secureConnect', () => (clearTimeout(timer), ok()));
      s.once('error', (e) => (clearTimeout(timer), fail(e)));
    });
    this.stream = s;
    this.attach(s);
    return s;
  }
  write(text: string | Buffer): void {
    this.stream.write(text);
  }
  async reply(ms = 5000): Promise<string[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\n/.exec(this.buf.toString('latin1'));
      if (m) {
        this.buf = this.buf.subarray(Buffer.byteLength(m[0], 'latin1'));
        return m[0].replace(/\r?\n$/, '').split(/\r?\n/);
      }
      if (this.ended)
        throw new Error(`connection ended; unread: ${JSON.stringify(this.buf.toString('latin1'))}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no reply in ${ms} ms; unread: ${JSON.stringify(this.buf.toString('latin1'))}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.wake = () => (clearTimeout(timer), r());
      });
      this.wake = null;
    }
  }
  async command(line: string): Promise<string[]> {
    this.write(line + '\r\n');
    return this.reply();
  }
  /** Resolves when `ms` pass with no byte arriving; fails otherwise. */
  async silence(ms: number): Promise<void> {
    const before = this.buf.length;
    await new Promise((r) => setTimeout(r, ms));
    assert.equal(
      this.buf.length,
      before,
      `expected silence, got ${JSON.stringify(this.buf.toString('latin1'))}`,
    );
    assert.equal(this.ended, false, 'the connection closed');
  }
  async closed(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('still open');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A plain connection to levee from 127.0.0.1 (counted for w.ts.waitForIdle). */
function connect(w: Wrapper): Promise<Conversation> {
  return new Promise((ok, fail) => {
    const s = net.connect({ port: w.port, host: '127.0.0.1' }, () => {
      w.noteConnection();
      ok(new Conversation(s));
    });
    s.once('error', fail);
    s.setTimeout(15_000, () => s.destroy());
  });
}

const tlsArgs = (c: Certs) => ['--tls-certificate-file', c.cert, '--tls-privatekey-file', c.key];

for (const mode of LEVEE_MODES) {
  describe(`${mode} mode`, () => {
    const start = wrapperStarter(mode);

    describe('STARTTLS terminated by levee (one socket for both directions)', () => {
      test('swaks --tls: 220 Proceed., mail delivered, encryption: TLS, the child never sees STARTTLS', async (t) => {
        const certs = makeCerts(t);
        if (!certs || !needTools(t, ['swaks'])) return;
        const w = await start(t, tlsArgs(certs));
        if (!w) return;
        const r = await runSwaks([
          ...['--server', `127.0.0.1:${w.port}`, '--from', 'a@example.org', '--to', 'b@example.org', '--tls'],
        ]);
        w.noteConnection();
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /<- {2}250-STARTTLS\r?\n<- {2}250 X-NOTHING/);
        assert.match(r.stdout, /<- {2}220 Proceed\./);
        assert.match(r.stdout, /=== TLS started with cipher/);
        assert.match(r.stdout, /<~ {2}250 ok \d+ qp \d+/);
        await w.ts.waitForIdle(1);
        const [s] = w.sessions();
        const input = s.input.toString('latin1');
        assert.doesNotMatch(input, /STARTTLS/i);
        // after the handshake the child's state is reset with RSET before the client's new EHLO
        assert.match(input, /^EHLO [^\r]*\r\nRSET\r\nEHLO [^\r]*\r\nMAIL FROM:<a@example\.org>/);
        assert.equal(s.messages.length, 1);
        assert.ok(
          w
            .logLines()
            .some((l) =>
              /^ALLOWED from: a@example\.org to: b@example\.org .* encryption: TLS reason: /.test(l),
            ),
          w.logLines().join('\n'),
        );
      });

      test('input pipelined behind STARTTLS is discarded: 220, then silence until the handshake', async (t) => {
        const certs = makeCerts(t);
        if (!certs) return;
        const w = await start(t, tlsArgs(certs));
        if (!w) return;
        const c = await connect(w);
        await c.reply();
        await c.command('EHLO client.test');
        c.write('STARTTLS\r\nNOOP\r\n');
        assert.deepEqual(await c.reply(), ['220 Proceed.']);
        await c.silence(400);
        await c.startTls();
        const ehlo = await c.command('EHLO client.test');
        assert.equal(ehlo[0], '250-standin.test');
        // inside TLS STARTTLS is no longer offered
        assert.ok(!ehlo.some((l) => /STARTTLS/.test(l)), ehlo.join('\n'));
        assert.deepEqual(await c.command('STARTTLS'), ['554 Failed to negotiate TLS connection.']);
        assert.deepEqual(await c.command('QUIT'), ['221 standin.test']);
        await w.ts.waitForIdle(1);
        const input = w.sessions()[0].input.toString('latin1');
        assert.doesNotMatch(input, /NOOP/, 'the plaintext NOOP reached the child');
      });

      test('a failed handshake gets 454 Failed to negotiate TLS connection. and a log line', async (t) => {
        const certs = makeCerts(t);
        if (!certs) return;
        const w = await start(t, tlsArgs(certs));
        if (!w) return;
        const c = await connect(w);
        await c.reply();
        assert.deepEqual(await c.command('STARTTLS'), ['220 Proceed.']);
        c.write('this is not a TLS ClientHello\r\n');
        assert.deepEqual(await c.reply(), ['454 Failed to negotiate TLS connection.']);
        await c.closed();
        await w.ts.waitForIdle(1);
        assert.ok(
          w.logLines().some((l) => /^ERROR: TLS negotiation failed: /.test(l)),
          w.logLines().join('\n'),
        );
      });

      test("the child's own STARTTLS line is kept (errata 6) and the child never gets STARTTLS", async (t) => {
        const certs = makeCerts(t);
        if (!certs) return;
        const w = await start(t, tlsArgs(certs), { env: { STANDIN_STARTTLS: '1' } });
        if (!w) return;
        const c = await connect(w);
        await c.reply();
        assert.deepEqual(await c.command('EHLO client.test'), [
          '250-standin.test',
          '250-PIPELINING',
          '250-STARTTLS',
          '250 8BITMIME',
        ]);
        assert.deepEqual(await c.command('STARTTLS'), ['220 Proceed.']);
        await c.startTls();
        assert.deepEqual(await c.command('QUIT'), ['221 standin.test']);
        await w.ts.waitForIdle(1);
        assert.doesNotMatch(w.sessions()[0].input.toString('latin1'), /STARTTLS/);
      });

      test('an encrypted key with tls-privatekey-password and -password-file', async (t) => {
        const certs = makeCerts(t);
        if (!certs || !needTools(t, ['swaks'])) return;
        const dir = tmpDirFor(t, 'levee-pw-');
        const pwFile = join(dir, 'pw');
        writeFileSync(pwFile, `${certs.keyPassword}\n`);
        for (const pw of [
          ['--tls-privatekey-password', certs.keyPassword],
          ['--tls-privatekey-password-file', pwFile],
        ]) {
          const w = await start(t, [
            '--tls-certificate-file',
            certs.cert,
            '--tls-privatekey-file',
            certs.encryptedKey,
            ...pw,
          ]);
          if (!w) return;
          const r = await runSwaks([
            '--server',
            `127.0.0.1:${w.port}`,
            '--from',
            'a@example.org',
            '--to',
            'b@example.org',
            '--tls',
          ]);
          assert.equal(r.code, 0, r.stdout + r.stderr + w.logLines().join('\n'));
        }
      });

      test("an unusable certificate disables levee's TLS (logged); without the child's STARTTLS none is offered", async (t) => {
        const dir = tmpDirFor(t, 'levee-badcert-');
        const bad = join(dir, 'bad.pem');
        writeFileSync(bad, 'not a certificate\n');
        const w = await start(t, ['--tls-certificate-file', bad]);
        if (!w) return;
        const c = await connect(w);
        await c.reply();
        const ehlo = await c.command('EHLO client.test');
        assert.deepEqual(ehlo, ['250-standin.test', '250-PIPELINING', '250 8BITMIME']);
        await c.command('QUIT');
        await w.ts.waitForIdle(1);
        assert.ok(
          w.logLines().some((l) => /^ERROR: unable to set up TLS with certificate /.test(l)),
          w.logLines().join('\n'),
        );
      });
    });

    describe('STARTTLS refused', () => {
      test('tls-level none: STARTTLS hidden from EHLO and refused with 554 even if the child offers it', async (t) => {
        const certs = makeCerts(t);
        if (!certs) return;
        const w = await start(t, ['--tls-level', 'none', ...tlsArgs(certs)], {
          env: { STANDIN_STARTTLS: '1' },
        });
        if (!w) return;
        const c = await connect(w);
        await c.reply();
        assert.deepEqual(await c.command('EHLO client.test'), [
          '250-standin.test',
          '250-PIPELINING',
          '250 8BITMIME',
        ]);
        assert.deepEqual(await c.command('STARTTLS'), ['554 Failed to negotiate TLS connection.']);
        await c.command('QUIT');
      });

      test("smtp-no-passthrough without a certificate: the child's STARTTLS is removed and refused", async (t) => {
        const w = await start(t, ['--tls-level', 'smtp-no-passthrough'], {
          env: { STANDIN_STARTTLS: '1' },
        });
        if (!w) return;
        const c = await connect(w);
        await c.reply();
        assert.deepEqual(await c.command('EHLO client.test'), [
          '250-standin.test',
          '250-PIPELINING',
          '250 8BITMIME',
        ]);
        assert.deepEqual(await c.command('STARTTLS'), ['554 Failed to negotiate TLS connection.']);
        await c.command('QUIT');
        await w.ts.waitForIdle(1);
        assert.doesNotMatch(w.sessions()[0].input.toString('latin1'), /STARTTLS/);
      });

      test('tls-level smtp without a certificate passes STARTTLS to the child', async (t) => {
        const w = await start(t, [], { env: { STANDIN_STARTTLS: '1' } });
        if (!w) return;
        const c = await connect(w);
        await c.reply();
        const ehlo = await c.command('EHLO client.test');
        assert.ok(ehlo.includes('250-STARTTLS'));
        // the stand-in cannot do TLS: its 502 comes back unchanged
        assert.match((await c.command('STARTTLS'))[0], /^502 /);
        await c.command('QUIT');
        await w.ts.waitForIdle(1);
        assert.match(w.sessions()[0].input.toString('latin1'), /\r\nSTARTTLS\r\n/);
      });
    });

    describe('SMTPS (tls-level smtps)', () => {
      // needs the session to call Security.beforeGreeting() before relaying the banner
      test('swaks --tls-on-connect: handshake before the greeting, encryption: SSL', async (t) => {
        const certs = makeCerts(t);
        if (!certs || !needTools(t, ['swaks'])) return;
        const w = await start(t, ['--tls-level', 'smtps', ...tlsArgs(certs)], {
          env: { STANDIN_STARTTLS: '1' },
        });
        if (!w) return;
        const r = await runSwaks([
          ...[
            '--server',
            `127.0.0.1:${w.port}`,
            '--from',
            'a@example.org',
            '--to',
            'b@example.org',
            '--tls-on-connect',
          ],
        ]);
        w.noteConnection();
        assert.equal(r.code, 0, r.stdout + r.stderr + w.logLines().join('\n'));
        assert.match(r.stdout, /<~ {2}220 /);
        // inside SMTPS no STARTTLS is offered, not even the child's
        assert.doesNotMatch(r.stdout, /STARTTLS/);
        await w.ts.waitForIdle(1);
        assert.ok(
          w
            .logLines()
            .some((l) =>
              /^ALLOWED from: a@example\.org to: b@example\.org .* encryption: SSL reason: /.test(l),
            ),
          w.logLines().join('\n'),
        );
      });

      test('smtps without a certificate closes the connection after logging an error', async (t) => {
        const w = await start(t, ['--tls-level', 'smtps']);
        if (!w) return;
        const c = await connect(w);
        await c.closed();
        await w.ts.waitForIdle(1);
        assert.ok(
          w.logLines().some((l) => /^ERROR: unable to start SMTPS/.test(l)),
          w.logLines().join('\n'),
        );
      });

      test('a plaintext client on the SMTPS port gets no greeting and an error is logged', async (t) => {
        const certs = makeCerts(t);
        if (!certs) return;
        const w = await start(t, ['--tls-level', 'smtps', ...tlsArgs(certs)]);
        if (!w) return;
        const c = await connect(w);
        c.write('EHLO plain.client\r\n');
        await c.closed();
        await w.ts.waitForIdle(1);
        assert.ok(
          w.logLines().some((l) => /^ERROR: unable to start SMTPS due to a protocol failure/.test(l)),
        );
      });
    });

    describe('run-as-user', () => {
      // needs main.ts (wrapper) and serve (after binding) to call serverContext() before giving up root
      test('levee reads a root-only key, then runs (and runs the child) as the given user', async (t) => {
        const certs = makeCerts(t);
        if (!certs || !needTools(t, [], { root: true })) return;
        chmodSync(certs.key, 0o600);
        const dir = tmpDirFor(t, 'levee-runas-');
        const out = join(dir, 'out');
        mkdirSync(out, { mode: 0o777 });
        chmodSync(out, 0o777);
        const script = join(dir, 'child.sh');
        writeFileSync(script, `#!/bin/sh\nid -u > ${out}/uid\nexec ${process.execPath} ${QMAIL_STANDIN}\n`);
        chmodSync(script, 0o755);
        const w = await start(t, ['--run-as-user', 'nobody', ...tlsArgs(certs)], {
          child: ['/bin/sh', script],
        });
        if (!w) return;
        chmodSync(w.standinDir, 0o777);
        const c = await connect(w);
        await c.reply();
        assert.deepEqual(await c.command('STARTTLS'), ['220 Proceed.']);
        await c.startTls();
        assert.deepEqual(await c.command('QUIT'), ['221 standin.test']);
        await w.ts.waitForIdle(1);
        const nobody = execFileSync('id', ['-u', 'nobody']).toString().trim();
        assert.equal(
          execFileSync('cat', [join(out, 'uid')])
            .toString()
            .trim(),
          nobody,
        );
      });
    });
  });
}

// levee started on two pipes by the test itself: neither tcpserver nor a serve daemon
describe('STARTTLS over pipes (fd 0 and fd 1 are different)', () => {
  test('levee on two pipes terminates TLS and relays inside it', async (t) => {
    const certs = makeCerts(t);
    if (!certs) return;
    const standinDir = tmpDirFor(t, 'levee-pipes-');
    const dir = tmpDirFor(t, 'levee-pipes-lists-');
    const rcpthosts = join(dir, 'rcpthosts');
    writeFileSync(rcpthosts, 'example.org\n');
    const p = spawn(
      LEVEE_BIN,
      [
        ...[
          '--log-target',
          'stderr',
          '--log-level=info',
          '--dns-level',
          'none',
          '--qmail-rcpthosts-file',
          rcpthosts,
          ...tlsArgs(certs),
        ],
        ...[process.execPath, QMAIL_STANDIN],
      ],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, STANDIN_DIR: standinDir, TCPREMOTEIP: '127.0.0.1' },
      },
    );
    const killer = setTimeout(() => p.kill('SIGKILL'), 15_000);
    t.after(() => {
      clearTimeout(killer);
      p.kill('SIGKILL');
    });
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const joined = Duplex.from({ readable: p.stdout, writable: p.stdin });
    const c = new Conversation(joined);
    await c.reply();
    await c.command('EHLO pipe.client');
    assert.deepEqual(await c.command('STARTTLS'), ['220 Proceed.']);
    await c.startTls();
    assert.equal((await c.command('EHLO pipe.client'))[0], '250-standin.test');
    assert.deepEqual(await c.command('MAIL FROM:<a@example.org>'), ['250 ok']);
    assert.deepEqual(await c.command('RCPT TO:<b@example.org>'), ['250 ok']);
    assert.equal((await c.command('DATA'))[0].slice(0, 3), '354');
    c.write('Subject: over pipes\r\n\r\nhello\r\n.\r\n');
    assert.match((await c.reply())[0], /^250 ok/);
    assert.deepEqual(await c.command('QUIT'), ['221 standin.test']);
    const code = await new Promise<number | null>((r) => p.on('exit', (x) => r(x)));
    assert.equal(code, 0, stderr);
    const [s] = readStandin(standinDir);
    assert.equal(s.messages[0].toString('latin1'), 'Subject: over pipes\r\n\r\nhello');
    assert.match(stderr, /encryption: TLS/);
  });
});

// exim needs root and the 10 MB case is slow: wrapper mode only, as in wrapper-relay.test.ts
// (LEVEE_E2E_MODE=serve runs it against levee serve)
describe('swaks --tls → tcpserver → levee → exim: a 10 MB body byte for byte inside TLS', () => {
  test('10 MB', { timeout: 90_000 }, async (t) => {
    const certs = makeCerts(t);
    if (!certs || !needTools(t, ['tcpserver', 'swaks', 'exim4'], { root: true })) return;
    const exim = await setupExim();
    t.after(() => exim.cleanup());
    const w = await startWrapper(t, tlsArgs(certs), { child: exim.childArgv });
    if (!w) return;
    const parts = ['Subject: big over TLS\r\n\r\n'];
    let size = parts[0].length;
    for (let i = 0; size < 10 * 1024 * 1024; i++) {
      const line =
        (i % 9 === 0 ? '.' : '') +
        `line ${i} ` +
        'y'.repeat(70) +
        (i % 4 === 0 ? ' \u00e4\u00f6' : '') +
        '\r\n';
      parts.push(line);
      size += Buffer.byteLength(line);
    }
    const message = parts.join('');
    const file = join(exim.dir, 'tls-message.txt');
    const r = await runSwaks(
      [
        ...['--server', `127.0.0.1:${w.port}`, '--local-interface', '127.0.0.5', '--tls', '--pipeline'],
        ...['--from', 'a@example.org', '--to', 'b@example.org', '-S', '2'],
        ...exactDataArgs(file, dataSection(message)),
      ],
      { timeoutMs: 80_000 },
    );
    assert.equal(r.code, 0, `swaks failed:\n${r.stdout.slice(-3000)}${r.stderr}\n${exim.logs()}`);
    const [stored] = await exim.waitForMessages(1, 20_000);
    assert.ok(exim.bodyOf(stored).equals(Buffer.from(message.replace(/\r\n/g, '\n'))), 'stored body differs');
    await w.ts.waitForIdle(1);
    assert.ok(
      w.logLines().some((l) => /^ALLOWED from: a@example\.org .* encryption: TLS /.test(l)),
      w.logLines().join('\n'),
    );
  });
});
