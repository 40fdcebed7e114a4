import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import {
  MAX_RHSBL_NAMES,
  normaliseHostName,
  parseIp,
  parseIpv4,
  parseIpv6,
  ptrQueryName,
  reversedIpLabels,
  rhsblCandidates,
} from '../../src/dns/names';

describe('RBL query labels', () => {
  test('IPv4 is reversed octet by octet', () => {
    assert.equal(reversedIpLabels('192.0.2.10'), '10.2.0.192');
    assert.equal(reversedIpLabels('127.0.0.2'), '2.0.0.127');
  });

  test('IPv6 is 32 reversed nibbles (RFC 5782 §2.4)', () => {
    assert.equal(
      reversedIpLabels('2001:db8::bad:1'),
      '1.0.0.0.d.a.b.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2',
    );
    assert.equal(reversedIpLabels('::1')?.split('.').length, 32);
  });

  test('IPv4-mapped IPv6 is queried as IPv4', () => {
    assert.equal(reversedIpLabels('::ffff:192.0.2.10'), '10.2.0.192');
    assert.equal(reversedIpLabels('::FFFF:c000:20a'), '10.2.0.192');
  });

  test('anything that is not an address gives null (no query)', () => {
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.256',
      'example.com',
      '1.2.3.4 ',
      '::1%eth0',
      '1:2:3:4:5:6:7:8:9',
    ]) {
      assert.equal(reversedIpLabels(bad), null, bad);
    }
  });

  test('PTR names end in in-addr.arpa or ip6.arpa', () => {
    assert.equal(ptrQueryName('127.0.0.5'), '5.0.0.127.in-addr.arpa');
    assert.equal(
      ptrQueryName('2001:db8::5'),
      '5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    );
    assert.equal(ptrQueryName('nope'), null);
  });
});

describe('parseIpv4', () => {
  // the definition: four decimal octets of one to three digits, each 0..255, nothing else
  const definition = (text: string): number[] | null => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
    const octets = m ? m.slice(1, 5).map(Number) : null;
    return octets && octets.every((o) => o <= 255) ? octets : null;
  };

  test('edge cases', () => {
    for (const text of [
      '1.2.3.4',
      '255.255.255.255',
      '0.0.0.0',
      '01.002.3.4',
      '256.1.1.1',
      '1.2.3',
      '1.2.3.4.',
      '.1.2.3',
      '1..3.4',
      '',
      '1.2.3.4 ',
      '1234.1.1.1',
      '1.2.3.-4',
      'a.b.c.d',
    ]) {
      assert.deepEqual(parseIpv4(text), definition(text), JSON.stringify(text));
    }
  });

  test('what it parses is exactly the definition, for random near-addresses', () => {
    const part = fc.oneof(
      fc.nat(1200).map(String),
      fc.nat(999).map((n) => String(n).padStart(3, '0')),
      fc.constant(''),
    );
    const text = fc
      .tuple(
        fc.array(part, { minLength: 1, maxLength: 5 }),
        fc.constantFrom('.', '.', '.', ','),
        fc.constantFrom('', '', '.', ' '),
      )
      .map(([parts, sep, tail]) => parts.join(sep) + tail);
    fc.assert(
      fc.property(text, (t) => assert.deepEqual(parseIpv4(t), definition(t), JSON.stringify(t))),
      { numRuns: 2000 },
    );
  });
});

describe('parseIpv6', () => {
  test('agrees with node:net isIPv6 on arbitrary strings of IPv6 characters', () => {
    const chars = fc.constantFrom(...'0123456789abcdefABCDEF:.'.split(''), '::', '1.2.3.4', 'ffff');
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 20 }), (parts) => {
        const text = parts.join('');
        // leading zeros in a dotted tail are accepted by our IPv4 parser (spamdyke reads %d) but not by node
        fc.pre(!/(^|[.:])0\d/.test(text.slice(text.lastIndexOf(':') + 1)));
        assert.equal(parseIpv6(text) !== null, isIPv6(text), text);
      }),
      { numRuns: 3000 },
    );
  });

  test('every spelling of eight groups parses back to those groups', () => {
    const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(
        fc.array(group, { minLength: 8, maxLength: 8 }),
        fc.nat(7),
        fc.nat(8),
        (groups, start, len) => {
          const hex = groups.map((g) => g.toString(16));
          assert.deepEqual(parseIpv6(hex.join(':')), groups);
          // compress any run of zero groups with `::`
          const end = Math.min(8, start + len);
          if (end > start && groups.slice(start, end).every((g) => g === 0)) {
            const text = `${hex.slice(0, start).join(':')}::${hex.slice(end).join(':')}`;
            assert.deepEqual(parseIpv6(text), groups, text);
          }
          const v4 = `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
          assert.deepEqual(parseIpv6(`${hex.slice(0, 6).join(':')}:${v4}`), groups);
        },
      ),
    );
  });

  test('parseIp tells the families apart', () => {
    assert.deepEqual(parseIp('10.1.2.3'), { family: 4, octets: [10, 1, 2, 3] });
    assert.deepEqual(parseIp('::ffff:10.1.2.3'), { family: 4, octets: [10, 1, 2, 3] });
    assert.equal(parseIp('::10.1.2.3')?.family, 6);
  });
});

describe('host names from the wire', () => {
  test('lower-cased, trailing dots stripped', () => {
    assert.equal(normaliseHostName('Mail.Example.COM.'), 'mail.example.com');
    assert.equal(normaliseHostName('_dmarc.x-y.example'), '_dmarc.x-y.example');
  });

  test('names that cannot be queried are refused', () => {
    const long = `${'a'.repeat(63)}.`.repeat(4) + 'com';
    for (const bad of [
      '',
      '.',
      'a..b',
      'a b.example',
      'a\x00.example',
      'é.example',
      'a/b',
      `${'x'.repeat(64)}.com`,
      long,
    ]) {
      assert.equal(normaliseHostName(bad), null, JSON.stringify(bad));
    }
  });
});

describe('RHSBL parent walk', () => {
  test('the name and each parent down to the last two labels', () => {
    assert.deepEqual(rhsblCandidates('a.mail.example.com'), [
      'a.mail.example.com',
      'mail.example.com',
      'example.com',
    ]);
    assert.deepEqual(rhsblCandidates('example.com'), ['example.com']);
    assert.deepEqual(rhsblCandidates('localhost'), ['localhost']);
  });

  test('a deep hostile name is capped, keeping the full name and the parents nearest the domain', () => {
    const deep = `${Array.from({ length: 40 }, (_, i) => `l${i}`).join('.')}.example.com`;
    const names = rhsblCandidates(deep);
    assert.equal(names.length, MAX_RHSBL_NAMES);
    assert.equal(names[0], deep);
    assert.equal(names[names.length - 1], 'example.com');
    assert.equal(names[names.length - 2], 'l39.example.com');
  });
});
