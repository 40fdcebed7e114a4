import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DataScanner } from '../../src/relay/data';

/** Feeds `input` in the given chunk sizes; returns what reaches the child, whether it ended, and the rest. */
function scan(input: Buffer, sizes: number[] = [input.length]) {
  const s = new DataScanner();
  const out: Buffer[] = [];
  let pos = 0;
  let k = 0;
  while (pos < input.length) {
    const n = Math.max(1, sizes[k++ % sizes.length]);
    const r = s.push(input.subarray(pos, pos + n));
    out.push(r.out);
    pos += n;
    if (r.ended) {
      return {
        out: Buffer.concat(out).toString('latin1'),
        ended: true,
        rest: Buffer.concat([r.rest, input.subarray(pos)]).toString('latin1'),
        s,
      };
    }
  }
  return { out: Buffer.concat(out).toString('latin1'), ended: false, rest: '', s };
}
const b = (s: string) => Buffer.from(s, 'latin1');

describe('DataScanner: end of data', () => {
  test('a plain message ends at CRLF.CRLF and the rest is returned', () => {
    const r = scan(b('Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n'));
    assert.equal(r.out, 'Subject: x\r\n\r\nhello\r\n');
    assert.equal(r.ended, true);
    assert.equal(r.rest, 'QUIT\r\n');
  });

  test('an empty message: the terminator right after DATA', () => {
    const r = scan(b('.\r\n'));
    assert.deepEqual([r.out, r.ended, r.rest], ['', true, '']);
  });

  test('dot-stuffed lines pass unchanged', () => {
    const r = scan(b('..hidden\r\n..\r\n.x\r\n.\r\n'));
    assert.equal(r.out, '..hidden\r\n..\r\n.x\r\n');
    assert.equal(r.ended, true);
  });

  // The smuggling sequences of CVE-2023-51764..6 must never end DATA, and what follows them must
  // reach the child as content in a form it cannot read as an end.
  const smuggling: [string, string, string][] = [
    ['<LF>.<LF>', 'a\n.\nMAIL FROM:<evil@x>\r\n', 'a\r\n..\r\nMAIL FROM:<evil@x>\r\n'],
    ['<LF>.<CR><LF>', 'a\n.\r\nMAIL FROM:<evil@x>\r\n', 'a\r\n..\r\nMAIL FROM:<evil@x>\r\n'],
    ['<CR>.<CR>', 'a\r.\rMAIL FROM:<evil@x>\r\n', 'a\r.\rMAIL FROM:<evil@x>\r\n'],
    ['<CR><LF>.<LF>', 'a\r\n.\nMAIL FROM:<evil@x>\r\n', 'a\r\n..\r\nMAIL FROM:<evil@x>\r\n'],
    ['<CR><LF>.<CR>', 'a\r\n.\rMAIL FROM:<evil@x>\r\n', 'a\r\n..\rMAIL FROM:<evil@x>\r\n'],
  ];
  for (const [name, input, expected] of smuggling) {
    test(`${name} is content, not an end`, () => {
      const r = scan(b(input));
      assert.equal(r.ended, false);
      assert.equal(r.out, expected);
      assert.equal(r.s.sawBadDotLine || !input.includes('\n.'), true);
      // what reaches the child never contains an end-of-data sequence of any kind
      assert.doesNotMatch(r.out, /(^|\n)\.(\r?\n|\r)/);
    });
  }

  test('bare LF lines reach the child with CRLF', () => {
    const r = scan(b('one\ntwo\r\nthree\n.\r\n'));
    // the final `.` line follows a bare-LF line, so it is content; no end yet
    assert.equal(r.ended, false);
    assert.equal(r.out, 'one\r\ntwo\r\nthree\r\n..\r\n');
    assert.equal(r.s.sawBareLf, true);
  });
});

describe('DataScanner: chunk boundaries', () => {
  test('every split of a tricky input gives the same result as one chunk', () => {
    const input = b('x\r\n.\r\n');
    const whole = scan(input);
    for (let i = 1; i < input.length; i++) assert.deepEqual(scan(input, [i]).out, whole.out);
  });

  test('property: output and end do not depend on how the input is chunked', () => {
    const alphabet = fc.constantFrom('a', '.', '\r', '\n', '\r\n', '.\r\n', '\r\n.\r\n', 'x\n');
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
        (parts, sizes) => {
          const input = b(parts.join(''));
          const whole = scan(input);
          const split = scan(input, sizes);
          assert.equal(split.out, whole.out);
          assert.equal(split.ended, whole.ended);
          assert.equal(split.rest, whole.rest);
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('property: all-CRLF content passes byte for byte and ends exactly at CRLF.CRLF', () => {
    const line = fc.stringMatching(/^[^\r\n]{0,20}$/).filter((l) => l !== '.');
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
        const content = lines.map((l) => (l.startsWith('.') ? '.' + l : l) + '\r\n').join('');
        const r = scan(b(content + '.\r\nNEXT'));
        assert.equal(r.out, content);
        assert.equal(r.ended, true);
        assert.equal(r.rest, 'NEXT');
      }),
      { numRuns: 2000 },
    );
  });

  test('property: the child never receives a bare LF or a line that could end DATA', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = scan(Buffer.from(bytes));
        const out = r.out;
        // no LF without CR before it
        for (let i = 0; i < out.length; i++) if (out[i] === '\n') assert.equal(out[i - 1], '\r');
        // no end-of-data inside the content
        assert.equal(/\r\n\.\r\n/.test('\r\n' + out), false);
      }),
      { numRuns: 3000 },
    );
  });
});
