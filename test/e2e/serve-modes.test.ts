// The same scenarios against wrapper mode (tcpserver → levee → child) and proxy mode (levee serve
// --exec child): the filters, replies, log lines and the bytes the child gets must not differ. The
// main suites (wrapper-grace, wrapper-relay, filters-connect-dns, filters-env-smtp) run in both modes
// too, through startWrapper's `mode`; this file keeps the startLeveeServer path (modes.ts) covered.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  LEVEE_MODES,
  dataSection,
  listFile,
  needTools,
  QMAIL_STANDIN,
  readStandin,
  SmtpClient,
  tmpDirFor,
} from '../harness';
import { startLeveeServer } from './modes';

interface Scenario {
  name: string;
  args: string[];
  /** client source address (any 127/8 address works on loopback) */
  from: string;
  sender: string;
  /** expected RCPT reply code and log line */
  rcptCode: number;
  logLine: RegExp;
  /** a message to send after an accepted RCPT; it must reach the child byte for byte */
  message?: Buffer;
}

const MESSAGE = Buffer.from(
  'Subject: modes\r\nX-Odd: caf\xe9 \t tab\r\n\r\n.leading dot\r\n..two dots\r\n' +
    'x'.repeat(2000) +
    '\r\nend\r\n',
  'latin1',
);

const SCENARIOS: Scenario[] = [
  {
    name: 'ip blacklist rejects',
    args: ['--ip-blacklist-entry', '127.0.0.2'],
    from: '127.0.0.2',
    sender: 'someone@sender.test',
    rcptCode: 554,
    logLine: /DENIED_BLACKLIST_IP from: someone@sender\.test to: user@example\.org origin_ip: 127\.0\.0\.2 /,
  },
  {
    name: 'sender blacklist rejects',
    args: ['--sender-blacklist-entry', 'bad@sender.test'],
    from: '127.0.0.3',
    sender: 'bad@sender.test',
    rcptCode: 554,
    logLine:
      /DENIED_SENDER_BLACKLISTED from: bad@sender\.test to: user@example\.org origin_ip: 127\.0\.0\.3 /,
  },
  {
    name: 'allowed mail is delivered byte-exact',
    args: ['--ip-blacklist-entry', '127.0.0.2'],
    from: '127.0.0.4',
    sender: 'good@sender.test',
    rcptCode: 250,
    logLine: /ALLOWED from: good@sender\.test to: user@example\.org origin_ip: 127\.0\.0\.4 /,
    message: MESSAGE,
  },
];

for (const mode of LEVEE_MODES) {
  describe(`levee in ${mode} mode`, () => {
    for (const sc of SCENARIOS) {
      test(sc.name, async (t) => {
        if (mode === 'wrapper' && !needTools(t, ['tcpserver'])) return;
        const standinDir = tmpDirFor(t, 'levee-standin-');
        const dir = tmpDirFor(t, 'levee-lists-');
        const rcpthosts = listFile(dir, 'rcpthosts', ['example.org']);
        const args = ['--log-target', 'stderr', '--log-level=verbose', '--dns-level', 'none'];
        args.push('--qmail-rcpthosts-file', rcpthosts, ...sc.args);
        const server = await startLeveeServer(mode, args, {
          child: [process.execPath, QMAIL_STANDIN],
          env: { STANDIN_DIR: standinDir },
        });
        t.after(() => server.stop());

        const c = await SmtpClient.connect(server.port, { localAddress: sc.from });
        assert.equal((await c.readReply()).code, 220);
        assert.equal((await c.command('EHLO client.test')).code, 250);
        assert.equal((await c.command(`MAIL FROM:<${sc.sender}>`)).code, 250);
        const rcpt = await c.command('RCPT TO:<user@example.org>');
        assert.equal(rcpt.code, sc.rcptCode, rcpt.raw);
        if (sc.message) {
          assert.equal((await c.command('DATA')).code, 354);
          const wire = dataSection(sc.message);
          await c.write(wire);
          assert.equal((await c.readReply()).code, 250);
        }
        assert.equal((await c.command('QUIT')).code, 221);
        await c.expectClosed();
        await server.waitForStderr(sc.logLine);
        if (sc.message) {
          const wire = dataSection(sc.message);
          const sessions = readStandin(standinDir).filter((s) => s.messages.length > 0);
          assert.equal(sessions.length, 1);
          // the stand-in keeps the bytes between 354 and CRLF.CRLF, still dot-stuffed
          assert.deepEqual(sessions[0]!.messages[0], wire.subarray(0, wire.length - 5));
        }
      });
    }
  });
}
