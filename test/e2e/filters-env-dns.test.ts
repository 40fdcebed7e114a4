// Envelope filters that need DNS, end to end: client on 127.0.0.x → tcpserver → levee → qmail
// stand-in (and the same against levee serve --exec stand-in), with dnsmasq (PTR/A/MX) and rbldnsd
// (lists) on loopback: reject-sender no-mx against real MX answers, rdns-relay-*, and the MAIL FROM
// order with the RHS lists on the sender domain.
import { test, describe, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  DNS_CLIENTS,
  DNS_DOMAINS,
  DNS_ZONES,
  LEVEE_MODES,
  dnsServersMissing,
  startDnsServers,
  startWrapper,
  trafficLine,
  type DnsServers,
  type LeveeMode,
  type Wrapper,
} from '../harness';

const missing = dnsServersMissing();
let servers: DnsServers;

async function dnsWrapper(t: TestContext, args: string[], mode: LeveeMode): Promise<Wrapper | null> {
  const dnsArgs = ['--dns-server-ip', `127.0.0.1:${servers.port}`, '--dns-timeout-secs', '6'];
  return startWrapper(t, [...dnsArgs, ...args], { dns: true, mode });
}

/** MAIL and RCPT replies for one session from `ip`. */
async function mailRcpt(w: Wrapper, ip: string, sender: string, rcpt: string): Promise<[string, string]> {
  const c = await w.connect(ip, 8000);
  try {
    assert.equal((await c.readReply(8000)).code, 220);
    await c.command('EHLO client.test', 8000);
    const mail = (await c.command(`MAIL FROM:<${sender}>`, 8000)).lines.join('\n');
    const r = (await c.command(`RCPT TO:<${rcpt}>`, 8000)).lines.join('\n');
    await c.command('QUIT', 8000);
    return [mail, r];
  } finally {
    c.close();
    await w.ts.waitForIdle(w.ts.connections().length, 8000);
  }
}

describe('envelope filters with real DNS', { skip: (!process.env.CI && missing) || false }, () => {
  before(async () => {
    if (missing) throw new Error(`CI must run every test, but the DNS servers cannot start: ${missing}`);
    servers = await startDnsServers();
  });
  after(async () => {
    await servers?.stop();
  });

  for (const mode of LEVEE_MODES) {
    describe(`${mode} mode`, () => {
      const wrapper = (t: TestContext, args: string[]) => dnsWrapper(t, args, mode);

      test(
        'reject-sender no-mx: MX or A passes; none, loopback-only or NXDOMAIN is refused',
        { timeout: 60_000 },
        async (t) => {
          const w = await wrapper(t, ['--reject-sender', 'no-mx']);
          if (!w) return;
          const ip = DNS_CLIENTS.good.ip;
          const text = 'Refused. The domain of your sender address has no mail exchanger (MX).';
          for (const domain of [DNS_DOMAINS.withMx, DNS_DOMAINS.aOnly, DNS_DOMAINS.literalMx]) {
            const [mail, rcpt] = await mailRcpt(w, ip, `a@${domain}`, 'b@example.org');
            assert.match(mail, /^250 ok/, domain);
            assert.match(rcpt, /^250 /, domain);
          }
          for (const domain of [
            DNS_DOMAINS.missing,
            DNS_DOMAINS.loopbackMx,
            DNS_DOMAINS.loopbackA,
            DNS_DOMAINS.deadMx,
          ]) {
            const [mail, rcpt] = await mailRcpt(w, ip, `a@${domain}`, 'b@example.org');
            assert.equal(mail, `250 ${text}`, domain);
            assert.equal(rcpt, `421 ${text}`, domain);
            assert.ok(w.logLines().includes(`FILTER_SENDER_NO_MX domain: ${domain}`), domain);
          }
          assert.ok(
            w
              .logLines()
              .includes(
                trafficLine(
                  'DENIED_SENDER_NO_MX',
                  `a@${DNS_DOMAINS.missing}`,
                  'b@example.org',
                  ip,
                  '(empty)',
                  DNS_CLIENTS.good.name,
                ),
              ),
            w.logLines().join('\n'),
          );
        },
      );

      test('rdns-relay-entry grants relaying by the client’s PTR name', { timeout: 30_000 }, async (t) => {
        const w = await wrapper(t, ['--rdns-relay-entry', DNS_CLIENTS.good.name]);
        if (!w) return;
        const [, ok] = await mailRcpt(w, DNS_CLIENTS.good.ip, 'a@remote.test', 'b@remote.test');
        assert.match(ok, /^250 /);
        assert.ok(
          w
            .logLines()
            .includes(
              `FILTER_RDNS_NAME ip: ${DNS_CLIENTS.good.ip} rdns: ${DNS_CLIENTS.good.name} entry: ${DNS_CLIENTS.good.name}`,
            ),
          w.logLines().join('\n'),
        );
        assert.equal(w.sessions()[0].env.RELAYCLIENT, '');
        const [, denied] = await mailRcpt(w, DNS_CLIENTS.dynamic.ip, 'a@remote.test', 'b@remote.test');
        assert.equal(denied, '554 Refused. Sending to remote addresses (relaying) is not allowed.');
      });

      test(
        'MAIL order: the RHSBL on the sender domain wins over reject-sender',
        { timeout: 30_000 },
        async (t) => {
          const w = await wrapper(t, [
            '--rhs-blacklist-entry',
            DNS_ZONES.dbl,
            '--reject-sender',
            'not-local',
          ]);
          if (!w) return;
          const [mail, rcpt] = await mailRcpt(w, DNS_CLIENTS.good.ip, 'a@spammer.example', 'b@example.org');
          assert.match(mail, /^250 Refused\. Your domain name is listed in the RHSBL at dbl\.test/);
          assert.match(rcpt, /^554 Refused\. Your domain name is listed in the RHSBL/);
          assert.ok(
            !w.logLines().some((l) => l.startsWith('FILTER_SENDER_NOT_LOCAL')),
            w.logLines().join('\n'),
          );
        },
      );

      test('the RHSWL on the sender domain skips the reject-sender group', { timeout: 30_000 }, async (t) => {
        const w = await wrapper(t, [
          '--rhs-whitelist-entry',
          DNS_ZONES.rhswl,
          '--reject-sender',
          'not-local',
        ]);
        if (!w) return;
        const [mail, rcpt] = await mailRcpt(
          w,
          DNS_CLIENTS.good.ip,
          'a@mail.trusted.example',
          'b@example.org',
        );
        assert.match(mail, /^250 ok/);
        assert.match(rcpt, /^250 /);
      });
    });
  }
});
