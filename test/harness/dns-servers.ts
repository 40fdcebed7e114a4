// Loopback DNS for end-to-end tests (shared/docs/test-harness.md §4): rbldnsd serves the block/allow
// lists, dnsmasq serves PTR/A/MX itself and forwards the list zones to rbldnsd, so one resolver port
// answers everything. Both run as direct children of the test process (so node reaps them) on random
// free loopback ports. A UDP socket that never answers stands in for a dead server.
//
// Use:  const missing = dnsServersMissing();   // null, or why they cannot run here
//       const dns = await startDnsServers();  ... dns.port ...  await dns.stop();
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { Resolver } from 'node:dns';
import { writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { missingTools, sleep, tmpDir, whichCommand } from './tools';

/** Client addresses and names served by dnsmasq. */
export const DNS_CLIENTS = {
  /** PTR good.client.test, whose A is 127.0.0.5 again (forward-confirmed) */
  good: { ip: '127.0.0.5', name: 'good.client.test' },
  /** PTR forged.client.test, which has no A record */
  forged: { ip: '127.0.0.7', name: 'forged.client.test' },
  /** a dynamic-looking name that contains the IP; A 127.0.0.8 */
  dynamic: { ip: '127.0.0.8', name: 'dsl-127-0-0-8.dyn.isp.test' },
  /** no PTR record at all (NXDOMAIN) */
  noPtr: { ip: '127.0.0.9' },
  /** PTR mail.spammer.example (A 127.0.0.12): its registered domain is listed in dbl.test */
  rhsblListed: { ip: '127.0.0.12', name: 'mail.spammer.example' },
  /** PTR mail.trusted.example (A 127.0.0.30); listed in the allow lists wl.test and whl.test */
  allowListed: { ip: '127.0.0.30', name: 'mail.trusted.example' },
  /** IPv6 client with PTR v6.client.test (and AAAA back) */
  v6: { ip: '2001:db8::5', name: 'v6.client.test' },
} as const;

/** Sender domains for the MX rule (spec §5.6). */
export const DNS_DOMAINS = {
  /** MX 10 mx.sender.test -> 127.0.0.20 */
  withMx: 'sender.test',
  mxHost: 'mx.sender.test',
  mxHostIp: '127.0.0.20',
  /** no MX, A 127.0.0.21 */
  aOnly: 'a-only.test',
  aOnlyIp: '127.0.0.21',
  /** MX whose only target resolves to 127.0.0.1: no usable exchanger */
  loopbackMx: 'loopback-mx.test',
  /** no MX, A 127.0.0.1 only: no usable exchanger */
  loopbackA: 'loopback-a.test',
  /** MX whose target has no address at all */
  deadMx: 'dead-mx.test',
  /** MX target written as an IP literal (192.0.2.25), which spamdyke tolerates */
  literalMx: 'literal-mx.test',
  /** does not exist (NXDOMAIN) */
  missing: 'no-such-domain.test',
} as const;

/** List zones served by rbldnsd (through dnsmasq). */
export const DNS_ZONES = {
  /** ip4set + ip6trie. 127.0.0.2 -> A 127.0.0.2 + TXT; 127.0.0.10-11 -> 127.0.0.4 + TXT; 192.0.2.0/24
   * except 192.0.2.99 -> 127.0.0.2; 2001:db8:0:bad::/64 -> 127.0.0.3 + TXT */
  zen: 'zen.test',
  /** dnset: spammer.example (exact), .spamdomain.example (itself and subdomains), *.wild.example */
  dbl: 'dbl.test',
  /** answers 127.255.255.254 (Spamhaus "query refused") for every 127.0.0.0/8 address */
  refuse: 'refuse.test',
  /** answers 192.0.2.1, outside 127.0.0.0/8, for every 127.0.0.0/8 address */
  outside: 'outside.test',
  /** ip4set allow list (RWL): 127.0.0.30 -> 127.0.0.2 */
  rwl: 'wl.test',
  /** dnset allow list (RHSWL): trusted.example and its subdomains */
  rhswl: 'whl.test',
  /** forwarded by dnsmasq to a server that never answers: every lookup times out */
  slow: 'slow.test',
  /** forwarded by dnsmasq to rbldnsd, which does not serve it: every lookup gets REFUSED */
  lame: 'lame.test',
} as const;

export const ZEN_LISTED_TXT = 'Listed by zen.test test list, see http://zen.test/query?ip=127.0.0.2';

export interface DnsServers {
  /** dnsmasq on 127.0.0.1: the one port to configure (`--dns-server-ip=127.0.0.1:<port>`) */
  port: number;
  /** rbldnsd on 127.0.0.1 (list zones only; REFUSED for anything else) */
  rbldnsdPort: number;
  /** a UDP port on 127.0.0.1 where packets are received and never answered */
  silentPort: number;
  /** scratch directory with the zone files and dnsmasq.conf */
  dir: string;
  stop(): Promise<void>;
}

export interface DnsServersOptions {
  /** extra dnsmasq.conf lines (records for one test) */
  dnsmasqLines?: string[];
  /** ms to wait for both servers to answer (default 5000) */
  startTimeoutMs?: number;
}

/** Null when the servers can run here, else why not (missing packages, or not root for dnsmasq's `user=`). */
export function dnsServersMissing(): string | null {
  return missingTools(['rbldnsd', 'dnsmasq'], { root: true });
}

const ZEN_IP4 = `:127.0.0.2:Listed by zen.test test list, see http://zen.test/query?ip=$
127.0.0.2
127.0.0.10-127.0.0.11 :127.0.0.4:Listed as a dynamic range: $
192.0.2.0/24
!192.0.2.99
`;
const ZEN_IP6 = `:127.0.0.3:IPv6 listed by zen.test: $
2001:db8:0:bad::/64
`;
const DBL = `:127.0.1.2:Domain $ is listed in dbl.test
spammer.example
.spamdomain.example
*.wild.example
`;
const REFUSE = `:127.255.255.254:Query refused: public resolver
127.0.0.0/8
`;
const OUTSIDE = `:192.0.2.1:Broken list
127.0.0.0/8
`;
const RWL = `:127.0.0.2:Allow-listed by wl.test
127.0.0.30
`;
const RHSWL = `:127.0.0.2:Allow-listed by whl.test
.trusted.example
`;

function dnsmasqConf(port: number, rbldnsdPort: number, silentPort: number, extra: string[]): string {
  const forward = (zone: string, to: number): string => `server=/${zone}/127.0.0.1#${to}`;
  const c = DNS_CLIENTS;
  const d = DNS_DOMAINS;
  return [
    `port=${port}`,
    'listen-address=127.0.0.1',
    'bind-interfaces',
    'no-resolv',
    'no-hosts',
    'no-poll',
    'no-negcache',
    'user=dnsmasq',
    ...[
      DNS_ZONES.zen,
      DNS_ZONES.dbl,
      DNS_ZONES.refuse,
      DNS_ZONES.outside,
      DNS_ZONES.rwl,
      DNS_ZONES.rhswl,
    ].map((zone) => forward(zone, rbldnsdPort)),
    forward(DNS_ZONES.slow, silentPort),
    forward(DNS_ZONES.lame, rbldnsdPort),
    // unknown names under these suffixes get NXDOMAIN instead of REFUSED
    'local=/test/',
    'local=/example/',
    'local=/in-addr.arpa/',
    'local=/ip6.arpa/',
    `host-record=${c.good.name},${c.good.ip}`,
    `ptr-record=7.0.0.127.in-addr.arpa,${c.forged.name}`,
    `host-record=${c.dynamic.name},${c.dynamic.ip}`,
    `host-record=${c.rhsblListed.name},${c.rhsblListed.ip}`,
    `host-record=${c.allowListed.name},${c.allowListed.ip}`,
    `host-record=${c.v6.name},${c.v6.ip}`,
    `mx-host=${d.withMx},${d.mxHost},10`,
    `host-record=${d.mxHost},${d.mxHostIp}`,
    `host-record=${d.aOnly},${d.aOnlyIp}`,
    `mx-host=${d.loopbackMx},mx.${d.loopbackMx},10`,
    `host-record=mx.${d.loopbackMx},127.0.0.1`,
    `host-record=${d.loopbackA},127.0.0.1`,
    `mx-host=${d.deadMx},nothing.${d.deadMx},10`,
    `mx-host=${d.literalMx},192.0.2.25,10`,
    `txt-record=${d.withMx},"v=spf1 -all"`,
    ...extra,
    '',
  ].join('\n');
}

/** A port that is free for UDP and TCP on 127.0.0.1 right now. */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((done, fail) => {
      udp.once('error', fail);
      udp.bind(0, '127.0.0.1', () => done(udp.address().port));
    });
    const tcpFree = await new Promise<boolean>((done) => {
      const server = createServer();
      server.once('error', () => done(false));
      server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
    });
    await new Promise<void>((done) => udp.close(() => done()));
    if (tcpFree) return port;
  }
  throw new Error('no free loopback port found');
}

function startDaemon(
  command: string,
  args: string[],
  name: string,
): { child: ChildProcess; output: () => string } {
  const path = whichCommand(command);
  if (!path) throw new Error(`${command} not found`);
  const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    if (output.length < 20_000) output += chunk.toString('latin1');
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (e) => keep(Buffer.from(`${name}: ${e.message}\n`)));
  return { child, output: () => output };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Asks dnsmasq for a listed zen.test name until it answers: proves both daemons are up. */
async function waitUntilAnswering(
  port: number,
  timeoutMs: number,
  exited: () => string | null,
): Promise<void> {
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    const dead = exited();
    if (dead) throw new Error(dead);
    const answer = await new Promise<string[] | null>((done) =>
      resolver.resolve4('2.0.0.127.zen.test', (err, addresses) => {
        last = err ? String(err.code) : addresses.join(',');
        done(err ? null : addresses);
      }),
    );
    if (answer?.includes('127.0.0.2')) return;
    await sleep(50);
  }
  resolver.cancel();
  throw new Error(`DNS test servers did not answer within ${timeoutMs} ms (last: ${last})`);
}

export async function startDnsServers(opts: DnsServersOptions = {}): Promise<DnsServers> {
  const missing = dnsServersMissing();
  if (missing) throw new Error(`cannot start the DNS test servers: ${missing}`);
  const scratch = tmpDir('dns');
  const { dir } = scratch;
  const files: Record<string, string> = {
    'zen.ip4': ZEN_IP4,
    'zen.ip6': ZEN_IP6,
    'dbl.dn': DBL,
    'refuse.ip4': REFUSE,
    'outside.ip4': OUTSIDE,
    'wl.ip4': RWL,
    'whl.dn': RHSWL,
  };
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o644); // rbldnsd drops to user rbldns
  }

  const silent: Socket = createSocket('udp4');
  const silentPort = await new Promise<number>((done) =>
    silent.bind(0, '127.0.0.1', () => done(silent.address().port)),
  );
  silent.on('message', () => undefined); // received and dropped: a server that never answers

  const daemons: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(daemons.map(stopChild));
    await new Promise<void>((done) => silent.close(() => done()));
    scratch.cleanup();
  };
  try {
    const rbldnsdPort = await freePort();
    const rbl = startDaemon(
      'rbldnsd',
      [
        '-n',
        '-b',
        `127.0.0.1/${rbldnsdPort}`,
        '-w',
        dir,
        `${DNS_ZONES.zen}:ip4set:zen.ip4`,
        `${DNS_ZONES.zen}:ip6trie:zen.ip6`,
        `${DNS_ZONES.dbl}:dnset:dbl.dn`,
        `${DNS_ZONES.refuse}:ip4set:refuse.ip4`,
        `${DNS_ZONES.outside}:ip4set:outside.ip4`,
        `${DNS_ZONES.rwl}:ip4set:wl.ip4`,
        `${DNS_ZONES.rhswl}:dnset:whl.dn`,
      ],
      'rbldnsd',
    );
    daemons.push(rbl.child);
    const port = await freePort();
    writeFileSync(
      join(dir, 'dnsmasq.conf'),
      dnsmasqConf(port, rbldnsdPort, silentPort, opts.dnsmasqLines ?? []),
    );
    const masq = startDaemon(
      'dnsmasq',
      ['-k', '-C', join(dir, 'dnsmasq.conf'), '--log-facility=-'],
      'dnsmasq',
    );
    daemons.push(masq.child);
    const exited = (): string | null => {
      for (const [name, d] of [
        ['rbldnsd', rbl],
        ['dnsmasq', masq],
      ] as const) {
        if (d.child.exitCode !== null || d.child.signalCode !== null)
          return `${name} exited: ${d.output().trim()}`;
      }
      return null;
    };
    await waitUntilAnswering(port, opts.startTimeoutMs ?? 5000, exited);
    return { port, rbldnsdPort, silentPort, dir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
