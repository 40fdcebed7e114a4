import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  dnsSettingsFromOptions,
  parseResolvConf,
  parseServerSpec,
  type DnsOptionValues,
} from '../../src/dns/settings';

const defaults: DnsOptionValues = {
  'dns-server-ip': [],
  'dns-server-ip-primary': [],
  'dns-resolv-conf': ['/etc/resolv.conf'],
  'dns-timeout-secs': 30,
  'dns-max-retries-total': 3,
  'dns-max-retries-primary': 1,
  'dns-level': 'aggressive',
};

/** A fake file system: path -> contents; anything else does not exist. */
function files(contents: Record<string, string>): (p: string) => string {
  return (p) => {
    if (!(p in contents)) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    return contents[p];
  };
}

describe('parseResolvConf', () => {
  test('reads nameserver, port, timeout and options timeout; ignores comments and other keywords', () => {
    const conf = parseResolvConf(
      [
        '# generated',
        'search example.org',
        'nameserver 192.0.2.1   # primary',
        '; nameserver 192.0.2.99',
        'nameserver 192.0.2.2',
        'port 5353',
        'timeout 12',
        'options ndots:2 timeout:4 attempts:2',
      ].join('\n'),
    );
    assert.deepEqual(conf.nameservers, ['192.0.2.1', '192.0.2.2']);
    assert.equal(conf.port, 5353);
    assert.equal(conf.totalTimeoutSecs, 12);
    assert.equal(conf.perTryTimeoutSecs, 4);
    assert.deepEqual(conf.problems, []);
  });

  test('reports bad numbers with file and line, and keeps going', () => {
    const conf = parseResolvConf('port 70000\ntimeout abc\nnameserver 10.0.0.1\n', '/x/resolv.conf');
    assert.deepEqual(conf.nameservers, ['10.0.0.1']);
    assert.equal(conf.port, undefined);
    assert.equal(conf.problems.length, 2);
    assert.match(conf.problems[0], /\/x\/resolv\.conf\(1\)/);
  });
});

describe('parseServerSpec', () => {
  test('IPv4 with and without a port; spamdyke also accepts a dot before the port', () => {
    assert.deepEqual(parseServerSpec('192.0.2.1', 53), { host: '192.0.2.1', port: 53 });
    assert.deepEqual(parseServerSpec('127.0.0.1:5353', 53), { host: '127.0.0.1', port: 5353 });
    assert.deepEqual(parseServerSpec('127.0.0.1.5353', 53), { host: '127.0.0.1', port: 5353 });
    // leading zeros are read as decimal, surrounding white space is ignored
    assert.deepEqual(parseServerSpec(' 127.000.0.01 ', 53), { host: '127.0.0.1', port: 53 });
  });

  test('IPv6 bracketed with a port, or bare', () => {
    assert.deepEqual(parseServerSpec('[::1]:5353', 53), { host: '::1', port: 5353 });
    assert.deepEqual(parseServerSpec('[2001:DB8::53]', 53), { host: '2001:db8::53', port: 53 });
    assert.deepEqual(parseServerSpec('2001:db8::53', 99), { host: '2001:db8::53', port: 99 });
  });

  test('rejects junk, host names, octets over 255, first octet 0 and bad ports', () => {
    for (const bad of [
      '',
      'dns.example',
      '256.1.1.1',
      '0.1.2.3',
      '127.0.0.1:0',
      '127.0.0.1:65536',
      '[::1',
      '::g',
      // the edges of the hand-written reader: empty brackets, text after them, a port without
      // digits, a fourth octet with four digits, a port after a colon that is not all digits
      '[]',
      '[]:53',
      '[::1]x',
      '[::1]:',
      '[::1]:5x',
      '[a]b]',
      '127.0.0.1:',
      '127.0.0.1.',
      '127.0.0.1234',
      '1234.0.0.1',
      '127.0.0.1:53x',
      '127.0.0.1 53',
    ]) {
      assert.equal(parseServerSpec(bad, 53), null, bad);
    }
  });
});

describe('dnsSettingsFromOptions: servers', () => {
  test('command-line servers win and resolv.conf is not even read', () => {
    let read = 0;
    const s = dnsSettingsFromOptions(
      {
        ...defaults,
        'dns-server-ip-primary': ['127.0.0.1:5353'],
        'dns-server-ip': ['192.0.2.9', '[::1]:53'],
      },
      {},
      () => {
        read++;
        return 'nameserver 10.9.9.9\ntimeout 2\n';
      },
    );
    assert.equal(read, 0);
    assert.deepEqual(s.servers, [
      { host: '127.0.0.1', port: 5353, primary: true },
      { host: '192.0.2.9', port: 53, primary: false },
      { host: '::1', port: 53, primary: false },
    ]);
    assert.equal(s.totalTimeoutMs, 30_000);
  });

  test('resolv.conf: first valid nameserver is primary, duplicates dropped, `port` applies to all', () => {
    const s = dnsSettingsFromOptions(
      { ...defaults, 'dns-resolv-conf': ['/a', '/missing', '/b'] },
      {},
      files({
        '/a': 'nameserver 0.1.2.3\nnameserver 192.0.2.1\nnameserver 192.0.2.2\n',
        '/b': 'nameserver 192.0.2.1\nnameserver 192.0.2.3:2053\nport 5300\n',
      }),
    );
    assert.deepEqual(s.servers, [
      { host: '192.0.2.1', port: 5300, primary: true },
      { host: '192.0.2.2', port: 5300, primary: false },
      { host: '192.0.2.3', port: 2053, primary: false },
    ]);
    assert.equal(s.problems.length, 1);
    assert.match(s.problems[0], /0\.1\.2\.3/);
  });

  test('no servers anywhere -> 127.0.0.1:53 as the one primary', () => {
    const s = dnsSettingsFromOptions(defaults, {}, files({}));
    assert.deepEqual(s.servers, [{ host: '127.0.0.1', port: 53, primary: true }]);
  });
});

describe('dnsSettingsFromOptions: time budget (spec §5.6)', () => {
  const conf = (text: string): ((p: string) => string) => files({ '/etc/resolv.conf': text });

  test('default is 30 s, split evenly over dns-max-retries-total rounds', () => {
    const s = dnsSettingsFromOptions(defaults, {}, conf('nameserver 192.0.2.1\n'));
    assert.equal(s.totalTimeoutMs, 30_000);
    assert.equal(s.perTryTimeoutMs, 10_000);
  });

  test('resolv.conf `timeout N` is the total; `options timeout:N` is per round', () => {
    assert.equal(
      dnsSettingsFromOptions(defaults, {}, conf('timeout 7\noptions timeout:1\n')).totalTimeoutMs,
      7_000,
    );
    assert.equal(dnsSettingsFromOptions(defaults, {}, conf('options timeout:2\n')).totalTimeoutMs, 6_000);
  });

  test('RES_OPTIONS timeout:N x rounds beats resolv.conf', () => {
    const s = dnsSettingsFromOptions(defaults, { RES_OPTIONS: 'rotate timeout:4' }, conf('timeout 7\n'));
    assert.equal(s.totalTimeoutMs, 12_000);
    assert.equal(s.perTryTimeoutMs, 4_000);
  });

  test('a user-set dns-timeout-secs beats everything, even when it equals the default', () => {
    const env = { RES_OPTIONS: 'timeout:4' };
    assert.equal(
      dnsSettingsFromOptions({ ...defaults, 'dns-timeout-secs': 30, 'dns-timeout-set': true }, env, conf(''))
        .totalTimeoutMs,
      30_000,
    );
    assert.equal(
      dnsSettingsFromOptions({ ...defaults, 'dns-timeout-secs': 5 }, env, conf('')).totalTimeoutMs,
      5_000,
    );
    // not set by the user: the table default must not hide the system value
    assert.equal(
      dnsSettingsFromOptions({ ...defaults, 'dns-timeout-set': false }, env, conf('')).totalTimeoutMs,
      12_000,
    );
  });

  test('level and retry counts are carried over; unknown level means aggressive', () => {
    const s = dnsSettingsFromOptions(
      { ...defaults, 'dns-level': 'normal', 'dns-max-retries-total': 5, 'dns-max-retries-primary': 2 },
      {},
      conf(''),
    );
    assert.equal(s.level, 'normal');
    assert.equal(s.maxRetriesTotal, 5);
    assert.equal(s.maxRetriesPrimary, 2);
    assert.equal(s.perTryTimeoutMs, 6_000);
    assert.equal(dnsSettingsFromOptions({ ...defaults, 'dns-level': 'none' }, {}, conf('')).level, 'none');
    assert.equal(dnsSettingsFromOptions({ ...defaults, 'dns-level': 'x' }, {}, conf('')).level, 'aggressive');
  });
});
