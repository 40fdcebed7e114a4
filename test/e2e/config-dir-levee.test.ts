// config-dir through levee (spec §4.7, §2.4 RCPT step 1, errata 5): per-recipient options from a tree
// chosen by IP, rDNS, sender and recipient, in both modes (tcpserver → levee → qmail stand-in, and
// levee serve --exec stand-in). Run with `TEST_FILTER=config-dir node test/run.mjs e2e`.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LEVEE_MODES, wrapperStarter, dataSection, trafficLine, type SmtpClient } from '../harness';

const IP_TEXT = 'Refused. Your IP address is blacklisted.';

async function expectReply(c: SmtpClient, line: string | null, expected: string | RegExp): Promise<void> {
  const r = line === null ? await c.readReply() : await c.command(line);
  const text = r.lines.join('\n');
  if (typeof expected === 'string') assert.equal(text, expected, `reply to ${line}`);
  else assert.match(text, expected, `reply to ${line}`);
}

/** Writes the tree's files below `<dir>/cd` and returns its root. */
function configTree(dir: string, files: Record<string, string>): string {
  const root = join(dir, 'cd');
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  mkdirSync(root, { recursive: true });
  return root;
}

async function begin(c: SmtpClient, from = '<alice@example.com>'): Promise<void> {
  await expectReply(c, null, '220 standin.test ESMTP');
  await expectReply(c, 'HELO client.test', /^250 /);
  await expectReply(c, `MAIL FROM:${from}`, '250 ok');
}

for (const mode of LEVEE_MODES) {
  describe(`${mode} mode`, () => {
    const start = wrapperStarter(mode);

    describe('config-dir', () => {
      test('a recipient file rejects that recipient only; the child keeps running (errata 5)', async (t) => {
        const w = await start(t, (dir) => [
          '--config-dir',
          configTree(dir, {
            '_recipient_/org/example/_at_/bob': 'ip-blacklist-entry=127.0.0.1\n',
            '_recipient_/org/example/_at_/carol': '# nothing here\nbogus-option=1\n',
          }),
        ]);
        if (!w) return;
        const c = await w.connect();
        await begin(c);
        await expectReply(c, 'RCPT TO:<bob@example.org>', `554 ${IP_TEXT}`);
        await expectReply(c, 'RCPT TO:<carol@example.org>', '250 ok');
        await expectReply(c, 'RCPT TO:<dave@example.org>', '250 ok');
        await expectReply(c, 'DATA', '354 go ahead');
        await c.write(dataSection('Subject: hi\r\n\r\nhello\r\n'));
        await expectReply(c, null, /^250 ok /);
        await expectReply(c, 'QUIT', '221 standin.test');
        await w.ts.waitForIdle(1);
        const log = w.logLines();
        assert.ok(
          log.includes(
            trafficLine(
              'DENIED_BLACKLIST_IP',
              'alice@example.com',
              'bob@example.org',
              '127.0.0.1',
              '127.0.0.1',
            ),
          ),
          log.join('\n'),
        );
        assert.ok(
          log.some((l) =>
            /^ERROR: Unknown configuration file option .*carol on line 2: bogus-option/.test(l),
          ),
        );
        const [s] = w.sessions();
        assert.doesNotMatch(s.input.toString(), /bob@example\.org/);
        assert.equal(s.messages.length, 1);
      });

      test('a rejection from the global options cuts the child off at RCPT; QUIT gets 221 + text', async (t) => {
        const w = await start(t, (dir) => [
          ...['--ip-blacklist-entry', '127.0.0.1', '--config-dir', configTree(dir, {})],
        ]);
        if (!w) return;
        const c = await w.connect();
        await begin(c); // grace AFTER_TO: MAIL FROM goes to the child
        await expectReply(c, 'RCPT TO:<bob@example.org>', `554 ${IP_TEXT}`);
        await expectReply(c, 'QUIT', `221 ${IP_TEXT}`);
      });

      test('sender and IP files, nested: `_ip_/127/0/0/1/_sender_/…` applies to that pair only', async (t) => {
        const w = await start(t, (dir) => [
          '--config-dir',
          configTree(dir, {
            '_ip_/127/0/0/1/_sender_/com/example/_at_/mallory':
              'sender-blacklist-entry=mallory@example.com\n',
          }),
        ]);
        if (!w) return;
        const c1 = await w.connect('127.0.0.1');
        await begin(c1, '<mallory@example.com>');
        await expectReply(
          c1,
          'RCPT TO:<bob@example.org>',
          '554 Refused. Your sender address has been blacklisted.',
        );
        await expectReply(c1, 'QUIT', '221 standin.test');
        const c2 = await w.connect('127.0.0.2');
        await begin(c2, '<mallory@example.com>');
        await expectReply(c2, 'RCPT TO:<bob@example.org>', '250 ok');
        await expectReply(c2, 'QUIT', '221 standin.test');
      });

      test('header patterns from a recipient file apply to the whole message', async (t) => {
        const w = await start(t, (dir) => [
          '--config-dir',
          configTree(dir, {
            '_recipient_/org/example/_at_/bob': 'header-blacklist-entry=subject:*lottery*\n',
          }),
        ]);
        if (!w) return;
        const c = await w.connect();
        await begin(c);
        await expectReply(c, 'RCPT TO:<carol@example.org>', '250 ok');
        await expectReply(c, 'RCPT TO:<bob@example.org>', '250 ok');
        await expectReply(c, 'DATA', '354 Proceed.');
        await c.write(dataSection('Subject: You won the LOTTERY\r\n\r\nclaim now\r\n'));
        await expectReply(c, null, '554 Refused. Your message has been blocked due to its content.');
        await expectReply(c, 'QUIT', /^221 /);
        const [s] = w.sessions();
        assert.doesNotMatch(s.input.toString(), /LOTTERY/);
      });

      test('graylisting switched on for one domain by a config-dir file', async (t) => {
        const w = await start(t, (dir) => {
          mkdirSync(join(dir, 'graylist/example.org'), { recursive: true });
          return [
            '--config-dir',
            configTree(dir, {
              '_recipient_/org/example': `graylist-level=always\ngraylist-dir=${join(dir, 'graylist')}\n`,
            }),
          ];
        });
        if (!w) return;
        const c = await w.connect();
        await begin(c);
        await expectReply(
          c,
          'RCPT TO:<bob@example.org>',
          '421 Your address has been graylisted. Try again later.',
        );
        await expectReply(c, 'RCPT TO:<bob@other.example.org>', '250 ok');
        await expectReply(c, 'QUIT', '221 standin.test');
      });
    });
  });
}
