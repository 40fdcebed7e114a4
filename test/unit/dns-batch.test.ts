// DnsBatch's budget and rounds against channels that never answer, answer late or fail at once (no
// sockets: the pool hands out fake channels). The e2e suite (dns-resolver) covers the same rules
// against silent and real servers; here the timing is exact, including a channel slower than the
// whole budget, which a real c-ares channel with its own timeout rarely shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsBatch, ResolverPool } from '../../src/dns/query';
import type { Channel, QueryDone } from '../../src/dns/channel';
import type { DnsSettings } from '../../src/dns/settings';

function settings(over: Partial<DnsSettings> = {}): DnsSettings {
  return {
    servers: [{ host: '127.0.0.1', port: 53, primary: true }],
    totalTimeoutMs: 300,
    perTryTimeoutMs: 100,
    maxRetriesTotal: 3,
    maxRetriesPrimary: 1,
    level: 'aggressive',
    problems: [],
    ...over,
  };
}

/** A pool whose one channel records each packet and answers as `answer` says (never, by default). */
function fakePool(s: DnsSettings, answer: (n: number, done: QueryDone) => void = () => undefined) {
  const sent: number[] = [];
  const t0 = Date.now();
  let cancelled = 0;
  const channel: Channel = {
    query(_type, _name, done) {
      sent.push(Date.now() - t0);
      answer(sent.length, done);
    },
    cancel: () => void cancelled++,
  };
  return { pool: new ResolverPool(s, () => channel), sent, cancelled: () => cancelled };
}

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  const value = await p;
  return { value, ms: Date.now() - t0 };
}

test('a channel that never answers: one packet per round, the timeout when the budget is spent', async () => {
  const s = settings();
  const { pool, sent } = fakePool(s);
  const batch = new DnsBatch(s, pool);
  const { value, ms } = await timed(batch.query('A', 'x.test'));
  batch.close();
  assert.deepEqual(value, { ok: false, failure: 'timeout', message: 'no answer within 300 ms' });
  assert.ok(ms >= 295 && ms < 450, `${ms} ms`);
  assert.equal(sent.length, 3);
  assert.ok(sent[1]! >= 95 && sent[2]! >= 195, `rounds at ${sent.join(', ')} ms`);
});

test('packets that time out at once start the next round at once; the last one reports ETIMEOUT', async () => {
  const s = settings();
  const { pool, sent } = fakePool(s, (_n, done) => setImmediate(() => done('ETIMEOUT', undefined)));
  const { value, ms } = await timed(new DnsBatch(s, pool).query('A', 'x.test'));
  assert.deepEqual(value, { ok: false, failure: 'timeout', message: 'ETIMEOUT' });
  assert.ok(ms < 90, `${ms} ms`);
  assert.equal(sent.length, 3);
});

test('an answer to an earlier round counts; a SERVFAIL is reported over a later silence', async () => {
  const s = settings();
  const late = fakePool(s, (n, done) => {
    if (n === 1) setTimeout(() => done(null, ['192.0.2.1']), 150);
  });
  const { value, ms } = await timed(new DnsBatch(s, late.pool).query('A', 'x.test'));
  assert.deepEqual(value, { ok: true, value: ['192.0.2.1'] });
  assert.ok(ms >= 145 && ms < 250, `${ms} ms`);
  assert.equal(late.sent.length, 2, 'the second round went out at 100 ms');

  const failing = fakePool(s, (n, done) => {
    if (n === 1) setImmediate(() => done('ESERVFAIL', undefined));
  });
  const r = await new DnsBatch(s, failing.pool).query('A', 'x.test');
  assert.deepEqual(r, { ok: false, failure: 'servfail', message: 'ESERVFAIL' });
});

test('a query started after the deadline sends nothing and times out at once', async () => {
  const s = settings({ totalTimeoutMs: 50, perTryTimeoutMs: 20 });
  const { pool, sent } = fakePool(s);
  const batch = new DnsBatch(s, pool);
  const first = batch.query('A', 'x.test');
  await new Promise((r) => setTimeout(r, 80));
  assert.equal((await first).ok, false);
  const before = sent.length;
  const { value, ms } = await timed(batch.query('TXT', 'x.test'));
  assert.deepEqual(value, { ok: false, failure: 'timeout', message: 'no answer within 50 ms' });
  assert.ok(ms < 10, `${ms} ms`);
  assert.equal(sent.length, before);
});

test('closing the batch ends its queries at once and cancels the channel it left packets on', async () => {
  const s = settings();
  const fake = fakePool(s);
  const batch = new DnsBatch(s, fake.pool);
  const q = batch.query('PTR', '1.0.0.127.in-addr.arpa');
  batch.close('error', 'lookup cancelled');
  assert.deepEqual(await q, { ok: false, failure: 'error', message: 'lookup cancelled' });
  assert.equal(fake.cancelled(), 1);
});
