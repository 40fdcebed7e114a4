// Connection-time filters end to end: client on 127.0.0.x → tcpserver → levee → qmail stand-in (and
// the same against levee serve --exec stand-in), with
// dnsmasq + rbldnsd answering PTR, A and the DNS lists (one server set for the whole file). Each
// filter is checked by what a client sees (reply code and text) and what an admin greps (the traffic
// line and the FILTER_* line). Default grace (auth level observe): MAIL gets `250 <text>`, RCPT the
// rejection with its own code and one traffic line.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DNS_CLIENTS,
  DNS_ZONES,
  ZEN_LISTED_TXT,
  dnsServersMissing,
  LEVEE_MODES,
  startDnsServers,
  startWrapper,
  trafficLine,
  type DnsServers,
  type LeveeMode,
  type Wrapper,
} from '../harness';
import type { TestContext } from 'node:test';

const missing = dnsServersMissing();
const DQS_KEY = 'abcdefghijklmnopqrstuvwxyz0123';
/** a client whose name holds its IP and ends in a country code */
const CC_CLIENT = { ip: '127.0.0.13', name: 'mail-127-0-0-13.dsl.isp.de' };

let servers: DnsServers;

/** The question name of a DNS message (uncompressed, as c-ares and rbldnsd/dnsmasq send it). */
function questionName(msg: Buffer): string {
  const labels: string[] = [];
  let at = 12;
  while (at < msg.length && msg[at] !== 0) {
    labels.push(msg.toString('latin1', at + 1, at + 1 + msg[at]!));
    at += 1 + msg[at]!;
  }
  return labels.join('.').toLowerCase();
}

async function dnsWrapper(
  t: TestContext,
  args: string[] | ((dir: string) => string[]),
  mode: LeveeMode,
): Promise<Wrapper | null> {
  const dnsArgs = ['--dns-server-ip', `127.0.0.1:${servers.port}`, '--dns-timeout-secs', '2'];
  return startWrapper(t, (dir) => [...dnsArgs, ...(typeof args === 'function' ? args(dir) : args)], {
    dns: true,
    mode,
  });
}

interface Outcome {
  mail: string;
  rcpt: string;
  rcptCode: number;
  ms: number;
}

/** One session to the RCPT: what MAIL and RCPT were answered, and how long it took. */
async function session(w: Wrapper, ip: string): Promise<Outcome> {
  const started = Date.now();
  const c = await w.connect(ip, 8000);
  try {
    const [greeting] = await c.readAll(1);
    assert.equal(greeting.code, 220, greeting.raw);
    await c.command('EHLO client.test');
    const mail = await c.command('MAIL FROM:<a@example.com>');
    const rcpt = await c.command('RCPT TO:<b@example.org>');
    const ms = Date.now() - started;
    await c.command('QUIT');
    return { mail: mail.raw.trimEnd(), rcpt: rcpt.raw.trimEnd(), rcptCode: rcpt.code, ms };
  } finally {
    c.close();
    // levee and its child have ended before the test's scratch directories go away
    await w.ts.waitForIdle(w.ts.connections().length, 8000);
  }
}

/** The session is refused with `code text`, logged with `logCode` and `reason`. */
async function assertRefused(
  w: Wrapper,
  client: { ip: string; name?: string },
  code: number,
  text: string,
  logCode: string,
  reason: string,
): Promise<void> {
  const o = await session(w, client.ip);
  assert.equal(o.mail, `250 ${text}`);
  assert.equal(o.rcpt, `${code} ${text}`);
  const line = trafficLine(
    logCode,
    'a@example.com',
    'b@example.org',
    client.ip,
    reason,
    client.name ?? '(unknown)',
  );
  await w.waitLog(
    new RegExp(`: ${logCode} from: a@example\\.com .*origin_ip: ${client.ip.replace(/\./g, '\\.')} `),
  );
  assert.ok(w.logLines().includes(line), `no line\n${line}\nin\n${w.logLines().join('\n')}`);
}

async function assertAccepted(w: Wrapper, ip: string): Promise<Outcome> {
  const o = await session(w, ip);
  assert.match(o.mail, /^250 /);
  assert.equal(o.rcptCode, 250, `${o.rcpt}\n${w.logLines().join('\n')}`);
  const denied = (l: string) => l.startsWith('DENIED_') && l.includes(` origin_ip: ${ip} `);
  assert.ok(!w.logLines().some(denied), w.logLines().join('\n'));
  return o;
}

describe(
  'connect filters through tcpserver with real DNS',
  { skip: (!process.env.CI && missing) || false },
  () => {
    before(async () => {
      if (missing) throw new Error(`CI must run every test, but the DNS servers cannot start: ${missing}`);
      servers = await startDnsServers({
        dnsmasqLines: [
          `host-record=${CC_CLIENT.name},${CC_CLIENT.ip}`,
          // a Spamhaus DQS style zone: the key is the first label (address=: no PTR for 127.0.0.2)
          `address=/2.0.0.127.${DQS_KEY}.dq.test/127.0.0.2`,
        ],
      });
    });
    after(async () => {
      await servers?.stop();
    });

    for (const mode of LEVEE_MODES) {
      describe(`${mode} mode`, () => {
        const wrapper = (t: TestContext, args: string[] | ((dir: string) => string[])) =>
          dnsWrapper(t, args, mode);

        test(
          'reject-empty-rdns: 421 for a client without PTR; a named client passes',
          { timeout: 30_000 },
          async (t) => {
            const w = await wrapper(t, ['--reject-empty-rdns']);
            if (!w) return;
            await assertRefused(
              w,
              DNS_CLIENTS.noPtr,
              421,
              'Refused. You have no reverse DNS entry.',
              'DENIED_RDNS_MISSING',
              '(empty)',
            );
            assert.ok(w.logLines().includes(`FILTER_RDNS_MISSING ip: ${DNS_CLIENTS.noPtr.ip}`));
            await assertAccepted(w, DNS_CLIENTS.good.ip);
          },
        );

        test('reject-ip-in-cc-rdns: 554 for an IP-in-name .de client', { timeout: 30_000 }, async (t) => {
          const w = await wrapper(t, ['--reject-ip-in-cc-rdns']);
          if (!w) return;
          const text = 'Refused. Your reverse DNS entry contains your IP address and a country code.';
          await assertRefused(w, CC_CLIENT, 554, text, 'DENIED_IP_IN_CC_RDNS', '(empty)');
          assert.ok(
            w.logLines().includes(`FILTER_IP_IN_CC_RDNS ip: ${CC_CLIENT.ip} rdns: ${CC_CLIENT.name}`),
          );
        });

        test(
          'rdns-blacklist entry and dir; rdns-whitelist beats a later blacklist',
          { timeout: 30_000 },
          async (t) => {
            const w = await wrapper(t, (dir) => {
              const tree = join(dir, 'rdns-tree');
              mkdirSync(join(tree, 'test/i/isp'), { recursive: true });
              writeFileSync(join(tree, 'test/i/isp/dyn.isp.test'), '');
              return [
                ...['--rdns-blacklist-entry', '.client.test', '--rdns-blacklist-dir', tree],
                ...['--rdns-whitelist-entry', DNS_CLIENTS.good.name],
              ];
            });
            if (!w) return;
            const text = 'Refused. Your domain name is blacklisted.';
            await assertRefused(w, DNS_CLIENTS.forged, 554, text, 'DENIED_BLACKLIST_NAME', '.client.test');
            assert.ok(
              w
                .logLines()
                .includes(
                  `FILTER_BLACKLIST_NAME ip: 127.0.0.7 rdns: ${DNS_CLIENTS.forged.name} entry: .client.test`,
                ),
            );
            const tree = join(w.dir, 'rdns-tree');
            await assertRefused(
              w,
              DNS_CLIENTS.dynamic,
              554,
              text,
              'DENIED_BLACKLIST_NAME',
              `${tree}/test/i/isp/dyn.isp.test`,
            );
            assert.ok(
              w
                .logLines()
                .includes(
                  `FILTER_BLACKLIST_NAME ip: 127.0.0.8 rdns: ${DNS_CLIENTS.dynamic.name} path: ${tree}`,
                ),
            );
            await assertAccepted(w, DNS_CLIENTS.good.ip);
            assert.ok(
              w.logLines().some((l) => l.startsWith(`FILTER_WHITELIST_NAME ip: ${DNS_CLIENTS.good.ip}`)),
            );
          },
        );

        test(
          'ip-in-rdns-keyword-blacklist: 554 when IP and keyword are in the name',
          { timeout: 30_000 },
          async (t) => {
            const w = await wrapper(t, ['--ip-in-rdns-keyword-blacklist-entry', 'dsl']);
            if (!w) return;
            const text = 'Refused. Your reverse DNS entry contains your IP address and a banned keyword.';
            await assertRefused(w, DNS_CLIENTS.dynamic, 554, text, 'DENIED_IP_IN_RDNS', 'dsl');
            assert.ok(
              w
                .logLines()
                .includes(
                  `FILTER_IP_IN_RDNS_BLACKLIST ip: 127.0.0.8 rdns: ${DNS_CLIENTS.dynamic.name} keyword: dsl file: (none)`,
                ),
            );
          },
        );

        test(
          'reject-unresolvable-rdns: 421 for a forged name; first blacklist hit wins',
          { timeout: 30_000 },
          async (t) => {
            const w = await wrapper(t, [
              '--reject-unresolvable-rdns',
              '--dns-blacklist-entry',
              DNS_ZONES.refuse,
            ]);
            if (!w) return;
            const text = 'Refused. Your reverse DNS entry does not resolve.';
            await assertRefused(w, DNS_CLIENTS.forged, 421, text, 'DENIED_RDNS_RESOLVE', '(empty)');
            assert.ok(
              w.logLines().includes(`FILTER_RDNS_RESOLVE ip: 127.0.0.7 rdns: ${DNS_CLIENTS.forged.name}`),
            );
            await assertAccepted(w, DNS_CLIENTS.good.ip);
          },
        );

        test(
          'dns-blacklist: 554 with zone and TXT; a zone filter leaves other answers alone',
          { timeout: 30_000 },
          async (t) => {
            const w = await wrapper(t, ['--dns-blacklist-entry', `${DNS_ZONES.zen}=127.0.0.[2..3]`]);
            if (!w) return;
            const text = `Refused. Your IP address is listed in the RBL at ${DNS_ZONES.zen}: ${ZEN_LISTED_TXT}`;
            await assertRefused(w, { ip: '127.0.0.2' }, 554, text, 'DENIED_RBL_MATCH', DNS_ZONES.zen);
            assert.ok(w.logLines().includes(`FILTER_RBL_MATCH ip: 127.0.0.2 rbl: ${DNS_ZONES.zen}`));
            await assertAccepted(w, '127.0.0.10'); // listed with 127.0.0.4, outside the filter
          },
        );

        test('rhs-blacklist on the rDNS name: 554 with the RHSBL text', { timeout: 30_000 }, async (t) => {
          const w = await wrapper(t, ['--rhs-blacklist-entry', DNS_ZONES.dbl]);
          if (!w) return;
          const c = DNS_CLIENTS.rhsblListed;
          const o = await session(w, c.ip);
          assert.match(
            o.rcpt,
            new RegExp(`^554 Refused\\. Your domain name is listed in the RHSBL at ${DNS_ZONES.dbl}(: .*)?$`),
          );
          await w.waitLog(/: DENIED_RHSBL_MATCH /);
          assert.ok(
            w
              .logLines()
              .some((l) =>
                l.endsWith(
                  `origin_rdns: ${c.name} auth: (unknown) encryption: (none) reason: ${DNS_ZONES.dbl}`,
                ),
              ),
          );
          assert.ok(w.logLines().includes(`FILTER_RHSBL_MATCH domain: ${c.name} rhsbl: ${DNS_ZONES.dbl}`));
        });

        test(
          'whitelists beat blacklists in either order (RWL, RHSWL, ip-whitelist)',
          { timeout: 30_000 },
          async (t) => {
            const w = await wrapper(t, [
              ...['--ip-blacklist-entry', DNS_CLIENTS.allowListed.ip, '--dns-whitelist-entry', DNS_ZONES.rwl],
              ...['--ip-whitelist-entry', '127.0.0.2', '--dns-blacklist-entry', DNS_ZONES.zen],
            ]);
            if (!w) return;
            await assertAccepted(w, DNS_CLIENTS.allowListed.ip);
            assert.ok(
              w
                .logLines()
                .includes(`FILTER_RWL_MATCH ip: ${DNS_CLIENTS.allowListed.ip} rwl: ${DNS_ZONES.rwl}`),
            );
            await assertAccepted(w, '127.0.0.2');
            const rhs = await wrapper(t, [
              '--rhs-whitelist-entry',
              DNS_ZONES.rhswl,
              '--reject-ip-in-cc-rdns',
              '--ip-blacklist-entry',
              '127.0.0.30',
            ]);
            if (!rhs) return;
            await assertAccepted(rhs, DNS_CLIENTS.allowListed.ip);
            assert.ok(
              rhs
                .logLines()
                .includes(
                  `FILTER_RHSWL_MATCH domain: ${DNS_CLIENTS.allowListed.name} rhswl: ${DNS_ZONES.rhswl}`,
                ),
            );
          },
        );

        test(
          'a silent RBL lets the mail through within the DNS timeout, with an error line',
          { timeout: 30_000 },
          async (t) => {
            const w = await wrapper(t, ['--dns-blacklist-entry', DNS_ZONES.slow]);
            if (!w) return;
            const o = await assertAccepted(w, DNS_CLIENTS.good.ip);
            assert.ok(o.ms < 2000 + 3000, `took ${o.ms} ms`);
            assert.ok(
              w
                .logLines()
                .some((l) =>
                  l.startsWith(
                    `ERROR: dns-blacklist: no answer from ${DNS_ZONES.slow} for 127.0.0.5 (timeout)`,
                  ),
                ),
              w.logLines().join('\n'),
            );
          },
        );

        test(
          'error answers (127.255.255.254, outside 127/8) never reject and are logged',
          { timeout: 30_000 },
          async (t) => {
            const w = await wrapper(t, [
              '--dns-blacklist-entry',
              DNS_ZONES.refuse,
              '--dns-blacklist-entry',
              DNS_ZONES.outside,
            ]);
            if (!w) return;
            await assertAccepted(w, DNS_CLIENTS.good.ip);
            const errors = w.logLines().filter((l) => l.startsWith('ERROR: dns-blacklist '));
            assert.equal(errors.length, 2, errors.join('\n'));
            assert.ok(
              errors.some((l) => l.includes('127.255.255.254') && l.includes('not treated as a listing')),
            );
            assert.ok(errors.some((l) => l.includes('outside 127.0.0.0/8')));
          },
        );

        test(
          'the IP DNSBLs are asked together with the rDNS lookup, not a round trip after it',
          { timeout: 30_000 },
          async (t) => {
            // a proxy in front of dnsmasq/rbldnsd that holds the PTR answer until the DNSBL question
            // for the client has arrived (or 3 s have passed): a DNSBL question that waits for the
            // rDNS answer only comes after the hold
            const ip = DNS_CLIENTS.good.ip;
            const reversed = ip.split('.').reverse().join('.');
            const ptrName = `${reversed}.in-addr.arpa`;
            const rblName = `${reversed}.${DNS_ZONES.zen}`;
            const proxy = createSocket('udp4');
            const upstream = createSocket('udp4');
            t.after(() => {
              proxy.close();
              upstream.close();
            });
            const clients = new Map<number, RemoteInfo>();
            const events: string[] = [];
            let rblAsked = false;
            let heldPtr: (() => void) | undefined;
            proxy.on('message', (msg, rinfo) => {
              const name = questionName(msg);
              if (name === rblName && !rblAsked) {
                rblAsked = true;
                events.push('DNSBL asked');
                heldPtr?.();
              }
              clients.set(msg.readUInt16BE(0), rinfo);
              upstream.send(msg, servers.port, '127.0.0.1');
            });
            upstream.on('message', (msg) => {
              const to = clients.get(msg.readUInt16BE(0));
              if (!to) return;
              if (questionName(msg) !== ptrName) return proxy.send(msg, to.port, to.address);
              const forward = () => {
                events.push('PTR answered');
                proxy.send(msg, to.port, to.address);
              };
              if (rblAsked) return forward();
              const timer = setTimeout(() => heldPtr?.(), 3000);
              heldPtr = () => {
                heldPtr = undefined;
                clearTimeout(timer);
                forward();
              };
            });
            const port = await new Promise<number>((done) =>
              proxy.bind(0, '127.0.0.1', () => done(proxy.address().port)),
            );
            const w = await startWrapper(
              t,
              [
                '--dns-server-ip',
                `127.0.0.1:${port}`,
                '--dns-timeout-secs',
                '5',
                '--dns-blacklist-entry',
                DNS_ZONES.zen,
              ],
              { dns: true, mode },
            );
            if (!w) return;
            await assertAccepted(w, ip);
            assert.deepEqual(events, ['DNSBL asked', 'PTR answered']);
          },
        );

        test('a DQS key is used for the query but never shown', { timeout: 30_000 }, async (t) => {
          const w = await wrapper(t, ['--dns-blacklist-entry', `${DQS_KEY}.dq.test`]);
          if (!w) return;
          const o = await session(w, '127.0.0.2');
          assert.equal(o.rcpt, '554 Refused. Your IP address is listed in the RBL at dq.test');
          await w.waitLog(/: DENIED_RBL_MATCH /);
          assert.ok(
            w.logLines().every((l) => !l.includes(DQS_KEY)),
            w.logLines().join('\n'),
          );
        });
      });
    }
  },
);
