// The relay on real parts: swaks → tcpserver → levee → exim -bs delivering into a Maildir, bodies
// checked byte for byte; and the SMTP smuggling end-of-data variants against the stand-in and exim.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import {
  LEVEE_MODES,
  needTools,
  setupExim,
  startWrapper,
  wrapperStarter,
  runSwaks,
  exactDataArgs,
  dataSection,
  type SmtpClient,
} from '../harness';

/** A body of `bytes` bytes: numbered lines with 8-bit text and dot-leading lines mixed in. */
function bigMessage(bytes: number): string {
  const parts: string[] = ['Subject: big\r\n\r\n'];
  let size = parts[0].length;
  for (let i = 0; size < bytes; i++) {
    const line =
      (i % 7 === 0 ? '.' : '') +
      `line ${i} ` +
      'x'.repeat(60) +
      (i % 5 === 0 ? ' \u00e9\u00e8' : '') +
      '\r\n';
    parts.push(line);
    size += Buffer.byteLength(line);
  }
  return parts.join('');
}

// exim needs root and the 10 MB case is slow: these run in wrapper mode only (LEVEE_E2E_MODE=serve
// runs them against levee serve)
describe('swaks → tcpserver → levee → exim: bodies arrive byte for byte', () => {
  const cases = [
    {
      name: 'plain',
      message: 'From: a@example.org\r\nSubject: plain\r\n\r\nhello\r\n..dot line\r\n\r\nend  \r\n',
      args: [] as string[],
    },
    {
      name: '8-bit, pipelined',
      message: 'Subject: 8bit\r\n\r\nGr\u00fc\u00dfe aus K\u00f6ln \u2603\r\n',
      args: ['--pipeline'],
    },
    { name: '10 MB', message: bigMessage(10 * 1024 * 1024), args: ['--pipeline'] },
  ];
  for (const { name, message, args } of cases) {
    test(name, { timeout: 60_000 }, async (t) => {
      if (!needTools(t, ['tcpserver', 'swaks', 'exim4'], { root: true })) return;
      const exim = await setupExim();
      t.after(() => exim.cleanup());
      const w = await startWrapper(t, [], { child: exim.childArgv });
      if (!w) return;
      const file = join(exim.dir, 'message.txt');
      const r = await runSwaks(
        [
          ...['--server', `127.0.0.1:${w.port}`, '--local-interface', '127.0.0.5'],
          ...[
            '--from',
            'a@example.org',
            '--to',
            'b@example.org',
            ...exactDataArgs(file, dataSection(message)),
            ...args,
          ],
        ],
        { timeoutMs: 50_000 },
      );
      assert.equal(r.code, 0, `swaks failed:\n${r.stdout.slice(-3000)}${r.stderr}\n${exim.logs()}`);
      const [stored] = await exim.waitForMessages(1);
      const expected = Buffer.from(message.replace(/\r\n/g, '\n'));
      assert.ok(exim.bodyOf(stored).equals(expected), 'stored body differs from what was sent');
      await w.ts.waitForIdle(1);
      assert.ok(
        w
          .logLines()
          .some((l) => /^ALLOWED from: a@example\.org to: b@example\.org origin_ip: 127\.0\.0\.5 /.test(l)),
      );
    });
  }
});

// CVE-2023-51764..6: the end-of-data sequences that other servers accept. None may end DATA at the
// child, and the SMTP text after them must stay message content.
const SMUGGLING: [string, string][] = [
  ['<LF>.<LF>', '\n.\n'],
  ['<LF>.<CR><LF>', '\n.\r\n'],
  ['<CR>.<CR>', '\r.\r'],
  ['<CR><LF>.<LF>', '\r\n.\n'],
  ['<CR><LF>.<CR>', '\r\n.\r'],
];
const SMUGGLED =
  'MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nFrom: ceo@example.org\r\n\r\nsmuggled\r\n';

async function sendSmuggling(c: SmtpClient, seq: string): Promise<string[]> {
  await c.readReply();
  await c.command('EHLO client.test');
  await c.command('MAIL FROM:<a@example.org>');
  await c.command('RCPT TO:<b@example.org>');
  const r = await c.command('DATA');
  assert.equal(r.code, 354);
  await c.write(Buffer.from(`Subject: smuggle\r\n\r\nbody${seq}${SMUGGLED}\r\n.\r\n`, 'latin1'));
  const end = await c.readReply(10_000);
  const quit = await c.command('QUIT');
  await c.expectClosed();
  // exactly two replies after DATA's 354: one for the message, one for QUIT — no replies to
  // smuggled commands
  return [end.lines.join('\n'), quit.lines.join('\n')];
}

for (const mode of LEVEE_MODES) {
  describe(`${mode} mode`, () => {
    const start = wrapperStarter(mode);

    describe('SMTP smuggling: no end-of-data variant other than CRLF.CRLF ends DATA at the child', () => {
      for (const [name, seq] of SMUGGLING) {
        test(`${name} against the qmail stand-in`, async (t) => {
          const w = await start(t, []);
          if (!w) return;
          const c = await w.connect('127.0.0.1');
          const [end, quit] = await sendSmuggling(c, seq);
          assert.match(end, /^250 ok 1700000000 qp \d+$/);
          assert.equal(quit, '221 standin.test');
          await w.ts.waitForIdle(1);
          const [s] = w.sessions();
          assert.equal(s.messages.length, 1, 'exactly one message reached the child');
          const msg = s.messages[0].toString('latin1');
          assert.ok(msg.includes('MAIL FROM:<evil@attacker.example>'), 'the smuggled text is content');
          // the child never saw a second MAIL FROM as a command: in its input the only MAIL FROM
          // outside the message is the real one
          const commands = s.input.toString('latin1').replace(s.messages[0].toString('latin1'), '<MESSAGE>');
          assert.equal(commands.match(/MAIL FROM:/g)?.length, 1, commands);
          // what reached the child has no bare LF anywhere
          assert.doesNotMatch(s.input.toString('latin1'), /[^\r]\n/);
        });

        // exim is the same child in both modes; one run is enough
        if (mode === 'wrapper')
          test(`${name} against exim`, async (t) => {
            if (!needTools(t, ['tcpserver', 'exim4'], { root: true })) return;
            const exim = await setupExim();
            t.after(() => exim.cleanup());
            const w = await start(t, [], { child: exim.childArgv });
            if (!w) return;
            const c = await w.connect('127.0.0.5');
            const [end] = await sendSmuggling(c, seq);
            assert.match(end, /^250 OK id=/);
            const msgs = await exim.waitForMessages(1);
            await w.ts.waitForIdle(1);
            assert.equal(exim.messages().length, 1, 'exactly one message delivered');
            assert.ok(
              msgs[0].toString('latin1').includes('RCPT TO:<victim@example.org>'),
              'smuggled text stayed content',
            );
            assert.doesNotMatch(exim.logs(), /evil@attacker\.example/);
          });
      }

      test('--bare-lf reject refuses such a message and the child never accepts it', async (t) => {
        const w = await start(t, ['--bare-lf', 'reject']);
        if (!w) return;
        const c = await w.connect('127.0.0.1');
        const [end, quit] = await sendSmuggling(c, '\n.\n');
        assert.equal(end, '554 Refused. Message lines must end with CRLF.');
        assert.equal(quit, '221 Refused. Message lines must end with CRLF.');
        await w.ts.waitForIdle(1);
        // the child got the message's bytes but never its end: it cannot have accepted it
        assert.doesNotMatch(w.sessions()[0].input.toString('latin1'), /\r\n\.\r\n/);
        assert.ok(
          w.logLines().some((l) => l.startsWith('DENIED_BARE_LF from: a@example.org to: b@example.org')),
          w.logLines().join('\n'),
        );
      });
    });

    describe('pipelining and odd input', () => {
      test('MAIL/RCPT/RCPT/DATA in one write: replies in order, message delivered', async (t) => {
        const w = await start(t, []);
        if (!w) return;
        const c = await w.connect('127.0.0.1');
        await c.readReply();
        await c.write(
          'EHLO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<rejectme@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\n',
        );
        const replies = await c.readAll(6);
        assert.deepEqual(
          replies.map((r) => r.code),
          [250, 250, 250, 553, 554, 354],
        );
        await c.write(dataSection('Subject: p\r\n\r\npipelined\r\n') + 'QUIT\r\n');
        const [end, quit] = await c.readAll(2);
        assert.equal(end.code, 250);
        assert.equal(quit.code, 221);
        await w.ts.waitForIdle(1);
        assert.equal(w.sessions()[0].messages[0].toString(), 'Subject: p\r\n\r\npipelined');
      });

      test('an unknown command is forwarded; a line over 16 KiB gets 500 and the session goes on', async (t) => {
        const w = await start(t, []);
        if (!w) return;
        const c = await w.connect('127.0.0.1');
        await c.readReply();
        assert.equal((await c.command('XYZZY')).code, 502);
        assert.equal((await c.command('NOOP ' + 'a'.repeat(20000))).lines.join(), '500 Line too long.');
        assert.equal((await c.command('NOOP')).code, 250);
        await c.command('QUIT');
        writeFileSync(join(w.dir, 'done'), '');
      });
    });
  });
}
