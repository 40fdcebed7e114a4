// The header blacklist through levee (spec §4.6, §2.4 DATA, quirk 13, errata 11): tcpserver → levee →
// qmail stand-in, and the same against levee serve --exec stand-in. levee answers DATA with
// `354 Proceed.` itself, withholds the headers, and either refuses the message at the dot (the child
// never gets it) or passes it on byte for byte.
// Needs the session to use src/filters/header-blacklist.ts (HeaderGate); run with
// `TEST_FILTER=header node test/run.mjs e2e`.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { LEVEE_MODES, wrapperStarter, dataSection, listFile, trafficLine, type SmtpClient } from '../harness';

const BLOCKED = 'Refused. Your message has been blocked due to its content.';

async function expectReply(c: SmtpClient, line: string | null, expected: string | RegExp): Promise<void> {
  const r = line === null ? await c.readReply() : await c.command(line);
  const text = r.lines.join('\n');
  if (typeof expected === 'string') assert.equal(text, expected, `reply to ${line}`);
  else assert.match(text, expected, `reply to ${line}`);
}

async function envelope(c: SmtpClient, to: string[] = ['bob@example.org']): Promise<void> {
  await expectReply(c, null, '220 standin.test ESMTP');
  await expectReply(c, 'HELO client.test', /^250 /);
  await expectReply(c, 'MAIL FROM:<alice@example.com>', '250 ok');
  for (const rcpt of to) await expectReply(c, `RCPT TO:<${rcpt}>`, '250 ok');
}

const SPAM = 'From: alice@example.com\r\nSubject: cheap\r\n\tViagra  today\r\n\r\nhello\r\n';
const HAM = 'From: alice@example.com\r\nSubject: minutes\r\n\r\n.leading dot\r\nSubject: viagra (body)\r\n';

for (const mode of LEVEE_MODES) {
  describe(`${mode} mode`, () => {
    const start = wrapperStarter(mode);

    describe('header blacklist', () => {
      test('a matching (folded) header: 354 Proceed., 554 at the dot, child gets no message', async (t) => {
        const w = await start(t, ['--header-blacklist-entry', 'subject:*viagra*']);
        if (!w) return;
        const c = await w.connect();
        await envelope(c, ['bob@example.org', 'carol@example.org']);
        await expectReply(c, 'DATA', '354 Proceed.');
        await c.write(dataSection(SPAM));
        await expectReply(c, null, `554 ${BLOCKED}`);
        // errata 11: the next transaction is refused like a delivered rejection
        await expectReply(c, 'MAIL FROM:<alice@example.com>', `250 ${BLOCKED}`);
        await expectReply(c, 'RCPT TO:<dave@example.org>', `554 ${BLOCKED}`);
        await expectReply(c, 'QUIT', /^221 /);
        await c.expectClosed();
        await w.ts.waitForIdle(1);
        const log = w.logLines();
        for (const to of ['bob@example.org', 'carol@example.org', 'dave@example.org'])
          assert.ok(
            log.includes(
              trafficLine(
                'DENIED_HEADER_BLACKLISTED',
                'alice@example.com',
                to,
                '127.0.0.1',
                'subject:*viagra*',
              ),
            ),
            `${to}:\n${log.join('\n')}`,
          );
        assert.ok(log.some((l) => l.startsWith('FILTER_HEADER_BLACKLIST header: Subject: cheap')));
        const [s] = w.sessions();
        assert.deepEqual(s.messages, [], 'the child never got the message');
        assert.doesNotMatch(s.input.toString('latin1'), /Viagra/);
      });

      test('no match: the message reaches the child byte for byte; the child’s own 354 is swallowed', async (t) => {
        const w = await start(t, (dir) => [
          '--header-blacklist-file',
          listFile(dir, 'headers', ['# spam words', 'subject:*viagra*', 'x-mailer:*bulk*']),
        ]);
        if (!w) return;
        const c = await w.connect();
        await envelope(c);
        await expectReply(c, 'DATA', '354 Proceed.');
        await c.write(dataSection(HAM));
        await expectReply(c, null, /^250 ok \d+ qp \d+$/);
        await expectReply(c, 'QUIT', /^221 /);
        await w.ts.waitForIdle(1);
        const [s] = w.sessions();
        assert.equal(s.messages.length, 1);
        assert.equal(s.messages[0].toString('latin1'), dataSection(HAM).toString('latin1').slice(0, -5));
        assert.doesNotMatch(c.received(), /354 go ahead/);
        assert.ok(
          w.logLines().some((l) => l.startsWith('ALLOWED from: alice@example.com to: bob@example.org')),
        );
      });

      test('a header block larger than 512 KiB still streams, and a late match still refuses', async (t) => {
        const w = await start(t, ['--header-blacklist-entry', 'x-late:*']);
        if (!w) return;
        const c = await w.connect('127.0.0.1', 20_000);
        await envelope(c);
        await expectReply(c, 'DATA', '354 Proceed.');
        const filler = `X-Filler: ${'a'.repeat(998)}\r\n`.repeat(700); // ~700 KiB of headers
        await c.write(dataSection(`${filler}X-Late: yes\r\n\r\nbody\r\n`));
        await expectReply(c, null, `554 ${BLOCKED}`);
        await expectReply(c, 'QUIT', /^221 /);
        await w.ts.waitForIdle(1);
        const [s] = w.sessions();
        // the child got the first 512 KiB at most, never the matching header, the body or an end of data
        const input = s.input.toString('latin1');
        assert.doesNotMatch(input, /X-Late|\r\nbody\r\n/);
        assert.doesNotMatch(input, /\r\n\.\r\n/, 'no end of data reached the child');
      });
    });
  });
}
