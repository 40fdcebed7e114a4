// Envelope filters end to end: client on 127.0.0.x → tcpserver → levee → qmail stand-in, no DNS, and
// the same against levee serve --exec stand-in.
// Each filter is checked by what the client sees (code and text), what the child saw, and what an
// admin greps (traffic line, FILTER_* line). Default grace (auth level observe): a MAIL-stage
// rejection answers MAIL with `250 <text>` and each RCPT with the rejection's own code.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, rmSync } from 'node:fs';
import {
  LEVEE_MODES,
  REPO,
  listFile,
  wrapperStarter,
  trafficLine,
  dataSection,
  type Wrapper,
} from '../harness';

const VALIDATOR = join(REPO, 'test', 'fixtures', 'recipient-validator.mjs');
const CHECKPASSWORD = join(REPO, 'test', 'fixtures', 'checkpassword.mjs');
const IP = '127.0.0.3';

/** One session: sends each command (after the greeting and EHLO) and returns the reply lines. */
async function converse(w: Wrapper, commands: string[], ip = IP): Promise<string[]> {
  const c = await w.connect(ip, 8000);
  try {
    const [greeting] = await c.readAll(1);
    assert.equal(greeting.code, 220, greeting.raw);
    await c.command('EHLO client.test');
    const out: string[] = [];
    for (const cmd of commands) {
      if (cmd.startsWith('<DATA>')) {
        await c.write(dataSection(cmd.slice('<DATA>'.length)));
        out.push((await c.readReply(8000)).lines.join('\n'));
      } else out.push((await c.command(cmd, 8000)).lines.join('\n'));
    }
    await c.command('QUIT');
    return out;
  } finally {
    c.close();
    await w.ts.waitForIdle(w.ts.connections().length, 8000);
  }
}

function assertLogged(w: Wrapper, line: string): void {
  assert.ok(w.logLines().includes(line), `no line\n${line}\nin\n${w.logLines().join('\n')}`);
}

/** What the child received, all sessions together. */
function childInput(w: Wrapper): string {
  return w
    .sessions()
    .map((s) => s.input.toString('latin1'))
    .join('');
}

for (const mode of LEVEE_MODES) {
  describe(`${mode} mode`, () => {
    const start = wrapperStarter(mode);

    describe('MAIL FROM filters', () => {
      test('sender-blacklist-entry: 250 <text> at MAIL, 554 at RCPT, traffic + FILTER lines', async (t) => {
        const w = await start(t, ['--sender-blacklist-entry', 'spammer@']);
        if (!w) return;
        const text = 'Refused. Your sender address has been blacklisted.';
        const [mail, rcpt] = await converse(w, [
          'MAIL FROM:<spammer.x@remote.test>',
          'RCPT TO:<b@example.org>',
        ]);
        // quirk 7: `user@` in the entry form also matches `user.x@`
        assert.equal(mail, `250 ${text}`);
        assert.equal(rcpt, `554 ${text}`);
        assertLogged(
          w,
          trafficLine('DENIED_SENDER_BLACKLISTED', 'spammer.x@remote.test', 'b@example.org', IP, 'spammer@'),
        );
        assertLogged(w, 'FILTER_SENDER_BLACKLIST sender: spammer.x@remote.test entry: spammer@');
        assert.doesNotMatch(childInput(w), /RCPT TO/);
      });

      test('sender-blacklist-file: reason is file:line', async (t) => {
        const w = await start(t, (dir) => [
          '--sender-blacklist-file',
          listFile(dir, 'bl', ['# x', '@bad.test']),
        ]);
        if (!w) return;
        const [, rcpt] = await converse(w, ['MAIL FROM:<a@mail.bad.test>', 'RCPT TO:<b@example.org>']);
        assert.equal(rcpt, '554 Refused. Your sender address has been blacklisted.');
        const file = join(w.dir, 'bl');
        assertLogged(
          w,
          trafficLine('DENIED_SENDER_BLACKLISTED', 'a@mail.bad.test', 'b@example.org', IP, `${file}:2`),
        );
        assertLogged(w, `FILTER_SENDER_BLACKLIST sender: a@mail.bad.test file: ${file}(2)`);
      });

      test('a sender whitelist beats an IP blacklist', async (t) => {
        const w = await start(t, ['--ip-blacklist-entry', IP, '--sender-whitelist-entry', '@friend.test']);
        if (!w) return;
        const [mail, rcpt] = await converse(w, ['MAIL FROM:<a@friend.test>', 'RCPT TO:<b@example.org>']);
        assert.match(mail, /^250 ok/);
        assert.equal(rcpt.slice(0, 3), '250');
        assertLogged(w, 'FILTER_SENDER_WHITELIST sender: a@friend.test entry: @friend.test');
      });

      test('reject-sender not-local', async (t) => {
        const w = await start(t, ['--reject-sender', 'not-local']);
        if (!w) return;
        const text = 'Refused. Mail for your sender domain is not hosted here.';
        const [mail, rcpt] = await converse(w, ['MAIL FROM:<a@remote.test>', 'RCPT TO:<b@example.org>']);
        assert.equal(mail, `250 ${text}`);
        assert.equal(rcpt, `554 ${text}`);
        assertLogged(
          w,
          trafficLine('DENIED_SENDER_NOT_LOCAL', 'a@remote.test', 'b@example.org', IP, '(empty)'),
        );
        assertLogged(w, 'FILTER_SENDER_NOT_LOCAL domain: remote.test');
        // a local sender and the null sender pass
        const [m2, r2] = await converse(w, ['MAIL FROM:<a@sub.example.org>', 'RCPT TO:<b@example.org>']);
        assert.match(m2, /^250 ok/);
        assert.match(r2, /^250 /);
        const [m3] = await converse(w, ['MAIL FROM:<>']);
        assert.match(m3, /^250 ok/);
      });

      test('reject-sender no-mx without DNS: every non-local sender has no MX (421)', async (t) => {
        const w = await start(t, ['--reject-sender', 'no-mx']);
        if (!w) return;
        const text = 'Refused. The domain of your sender address has no mail exchanger (MX).';
        const [mail, rcpt] = await converse(w, ['MAIL FROM:<a@remote.test>', 'RCPT TO:<b@example.org>']);
        assert.equal(mail, `250 ${text}`);
        assert.equal(rcpt, `421 ${text}`);
        assertLogged(w, trafficLine('DENIED_SENDER_NO_MX', 'a@remote.test', 'b@example.org', IP, '(empty)'));
        assertLogged(w, 'FILTER_SENDER_NO_MX domain: remote.test');
      });

      test('a sender without local part (<@remote.test>) runs no MAIL filter', async (t) => {
        const w = await start(t, [
          '--reject-sender',
          'not-local',
          '--sender-blacklist-entry',
          '@remote.test',
        ]);
        if (!w) return;
        const [mail, rcpt] = await converse(w, ['MAIL FROM:<@remote.test>', 'RCPT TO:<b@example.org>']);
        assert.match(mail, /^250 ok/);
        assert.match(rcpt, /^250 /);
        assert.ok(!w.logLines().some((l) => l.startsWith('FILTER_SENDER')), w.logLines().join('\n'));
      });

      test('authentication-mismatch and -domain-mismatch for an authenticated session', async (t) => {
        const auth = `${process.execPath},${CHECKPASSWORD},fred@example.org,secret`;
        const w = await start(t, [
          '--smtp-auth-level',
          'always',
          '--smtp-auth-command',
          auth,
          '--reject-sender',
          'authentication-mismatch',
          '--reject-sender',
          'not-local',
        ]);
        if (!w) return;
        const plain = Buffer.from('\0fred@example.org\0secret').toString('base64');
        const text = 'Refused. Your sender address does not match your authentication username.';
        const [a, mail, rcpt] = await converse(w, [
          `AUTH PLAIN ${plain}`,
          'MAIL FROM:<joe@example.org>',
          'RCPT TO:<x@remote.test>',
        ]);
        assert.equal(a, '235 Proceed.');
        assert.equal(mail, `250 ${text}`);
        assert.equal(rcpt, `554 ${text}`);
        assertLogged(w, 'FILTER_SENDER_NOT_AUTH sender: joe@example.org username: fred@example.org');
        assertLogged(
          w,
          trafficLine(
            'DENIED_SENDER_NOT_AUTH',
            'joe@example.org',
            'x@remote.test',
            IP,
            '(empty)',
            '(unknown)',
            'fred@example.org',
          ),
        );
        // the matching sender may relay (authenticated), and not-local does not apply to it
        const [, m2, r2] = await converse(w, [
          `AUTH PLAIN ${plain}`,
          'MAIL FROM:<Fred@Example.org>',
          'RCPT TO:<x@remote.test>',
        ]);
        assert.match(m2, /^250 ok/);
        assert.match(r2, /^250 /);
      });
    });

    describe('RCPT TO filters', () => {
      test('max-recipients counts per transaction (errata 2): 421 for the third, again 2 after DATA', async (t) => {
        const w = await start(t, ['--max-recipients', '2']);
        if (!w) return;
        const text = 'Too many recipients. Try the remaining addresses again later.';
        const replies = await converse(w, [
          'MAIL FROM:<a@remote.test>',
          'RCPT TO:<b1@example.org>',
          'RCPT TO:<b2@example.org>',
          'RCPT TO:<b3@example.org>',
          'DATA',
          '<DATA>Subject: x\r\n\r\nbody\r\n',
          'MAIL FROM:<a@remote.test>',
          'RCPT TO:<c1@example.org>',
          'RCPT TO:<c2@example.org>',
          'RCPT TO:<c3@example.org>',
        ]);
        assert.deepEqual(
          replies.map((r) => r.slice(0, 3)),
          ['250', '250', '250', '421', '354', '250', '250', '250', '250', '421'],
        );
        assert.equal(replies[3], `421 ${text}`);
        assertLogged(
          w,
          trafficLine('DENIED_TOO_MANY_RECIPIENTS', 'a@remote.test', 'b3@example.org', IP, '(empty)'),
        );
        assertLogged(w, 'FILTER_TOO_MANY_RECIPIENTS maximum: 2');
        assert.doesNotMatch(childInput(w), /b3@example\.org|c3@example\.org/);
      });

      test('a recipient qmail refused does not count toward max-recipients', async (t) => {
        const w = await start(t, ['--max-recipients', '1']);
        if (!w) return;
        const replies = await converse(w, [
          'MAIL FROM:<a@remote.test>',
          'RCPT TO:<rejectme@example.org>',
          'RCPT TO:<b@example.org>',
        ]);
        assert.deepEqual(
          replies.map((r) => r.slice(0, 3)),
          ['250', '553', '250'],
        );
      });

      test('same-as-sender, and its precedence over max-recipients', async (t) => {
        const w = await start(t, ['--reject-recipient', 'same-as-sender', '--max-recipients', '1']);
        if (!w) return;
        const text = 'Refused. Identical sender and recipient addresses are not allowed.';
        const replies = await converse(w, [
          'MAIL FROM:<Me@Example.org>',
          'RCPT TO:<me@example.org>',
          'RCPT TO:<you@example.org>',
          'RCPT TO:<other@example.org>',
          'RCPT TO:<me@EXAMPLE.ORG>',
        ]);
        assert.equal(replies[1], `554 ${text}`);
        assert.match(replies[2], /^250 /);
        assert.match(replies[3], /^421 /);
        // the limit is reached, but same-as-sender replaces that rejection
        assert.equal(replies[4], `554 ${text}`);
        assertLogged(w, 'FILTER_IDENTICAL_SENDER_RECIPIENT sender: me@example.org recipient: me@example.org');
        assertLogged(
          w,
          trafficLine('DENIED_IDENTICAL_SENDER_RECIPIENT', 'me@example.org', 'me@example.org', IP, '(empty)'),
        );
      });

      test('recipient blacklist; it does not replace an earlier rejection; relaying does', async (t) => {
        const w = await start(t, [
          '--recipient-blacklist-entry',
          '@trap.example.org',
          '--recipient-blacklist-entry',
          'x@remote.test',
          '--max-recipients',
          '1',
        ]);
        if (!w) return;
        const text = 'Refused. Mail is not being accepted at this address.';
        const replies = await converse(w, [
          'MAIL FROM:<a@remote.test>',
          'RCPT TO:<x@trap.example.org>',
          'RCPT TO:<x@remote.test>',
          'RCPT TO:<b@example.org>',
          'RCPT TO:<y@trap.example.org>',
        ]);
        assert.equal(replies[1], `554 ${text}`);
        // blacklisted and not local: the relaying check overrides the blacklist rejection
        assert.equal(replies[2], '554 Refused. Sending to remote addresses (relaying) is not allowed.');
        assert.match(replies[3], /^250 /);
        // the limit is reached first; the blacklist does not replace it
        assert.match(replies[4], /^421 /);
        assertLogged(
          w,
          trafficLine(
            'DENIED_RECIPIENT_BLACKLISTED',
            'a@remote.test',
            'x@trap.example.org',
            IP,
            '@trap.example.org',
          ),
        );
        assertLogged(w, 'FILTER_RECIPIENT_BLACKLIST recipient: x@trap.example.org entry: @trap.example.org');
        assertLogged(w, trafficLine('DENIED_RELAYING', 'a@remote.test', 'x@remote.test', IP, '(empty)'));
        assertLogged(
          w,
          trafficLine('DENIED_TOO_MANY_RECIPIENTS', 'a@remote.test', 'y@trap.example.org', IP, '(empty)'),
        );
      });
    });

    describe('relay control', () => {
      test('unqualified recipient and relaying denied, with their lines', async (t) => {
        const w = await start(t, []);
        if (!w) return;
        const replies = await converse(w, [
          'MAIL FROM:<a@remote.test>',
          'RCPT TO:<postmaster>',
          'RCPT TO:<b@remote.test>',
        ]);
        assert.equal(replies[1], '554 Improper recipient address. Try supplying a domain name.');
        assert.equal(replies[2], '554 Refused. Sending to remote addresses (relaying) is not allowed.');
        assertLogged(
          w,
          trafficLine('DENIED_UNQUALIFIED_RECIPIENT', 'a@remote.test', 'postmaster', IP, '(empty)'),
        );
        assertLogged(w, 'FILTER_UNQUALIFIED_RECIPIENT');
        assertLogged(w, trafficLine('DENIED_RELAYING', 'a@remote.test', 'b@remote.test', IP, '(empty)'));
        assertLogged(w, 'FILTER_RELAYING');
      });

      test('RELAYCLIENT (empty) allows relaying and reaches the child', async (t) => {
        const w = await start(t, [], { env: { RELAYCLIENT: '' } });
        if (!w) return;
        const replies = await converse(w, ['MAIL FROM:<a@remote.test>', 'RCPT TO:<b@remote.test>']);
        assert.match(replies[1], /^250 /);
        assert.match(childInput(w), /RCPT TO:<b@remote\.test>/);
        assert.equal(w.sessions()[0].env.RELAYCLIENT, '');
      });

      test('RELAYCLIENT with a value: relaying allowed, validation runs with the original domain', async (t) => {
        const w = await start(
          t,
          (dir) => [
            '--reject-recipient',
            'invalid',
            '--recipient-validation-command',
            `${process.execPath},${VALIDATOR}`,
            '--relay-level',
            'block-all',
            '--qmail-rcpthosts-file',
            listFile(dir, 'none', []),
          ],
          { env: { RELAYCLIENT: '.Relay', VALIDATOR_LOG: '/dev/null' } },
        );
        if (!w) return;
        const replies = await converse(w, [
          'MAIL FROM:<a@remote.test>',
          'RCPT TO:<valid@far.test>',
          'RCPT TO:<invalid@far.test>',
        ]);
        assert.match(replies[1], /^250 /);
        assert.equal(replies[2], '554 Refused. The recipient address does not exist.');
        assert.equal(w.sessions()[0].env.RELAYCLIENT, '.Relay');
      });

      test('ip-relay-entry grants relaying; a whitelisted client is still relay-checked', async (t) => {
        const w = await start(t, ['--ip-relay-entry', '127.0.0.4', '--ip-whitelist-entry', '127.0.0.']);
        if (!w) return;
        const [, ok] = await converse(
          w,
          ['MAIL FROM:<a@remote.test>', 'RCPT TO:<b@remote.test>'],
          '127.0.0.4',
        );
        assert.match(ok, /^250 /);
        assertLogged(w, 'FILTER_RELAY_IP ip: 127.0.0.4 entry: 127.0.0.4');
        assert.equal(w.logLines().filter((l) => l.startsWith('FILTER_RELAY_IP')).length, 1, 'decided once');
        const [, denied] = await converse(
          w,
          ['MAIL FROM:<a@remote.test>', 'RCPT TO:<b@remote.test>'],
          '127.0.0.6',
        );
        assert.equal(denied, '554 Refused. Sending to remote addresses (relaying) is not allowed.');
      });
    });

    describe('recipient-validation-command', () => {
      const args = (reject: string[]) => (dir: string) => [
        ...reject.flatMap((r) => ['--reject-recipient', r]),
        '--recipient-validation-command',
        `${process.execPath},${VALIDATOR}`,
        '--max-recipients',
        '100',
        ...['--qmail-rcpthosts-file', listFile(dir, 'rcpthosts', ['example.org'])],
      ];

      test('exit 1 valid, 2 invalid, 3 unavailable, 0 undecided, other codes logged at verbose', async (t) => {
        const log = `/tmp/levee-validator-${process.pid}-${Date.now()}.log`;
        t.after(() => {
          rmSync(log, { force: true });
        });
        const w = await start(t, args(['invalid', 'unavailable']), { env: { VALIDATOR_LOG: log } });
        if (!w) return;
        const replies = await converse(w, [
          'MAIL FROM:<a@remote.test>',
          'RCPT TO:<valid@example.org>',
          'RCPT TO:<invalid@example.org>',
          'RCPT TO:<unavailable@example.org>',
          'RCPT TO:<undecided@example.org>',
          'RCPT TO:<odd@example.org>',
          'RCPT TO:<x@remote.test>',
        ]);
        assert.match(replies[1], /^250 /);
        assert.equal(replies[2], '554 Refused. The recipient address does not exist.');
        assert.equal(replies[3], '554 Refused. The recipient is not accepting mail right now.');
        assert.match(replies[4], /^250 /);
        assert.match(replies[5], /^250 /);
        assert.match(replies[6], /^554 Refused. Sending to remote/);
        assertLogged(
          w,
          trafficLine('DENIED_INVALID_RECIPIENT', 'a@remote.test', 'invalid@example.org', IP, '(empty)'),
        );
        assertLogged(w, 'FILTER_INVALID_RECIPIENT recipient: invalid@example.org');
        assertLogged(
          w,
          trafficLine(
            'DENIED_UNAVAILABLE_RECIPIENT',
            'a@remote.test',
            'unavailable@example.org',
            IP,
            '(empty)',
          ),
        );
        assertLogged(w, 'FILTER_UNAVAILABLE_RECIPIENT recipient: unavailable@example.org');
        assert.ok(
          w.logLines().some((l) => l.includes('unknown exit code from validation command, code 7: ')),
          w.logLines().join('\n'),
        );
        // called as `CMD domain username`, only for local recipients
        const calls = readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as string[]);
        assert.deepEqual(calls, [
          ['example.org', 'valid'],
          ['example.org', 'invalid'],
          ['example.org', 'unavailable'],
          ['example.org', 'undecided'],
          ['example.org', 'odd'],
        ]);
      });

      test('a refusal counts only when reject-recipient names it', async (t) => {
        const w = await start(t, args(['unavailable']));
        if (!w) return;
        const replies = await converse(w, [
          'MAIL FROM:<a@remote.test>',
          'RCPT TO:<invalid@example.org>',
          'RCPT TO:<unavailable@example.org>',
        ]);
        assert.match(replies[1], /^250 /);
        assert.match(replies[2], /^554 Refused. The recipient is not accepting/);
      });
    });
  });
}
