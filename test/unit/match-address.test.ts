import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatAddress, matchAddressEntry, parseAddress } from '../../src/match/address';

function parsed(line: string): string | null {
  const a = parseAddress(line);
  return a === null ? null : formatAddress(a);
}

describe('parseAddress (spec §2.5)', () => {
  test('ordinary commands, lower-cased', () => {
    assert.deepEqual(parseAddress('MAIL FROM:<Fred@Example.COM>'), { local: 'fred', domain: 'example.com' });
    assert.deepEqual(parseAddress('RCPT TO:<user@example.org>'), { local: 'user', domain: 'example.org' });
    assert.equal(parsed('mail from:   <a@b.example>'), 'a@b.example');
    assert.equal(parsed('MAIL FROM:a@b.example'), 'a@b.example');
  });

  test('the empty sender and missing parts', () => {
    assert.deepEqual(parseAddress('MAIL FROM:<>'), { local: '', domain: '' });
    assert.deepEqual(parseAddress('MAIL FROM: <>'), { local: '', domain: '' });
    assert.deepEqual(parseAddress('RCPT TO:<@example.com>'), { local: '', domain: 'example.com' });
    assert.deepEqual(parseAddress('RCPT TO:<postmaster>'), { local: 'postmaster', domain: '' });
    assert.deepEqual(parseAddress('RCPT TO:'), { local: '', domain: '' });
    assert.deepEqual(parseAddress(''), { local: '', domain: '' });
    assert.deepEqual(parseAddress('MAIL FROM <a@b>'), { local: '', domain: '' }); // no colon: nothing found
  });

  test('ESMTP parameters after the address are ignored', () => {
    assert.equal(parsed('MAIL FROM:<user@example.com> SIZE=123 BODY=8BITMIME'), 'user@example.com');
    assert.equal(parsed('MAIL FROM:user@example.com SIZE=123'), 'user@example.com');
    assert.equal(parsed('MAIL FROM:<> SIZE=123'), '');
  });

  test('BATV (prvs=, case-sensitive)', () => {
    assert.equal(parsed('MAIL FROM:<prvs=1234abcd=fred@x>'), 'fred@x');
    assert.equal(parsed('MAIL FROM:<prvs=fred/1234abcd@x>'), 'fred@x');
    assert.equal(parsed('MAIL FROM:<PRVS=1234abcd=fred@x>'), 'prvs=1234abcd=fred@x');
    assert.equal(parsed('MAIL FROM:<prvs=1234abcd=Fred@X.Example>'), 'fred@x.example');
  });

  test('quoted local parts, comments and illegal characters', () => {
    assert.equal(parsed('RCPT TO:<"john.doe"@example.com>'), 'john.doe@example.com');
    assert.equal(parsed('RCPT TO:<"john doe"@example.com>'), 'johndoe@example.com'); // folding whitespace skipped
    assert.equal(parsed('RCPT TO:<"john\\ doe"@example.com>'), 'john doe@example.com');
    assert.equal(parsed('RCPT TO:<"a@b"@example.com>'), 'a@b@example.com');
    assert.equal(parsed('RCPT TO:<"unclosed@example.com>'), '"unclosed@example.com');
    assert.equal(parsed('RCPT TO:<user(comment)@example.com>'), 'user@example.com');
    assert.equal(parsed('RCPT TO:<us;er@exa,mple.com>'), 'us;er@example.com'); // kept in the local part, dropped in the domain
  });

  test('leading and trailing dots', () => {
    assert.equal(parsed('RCPT TO:<.user.@..example.com..>'), '.user.@example.com');
  });

  test('domain literals lose their brackets', () => {
    assert.equal(parsed('RCPT TO:<user@[192.0.2.1]>'), 'user@192.0.2.1');
  });

  test('errata 8: a single-hop source route works, a multi-hop one is unparseable', () => {
    assert.equal(parsed('RCPT TO:<@a.test:user@example.org>'), 'user@example.org');
    assert.equal(parseAddress('RCPT TO:<@a.test,@b.test:user@example.org>'), null);
    assert.equal(parseAddress('MAIL FROM:<@a.test,@b.test:user@example.org>'), null);
  });

  test('parts are cut to 511 characters', () => {
    const long = 'a'.repeat(700);
    const a = parseAddress(`RCPT TO:<${long}@${'b'.repeat(700)}.com>`);
    assert.ok(a);
    assert.equal(a.local.length, 511);
    assert.equal(a.domain.length, 511);
  });

  test('formatAddress', () => {
    assert.equal(formatAddress({ local: 'u', domain: 'd' }), 'u@d');
    assert.equal(formatAddress({ local: 'u', domain: '' }), 'u');
    assert.equal(formatAddress({ local: '', domain: 'd' }), '@d');
    assert.equal(formatAddress({ local: '', domain: '' }), '');
  });

  test('property: never throws, output is lower-case printable ASCII without spaces unless escaped', () => {
    const hostile = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({
        unit: fc.constantFrom('<', '>', '"', '\\', '@', ':', ',', ' ', '\0', '\xff', 'A', '.', '['),
        maxLength: 60,
      }),
      fc.string({ unit: 'grapheme', maxLength: 50 }).map((s) => `RCPT TO:<${s}>`),
    );
    fc.assert(
      fc.property(hostile, (s) => {
        const a = parseAddress(s);
        if (a === null) return;
        for (const part of [a.local, a.domain]) {
          assert.ok(part.length <= 511);
          assert.match(part, /^[\x20-\x7e]*$/);
          assert.doesNotMatch(part, /[A-Z]/);
        }
        assert.doesNotMatch(a.domain, /[\s@<>"\\,;[\]]/);
      }),
      { numRuns: 3000 },
    );
    const huge = `MAIL FROM:<${'\0\xff"\\<@:'.repeat(15000)}>`;
    assert.ok(huge.length > 100000);
    const t0 = Date.now();
    parseAddress(huge);
    parseAddress(`RCPT TO:${'a'.repeat(100000)}`);
    assert.ok(Date.now() - t0 < 2000);
  });
});

describe('address entries (spec §4.5)', () => {
  test('user@domain is exact, case-insensitive on the entry', () => {
    assert.ok(matchAddressEntry('fred@example.com', 'fred@example.com'));
    assert.ok(matchAddressEntry('Fred@Example.COM', 'fred@example.com'));
    assert.ok(!matchAddressEntry('fred@example.com', 'fred@mail.example.com'));
    assert.ok(!matchAddressEntry('fred@example.com', 'alfred@example.com'));
  });

  test('@domain matches the domain and its subdomains', () => {
    assert.ok(matchAddressEntry('@example.com', 'fred@example.com'));
    assert.ok(matchAddressEntry('@example.com', 'fred@mail.example.com'));
    assert.ok(matchAddressEntry('@example.com', '@example.com'));
    assert.ok(!matchAddressEntry('@example.com', 'fred@badexample.com'));
    assert.ok(!matchAddressEntry('@example.com', 'fred@example.com.evil'));
  });

  test('user@ matches that local part at any domain', () => {
    assert.ok(matchAddressEntry('fred@', 'fred@example.com'));
    assert.ok(matchAddressEntry('fred@', 'fred'));
    assert.ok(!matchAddressEntry('fred@', 'alfred@example.com'));
    assert.ok(!matchAddressEntry('fred@', 'fred.smith@example.com'));
  });

  test('quirk 7: in sender-blacklist-entry, user@ also matches user.x@', () => {
    const quirk = { senderBlacklistEntryQuirk: true };
    assert.ok(matchAddressEntry('fred@', 'fred.smith@example.com', quirk));
    assert.ok(matchAddressEntry('fred@', 'fred@example.com', quirk));
    assert.ok(!matchAddressEntry('fred@', 'fredx@example.com', quirk));
  });

  test('a bare domain matches nothing but an identical address', () => {
    assert.ok(!matchAddressEntry('example.com', 'fred@example.com'));
    assert.ok(!matchAddressEntry('example.com', 'example.com@example.com'));
  });

  test('the null sender and empty entries never match', () => {
    assert.ok(!matchAddressEntry('@', ''));
    assert.ok(!matchAddressEntry('', 'fred@example.com'));
  });
});
