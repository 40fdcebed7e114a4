import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  addrFilterMatches,
  classifyRblAnswers,
  displayZoneOf,
  parseRblZoneEntry,
  rblReplySuffix,
  type RblZone,
} from '../../src/dns/rbl';

const KEY = 'abcdefghij0123456789klmnop'; // 26 characters, the shape of a Spamhaus DQS key

function zone(entry: string): RblZone {
  const z = parseRblZoneEntry(entry);
  assert.ok(z, `parses: ${entry}`);
  return z;
}

describe('parseRblZoneEntry', () => {
  test('a plain zone, lower-cased, trailing dot stripped', () => {
    assert.deepEqual(parseRblZoneEntry('Zen.Spamhaus.ORG.'), {
      zone: 'zen.spamhaus.org',
      displayZone: 'zen.spamhaus.org',
    });
  });

  test('postscreen-style filters: single value, ranges, lists', () => {
    const f = zone('zen.spamhaus.org=127.0.0.[2..11]').filter;
    assert.ok(f);
    assert.equal(f.text, '127.0.0.[2..11]');
    assert.ok(addrFilterMatches(f, '127.0.0.2'));
    assert.ok(addrFilterMatches(f, '127.0.0.11'));
    assert.ok(!addrFilterMatches(f, '127.0.0.12'));
    assert.ok(!addrFilterMatches(f, '127.0.1.2'));

    const exact = zone('bl.example=127.0.0.2').filter;
    assert.ok(exact && addrFilterMatches(exact, '127.0.0.2') && !addrFilterMatches(exact, '127.0.0.3'));

    const list = zone('list.dnswl.org=127.0.[2;4;6..8].[0..255]').filter;
    assert.ok(list);
    assert.deepEqual(
      ['127.0.2.9', '127.0.3.9', '127.0.4.0', '127.0.7.255', '127.0.9.1'].map((a) =>
        addrFilterMatches(list, a),
      ),
      [true, false, true, true, false],
    );
  });

  test('malformed entries give null', () => {
    for (const bad of [
      '',
      'bad zone.example',
      'a..b',
      'zen.test=',
      'zen.test=127.0.0',
      'zen.test=127.0.0.0.1',
      'zen.test=127.0.0.[11..2]',
      'zen.test=127.0.0.[2..300]',
      'zen.test=127.0.0.[2',
      'zen.test=127.0.0.2*3', // postscreen weights are not supported
    ]) {
      assert.equal(parseRblZoneEntry(bad), null, bad);
    }
  });
});

describe('display zone hides DQS keys', () => {
  test('a long alphanumeric first label is dropped', () => {
    assert.equal(displayZoneOf(`${KEY}.zen.dq.spamhaus.net`), 'zen.dq.spamhaus.net');
    assert.equal(
      zone(`${KEY.toUpperCase()}.dbl.dq.spamhaus.net=127.0.1.[2..99]`).displayZone,
      'dbl.dq.spamhaus.net',
    );
  });

  test('ordinary zones are shown whole', () => {
    assert.equal(displayZoneOf('zen.spamhaus.org'), 'zen.spamhaus.org');
    assert.equal(displayZoneOf('b.barracudacentral.org'), 'b.barracudacentral.org');
    assert.equal(displayZoneOf(`${KEY.slice(1)}.zen.dq.spamhaus.net`), `${KEY.slice(1)}.zen.dq.spamhaus.net`);
    assert.equal(displayZoneOf(`${KEY}.net`), `${KEY}.net`); // a two-label zone has no key label
  });
});

describe('classifyRblAnswers', () => {
  test('127.0.0.0/8 answers are listings', () => {
    assert.deepEqual(classifyRblAnswers(zone('zen.test'), ['127.0.0.2', '127.0.0.4']), {
      listing: ['127.0.0.2', '127.0.0.4'],
    });
  });

  test("answers outside the zone's filter are ignored, not errors", () => {
    assert.deepEqual(classifyRblAnswers(zone('zen.test=127.0.0.[2..3]'), ['127.0.0.10']), { listing: [] });
  });

  test('Spamhaus error codes are zone errors, never listings, even when the filter would allow them', () => {
    const z = zone(`${KEY}.zen.dq.spamhaus.net=127.[0..255].[0..255].[0..255]`);
    for (const code of ['127.255.255.252', '127.255.255.254', '127.255.255.255', '127.255.255.1']) {
      const v = classifyRblAnswers(z, [code]);
      assert.deepEqual(v.listing, []);
      assert.match(v.zoneError ?? '', new RegExp(code.replace(/\./g, '\\.')));
      assert.ok(!v.zoneError?.includes(KEY), 'the key never appears in the error text');
    }
    assert.match(classifyRblAnswers(z, ['127.255.255.254']).zoneError ?? '', /public\/open resolver/);
  });

  test('an answer outside 127.0.0.0/8 is a zone error', () => {
    const v = classifyRblAnswers(zone('outside.test'), ['192.0.2.1']);
    assert.deepEqual(v.listing, []);
    assert.match(v.zoneError ?? '', /outside\.test answered 192\.0\.2\.1, outside 127\.0\.0\.0\/8/);
  });

  test('a real listing next to an error code still lists, and the error is reported', () => {
    const v = classifyRblAnswers(zone('zen.test'), ['127.0.0.2', '127.255.255.254']);
    assert.deepEqual(v.listing, ['127.0.0.2']);
    assert.ok(v.zoneError);
  });
});

describe('rblReplySuffix', () => {
  const z = zone(`${KEY}.zen.dq.spamhaus.net`);

  test('`<zone>` without TXT, `<zone>: <TXT>` with it; the key is never shown', () => {
    assert.equal(
      rblReplySuffix({ listed: true, zone: z, queried: `2.0.0.127.${z.zone}` }),
      'zen.dq.spamhaus.net',
    );
    assert.equal(
      rblReplySuffix({ listed: true, zone: z, txt: 'Listed, see https://check.spamhaus.org/', queried: 'x' }),
      'zen.dq.spamhaus.net: Listed, see https://check.spamhaus.org/',
    );
  });

  test('TXT from the wire is reduced to one line of printable ASCII and capped', () => {
    const hostile = `evil\r\n250 OK\x00\x1b[31m ${'é'.repeat(3)} ${'x'.repeat(500)}`;
    const suffix = rblReplySuffix({ listed: true, zone: zone('zen.test'), txt: hostile, queried: 'x' });
    assert.match(suffix, /^zen\.test: evil 250 OK/);
    assert.match(suffix, /^[\x20-\x7e]+$/);
    assert.ok(suffix.length <= 'zen.test: '.length + 200);
    assert.equal(
      rblReplySuffix({ listed: true, zone: zone('zen.test'), txt: '\r\n\t', queried: 'x' }),
      'zen.test',
    );
  });
});
