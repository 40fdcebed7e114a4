// EHLO rewriting (spec §5.2, §5.3, errata 6 and 7): every combination of what the child advertises
// and what levee removes or adds must give a well-formed multi-line 250 reply.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { rewriteEhlo, advertisesAuth, type EhloEdit } from '../../src/session/ehlo';

/** A reply is well-formed when all lines but the last are `250-` and the last is `250 `. */
function assertWellFormed(lines: string[]): void {
  assert.ok(lines.length > 0);
  lines.forEach((l, i) => assert.match(l, i === lines.length - 1 ? /^250 / : /^250-/, lines.join(' | ')));
}

function childReply(opts: {
  auth?: 'space' | 'equals' | 'both';
  tls?: boolean;
  authLast?: boolean;
}): string[] {
  const body = ['PIPELINING', '8BITMIME'];
  const auth: string[] = [];
  if (opts.auth === 'space' || opts.auth === 'both') auth.push('AUTH LOGIN PLAIN');
  if (opts.auth === 'equals' || opts.auth === 'both') auth.push('AUTH=LOGIN PLAIN');
  if (opts.authLast) body.push(...auth);
  else body.unshift(...auth);
  if (opts.tls) body.splice(1, 0, 'STARTTLS');
  const all = ['child.test', ...body];
  return all.map((l, i) => (i === all.length - 1 ? '250 ' : '250-') + l);
}

describe('rewriteEhlo', () => {
  test('spamdyke verified example: ondemand adds AUTH LOGIN PLAIN as the last line', () => {
    const out = rewriteEhlo(['250-X-NOTHING', '250-PIPELINING', '250 8BITMIME'], {
      removeAuth: false,
      removeTls: false,
      addAuth: 'LOGIN PLAIN',
    });
    assert.deepEqual(out, ['250-X-NOTHING', '250-PIPELINING', '250-8BITMIME', '250 AUTH LOGIN PLAIN']);
  });

  test('removing the last line inserts the X-NOTHING filler', () => {
    const out = rewriteEhlo(['250-child.test', '250-PIPELINING', '250 AUTH LOGIN'], {
      removeAuth: true,
      removeTls: false,
    });
    assert.deepEqual(out, ['250-child.test', '250-PIPELINING', '250 X-NOTHING']);
  });

  test('STARTTLS is added as a continuation line followed by X-NOTHING', () => {
    const out = rewriteEhlo(['250 child.test'], { removeAuth: false, removeTls: false, addTls: true });
    assert.deepEqual(out, ['250-child.test', '250-STARTTLS', '250 X-NOTHING']);
  });

  test("errata 6: the child's own STARTTLS line is kept, no filler, no duplicate", () => {
    const lines = ['250-child.test', '250-STARTTLS', '250 PIPELINING'];
    assert.deepEqual(rewriteEhlo(lines, { removeAuth: false, removeTls: false, addTls: true }), lines);
  });

  test('errata 7: always replaces both AUTH spellings with one line', () => {
    const out = rewriteEhlo(
      ['250-child.test', '250-AUTH LOGIN PLAIN', '250-AUTH=LOGIN PLAIN', '250 8BITMIME'],
      {
        removeAuth: false,
        removeTls: false,
        addAuth: 'LOGIN PLAIN',
      },
    );
    assert.deepEqual(out, ['250-child.test', '250-8BITMIME', '250 AUTH LOGIN PLAIN']);
  });

  test('AUTH and STARTTLS added together: AUTH first, STARTTLS never last', () => {
    const out = rewriteEhlo(['250 child.test'], {
      removeAuth: false,
      removeTls: false,
      addAuth: 'LOGIN PLAIN CRAM-MD5',
      addTls: true,
    });
    assert.deepEqual(out, [
      '250-child.test',
      '250-AUTH LOGIN PLAIN CRAM-MD5',
      '250-STARTTLS',
      '250 X-NOTHING',
    ]);
  });

  test('a refusal (not 250) passes unchanged', () => {
    const lines = ['554 go away'];
    assert.deepEqual(
      rewriteEhlo(lines, { removeAuth: true, removeTls: true, addAuth: 'LOGIN PLAIN' }),
      lines,
    );
  });

  // child AUTH × child STARTTLS × position × every edit levee can make
  const childVariants = [undefined, 'space', 'equals', 'both'] as const;
  const edits: [string, EhloEdit][] = [
    ['observe', { removeAuth: false, removeTls: false }],
    ['auth none', { removeAuth: true, removeTls: false }],
    ['tls none', { removeAuth: false, removeTls: true }],
    ['auth none + tls none', { removeAuth: true, removeTls: true }],
    ['always', { removeAuth: false, removeTls: false, addAuth: 'LOGIN PLAIN' }],
    [
      'always-encrypted + own TLS',
      { removeAuth: false, removeTls: false, addAuth: 'LOGIN PLAIN CRAM-MD5', addTls: true },
    ],
    ['own TLS only', { removeAuth: false, removeTls: false, addTls: true }],
    ['inside TLS, always', { removeAuth: false, removeTls: true, addAuth: 'LOGIN PLAIN' }],
  ];
  for (const auth of childVariants)
    for (const tls of [false, true])
      for (const authLast of [false, true])
        for (const [name, edit] of edits) {
          test(`child auth=${auth ?? 'no'} tls=${tls} authLast=${authLast} × ${name}`, () => {
            const child = childReply({ auth, tls, authLast });
            const out = rewriteEhlo(child, edit);
            assertWellFormed(out);
            const words = out.map((l) => l.slice(4));
            assert.equal(words[0], 'child.test');
            const authLines = words.filter((w) => /^AUTH[ =]/.test(w));
            if (edit.addAuth !== undefined) assert.deepEqual(authLines, [`AUTH ${edit.addAuth}`]);
            else if (edit.removeAuth) assert.deepEqual(authLines, []);
            else assert.equal(authLines.length, child.filter((l) => /^250.AUTH[ =]/.test(l)).length);
            const tlsLines = words.filter((w) => w === 'STARTTLS').length;
            assert.equal(tlsLines, edit.removeTls ? 0 : tls || edit.addTls ? 1 : 0);
            // nothing else is lost
            for (const w of ['PIPELINING', '8BITMIME']) assert.ok(words.includes(w));
          });
        }

  test('property: any 250 reply stays well-formed under any edit', () => {
    const line = fc.constantFrom(
      'PIPELINING',
      'AUTH LOGIN',
      'AUTH=PLAIN',
      'STARTTLS',
      'SIZE 1000',
      '8BITMIME',
    );
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 6 }),
        fc.boolean(),
        fc.boolean(),
        fc.option(fc.constantFrom('LOGIN PLAIN', 'LOGIN PLAIN CRAM-MD5'), { nil: undefined }),
        fc.boolean(),
        (rest, removeAuth, removeTls, addAuth, addTls) => {
          const all = ['host.test', ...rest];
          const reply = all.map((l, i) => (i === all.length - 1 ? '250 ' : '250-') + l);
          assertWellFormed(rewriteEhlo(reply, { removeAuth, removeTls, addAuth, addTls }));
        },
      ),
    );
  });
});

describe('advertisesAuth', () => {
  test('both spellings count, other replies do not', () => {
    assert.equal(advertisesAuth(['250-a', '250 AUTH LOGIN']), true);
    assert.equal(advertisesAuth(['250-a', '250-AUTH=PLAIN', '250 X']), true);
    assert.equal(advertisesAuth(['250-a', '250 AUTHX']), false);
    assert.equal(advertisesAuth(['502 no']), false);
  });
});
