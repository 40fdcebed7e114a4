// Fuzzing the parts that read bytes straight from the client: the command recogniser, the address
// parser, the DATA scanner and the log-line sanitiser. Each property states the contract a caller relies
// on (no exception, bounded time, output inside its documented alphabet and size) for arbitrary input.
// FUZZ_RUNS sets the number of cases per property (`npm run fuzz` runs many more than CI does).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { recognise, argumentOf, authUserFrom, stripCr, type Command } from '../../src/session/commands';
import { parseAddress, formatAddress, matchAddressEntry } from '../../src/match/address';
import { DataScanner } from '../../src/relay/data';
import { safeLine, MAX_LINE_BYTES } from '../../src/log/sanitize';

const RUNS = Number(process.env.FUZZ_RUNS) || 400;
/** Longest a single call on a bounded input may take; generous for a loaded CI machine. */
const CALL_MS = 250;

/** Runs `fn` and fails if it took longer than `ms`: a hang shows up as a slow case, not a dead runner. */
function timed<T>(what: string, fn: () => T, ms = CALL_MS): T {
  const started = performance.now();
  const value = fn();
  const took = performance.now() - started;
  assert.ok(took < ms, `${what} took ${took.toFixed(1)} ms`);
  return value;
}

const COMMANDS: readonly Command[] = [
  'helo',
  'ehlo',
  'auth',
  'starttls',
  'mail',
  'rcpt',
  'data',
  'quit',
  'rset',
  'other',
];

/** Text shaped like SMTP lines: verbs, brackets, quotes, routes, 8-bit and control bytes mixed in. */
const smtpish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'MAIL FROM:',
        'RCPT TO:',
        'mail from:',
        'DATA',
        'STARTTLS',
        'AUTH ',
        '<',
        '>',
        '@',
        ':',
        '"',
        '\\',
        '.',
        ',',
        ';',
        '[',
        ']',
        ' ',
        '\t',
        '\r',
        '\n',
        '\0',
        'prvs=',
        '=',
        '/',
        '(',
        ')',
        '\u00e9',
        '\u00ff',
        '\ud800',
        '\u2028',
      ),
      fc.string({ maxLength: 12 }),
      fc.string({ unit: 'binary', maxLength: 6 }),
    ),
    { maxLength: 80 },
  )
  .map((parts) => parts.join(''));

/** Bytes as levee reads them off the wire (latin1 decoding, as the session does). */
const wireLine = fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a).toString('latin1'));

const asciiUpper = (s: string): string => s.replace(/[a-z]+/g, (m) => m.toUpperCase());
const asciiLower = (s: string): string => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());

describe('fuzz: command recogniser', () => {
  test('recognise: always one of the known commands, and case does not matter', () => {
    fc.assert(
      fc.property(fc.oneof(smtpish, wireLine), (line) => {
        const c = timed('recognise', () => recognise(line));
        assert.ok(COMMANDS.includes(c), c);
        assert.equal(recognise(asciiUpper(line)), c);
        assert.equal(recognise(asciiLower(line)), c);
        const arg = argumentOf(line, c);
        assert.ok(arg.length <= line.length);
        if (c !== 'other') assert.ok(line.endsWith(arg));
      }),
      { numRuns: RUNS },
    );
  });

  test('only the ASCII verb counts: an 8-bit byte in the verb makes the line unknown', () => {
    const verbs = ['HELO', 'EHLO', 'AUTH', 'STARTTLS', 'MAIL FROM', 'RCPT TO', 'DATA', 'QUIT', 'RSET'];
    fc.assert(
      fc.property(
        fc.constantFrom(...verbs),
        fc.nat(),
        fc.integer({ min: 0x80, max: 0xff }),
        wireLine,
        (v, at, byte, rest) => {
          const i = at % v.length;
          const line = v.slice(0, i) + String.fromCharCode(byte) + v.slice(i + 1) + rest;
          assert.equal(recognise(line), 'other', JSON.stringify(line));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('stripCr removes at most one CR, from the end only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (a) => {
        const b = Buffer.from(a);
        const s = stripCr(b);
        assert.ok(b.subarray(0, s.length).equals(s));
        assert.ok(b.length - s.length <= 1);
        if (s.length < b.length) assert.equal(b[b.length - 1], 13);
      }),
      { numRuns: RUNS },
    );
  });

  test('authUserFrom: printable ASCII without spaces, at most 255 characters, whatever the client sent', () => {
    const mechanism = fc.constantFrom('PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2', '');
    const response = fc.oneof(
      wireLine,
      fc.uint8Array({ maxLength: 900 }).map((a) => Buffer.from(a).toString('base64')),
    );
    fc.assert(
      fc.property(mechanism, response, (m, r) => {
        const user = timed('authUserFrom', () => authUserFrom(m, r));
        assert.match(user, /^[\x21-\x7e]{0,255}$/);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: address parser', () => {
  test('parseAddress: never throws; parts are printable ASCII, lower-case, at most 511 characters', () => {
    fc.assert(
      fc.property(fc.oneof(smtpish, wireLine), (line) => {
        const a = timed('parseAddress', () => parseAddress(line));
        if (a === null) return;
        for (const part of [a.local, a.domain]) {
          assert.ok(part.length <= 511, `part of ${part.length} characters`);
          assert.match(part, /^[\x20-\x7e]*$/);
          assert.doesNotMatch(part, /[A-Z]/);
        }
        // the log form is what reaches a log line: it must not be able to break one
        const formatted = formatAddress(a);
        assert.doesNotMatch(formatted, /[\r\n\0]/);
        assert.equal(typeof matchAddressEntry('@' + a.domain, formatted), 'boolean');
      }),
      { numRuns: RUNS },
    );
  });

  test('parseAddress is deterministic and ignores the verb case', () => {
    fc.assert(
      fc.property(smtpish, (rest) => {
        assert.deepEqual(parseAddress('MAIL FROM:' + rest), parseAddress('mail from:' + rest));
      }),
      { numRuns: RUNS },
    );
  });

  // Shapes that made spamdyke's C parser overflow or recurse (§9.1): long parts, BATV, source routes.
  const hostile: [string, string][] = [
    ['a 100 KB local part', 'MAIL FROM:<' + 'a'.repeat(100_000) + '@example.org>'],
    ['a 100 KB domain', 'MAIL FROM:<a@' + 'b.'.repeat(50_000) + 'org>'],
    ['a 100 KB quoted local part', 'MAIL FROM:<"' + ' \\"'.repeat(33_000) + '"@x.org>'],
    ['20,000 source-route hops', 'RCPT TO:<' + '@a:'.repeat(20_000) + 'u@x.org>'],
    ['BATV with 10,000 equals signs', 'MAIL FROM:<prvs=' + '='.repeat(10_000) + '@x.org>'],
    ['BATV truncated at the limit', 'MAIL FROM:<prvs=' + 'x'.repeat(1030) + '=fred@x.org>'],
    ['50,000 angle brackets', 'MAIL FROM:' + '<'.repeat(25_000) + '>'.repeat(25_000)],
    ['only colons', ':'.repeat(100_000)],
  ];
  for (const [name, line] of hostile) {
    test(`a hostile address: ${name}`, () => {
      const a = timed(name, () => parseAddress(line), 1000);
      if (a) assert.ok(a.local.length <= 511 && a.domain.length <= 511);
    });
  }
});

// ---- DATA scanner ----------------------------------------------------------------------------------

/** Feeds `input` to a fresh scanner in chunks of the given sizes (cycled). */
function scanAll(input: Buffer, sizes: number[]) {
  const s = new DataScanner();
  const out: Buffer[] = [];
  let pos = 0;
  let k = 0;
  while (pos < input.length) {
    const n = Math.max(1, sizes[k++ % sizes.length] ?? 1);
    const r = s.push(input.subarray(pos, pos + n));
    out.push(r.out);
    pos += n;
    if (r.ended)
      return { out: Buffer.concat(out), ended: true, rest: Buffer.concat([r.rest, input.subarray(pos)]) };
  }
  return { out: Buffer.concat(out), ended: false, rest: Buffer.alloc(0) };
}

/** DATA content built from the bytes that matter to line and end-of-data recognition. */
const dataBytes = fc
  .array(
    fc.oneof(
      fc.constantFrom('\r', '\n', '.', '\r\n', '\r\n.\r\n', '\n.\n', '.\r', 'x', 'MAIL FROM:<e@x>'),
      fc.string({ maxLength: 5 }),
    ),
    {
      maxLength: 60,
    },
  )
  .map((parts) => Buffer.from(parts.join(''), 'latin1'));
const chunkSizes = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 });

describe('fuzz: DATA scanner', () => {
  test('ends exactly at the first CRLF.CRLF (the DATA line counts as the first CRLF), in any chunking', () => {
    fc.assert(
      fc.property(dataBytes, chunkSizes, (input, sizes) => {
        const r = timed('DataScanner', () => scanAll(input, sizes));
        const framed = Buffer.concat([Buffer.from('\r\n'), input]);
        const end = framed.indexOf('\r\n.\r\n');
        assert.equal(r.ended, end >= 0);
        if (end >= 0)
          assert.ok(r.rest.equals(framed.subarray(end + 5)), 'the bytes after the end are returned');
      }),
      { numRuns: RUNS },
    );
  });

  test('chunk boundaries never change what reaches the child', () => {
    fc.assert(
      fc.property(dataBytes, chunkSizes, (input, sizes) => {
        const whole = scanAll(input, [input.length || 1]);
        const pieces = scanAll(input, sizes);
        assert.ok(whole.out.equals(pieces.out));
        assert.equal(whole.ended, pieces.ended);
        assert.ok(whole.rest.equals(pieces.rest));
      }),
      { numRuns: RUNS },
    );
  });

  test('what reaches the child has no bare LF and no line a lenient reader could take for the end', () => {
    fc.assert(
      fc.property(dataBytes, chunkSizes, (input, sizes) => {
        const { out } = scanAll(input, sizes);
        const text = '\r\n' + out.toString('latin1');
        assert.doesNotMatch(text, /[^\r]\n/, 'bare LF forwarded');
        // a downstream that ends lines at LF and drops any CRs before it must still see no lone "."
        const lines = text.split('\n').slice(0, -1);
        for (const line of lines) assert.notEqual(line.replace(/\r+$/, ''), '.', JSON.stringify(text));
      }),
      { numRuns: RUNS },
    );
  });

  test('a 2 MB body in 7-byte to 64 KB chunks streams in linear time', () => {
    const body = Buffer.from('line\r\n.dot\n\r\nx'.repeat(150_000) + '\r\n.\r\n', 'latin1');
    for (const size of [65536, 997, 7]) {
      const r = timed(`2 MB in ${size}-byte chunks`, () => scanAll(body, [size]), 5000);
      assert.equal(r.ended, true);
    }
  });
});

describe('fuzz: log lines', () => {
  test('safeLine: one line, no control or separator characters, within MAX_LINE_BYTES', () => {
    const anyText = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 3000 }),
      smtpish,
      fc.string({ unit: 'grapheme', maxLength: 2000 }),
    );
    fc.assert(
      fc.property(anyText, fc.integer({ min: 20, max: MAX_LINE_BYTES }), (text, max) => {
        const line = timed('safeLine', () => safeLine(text, max));
        assert.ok(Buffer.byteLength(line) <= max, `${Buffer.byteLength(line)} > ${max}`);
        assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
      }),
      { numRuns: RUNS },
    );
  });

  test('safeLine on a 1 MB hostile line is fast and capped', () => {
    const huge = '\0\r\n\u2028\ud800'.repeat(200_000);
    const line = timed('safeLine 1 MB', () => safeLine(huge), 2000);
    assert.ok(Buffer.byteLength(line) <= MAX_LINE_BYTES);
  });
});
