// config-dir trees (spec §4.7): which files a recipient gets, in which order, and what they change.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { configDirOptions, findConfigFiles } from '../../src/config-dir';
import { addressPaths, ipPaths, ipv6Hextets, rdnsPaths } from '../../src/config-dir/paths';
import { parseCommandLine } from '../../src/options/parse';
import { recordingLog } from './filters-connect-helpers';

function tree(t: { after(f: () => void): void }, files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'levee-configdir-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

const WHO = {
  ip: '11.22.33.44',
  rdns: 'mail.example.net',
  sender: 'Mom@home.example.com',
  recipient: 'bob@example.org',
};

describe('candidate paths', () => {
  test('ip, most specific first; octets as numbers', () => {
    assert.deepEqual(ipPaths('11.22.33.44'), ['11/22/33/44', '11/22/33', '11/22', '11']);
    assert.deepEqual(ipPaths('011.022.033.044'), ['11/22/33/44', '11/22/33', '11/22', '11']);
  });
  test('IPv6: eight full hextets', () => {
    assert.deepEqual(ipv6Hextets('2001:db8::1'), [
      '2001',
      '0db8',
      '0000',
      '0000',
      '0000',
      '0000',
      '0000',
      '0001',
    ]);
    assert.deepEqual(ipv6Hextets('::ffff:1.2.3.4')?.slice(5), ['ffff', '0102', '0304']);
    assert.equal(ipPaths('2001:db8::1')[0], '2001/0db8/0000/0000/0000/0000/0000/0001');
    assert.equal(ipPaths('2001:db8::1').at(-1), '2001');
    assert.equal(ipv6Hextets('1::2::3'), null);
    assert.equal(ipv6Hextets('1:2:3:4:5:6:7:8:9'), null);
  });
  test('rdns reversed', () => {
    assert.deepEqual(rdnsPaths('mail.example.net'), ['net/example/mail', 'net/example', 'net']);
  });
  test('address: user file, then domain levels; user canonicalised', () => {
    assert.deepEqual(addressPaths('Mo+m@home.example.com'), [
      'com/example/home/_at_/mo_m',
      'com/example/home',
      'com/example',
      'com',
    ]);
    assert.deepEqual(addressPaths('nodomain'), []);
  });
  test('hostile values give no paths', () => {
    assert.deepEqual(rdnsPaths('a..b'), []);
    assert.deepEqual(rdnsPaths('x/../../etc'), []);
    assert.deepEqual(addressPaths('u@_ip_.com'), []);
    assert.deepEqual(addressPaths('..@example.com'), ['com/example', 'com']);
    assert.deepEqual(ipPaths('1.2.3.999'), []);
  });
  test('property: no path ever leaves its criterion directory', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ maxLength: 60 }), (a, b) => {
        for (const p of [
          ...rdnsPaths(a),
          ...addressPaths(`${a}@${b}`),
          ...addressPaths(`${b}@${a}`),
          ...ipPaths(a),
        ]) {
          assert.ok(posix.resolve('/c/_x_', p).startsWith('/c/_x_/'), p);
          assert.equal(posix.normalize(p), p);
          assert.ok(!p.includes('\0'));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('findConfigFiles', () => {
  test('first: one file per criterion, the most specific; order ip, rdns, sender, recipient', (t) => {
    const root = tree(t, {
      '_recipient_/org/example': '',
      '_recipient_/org/other': '',
      '_sender_/com/example/home/_at_/mom': '',
      '_rdns_/net/example': '',
      '_ip_/11/22/33/44': '',
    });
    const second = tree(t, { '_ip_/11/22': '', '_sender_/com/example': '', '_rdns_/net': '' });
    assert.deepEqual(findConfigFiles([root, second], WHO, []), [
      `${root}/_ip_/11/22/33/44`,
      `${root}/_rdns_/net/example`,
      `${root}/_sender_/com/example/home/_at_/mom`,
      `${root}/_recipient_/org/example`,
    ]);
    // the second root only contributes criteria the first had nothing for
    assert.deepEqual(findConfigFiles([second, root], WHO, []), [
      `${second}/_ip_/11/22`,
      `${second}/_rdns_/net`,
      `${second}/_sender_/com/example`,
      `${root}/_recipient_/org/example`,
    ]);
  });
  test('all-ip and all-sender: every match of those criteria, most specific first', (t) => {
    const one = tree(t, {
      '_ip_/11/22/33/44': '',
      '_sender_/com/example/home/_at_/mom': '',
      '_rdns_/net': '',
    });
    const two = tree(t, { '_ip_/11/22': '', '_sender_/com': '', '_rdns_/net/example/mail': '' });
    assert.deepEqual(findConfigFiles([one, two], WHO, ['all-ip', 'all-sender']), [
      `${one}/_ip_/11/22/33/44`,
      `${one}/_rdns_/net`,
      `${one}/_sender_/com/example/home/_at_/mom`,
      `${two}/_ip_/11/22`,
      `${two}/_sender_/com`,
    ]);
  });
  test('nesting: a directory continues with another criterion', (t) => {
    const root = tree(t, {
      '_ip_/11/22/33/44/_sender_/com/example/home/_at_/mom': '',
      '_sender_/com/example/_ip_/11/22': '',
    });
    assert.deepEqual(findConfigFiles([root], WHO, ['all-sender', 'all-ip']), [
      `${root}/_ip_/11/22/33/44/_sender_/com/example/home/_at_/mom`,
      `${root}/_sender_/com/example/_ip_/11/22`,
    ]);
  });
  test('a file named _at_ is never read; other clients match nothing', (t) => {
    const root = tree(t, { '_sender_/com/example/home/_at_': '', '_ip_/99': '' });
    assert.deepEqual(findConfigFiles([root], WHO, ['all-sender']), []);
  });
});

describe('configDirOptions', () => {
  const base = () =>
    parseCommandLine(['--graylist-level', 'always', '--reject-empty-rdns', '/bin/true']).state;

  test('applies D options for this recipient only, logs and skips bad lines', (t) => {
    const root = tree(t, {
      '_recipient_/org/example/_at_/bob':
        'graylist-level=none\nheader-blacklist-entry=subject:*x*\nconfig-dir=/elsewhere\nno-such-option=1\n',
    });
    const state = base();
    const log = recordingLog();
    const r = configDirOptions(state, [root], WHO, [], log.logger);
    assert.deepEqual(r.files, [`${root}/_recipient_/org/example/_at_/bob`]);
    assert.equal(r.options['graylist-level'], 'none');
    assert.deepEqual(r.options['header-blacklist-entry'], ['subject:*x*']);
    assert.deepEqual(r.options['config-dir'], []);
    assert.equal(r.options['reject-empty-rdns'], true);
    assert.ok(
      log.lines.some((l) => /^error Option not allowed in configuration file.*config-dir/.test(l)),
      log.lines.join('\n'),
    );
    assert.ok(log.lines.some((l) => /^error Unknown configuration file option.*no-such-option/.test(l)));
    // the base is untouched: the next recipient starts again from it
    const other = configDirOptions(state, [root], { ...WHO, recipient: 'eve@example.org' }, [], log.logger);
    assert.equal(other.options['graylist-level'], 'always');
    assert.deepEqual(other.files, []);
  });

  test('earlytalker may be switched off but not on', (t) => {
    const root = tree(t, { '_ip_/11': 'greeting-delay-secs=5\n', '_ip_/12': 'greeting-delay-secs=0\n' });
    const state = parseCommandLine(['--greeting-delay-secs', '2', '/bin/true']).state;
    const log = recordingLog();
    const on = configDirOptions(state, [root], WHO, [], log.logger);
    assert.equal(on.options['greeting-delay-secs'], 2);
    assert.ok(
      log.lines.includes('error earlytalker filter cannot be activated after the start of the connection'),
    );
    const off = configDirOptions(state, [root], { ...WHO, ip: '12.0.0.1' }, [], recordingLog().logger);
    assert.equal(off.options['greeting-delay-secs'], 0);
  });

  test('files are applied most specific first (a later, less specific file wins a single value)', (t) => {
    const root = tree(t, { '_ip_/11/22/33/44': 'graylist-min-secs=10\n' });
    const other = tree(t, { '_ip_/11': 'graylist-min-secs=20\n' });
    const r = configDirOptions(base(), [root, other], WHO, ['all-ip'], recordingLog().logger);
    assert.equal(r.options['graylist-min-secs'], 20);
    const first = configDirOptions(base(), [root, other], WHO, [], recordingLog().logger);
    assert.equal(first.options['graylist-min-secs'], 10);
  });
});
