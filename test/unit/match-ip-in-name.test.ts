import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { isIpInCcRdns, isIpInName, matchKeywordEntry } from '../../src/match/ip-in-name';

describe('IP in rDNS name (spec §4.4)', () => {
  test('every dotted form from the spec, with dots as any run of non-digits', () => {
    const forms = [
      '11.22.33.44',
      '011.022.033.044',
      '11.022.033.044',
      '11.22.033.044',
      '11.22.33.044',
      '44.33.22.11',
      '044.033.022.011',
      '44.033.022.011',
      '44.33.022.011',
      '44.33.22.011',
      '44.11.22.33',
      '33.22.11.44',
      '44.33.1122',
      '3344.11.22',
      `11.22.${33 * 256 + 44}`,
      '11.22.3344',
      '11.223344',
    ];
    for (const form of forms) {
      assert.ok(isIpInName('11.22.33.44', `host-${form}.isp.example.com`), form);
      assert.ok(isIpInName('11.22.33.44', `${form.replace(/\./g, '-')}.dyn.example.com`), form);
      assert.ok(isIpInName('11.22.33.44', `x${form.replace(/\./g, '_x_')}.example.com`), form);
    }
  });

  test('plain substrings from the spec', () => {
    for (const s of [
      '11223344',
      '011022033044',
      '11022033044',
      '1122033044',
      '112233044',
      '44332211',
      '044033022011',
    ]) {
      assert.ok(isIpInName('11.22.33.44', `a${s}b.example.com`), s);
    }
    assert.ok(isIpInName('11.22.33.44', 'host-0b16212c.example.com'));
    assert.ok(isIpInName('85.135.72.234', 'c3930621781.example.com'));
  });

  test('quirk 11: the README hex example (reversed order) is not detected', () => {
    assert.ok(!isIpInName('85.135.72.234', 'host-ea488755.example.com'));
    assert.ok(isIpInName('85.135.72.234', 'host-558748ea.example.com'));
  });

  test('names without the address', () => {
    assert.ok(!isIpInName('11.22.33.44', 'mail.example.com'));
    assert.ok(!isIpInName('11.22.33.44', '11.22.33.45.example.com'));
    assert.ok(!isIpInName('11.22.33.44', ''));
    assert.ok(!isIpInName('11.22.33.44', '11-22-99-44.example.com'));
  });

  test('IPv6 and invalid addresses are never in a name', () => {
    assert.ok(!isIpInName('2001:db8::1', '2001-db8--1.example.com'));
    assert.ok(!isIpInName('not-an-ip', 'not-an-ip.example.com'));
  });

  test('reject-ip-in-cc-rdns: the last label is exactly two characters', () => {
    assert.ok(isIpInCcRdns('11.22.33.44', '11-22-33-44.dsl.example.de'));
    assert.ok(!isIpInCcRdns('11.22.33.44', '11-22-33-44.dsl.example.com'));
    assert.ok(!isIpInCcRdns('11.22.33.44', 'mail.example.de'));
    assert.ok(!isIpInCcRdns('11.22.33.44', '11-22-33-44'));
  });
});

describe('ip-in-rdns keyword entries (spec §4.4)', () => {
  const ip = '11.22.33.44';

  test('the spec example', () => {
    assert.ok(
      matchKeywordEntry(
        'cable dynamic .example.com',
        ip,
        '11.22.33.44.cable.modem.dynamic.customer.example.com',
      ),
    );
  });

  test('all keywords must be found, and the IP must be in the name', () => {
    const name = '11-22-33-44.dynamic.example.com';
    assert.ok(matchKeywordEntry('dynamic', ip, name));
    assert.ok(!matchKeywordEntry('dynamic cable', ip, name));
    assert.ok(!matchKeywordEntry('dynamic', ip, 'mail.dynamic.example.com'));
    assert.ok(!matchKeywordEntry('dynamic', '11.22.33.45', name));
  });

  test('keywords need non-alphanumeric boundaries', () => {
    assert.ok(!matchKeywordEntry('dialup', ip, '11.22.33.44.notdialup.example.com'));
    assert.ok(!matchKeywordEntry('dialup', ip, '11.22.33.44.dialup3.example.com'));
    assert.ok(matchKeywordEntry('dialup', ip, '11.22.33.44.dialup.example.com'));
    assert.ok(matchKeywordEntry('dialup', ip, 'dialup-11-22-33-44.pool.example.com'));
    assert.ok(matchKeywordEntry('-pool', ip, '11-22-33-44x-pool.isp.example.com')); // a keyword starting with a non-alnum
    // a later occurrence with good boundaries still counts
    assert.ok(matchKeywordEntry('dsl', ip, 'adsl.dsl.11.22.33.44.isp.example.com'));
  });

  test('plain keywords must occur before the registered domain; dotted ones anywhere', () => {
    assert.ok(!matchKeywordEntry('dhcp', ip, '11.22.33.44.mail.dhcp.com'));
    assert.ok(matchKeywordEntry('.dhcp.com', ip, '11.22.33.44.mail.dhcp.com'));
    assert.ok(matchKeywordEntry('mail', ip, '11.22.33.44.mail.dhcp.com'));
    // fewer than three labels: no registered-domain boundary, so nothing matches
    assert.ok(!matchKeywordEntry('.com', ip, '11-22-33-44.com'));
  });

  test('keywords are used as written against the lower-case name', () => {
    assert.ok(!matchKeywordEntry('DYNAMIC', ip, '11.22.33.44.dynamic.example.com'));
    assert.ok(matchKeywordEntry('dynamic  pool', ip, '11.22.33.44.dynamic.pool.example.com'));
    assert.ok(!matchKeywordEntry('', ip, '11.22.33.44.dynamic.example.com'));
  });
});
