// The resolver against real servers on loopback: dnsmasq + rbldnsd (test/harness/dns-servers.ts), and
// UDP sockets that count packets and never answer.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { Dns, parseRblZoneEntry, rblReplySuffix, type DnsSettings, type RblZone } from '../../src/dns';
import {
  DNS_CLIENTS,
  DNS_DOMAINS,
  DNS_ZONES,
  ZEN_LISTED_TXT,
  dnsServersMissing,
  startDnsServers,
  type DnsServers,
} from '../harness/dns-servers';

const BUDGET_MS = 1000;

function settingsFor(servers: DnsSettings['servers'], extra: Partial<DnsSettings> = {}): DnsSettings {
  const total = extra.totalTimeoutMs ?? BUDGET_MS;
  const rounds = extra.maxRetriesTotal ?? 3;
  return {
    servers,
    totalTimeoutMs: total,
    perTryTimeoutMs: Math.floor(total / rounds),
    maxRetriesTotal: rounds,
    maxRetriesPrimary: 1,
    level: 'aggressive',
    problems: [],
    ...extra,
  };
}

function zone(entry: string): RblZone {
  const z = parseRblZoneEntry(entry);
  assert.ok(z);
  return z;
}

/** A UDP "server" on 127.0.0.1 that counts the queries it receives and never answers. */
async function countingSilentServer(): Promise<{
  port: number;
  count: () => number;
  close: () => Promise<void>;
}> {
  const socket: Socket = createSocket('udp4');
  let received = 0;
  socket.on('message', () => received++);
  const port = await new Promise<number>((done) =>
    socket.bind(0, '127.0.0.1', () => done(socket.address().port)),
  );
  return { port, count: () => received, close: () => new Promise((done) => socket.close(() => done())) };
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  const value = await work;
  return { value, ms: Date.now() - start };
}

describe('query rounds and budget (silent UDP servers, no packages needed)', () => {
  test('dns-level none answers "no record" at once and sends no packet', async () => {
    const server = await countingSilentServer();
    try {
      const none = new Dns(
        settingsFor([{ host: '127.0.0.1', port: server.port, primary: true }], { level: 'none' }),
      );
      const { value, ms } = await timed(
        Promise.all([none.ptr('192.0.2.1'), none.a('x.test'), none.mxCheck('x.test')]),
      );
      assert.ok(ms < 50);
      for (const answer of value) assert.deepEqual(answer.ok ? null : answer.failure, 'nxdomain');
      const rbl = await none.rbl('192.0.2.1', zone('zen.test'));
      assert.equal(rbl.listed, false);
      // the same lookup at another level does reach the server, so the count above means something
      const normal = new Dns(
        settingsFor([{ host: '127.0.0.1', port: server.port, primary: true }], { totalTimeoutMs: 300 }),
      );
      await normal.a('x.test');
      await new Promise((done) => setTimeout(done, 50));
      assert.ok(server.count() > 0, 'a normal lookup sends packets');
      const sentBefore = server.count();
      await none.a('y.test');
      await new Promise((done) => setTimeout(done, 50));
      assert.equal(server.count(), sentBefore);
    } finally {
      await server.close();
    }
  });

  test('a silent server costs at most the budget and reports timeout', async () => {
    const server = await countingSilentServer();
    try {
      const dns = new Dns(settingsFor([{ host: '127.0.0.1', port: server.port, primary: true }]));
      const { value, ms } = await timed(dns.a('good.client.test'));
      assert.deepEqual(value.ok ? 'ok' : value.failure, 'timeout');
      assert.ok(ms >= BUDGET_MS - 50, `waited the budget (${ms} ms)`);
      assert.ok(ms < BUDGET_MS + 500, `no longer than the budget (${ms} ms)`);
      assert.equal(server.count(), 3, 'one packet per round');
    } finally {
      await server.close();
    }
  });

  test('several silent servers and a whole RHSBL walk still end within the budget', async () => {
    const servers = await Promise.all([
      countingSilentServer(),
      countingSilentServer(),
      countingSilentServer(),
    ]);
    try {
      for (const level of ['aggressive', 'normal'] as const) {
        const dns = new Dns(
          settingsFor(
            servers.map((s, i) => ({ host: '127.0.0.1', port: s.port, primary: i === 0 })),
            { level, maxRetriesTotal: 4 },
          ),
        );
        const { value, ms } = await timed(dns.rhsbl('a.b.c.d.example.com', zone('dbl.test')));
        assert.equal(value.listed, false);
        assert.equal(value.failure, 'timeout');
        assert.ok(ms < BUDGET_MS + 500, `${level}: ${ms} ms`);
      }
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  test('rounds follow spamdyke: aggressive asks all primaries, then everyone; normal asks one at a time', async () => {
    const primary = await countingSilentServer();
    const secondary = await countingSilentServer();
    try {
      const servers = [
        { host: '127.0.0.1', port: primary.port, primary: true },
        { host: '127.0.0.1', port: secondary.port, primary: false },
      ];
      await new Dns(settingsFor(servers, { totalTimeoutMs: 600 })).a('x.test');
      // rounds: primaries | all | all
      assert.deepEqual([primary.count(), secondary.count()], [3, 2]);
      await new Dns(settingsFor(servers, { totalTimeoutMs: 600, level: 'normal' })).a('x.test');
      // rounds: primary | all[1] = secondary | all[2 % 2] = primary
      assert.deepEqual([primary.count(), secondary.count()], [3 + 2, 2 + 1]);
    } finally {
      await primary.close();
      await secondary.close();
    }
  });

  test('a closed port fails fast as a temporary error, not as "no record"', async () => {
    const server = await countingSilentServer();
    const port = server.port;
    await server.close(); // nothing listens there any more: ICMP port unreachable
    const dns = new Dns(settingsFor([{ host: '127.0.0.1', port, primary: true }]));
    const { value, ms } = await timed(dns.a('x.test'));
    assert.deepEqual(value.ok ? 'ok' : value.failure, 'error');
    assert.ok(ms < BUDGET_MS, `${ms} ms`);
  });

  test('cancelAll ends every lookup in progress at once', async () => {
    const server = await countingSilentServer();
    try {
      const dns = new Dns(
        settingsFor([{ host: '127.0.0.1', port: server.port, primary: true }], { totalTimeoutMs: 5000 }),
      );
      const pending = Promise.all([
        dns.a('x.test'),
        dns.ptr('192.0.2.1'),
        dns.rbl('192.0.2.1', zone('zen.test')),
      ]);
      setTimeout(() => dns.cancelAll(), 100);
      const { value, ms } = await timed(pending);
      assert.ok(ms < 1000, `${ms} ms`);
      assert.deepEqual(value[0].ok ? 'ok' : value[0].failure, 'error');
      assert.equal(value[2].listed, false);
    } finally {
      await server.close();
    }
  });
});

const missing = dnsServersMissing();

describe('lookups against dnsmasq + rbldnsd', { skip: (!process.env.CI && missing) || false }, () => {
  let servers: DnsServers;
  let dns: Dns;

  before(async () => {
    if (missing) throw new Error(`CI must run every test, but the DNS servers cannot start: ${missing}`);
    servers = await startDnsServers();
    dns = new Dns(settingsFor([{ host: '127.0.0.1', port: servers.port, primary: true }]));
  });
  after(async () => {
    await servers?.stop();
  });

  test('PTR: forward-confirmed, forged, missing, IPv6', async () => {
    assert.deepEqual(await dns.ptr(DNS_CLIENTS.good.ip), { ok: true, value: DNS_CLIENTS.good.name });
    assert.deepEqual(await dns.ptr(DNS_CLIENTS.forged.ip), { ok: true, value: DNS_CLIENTS.forged.name });
    const none = await dns.ptr(DNS_CLIENTS.noPtr.ip);
    assert.deepEqual(none.ok ? 'ok' : none.failure, 'nxdomain');
    assert.deepEqual(await dns.ptr(DNS_CLIENTS.v6.ip), { ok: true, value: DNS_CLIENTS.v6.name });
    assert.deepEqual(await dns.ptr(`::ffff:${DNS_CLIENTS.good.ip}`), {
      ok: true,
      value: DNS_CLIENTS.good.name,
    });
  });

  test('A: a forward-confirmed name resolves back; a forged one does not exist', async () => {
    assert.deepEqual(await dns.a('Good.Client.Test.'), { ok: true, value: [DNS_CLIENTS.good.ip] });
    const forged = await dns.a(DNS_CLIENTS.forged.name);
    assert.deepEqual(forged.ok ? 'ok' : forged.failure, 'nxdomain');
    const mxOnly = await dns.a(DNS_DOMAINS.withMx); // exists (MX, TXT) but has no A
    assert.deepEqual(mxOnly.ok ? 'ok' : mxOnly.failure, 'nodata');
    const junk = await dns.a('bad name\r\n.test');
    assert.deepEqual(junk.ok ? 'ok' : junk.failure, 'nxdomain');
  });

  test('MX rule: MX with a usable target, A-only, loopback targets, dead target, missing domain', async () => {
    assert.deepEqual(await dns.mxCheck(DNS_DOMAINS.withMx), { ok: true, value: true });
    assert.deepEqual(await dns.mxCheck(DNS_DOMAINS.aOnly), { ok: true, value: true });
    assert.deepEqual(await dns.mxCheck(DNS_DOMAINS.literalMx), { ok: true, value: true });
    assert.deepEqual(await dns.mxCheck(DNS_DOMAINS.loopbackMx), { ok: true, value: false });
    assert.deepEqual(await dns.mxCheck(DNS_DOMAINS.loopbackA), { ok: true, value: false });
    assert.deepEqual(await dns.mxCheck(DNS_DOMAINS.deadMx), { ok: true, value: false });
    assert.deepEqual(await dns.mxCheck(DNS_DOMAINS.missing), { ok: true, value: false });
  });

  test('MX rule: an unanswerable domain is a temporary failure, never "no MX"', async () => {
    const slow = await timed(dns.mxCheck(`x.${DNS_ZONES.slow}`));
    assert.deepEqual(slow.value.ok ? 'ok' : slow.value.failure, 'timeout');
    assert.ok(slow.ms < BUDGET_MS + 500, `${slow.ms} ms`);
    const lame = await dns.mxCheck(`x.${DNS_ZONES.lame}`);
    assert.deepEqual(lame.ok ? 'ok' : lame.failure, 'refused');
  });

  test('RBL: listed with TXT, listed range, not listed, excluded address', async () => {
    const zen = zone(DNS_ZONES.zen);
    const listed = await dns.rbl('127.0.0.2', zen);
    assert.equal(listed.listed, true);
    assert.deepEqual(listed.answers, ['127.0.0.2']);
    assert.equal(listed.txt, ZEN_LISTED_TXT);
    assert.equal(listed.queried, '2.0.0.127.zen.test');
    assert.equal(rblReplySuffix(listed), `zen.test: ${ZEN_LISTED_TXT}`);

    const range = await dns.rbl('127.0.0.11', zen);
    assert.deepEqual([range.listed, range.answers], [true, ['127.0.0.4']]);
    assert.equal(range.txt, 'Listed as a dynamic range: 127.0.0.11');

    const clean = await dns.rbl('127.0.0.3', zen);
    assert.deepEqual([clean.listed, clean.failure, clean.zoneError], [false, 'nxdomain', undefined]);
    assert.equal((await dns.rbl('192.0.2.5', zen)).listed, true);
    assert.equal((await dns.rbl('192.0.2.99', zen)).listed, false);
  });

  test("RBL: the zone's filter decides which answers count", async () => {
    const only2 = zone(`${DNS_ZONES.zen}=127.0.0.2`);
    assert.equal((await dns.rbl('127.0.0.2', only2)).listed, true);
    const range = await dns.rbl('127.0.0.10', only2); // answers 127.0.0.4
    assert.deepEqual([range.listed, range.zoneError, range.failure], [false, undefined, undefined]);
  });

  test('RBL: a DQS-style key in the zone is queried but never reported', async () => {
    const key = 'abcdefghij0123456789klmnop';
    const r = await dns.rbl('127.0.0.2', zone(`${key}.${DNS_ZONES.zen}`));
    assert.equal(r.queried, '2.0.0.127.zen.test');
    assert.ok(!JSON.stringify({ ...r, zone: undefined }).includes(key));
    assert.equal(rblReplySuffix(r), 'zen.test');
  });

  test('RBL over IPv6: 32 reversed nibbles', async () => {
    const r = await dns.rbl('2001:db8:0:bad::1', zone(DNS_ZONES.zen));
    assert.equal(r.listed, true);
    assert.deepEqual(r.answers, ['127.0.0.3']);
    assert.equal(r.txt, 'IPv6 listed by zen.test: 2001:db8:0:bad::1');
    assert.equal((await dns.rbl('2001:db8:0:beef::1', zone(DNS_ZONES.zen))).listed, false);
  });

  test('RBL: 127.255.255.254 and answers outside 127/8 are zone errors, not listings', async () => {
    const refused = await dns.rbl('127.0.0.2', zone(DNS_ZONES.refuse));
    assert.equal(refused.listed, false);
    assert.match(refused.zoneError ?? '', /refuse\.test answered 127\.255\.255\.254/);
    const outside = await dns.rbl('127.0.0.2', zone(DNS_ZONES.outside));
    assert.equal(outside.listed, false);
    assert.match(outside.zoneError ?? '', /192\.0\.2\.1, outside 127\.0\.0\.0\/8/);
  });

  test('RBL: a silent zone times out within the budget; a lame one reports refused', async () => {
    const slow = await timed(dns.rbl('127.0.0.2', zone(DNS_ZONES.slow)));
    assert.deepEqual([slow.value.listed, slow.value.failure], [false, 'timeout']);
    assert.ok(slow.ms < BUDGET_MS + 500, `${slow.ms} ms`);
    const lame = await dns.rbl('127.0.0.2', zone(DNS_ZONES.lame));
    assert.deepEqual([lame.listed, lame.failure], [false, 'refused']);
  });

  test('RHSBL: walks parents down to the registered domain', async () => {
    const dbl = zone(DNS_ZONES.dbl);
    const walked = await dns.rhsbl('a.b.Mail.Spammer.Example', dbl);
    assert.equal(walked.listed, true);
    assert.equal(walked.queried, 'spammer.example.dbl.test');
    assert.equal(rblReplySuffix(walked), 'dbl.test: Domain spammer.example is listed in dbl.test');

    const wildcard = await dns.rhsbl('x.spamdomain.example', dbl);
    assert.deepEqual([wildcard.listed, wildcard.queried], [true, 'x.spamdomain.example.dbl.test']);
    const clean = await dns.rhsbl('mail.example.org', dbl);
    assert.deepEqual(
      [clean.listed, clean.queried, clean.failure],
      [false, 'mail.example.org.dbl.test', 'nxdomain'],
    );
    // *.wild.example lists subdomains only, and the walk stops at the registered domain
    assert.equal((await dns.rhsbl('wild.example', dbl)).listed, false);
    assert.equal((await dns.rhsbl('a.wild.example', dbl)).listed, true);
  });

  test('allow lists answer like block lists (RWL / RHSWL)', async () => {
    assert.equal((await dns.rbl(DNS_CLIENTS.allowListed.ip, zone(DNS_ZONES.rwl))).listed, true);
    assert.equal((await dns.rhsbl(DNS_CLIENTS.allowListed.name, zone(DNS_ZONES.rhswl))).listed, true);
    assert.equal((await dns.rbl(DNS_CLIENTS.good.ip, zone(DNS_ZONES.rwl))).listed, false);
  });

  test('queries for one connection run in parallel: a slow zone does not delay the others', async () => {
    const zones = [DNS_ZONES.zen, DNS_ZONES.dbl, DNS_ZONES.refuse, DNS_ZONES.rwl, DNS_ZONES.slow].map(zone);
    const start = Date.now();
    const finished: Record<string, number> = {};
    const results = await Promise.all(
      zones.map(async (z) => {
        const r = await dns.rbl('127.0.0.2', z);
        finished[z.zone] = Date.now() - start;
        return r;
      }),
    );
    assert.deepEqual(
      results.map((r) => r.listed),
      [true, false, false, false, false],
    );
    assert.ok(finished[DNS_ZONES.zen] < 300, `zen answered after ${finished[DNS_ZONES.zen]} ms`);
    assert.ok(Date.now() - start < BUDGET_MS + 500, 'all done within one budget');

    // and 40 lookups at once all answer correctly
    const many = await Promise.all(
      Array.from({ length: 40 }, (_, i) => dns.rbl(`127.0.0.${i}`, zone(DNS_ZONES.zen))),
    );
    const listedAt = many.flatMap((r, i) => (r.listed ? [i] : []));
    assert.deepEqual(listedAt, [2, 10, 11]);
  });

  test("one connection's lookups share a channel: a batch that gives up does not cancel another's packets", async () => {
    // a proxy in front of dnsmasq/rbldnsd that answers 300 ms late and never answers *.drop.test
    const proxy = createSocket('udp4');
    const upstream = createSocket('udp4');
    const clients = new Map<number, { port: number; address: string }>();
    proxy.on('message', (msg, rinfo) => {
      if (msg.includes(Buffer.from('\x04drop\x04test', 'latin1'))) return;
      clients.set(msg.readUInt16BE(0), rinfo);
      upstream.send(msg, servers.port, '127.0.0.1');
    });
    upstream.on('message', (msg) => {
      const to = clients.get(msg.readUInt16BE(0));
      if (to) setTimeout(() => proxy.send(msg, to.port, to.address), 300);
    });
    const port = await new Promise<number>((done) =>
      proxy.bind(0, '127.0.0.1', () => done(proxy.address().port)),
    );
    try {
      const shared = new Dns(
        settingsFor([{ host: '127.0.0.1', port, primary: true }], { maxRetriesTotal: 1 }),
      );
      const start = Date.now();
      const givingUp = shared.a('nobody.drop.test');
      await new Promise((done) => setTimeout(done, BUDGET_MS - 200));
      // asked 200 ms before the first batch's deadline, answered 100 ms after it
      const answered = await shared.ptr(DNS_CLIENTS.good.ip);
      assert.deepEqual(answered, { ok: true, value: DNS_CLIENTS.good.name });
      assert.equal((await givingUp).ok, false);
      assert.ok(Date.now() - start >= BUDGET_MS, 'the PTR answer came after the other batch had ended');
      // and the channel still works afterwards
      assert.deepEqual(await shared.a(DNS_CLIENTS.good.name), { ok: true, value: [DNS_CLIENTS.good.ip] });
    } finally {
      proxy.close();
      upstream.close();
    }
  });

  test('a silent primary and a working secondary: answered after the primary rounds', async () => {
    const both = new Dns(
      settingsFor(
        [
          { host: '127.0.0.1', port: servers.silentPort, primary: true },
          { host: '127.0.0.1', port: servers.port, primary: false },
        ],
        { totalTimeoutMs: 1500 },
      ),
    );
    const { value, ms } = await timed(both.a(DNS_CLIENTS.good.name));
    assert.deepEqual(value, { ok: true, value: [DNS_CLIENTS.good.ip] });
    assert.ok(ms >= 450 && ms < 1000, `second round after one per-try timeout (${ms} ms)`);
  });
});
