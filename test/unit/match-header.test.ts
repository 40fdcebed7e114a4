import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  HeaderUnfolder,
  MAX_HEADER_BYTES,
  fnmatch,
  matchHeaderEntry,
  normalizeHeaderLine,
} from '../../src/match/header';

describe('normalizeHeaderLine', () => {
  test('lower-cases ASCII, collapses whitespace runs, drops trailing space', () => {
    assert.equal(normalizeHeaderLine('Subject:   Buy\tVIAGRA \t now  '), 'subject: buy viagra now');
    assert.equal(normalizeHeaderLine('  X: y'), ' x: y'); // a leading run becomes one space
    assert.equal(normalizeHeaderLine('X: \xc4\xd6'), 'x: \xc4\xd6'); // 8-bit bytes untouched
    assert.equal(normalizeHeaderLine(' \t '), '');
  });
});

describe('fnmatch (POSIX, flags 0)', () => {
  test('wildcards, sets, ranges, escapes', () => {
    const rows: [string, string, boolean][] = [
      ['abc', 'abc', true],
      ['abc', 'abcd', false],
      ['a*c', 'abbbc', true],
      ['a*c', 'ac', true],
      ['a*c', 'ab', false],
      ['*', '', true],
      ['', '', true],
      ['?', '', false],
      ['a?c', 'a/c', true], // no FNM_PATHNAME
      ['*c', '.c', true], // no FNM_PERIOD
      ['[abc]x', 'bx', true],
      ['[!abc]x', 'bx', false],
      ['[^abc]x', 'dx', true],
      ['[a-c]', 'b', true],
      ['[a-c]', 'd', false],
      ['[]a]', ']', true],
      ['[!]a]', ']', false],
      ['[a-]', '-', true],
      ['[[:digit:]]x', '7x', true],
      ['[[:digit:]]x', 'ax', false],
      ['[[:nosuch:]]', 'a', false],
      ['\\*', '*', true],
      ['\\*', 'a', false],
      ['a\\', 'a\\', false], // a trailing backslash never matches
      ['[ab', '[ab', true], // an unterminated set is a literal [
      ['[\\]]', ']', true],
      ['*a*b', 'xxaxxb', true],
      ['*a*b', 'xxbxxa', false],
    ];
    for (const [p, t, expected] of rows) assert.equal(fnmatch(p, t), expected, `${p} vs ${t}`);
  });

  test('a hostile pattern against 10k characters finishes fast', () => {
    const text = 'a'.repeat(10000);
    const t0 = Date.now();
    assert.equal(fnmatch('*a*a*a*a*a*a*b', text), false);
    assert.equal(fnmatch('*a*a*a*a*a*a*a', text), true);
    assert.equal(fnmatch('*?*?*?*?*?*?*?*b', text), false);
    assert.ok(Date.now() - t0 < 500, `${Date.now() - t0} ms`);
  });

  test('property: agrees with a regular-expression reference on random small patterns', () => {
    // Each token is rendered both as fnmatch syntax and as an equivalent RegExp fragment.
    const esc = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
    const ch = fc.constantFrom('a', 'b', 'c', '.', '-', ']', '*', '?', '[', '\\', '/');
    const token = fc.oneof(
      fc.constantFrom('a', 'b', 'c', '.', '/').map((c) => ({ glob: c, re: esc(c) })),
      fc.constant({ glob: '*', re: '[^]*' }),
      fc.constant({ glob: '?', re: '[^]' }),
      ch.map((c) => ({ glob: `\\${c}`, re: esc(c) })),
      fc
        .tuple(
          fc.boolean(),
          fc.array(fc.constantFrom('a', 'b', 'c', '.', '/'), { minLength: 1, maxLength: 3 }),
        )
        .map(([neg, set]) => ({
          glob: `[${neg ? '!' : ''}${set.join('')}]`,
          re: `[${neg ? '^' : ''}${set.map(esc).join('')}]`,
        })),
      fc.constant({ glob: '[a-b]', re: '[a-b]' }),
    );
    const text = fc.string({
      unit: fc.constantFrom('a', 'b', 'c', '.', '/', '*', '?', '\\', '[', ']', '-'),
      maxLength: 12,
    });
    fc.assert(
      fc.property(fc.array(token, { maxLength: 8 }), text, (tokens, t) => {
        const glob = tokens.map((x) => x.glob).join('');
        const re = new RegExp(`^${tokens.map((x) => x.re).join('')}$`);
        assert.equal(fnmatch(glob, t), re.test(t), `${glob} vs ${t}`);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('header entries (spec §4.6)', () => {
  test('the spec examples', () => {
    assert.ok(matchHeaderEntry('subject:*viagra*', 'Subject: Buy VIAGRA now'));
    assert.ok(matchHeaderEntry('Subject:*viagra*', 'subject:viagra'));
    assert.ok(!matchHeaderEntry('subject:*viagra*', 'X-Subject: viagra')); // the whole line must match
    // quirk 11: the README example does not match "cialis"
    assert.ok(!matchHeaderEntry('Subject:*c?a[i1]is*', 'Subject: cialis'));
    assert.ok(matchHeaderEntry('Subject:*c?a[i1]is*', 'Subject: cxa1is'));
  });

  test('an entry without `:` is ignored, as is a line without one', () => {
    assert.ok(!matchHeaderEntry('*viagra*', 'Subject: viagra'));
    assert.ok(!matchHeaderEntry('*', 'Subject: viagra'));
    assert.ok(!matchHeaderEntry('*:*', 'no colon here'));
    assert.ok(matchHeaderEntry('*:*', 'a: b'));
  });

  test('whitespace in entries and lines is normalised the same way', () => {
    assert.ok(matchHeaderEntry('From:   *@spam.example>', 'From:\t\tJoe <joe@spam.example>   '));
    assert.ok(matchHeaderEntry('subject: hello world', 'Subject: Hello\t  World'));
  });
});

describe('HeaderUnfolder', () => {
  test('unfolds continuation lines and emits each completed header', () => {
    const u = new HeaderUnfolder();
    const out: string[] = [];
    const feed = (l: string | Buffer): void => {
      const h = u.push(l);
      if (h !== null) out.push(h);
    };
    feed('Subject: buy');
    feed('\tcheap');
    feed('  viagra');
    feed(Buffer.from('From: a@b', 'latin1'));
    feed('To: c@d');
    assert.deepEqual(out, ['Subject: buy\tcheap  viagra', 'From: a@b']);
    assert.equal(u.finish(), 'To: c@d');
    assert.ok(matchHeaderEntry('subject:*viagra*', out[0] as string));
  });

  test('a blank line ends the header block', () => {
    const u = new HeaderUnfolder();
    assert.equal(u.push('X-A: 1'), null);
    assert.equal(u.push(''), 'X-A: 1');
    assert.ok(u.ended);
    assert.equal(u.push('Subject: body text'), null);
    assert.equal(u.finish(), null);
    const w = new HeaderUnfolder();
    w.push('X-B: 2');
    assert.equal(w.push(' \t'), 'X-B: 2'); // all-whitespace counts as blank
  });

  test('8-bit bytes pass through latin1 unchanged', () => {
    const u = new HeaderUnfolder();
    u.push(Buffer.from([0x53, 0x3a, 0x20, 0xe4, 0xff]));
    assert.equal(u.finish(), 'S: \xe4\xff');
  });

  test('an unfolded header stops growing at 16383 bytes', () => {
    let told = 0;
    const u = new HeaderUnfolder(() => told++);
    u.push(`Subject: ${'x'.repeat(10000)}`);
    for (let i = 0; i < 5; i++) u.push(` ${'y'.repeat(5000)}`);
    const h = u.push('From: a@b');
    assert.equal(h?.length, MAX_HEADER_BYTES);
    assert.equal(told, 1);
    assert.equal(u.finish(), 'From: a@b');
  });
});
