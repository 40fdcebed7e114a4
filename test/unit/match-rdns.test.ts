import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { baseDomain, domain2path, examineEntry, matchRdnsEntry, rdnsDirPaths } from '../../src/match/rdns';

describe('rDNS entries (spec §4.2)', () => {
  test('an entry without a leading dot must equal the whole name', () => {
    assert.ok(matchRdnsEntry('mail.example.com', 'mail.example.com'));
    assert.ok(matchRdnsEntry('MAIL.Example.com', 'mail.example.com'));
    assert.ok(!matchRdnsEntry('example.com', 'mail.example.com'));
    assert.ok(!matchRdnsEntry('mail.example', 'mail.example.com'));
    assert.ok(!matchRdnsEntry('mail.example.com ', 'mail.example.com')); // no trimming
  });

  test('a leading dot matches the domain and every name below it', () => {
    for (const name of ['example.com', 'mail.example.com', 'a.b.example.com']) {
      assert.ok(matchRdnsEntry('.example.com', name), name);
    }
    assert.ok(!matchRdnsEntry('.example.com', 'badexample.com'));
    assert.ok(!matchRdnsEntry('.example.com', 'example.com.evil.net'));
    assert.ok(!matchRdnsEntry('.mail.example.com', 'example.com'));
  });

  test('empty entries, a bare dot and an empty name never match', () => {
    assert.ok(!matchRdnsEntry('', 'example.com'));
    assert.ok(!matchRdnsEntry('.', 'example.com'));
    assert.ok(!matchRdnsEntry('.example.com', ''));
  });

  test("the last-character shortcut agrees with spamdyke's examine_entry on random entries", () => {
    // short labels from a small alphabet (capitals too), so entries often end like the name
    const label = fc
      .array(fc.constantFrom('a', 'b', 'A', '-', '1'), { maxLength: 3 })
      .map((chars) => chars.join(''));
    const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.').toLowerCase());
    const entry = fc.tuple(
      fc.constantFrom('', '.', '..'),
      fc.array(label, { maxLength: 4 }),
      fc.constantFrom('', '.'),
    );
    fc.assert(
      fc.property(name, entry, (n, [head, labels, tail]) => {
        const e = head + labels.join('.') + tail;
        assert.equal(matchRdnsEntry(e, n), n !== '' && examineEntry(n, e, '.', '.', '', ''), `${e} vs ${n}`);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('rDNS directory paths (spec §4.3)', () => {
  test('the spec example and every label count', () => {
    assert.deepEqual(rdnsDirPaths('mail.example.com'), [
      'com/e/example/mail.example.com',
      'com/e/example/example.com',
      'com/c/com',
    ]);
    assert.deepEqual(rdnsDirPaths('a.b.mail.example.com'), [
      'com/e/example/mail/a.b.mail.example.com',
      'com/e/example/mail/b.mail.example.com',
      'com/e/example/mail.example.com',
      'com/e/example/example.com',
      'com/c/com',
    ]);
    assert.deepEqual(rdnsDirPaths('localhost'), ['localhost/l/localhost']);
  });

  test('names that could leave the tree give no paths', () => {
    for (const bad of [
      '',
      '.',
      '..',
      '../etc',
      'a..b',
      '.example.com',
      'example.com.',
      'a/b.com',
      'x\0.com',
      '/etc',
    ]) {
      assert.deepEqual(rdnsDirPaths(bad), [], JSON.stringify(bad));
    }
  });

  test('domain2path as the utility prints it', () => {
    assert.equal(domain2path('mail.example.com', false), 'com/e/example/mail.example.com');
    assert.equal(domain2path('a.b.c.d.example.co.uk', true), 'uk/c/co/example');
    assert.equal(
      domain2path('e-five.d-four.c-three.b-two.a-one', false),
      'a-one/b/b-two/c-three/e-five.d-four.c-three.b-two.a-one',
    );
    assert.equal(domain2path('c-three.b-two.a-one', false), 'a-one/b/b-two/c-three.b-two.a-one');
    assert.equal(domain2path('b-two.a-one', false), 'a-one/b/b-two/b-two.a-one');
    assert.equal(domain2path('b-two.a-one', true), 'a-one/b/b-two');
    assert.equal(domain2path('a-one', false), 'a-one/a/a-one');
    assert.equal(domain2path('a-one', true), 'a-one/a');
    assert.equal(domain2path('Mail.Example.COM', false), 'com/e/example/mail.example.com');
  });

  test('domainsplit base domains', () => {
    const cases: [string, string][] = [
      ['example', 'example'],
      ['example.com', 'example.com'],
      ['foo.example.com', 'example.com'],
      ['foo.bar.example.com', 'example.com'],
      ['example.us', 'example.us'],
      ['example.com.us', 'example.com.us'],
      ['foo.example.com.us', 'example.com.us'],
      ['foo.bar.example.com.us', 'example.com.us'],
      ['FOO.Example.COM', 'example.com'],
    ];
    for (const [name, base] of cases) assert.equal(baseDomain(name), base, name);
  });

  test('property: paths are relative and never contain `..` or empty components', () => {
    const labelChars = fc.constantFrom('a', 'b', '.', '/', '\0', '-', 'x', '\\', ' ');
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: labelChars, maxLength: 30 })), (name) => {
        for (const p of rdnsDirPaths(name)) {
          assert.ok(!p.startsWith('/'), p);
          assert.ok(!p.includes('\0'), p);
          for (const part of p.split('/')) assert.ok(part !== '' && part !== '.' && part !== '..', p);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
