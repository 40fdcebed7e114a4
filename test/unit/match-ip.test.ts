import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { matchIpEntry, normalizeClientIp, scanV4Entry, type ClientFacts } from '../../src/match/ip';

const client: ClientFacts = { ip: '11.22.33.44', rdns: 'mail.example.com' };

function table(c: ClientFacts, rows: [string, boolean][]): void {
  for (const [entry, expected] of rows) {
    assert.equal(matchIpEntry(entry, c), expected, `${JSON.stringify(entry)} vs ${c.ip} (${c.rdns})`);
  }
}

describe('IPv4 entries (spec §4.1)', () => {
  test('every example from the spec', () => {
    table(client, [
      ['11.22.33.44', true],
      ['011.022.033.044', true],
      ['11.22.33', true],
      ['11.22.', true],
      ['11', true],
      ['11.22.33-44.55', false], // the range is fine, the last octet is not 55
      ['11.22-44', true],
      ['11.22.33.0/24', true],
      ['11.22.32.0/255.255.224.0', true],
    ]);
    table({ ip: '11.22.40.55', rdns: '' }, [['11.22.33-44.55', true]]);
  });

  test('exact and prefix mismatches', () => {
    table(client, [
      ['11.22.33.45', false],
      ['11.22.34', false],
      ['12', false],
      ['11.22.34.0/24', false],
      ['11.22.64.0/255.255.224.0', false],
      ['1.22.33.44', false],
    ]);
  });

  test('range bounds are inclusive', () => {
    table(client, [
      ['11.22.33.44-50', true],
      ['11.22.33.40-44', true],
      ['11.22.33.45-50', false],
      ['11.22.33.30-43', false],
    ]);
  });

  test('quirk 5: a range ending below its start or above 255 matches anything', () => {
    table(client, [
      ['11.22.33.50-40', true],
      ['11.22.33.45-300', true],
      ['11.22.99-1.44', true],
      ['12.22.33.50-40', false], // the other octets still count
    ]);
  });

  test('quirk 5: unparsable trailing text turns the entry into a prefix', () => {
    table(client, [
      ['11.22.[1-100].[44-255]', true], // behaves like 11.22
      ['11.22.33.44 # old friend', true],
      ['11.22.33.44.55', true],
      ['11.22.33/24', true], // a mask needs all four octets: this is the prefix 11.22.33
      ['11.23.[1-100]', false],
    ]);
  });

  test('octets above 255 or negative never match; leading zeros are fine', () => {
    table(client, [
      ['11.22.33.300', false],
      ['256', false],
      ['-11', false],
      ['0011.22', false], // %3d reads 001: the first octet is 1
      ['00011', false],
      ['011', true],
    ]);
    table({ ip: '1.2.3.4', rdns: '' }, [['0011.2', true]]);
  });

  test('CIDR and dotted masks: all prefix lengths 0..32, ranges in the base ignored', () => {
    table(client, [
      ['0.0.0.0/0', true],
      ['11.22.33.44/32', true],
      ['11.22.33.45/32', false],
      ['11.22.33.45/31', true],
      ['11.22.33.46/31', false],
      ['11.22.33.47/30', true],
      ['11.22.33.48/30', false],
      ['11.22.33.1-9/24', true],
      ['11.22.33.0/33', false],
      ['11.22.33.0/255.255.255.0', true],
      ['11.22.33.0/255.255.256.0', false],
      ['11.22.33.0/255.255', false], // neither prefix length nor full mask
      ['0.0.0.0/0.0.0.0', true],
    ]);
  });

  test('instructions after `:` are ignored; a leading `:` matches every client', () => {
    table(client, [
      ['11.22.33.44:allow,RELAYCLIENT=""', true],
      ['11.22.33.45:allow', false],
      [':allow', true],
      [':', true],
      ['::', true],
    ]);
  });

  test('info@pattern needs TCPREMOTEINFO, compared case-insensitively', () => {
    table(client, [['fred@11.22.33.44', false]]);
    table({ ...client, remoteInfo: 'FRED' }, [
      ['fred@11.22.33.44', true],
      ['fred@11.22.33.45', false],
      ['joe@11.22.33.44', false],
      ['fred@=example.com', true],
    ]);
  });

  test('=name matches on the rDNS name', () => {
    table(client, [
      ['=', true],
      ['=.example.com', true],
      ['=example.com', true], // preceded by a dot
      ['=mail.example', true], // at the start; no end anchor
      ['=MAIL.Example.COM', true],
      ['=ample.com', false],
      ['=.example.org', false],
      ['=mail.example.com:deny', true],
    ]);
    table({ ip: '11.22.33.44', rdns: '' }, [
      ['=', false],
      ['=.example.com', false],
    ]);
    // only the first occurrence is examined
    table({ ip: '1.2.3.4', rdns: 'badexample.com.example.com' }, [['=example.com', false]]);
  });

  test('an invalid client address matches nothing', () => {
    for (const ip of ['', 'unknown', '1.2.3', '1.2.3.256']) {
      table({ ip, rdns: 'mail.example.com' }, [
        [':', false],
        ['=', false],
        ['1', false],
      ]);
    }
  });

  test('errata 1: 0.0.0.0 is an ordinary address', () => {
    table({ ip: '0.0.0.0', rdns: '' }, [
      ['0.0.0.0', true],
      ['0', true],
      ['1', false],
    ]);
  });
});

describe('IPv6 (levee extension)', () => {
  const v6: ClientFacts = { ip: '2001:db8::5', rdns: 'host.example.net' };

  test('addresses and networks, bare and bracketed', () => {
    table(v6, [
      ['2001:db8::/32', true],
      ['2001:db8::5', true],
      ['2001:0DB8:0:0:0:0:0:5', true],
      ['[2001:db8::5]', true],
      ['[2001:db8::]/32', true],
      ['[2001:db8::/32]', true],
      ['[2001:db8::5]:deny', true],
      ['2001:db8::5:allow', true],
      ['2001:db9::/32', false],
      ['2001:db8::6', false],
      ['2001:db8::/129', false],
      ['::/0', true],
    ]);
  });

  test('IPv4 entries never match an IPv6 client, and IPv6 entries never match an IPv4 client', () => {
    table(v6, [
      ['11', false],
      ['0.0.0.0/0', false],
    ]);
    table(client, [
      ['::/0', false],
      ['::ffff:0:0/96', false],
    ]);
  });

  test('leading `:`, =name and info@ work for IPv6 clients', () => {
    table(v6, [
      [':', true],
      ['=.example.net', true],
    ]);
    table({ ...v6, remoteInfo: 'ident' }, [
      ['ident@2001:db8::/32', true],
      ['other@2001:db8::/32', false],
    ]);
  });

  test('a v4-mapped client matches IPv4 entries', () => {
    table({ ip: '::ffff:11.22.33.44', rdns: '' }, [
      ['11.22.33.44', true],
      ['11.22.33.0/24', true],
      ['11.22.33.45', false],
    ]);
  });
});

describe('normalizeClientIp', () => {
  test('forms', () => {
    assert.equal(normalizeClientIp('11.22.33.44'), '11.22.33.44');
    assert.equal(normalizeClientIp('011.022.033.044'), '011.022.033.044');
    assert.equal(normalizeClientIp('::ffff:11.22.33.44'), '11.22.33.44');
    assert.equal(normalizeClientIp('::FFFF:0b16:212c'), '11.22.33.44');
    assert.equal(normalizeClientIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(normalizeClientIp('::1'), '::1');
    for (const bad of [
      '',
      '1.2.3.256',
      '1.2.3',
      '1.2.3.4 ',
      'fe80::1%eth0',
      '1::2::3',
      'localhost',
      '1.2.3.4/8',
    ]) {
      assert.equal(normalizeClientIp(bad), null, bad);
    }
  });
});

describe('properties', () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
  const toInt = (o: number[]): number => o.reduce((acc, x) => acc * 256 + x, 0);
  const toQuad = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

  test('an IPv4 address inside a CIDR block matches it, one outside does not', () => {
    fc.assert(
      fc.property(v4, fc.integer({ min: 0, max: 32 }), fc.nat(), fc.nat(), (base, bits, inside, outside) => {
        const size = 2 ** (32 - bits);
        const network = Math.floor(toInt(base) / size) * size;
        const entry = `${toQuad(network)}/${bits}`;
        const inIp = toQuad(network + (inside % size));
        assert.ok(matchIpEntry(entry, { ip: inIp, rdns: '' }), `${inIp} in ${entry}`);
        if (bits > 0) {
          const outIp = toQuad((network + size + (outside % (2 ** 32 - size))) % 2 ** 32);
          assert.ok(!matchIpEntry(entry, { ip: outIp, rdns: '' }), `${outIp} not in ${entry}`);
          const mask = toQuad(2 ** 32 - size);
          assert.ok(matchIpEntry(`${toQuad(network)}/${mask}`, { ip: inIp, rdns: '' }));
          assert.ok(!matchIpEntry(`${toQuad(network)}/${mask}`, { ip: outIp, rdns: '' }));
        }
      }),
    );
  });

  test('an IPv6 address inside a prefix matches it, one outside does not', () => {
    const groups = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 });
    const toV6 = (g: bigint): string =>
      Array.from({ length: 8 }, (_, i) => ((g >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
    fc.assert(
      fc.property(groups, fc.integer({ min: 1, max: 128 }), groups, (base, bits, noise) => {
        const all = (1n << 128n) - 1n;
        const big = (g: number[]): bigint => g.reduce((acc, x) => (acc << 16n) | BigInt(x), 0n);
        const hostMask = (1n << BigInt(128 - bits)) - 1n;
        const network = big(base) & (all ^ hostMask);
        const inside = network | (big(noise) & hostMask);
        const flipped = inside ^ (1n << BigInt(128 - bits)); // differs in the last prefix bit
        const entry = `${toV6(network)}/${bits}`;
        const inIp = normalizeClientIp(toV6(inside));
        const outIp = normalizeClientIp(toV6(flipped));
        assert.ok(inIp && outIp);
        if (inIp.includes('.') || outIp.includes('.')) return; // landed in ::ffff:0:0/96
        assert.ok(matchIpEntry(entry, { ip: inIp, rdns: '' }), `${inIp} in ${entry}`);
        assert.ok(matchIpEntry(`[${toV6(network)}]/${bits}:deny`, { ip: inIp, rdns: '' }));
        assert.ok(!matchIpEntry(entry, { ip: outIp, rdns: '' }), `${outIp} not in ${entry}`);
      }),
    );
  });

  test('a plain a.b.c.d line means what spamdyke reads in it', () => {
    // digits only, leading zeros and values above 255 included; spamdyke's %7[0-9-] then %3d reads
    // the first three digits of an octet and ignores the rest
    const octet = fc.oneof(
      fc.nat(255).map(String),
      fc.nat(999).map((n) => String(n).padStart(3, '0')),
      fc.nat(9_999_999).map(String),
    );
    const read = (p: string): number => Number(p.slice(0, 3));
    fc.assert(
      fc.property(fc.array(octet, { minLength: 4, maxLength: 4 }), v4, fc.boolean(), (parts, other, near) => {
        // half the clients are the entry's own numbers (when those are addresses at all)
        const ip = near ? parts.map((p) => read(p) % 256).join('.') : other.join('.');
        const c = { ip, rdns: '' };
        const plain = matchIpEntry(parts.join('.'), c);
        const octets = ip.split('.').map(Number);
        assert.equal(
          plain,
          parts.every((p, i) => read(p) === octets[i]),
          `${parts.join('.')} vs ${ip}`,
        );
        // the same line as one-value ranges goes through the full scanner
        if (parts.every((p) => p.length <= 3)) {
          assert.equal(plain, matchIpEntry(parts.map((p) => `${p}-${p}`).join('.'), c));
        }
      }),
    );
  });

  test('the shortcut for plain lines reads every line as the full tcprules scanner does', () => {
    // digits, dots, dashes, slashes and junk: plain lines, prefixes, ranges, masks and broken lines
    // A..D stand for the client's own octets, so lines that match are common, not luck
    const token = fc.constantFrom(
      ...'0123456789.-/x '.split(''),
      '25',
      '255',
      '256',
      '1000',
      'A',
      'B',
      'C',
      'D',
    );
    const line = fc.oneof(
      fc.array(token, { maxLength: 14 }),
      fc.constant(['A', '.', 'B', '.', 'C', '.', 'D']),
      fc
        .tuple(fc.constantFrom('A.B.C.D', 'A.B.C.', 'A.B', 'A.'), fc.array(token, { maxLength: 6 }))
        .map(([head, tail]) => [head, ...tail]),
    );
    fc.assert(
      fc.property(line, v4, (parts, octets) => {
        const entry = parts.join('').replace(/[A-D]/g, (x) => String(octets['ABCD'.indexOf(x)]));
        assert.equal(
          matchIpEntry(entry, { ip: octets.join('.'), rdns: '' }),
          scanV4Entry(entry, octets),
          `${entry} vs ${octets.join('.')}`,
        );
      }),
      { numRuns: 5000 },
    );
  });

  test('a v4-mapped client matches exactly the IPv4 entries its address matches', () => {
    fc.assert(
      fc.property(v4, v4, fc.integer({ min: 0, max: 32 }), (addr, base, bits) => {
        const ip = addr.join('.');
        const entry = `${base.join('.')}/${bits}`;
        const mapped = { ip: `::ffff:${ip}`, rdns: '' };
        assert.equal(matchIpEntry(entry, mapped), matchIpEntry(entry, { ip, rdns: '' }));
        assert.ok(matchIpEntry(ip, mapped));
      }),
    );
  });
});
