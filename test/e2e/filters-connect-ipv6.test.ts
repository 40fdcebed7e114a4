// IPv6 clients (a levee extension). tcpserver has no IPv6, so levee runs here as ucspi-tcp6 would
// start it: bin/levee on pipes with TCPREMOTEIP (or PROTO=TCP6 + TCP6REMOTEIP) set, in front of the
// qmail stand-in, against the loopback DNS servers (PTR, nibble RBL queries).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  DNS_CLIENTS,
  DNS_ZONES,
  LEVEE_BIN,
  QMAIL_STANDIN,
  dnsServersMissing,
  startDnsServers,
  tmpDirFor,
  type DnsServers,
} from '../harness';
import type { TestContext } from 'node:test';

const missing = dnsServersMissing();
let servers: DnsServers;

interface Conversation {
  replies: string[];
  /** levee's log lines, `levee[PID]: ` removed */
  log: string[];
  code: number | null;
}

/**
 * Runs one SMTP session in lock-step (send a command only after the previous reply was complete)
 * and returns the replies' last lines. Bounded: the whole session is killed after `ms`.
 */
function converse(
  t: TestContext,
  args: string[],
  env: Record<string, string>,
  commands: string[],
  ms = 15_000,
): Promise<Conversation> {
  const standinDir = tmpDirFor(t, 'levee-standin-v6-');
  const base = ['--log-target', 'stderr', '--log-level=verbose', '--smtp-auth-level', 'observe'];
  const dns = ['--dns-server-ip', `127.0.0.1:${servers.port}`, '--dns-timeout-secs', '2'];
  const child = spawn(LEVEE_BIN, [...base, ...dns, ...args, process.execPath, QMAIL_STANDIN], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', STANDIN_DIR: standinDir, TCPLOCALPORT: '25', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const replies: string[] = [];
  let stdout = '';
  let stderr = '';
  let next = 0;
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('latin1')));
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString('latin1');
    for (let nl = stdout.indexOf('\r\n'); nl >= 0; nl = stdout.indexOf('\r\n')) {
      const line = stdout.slice(0, nl);
      stdout = stdout.slice(nl + 2);
      if (!/^\d{3}(?: |$)/.test(line)) continue; // a continuation line of a multi-line reply
      replies.push(line);
      if (next < commands.length) child.stdin.write(`${commands[next++]}\r\n`);
      else child.stdin.end();
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`session did not end within ${ms} ms; replies: ${replies.join(' | ')}\n${stderr}`));
    }, ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      const log = stderr
        .split('\n')
        .filter((l) => /^levee\[\d+\]: /.test(l))
        .map((l) => l.replace(/^levee\[\d+\]: /, ''));
      resolve({ replies, log, code });
    });
  });
}

const SESSION = ['EHLO client.test', 'MAIL FROM:<a@example.com>', 'RCPT TO:<b@example.org>', 'QUIT'];

// not in serve mode: these client addresses are set by hand; a serve daemon takes them from the socket
describe('IPv6 clients on pipes', { skip: (!process.env.CI && missing) || false }, () => {
  before(async () => {
    if (missing) throw new Error(`CI must run every test, but the DNS servers cannot start: ${missing}`);
    servers = await startDnsServers();
  });
  after(async () => {
    await servers?.stop();
  });

  test(
    'IPv6 ip-blacklist entry: refused, logged with the IPv6 address and its rDNS',
    { timeout: 30_000 },
    async (t) => {
      const c = await converse(
        t,
        ['--ip-blacklist-entry', '2001:db8::/32', '--qmail-rcpthosts-file', '/dev/null'],
        {
          TCPREMOTEIP: DNS_CLIENTS.v6.ip,
        },
        SESSION,
      );
      assert.equal(c.replies[2], '250 Refused. Your IP address is blacklisted.');
      assert.equal(c.replies[3], '554 Refused. Your IP address is blacklisted.');
      assert.ok(
        c.log.includes(
          `DENIED_BLACKLIST_IP from: a@example.com to: b@example.org origin_ip: 2001:db8::5 origin_rdns: ${DNS_CLIENTS.v6.name} auth: (unknown) encryption: (none) reason: 2001:db8::/32`,
        ),
        c.log.join('\n'),
      );
    },
  );

  test(
    'RBL nibble query (PROTO=TCP6 form): listed /64 refused, others pass',
    { timeout: 30_000 },
    async (t) => {
      const args = ['--dns-blacklist-entry', DNS_ZONES.zen, '--qmail-rcpthosts-file', '/dev/null'];
      const env = { RELAYCLIENT: '' };
      const listed = await converse(
        t,
        args,
        { ...env, PROTO: 'TCP6', TCP6REMOTEIP: '2001:db8:0:bad::25' },
        SESSION,
      );
      assert.match(
        listed.replies[3],
        /^554 Refused\. Your IP address is listed in the RBL at zen\.test: IPv6 listed by zen\.test/,
      );
      assert.ok(
        listed.log.includes(`FILTER_RBL_MATCH ip: 2001:db8:0:bad::25 rbl: ${DNS_ZONES.zen}`),
        listed.log.join('\n'),
      );
      assert.ok(
        listed.log.some((l) => l.startsWith('DENIED_RBL_MATCH ') && l.endsWith(`reason: ${DNS_ZONES.zen}`)),
      );
      const clean = await converse(t, args, { ...env, TCPREMOTEIP: DNS_CLIENTS.v6.ip }, SESSION);
      assert.match(clean.replies[2], /^250 /);
      assert.match(clean.replies[3], /^250 /, clean.log.join('\n'));
    },
  );

  test(
    'v4-mapped ::ffff:127.0.0.2 is an IPv4 client: IPv4 entries and IPv4 RBL queries',
    { timeout: 30_000 },
    async (t) => {
      const byEntry = await converse(
        t,
        ['--ip-blacklist-entry', '127.0.0.2', '--qmail-rcpthosts-file', '/dev/null'],
        { TCPREMOTEIP: '::ffff:127.0.0.2' },
        SESSION,
      );
      assert.equal(byEntry.replies[3], '554 Refused. Your IP address is blacklisted.');
      assert.ok(
        byEntry.log.some((l) => l.startsWith('DENIED_BLACKLIST_IP ') && l.includes(' origin_ip: 127.0.0.2 ')),
      );
      const byRbl = await converse(
        t,
        ['--dns-blacklist-entry', DNS_ZONES.zen, '--qmail-rcpthosts-file', '/dev/null'],
        { TCPREMOTEIP: '::ffff:127.0.0.2' },
        SESSION,
      );
      assert.match(
        byRbl.replies[3],
        /^554 Refused\. Your IP address is listed in the RBL at zen\.test: Listed by zen\.test/,
      );
    },
  );
});
