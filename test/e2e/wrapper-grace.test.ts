// End to end in both modes (tcpserver → levee → qmail stand-in, and levee serve --exec stand-in):
// spamdyke's decision model, every grace path of spec §2.3 and the code substitution of §3.2, checked
// reply by reply.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { LEVEE_MODES, wrapperStarter, trafficLine, dataSection, type SmtpClient } from '../harness';

const IP_TEXT = 'Refused. Your IP address is blacklisted.';
const SENDER_TEXT = 'Refused. Your sender address has been blacklisted.';

async function expectReply(c: SmtpClient, line: string | null, expected: string | RegExp): Promise<void> {
  const r = line === null ? await c.readReply() : await c.command(line);
  const text = r.lines.join('\n');
  if (typeof expected === 'string') assert.equal(text, expected, `reply to ${line}`);
  else assert.match(text, expected, `reply to ${line}`);
}

for (const mode of LEVEE_MODES) {
  describe(`${mode} mode`, () => {
    const start = wrapperStarter(mode);

    describe('grace AFTER_FROM (the default: smtp-auth-level observe)', () => {
      test('an IP blacklist hit is announced with 250 at MAIL FROM and enforced at RCPT', async (t) => {
        const w = await start(t, ['--ip-blacklist-entry', '127.0.0.2']);
        if (!w) return;
        const c = await w.connect('127.0.0.2');
        await expectReply(c, null, '220 standin.test ESMTP');
        await expectReply(c, 'EHLO client.test', /^250-standin\.test\n250-PIPELINING\n250 8BITMIME$/);
        await expectReply(c, 'MAIL FROM:<a@example.com>', `250 ${IP_TEXT}`);
        await expectReply(c, 'RCPT TO:<b@example.org>', `554 ${IP_TEXT}`);
        await expectReply(c, 'RCPT TO:<c@example.org>', `554 ${IP_TEXT}`);
        await expectReply(c, 'DATA', `554 ${IP_TEXT}`);
        await expectReply(c, 'RSET', `554 ${IP_TEXT}`);
        await expectReply(c, 'NOOP', `554 ${IP_TEXT}`);
        await expectReply(c, 'AUTH PLAIN AGZvbwBiYXI=', `554 ${IP_TEXT}`);
        await expectReply(c, 'QUIT', `221 ${IP_TEXT}`);
        await c.expectClosed();
        await w.ts.waitForIdle(1);
        const log = w.logLines();
        assert.ok(log.includes('FILTER_BLACKLIST_IP ip: 127.0.0.2 entry: 127.0.0.2'), log.join('\n'));
        assert.ok(
          log.includes(
            trafficLine('DENIED_BLACKLIST_IP', 'a@example.com', 'b@example.org', '127.0.0.2', '127.0.0.2'),
          ),
        );
        assert.ok(
          log.includes(
            trafficLine('DENIED_BLACKLIST_IP', 'a@example.com', 'c@example.org', '127.0.0.2', '127.0.0.2'),
          ),
        );
        // the child saw the EHLO but never the envelope: it was cut off at MAIL FROM
        const [s] = w.sessions();
        assert.match(s.input.toString(), /^EHLO client\.test\r\n$/);
      });

      test('a sender blacklist hit: 250 with the text at MAIL FROM, 554 and a log line per RCPT', async (t) => {
        const w = await start(t, ['--sender-blacklist-entry', 'spammer@bad.example']);
        if (!w) return;
        const c = await w.connect('127.0.0.1');
        await expectReply(c, null, '220 standin.test ESMTP');
        await expectReply(c, 'HELO client.test', '250 standin.test');
        await expectReply(c, 'MAIL FROM:<Spammer@Bad.Example>', `250 ${SENDER_TEXT}`);
        await expectReply(c, 'RCPT TO:<b@example.org>', `554 ${SENDER_TEXT}`);
        await expectReply(c, 'QUIT', `221 ${SENDER_TEXT}`);
        await c.expectClosed();
        await w.ts.waitForIdle(1);
        assert.ok(
          w
            .logLines()
            .includes(
              trafficLine(
                'DENIED_SENDER_BLACKLISTED',
                'spammer@bad.example',
                'b@example.org',
                '127.0.0.1',
                'spammer@bad.example',
              ),
            ),
          w.logLines().join('\n'),
        );
        assert.ok(
          w
            .logLines()
            .includes('FILTER_SENDER_BLACKLIST sender: spammer@bad.example entry: spammer@bad.example'),
        );
      });
    });

    describe('grace NONE (smtp-auth-level none and no whitelists)', () => {
      test('the rejection is the greeting and the child is never started', async (t) => {
        const w = await start(t, ['--smtp-auth-level', 'none', '--ip-blacklist-entry', '127.0.0.2']);
        if (!w) return;
        const c = await w.connect('127.0.0.2');
        await expectReply(c, null, `220 ${IP_TEXT}`);
        await expectReply(c, 'EHLO client.test', `250 ${IP_TEXT}`);
        await expectReply(c, 'MAIL FROM:<a@example.com>', `250 ${IP_TEXT}`);
        await expectReply(c, 'RCPT TO:<b@example.org>', `554 ${IP_TEXT}`);
        await expectReply(c, 'DATA', `554 ${IP_TEXT}`);
        await expectReply(c, 'STARTTLS', `554 ${IP_TEXT}`);
        await expectReply(c, 'RSET', `554 ${IP_TEXT}`);
        await expectReply(c, 'QUIT', `221 ${IP_TEXT}`);
        await c.expectClosed();
        await w.ts.waitForIdle(1);
        assert.deepEqual(w.sessions(), [], 'no child process was started');
        assert.ok(
          w
            .logLines()
            .includes(
              trafficLine('DENIED_BLACKLIST_IP', 'a@example.com', 'b@example.org', '127.0.0.2', '127.0.0.2'),
            ),
        );
      });

      test('a MAIL FROM rejection still waits for MAIL FROM (grace is about connection filters)', async (t) => {
        const w = await start(t, ['--smtp-auth-level', 'none', '--sender-blacklist-entry', '@bad.example']);
        if (!w) return;
        const c = await w.connect('127.0.0.1');
        await expectReply(c, null, '220 standin.test ESMTP');
        await expectReply(c, 'MAIL FROM:<x@mail.bad.example>', `250 ${SENDER_TEXT}`);
        await expectReply(c, 'RCPT TO:<b@example.org>', `554 ${SENDER_TEXT}`);
        await expectReply(c, 'QUIT', `221 ${SENDER_TEXT}`);
        await w.ts.waitForIdle(1);
        assert.ok(
          w
            .logLines()
            .includes(
              trafficLine(
                'DENIED_SENDER_BLACKLISTED',
                'x@mail.bad.example',
                'b@example.org',
                '127.0.0.1',
                '@bad.example',
              ),
            ),
        );
      });
    });

    describe('grace AFTER_TO (a recipient whitelist is configured)', () => {
      test('MAIL FROM reaches the child; whitelisted recipients pass, the first other one gets the rejection', async (t) => {
        const w = await start(t, [
          '--ip-blacklist-entry',
          '127.0.0.2',
          '--recipient-whitelist-entry',
          'postmaster@example.org',
        ]);
        if (!w) return;
        const c = await w.connect('127.0.0.2');
        await expectReply(c, null, '220 standin.test ESMTP');
        await expectReply(c, 'MAIL FROM:<a@example.com>', '250 ok');
        await expectReply(c, 'RCPT TO:<postmaster@example.org>', '250 ok');
        await expectReply(c, 'RCPT TO:<b@example.org>', `554 ${IP_TEXT}`);
        // delivered: the child is cut off and levee answers from here on
        await expectReply(c, 'DATA', `554 ${IP_TEXT}`);
        await expectReply(c, 'QUIT', `221 ${IP_TEXT}`);
        await w.ts.waitForIdle(1);
        const log = w.logLines();
        assert.ok(
          log.some((l) => l.startsWith('FILTER_RECIPIENT_WHITELIST recipient: postmaster@example.org')),
          log.join('\n'),
        );
        assert.ok(
          log.includes(
            trafficLine('DENIED_BLACKLIST_IP', 'a@example.com', 'b@example.org', '127.0.0.2', '127.0.0.2'),
          ),
        );
        const [s] = w.sessions();
        assert.match(
          s.input.toString(),
          /MAIL FROM:<a@example\.com>\r\nRCPT TO:<postmaster@example\.org>\r\n$/,
        );
      });

      test('a whitelisted recipient alone gets its message delivered despite the IP blacklist', async (t) => {
        const w = await start(t, [
          '--ip-blacklist-entry',
          '127.0.0.2',
          '--recipient-whitelist-entry',
          'postmaster@example.org',
        ]);
        if (!w) return;
        const c = await w.connect('127.0.0.2');
        await c.readReply();
        await expectReply(c, 'MAIL FROM:<a@example.com>', '250 ok');
        await expectReply(c, 'RCPT TO:<postmaster@example.org>', '250 ok');
        await expectReply(c, 'DATA', '354 go ahead');
        await c.write(dataSection('Subject: abuse report\r\n\r\nplease look\r\n'));
        await expectReply(c, null, /^250 ok 1700000000 qp \d+$/);
        await expectReply(c, 'QUIT', '221 standin.test');
        await w.ts.waitForIdle(1);
        const [s] = w.sessions();
        assert.equal(s.messages[0].toString(), 'Subject: abuse report\r\n\r\nplease look');
        assert.ok(
          w
            .logLines()
            .some((l) =>
              l.startsWith('ALLOWED from: a@example.com to: postmaster@example.org origin_ip: 127.0.0.2'),
            ),
        );
      });
    });

    describe('decision rules', () => {
      for (const order of [
        ['--ip-blacklist-entry', '127.0.0.3', '--ip-whitelist-entry', '127.0.0.3'],
        ['--ip-whitelist-entry', '127.0.0.3', '--ip-blacklist-entry', '127.0.0.3'],
      ]) {
        test(`a whitelist beats a blacklist whatever the order (${order[0]} first)`, async (t) => {
          const w = await start(t, order);
          if (!w) return;
          const c = await w.connect('127.0.0.3');
          await c.readReply();
          await expectReply(c, 'MAIL FROM:<a@example.com>', '250 ok');
          await expectReply(c, 'RCPT TO:<b@example.org>', '250 ok');
          await expectReply(c, 'DATA', '354 go ahead');
          await c.write(dataSection('hello\r\n'));
          await expectReply(c, null, /^250 ok/);
          await c.command('QUIT');
          await w.ts.waitForIdle(1);
          const log = w.logLines();
          assert.ok(
            log.some((l) =>
              /^ALLOWED from: a@example\.com to: b@example\.org origin_ip: 127\.0\.0\.3 .* reason: 250_ok_1700000000_qp_\d+$/.test(
                l,
              ),
            ),
            log.join('\n'),
          );
          assert.ok(!log.some((l) => l.startsWith('DENIED')));
        });
      }

      test('filter-level reject-all locks the rejection; no whitelist undoes it', async (t) => {
        const w = await start(t, ['--filter-level', 'reject-all', '--ip-whitelist-entry', '127.0.0.1']);
        if (!w) return;
        const c = await w.connect('127.0.0.1');
        await c.readReply();
        await expectReply(c, 'MAIL FROM:<a@example.com>', '250 Refused. Mail is not being accepted.');
        await expectReply(c, 'RCPT TO:<b@example.org>', '554 Refused. Mail is not being accepted.');
        await c.command('QUIT');
        await w.ts.waitForIdle(1);
        assert.ok(
          w
            .logLines()
            .includes(
              trafficLine('DENIED_REJECT_ALL', 'a@example.com', 'b@example.org', '127.0.0.1', '(empty)'),
            ),
        );
      });

      test('policy-url and custom texts build the reply as spamdyke does', async (t) => {
        const w = await start(t, [
          '--smtp-auth-level=none',
          '--policy-url=http://x/p.html',
          '--ip-blacklist-entry=127.0.0.2',
          '--rejection-text-ip-blacklist=Go away now',
        ]);
        if (!w) return;
        const c = await w.connect('127.0.0.2');
        await expectReply(c, null, '220 Go away now See: http://x/p.html#DENIED_BLACKLIST_IP');
        await expectReply(
          c,
          'RCPT TO:<b@example.org>',
          '554 Go away now See: http://x/p.html#DENIED_BLACKLIST_IP',
        );
        await c.command('QUIT');
        const w2 = await start(t, [
          '--smtp-auth-level=none',
          '--policy-url=http://x/p?c=',
          '--ip-blacklist-entry=127.0.0.2',
        ]);
        if (!w2) return;
        const c2 = await w2.connect('127.0.0.2');
        await expectReply(c2, null, `220 ${IP_TEXT} See: http://x/p?c=DENIED_BLACKLIST_IP`);
        await c2.command('QUIT');
      });

      test('--log-only lets the mail through and logs what would have happened', async (t) => {
        const w = await start(t, [
          '--ip-blacklist-entry',
          '127.0.0.2',
          '--log-only',
          'ip-blacklist',
          '--log-level=info',
        ]);
        if (!w) return;
        const c = await w.connect('127.0.0.2');
        await c.readReply();
        await expectReply(c, 'MAIL FROM:<a@example.com>', '250 ok');
        await expectReply(c, 'RCPT TO:<b@example.org>', '250 ok');
        await c.command('QUIT');
        await w.ts.waitForIdle(1);
        assert.ok(
          w
            .logLines()
            .includes(
              'LOG_ONLY would be DENIED_BLACKLIST_IP from: (unknown) to: (unknown) origin_ip: 127.0.0.2 origin_rdns: (unknown) reason: 127.0.0.2',
            ),
          w.logLines().join('\n'),
        );
      });

      test('relaying is refused for a non-local recipient; RELAYCLIENT lets it through', async (t) => {
        const w = await start(t, []);
        if (!w) return;
        const c = await w.connect('127.0.0.1');
        await c.readReply();
        await expectReply(c, 'MAIL FROM:<a@example.com>', '250 ok');
        await expectReply(
          c,
          'RCPT TO:<b@elsewhere.example>',
          '554 Refused. Sending to remote addresses (relaying) is not allowed.',
        );
        await expectReply(c, 'RCPT TO:<b@sub.example.org>', '250 ok');
        await expectReply(
          c,
          'RCPT TO:<nodomain>',
          '554 Improper recipient address. Try supplying a domain name.',
        );
        await c.command('QUIT');
        await w.ts.waitForIdle(1);
        const log = w.logLines();
        assert.ok(
          log.includes(
            trafficLine('DENIED_RELAYING', 'a@example.com', 'b@elsewhere.example', '127.0.0.1', '(empty)'),
          ),
          log.join('\n'),
        );
        assert.ok(
          log.includes(
            trafficLine('DENIED_UNQUALIFIED_RECIPIENT', 'a@example.com', 'nodomain', '127.0.0.1', '(empty)'),
          ),
        );

        const w2 = await start(t, [], { env: { RELAYCLIENT: '' } });
        if (!w2) return;
        const c2 = await w2.connect('127.0.0.1');
        await c2.readReply();
        await c2.command('MAIL FROM:<a@example.com>');
        await expectReply(c2, 'RCPT TO:<b@elsewhere.example>', '250 ok');
        await c2.command('QUIT');
      });

      test('a child that refuses a recipient: its reply is relayed and logged as DENIED_OTHER', async (t) => {
        const w = await start(t, []);
        if (!w) return;
        const c = await w.connect('127.0.0.1');
        await c.readReply();
        await c.command('MAIL FROM:<a@example.com>');
        await expectReply(
          c,
          'RCPT TO:<rejectme@example.org>',
          "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
        );
        await c.command('QUIT');
        await w.ts.waitForIdle(1);
        assert.ok(
          w
            .logLines()
            .includes(
              trafficLine(
                'DENIED_OTHER',
                'a@example.com',
                'rejectme@example.org',
                '127.0.0.1',
                "553_sorry,_that_domain_isn't_in_my_list_of_allowed_rcpthosts_(#5.7.1)",
              ),
            ),
          w.logLines().join('\n'),
        );
      });

      test('the child environment: TCPLOCALPORT=25, SMTPS removed, RELAYCLIENT added for relay-level allow-all', async (t) => {
        const w = await start(t, ['--relay-level', 'allow-all'], { env: { SMTPS: '1' } });
        if (!w) return;
        const c = await w.connect('127.0.0.1');
        await c.readReply();
        await c.command('QUIT');
        await w.ts.waitForIdle(1);
        const [s] = w.sessions();
        assert.equal(s.env.TCPLOCALPORT, '25');
        assert.equal(s.env.SMTPS, undefined);
        assert.equal(s.env.RELAYCLIENT, '');
        assert.equal(s.env.TCPREMOTEIP, '127.0.0.1');
      });
    });
  });
}
