// HeaderGate (spec §4.6, §2.4 DATA): holds the headers, matches unfolded header lines, releases the
// held bytes at the end of the headers, and never holds more than 512 KiB.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HeaderGate,
  MAX_HELD_BYTES,
  accumulateHeaderPatterns,
  headerFilterEnabled,
} from '../../src/filters/header-blacklist';
import { options, recordingLog } from './filters-connect-helpers';

function gate(argv: string[]) {
  const log = recordingLog();
  return { g: new HeaderGate(options(argv), log.logger), lines: log.lines };
}

/** Feeds `message` in chunks of `size`; returns everything released and the rejection, if any. */
function feed(g: HeaderGate, message: Buffer, size: number) {
  const out: Buffer[] = [];
  let rejection;
  for (let i = 0; i < message.length && !rejection; i += size) {
    const r = g.push(message.subarray(i, i + size));
    out.push(r.release);
    rejection = r.rejection;
  }
  if (!rejection) {
    const r = g.end();
    out.push(r.release);
    rejection = r.rejection;
  }
  return { released: Buffer.concat(out), rejection };
}

const MESSAGE = Buffer.from(
  'From: a@example.org\r\nSubject: Buy cheap\r\n  VIAGRA now\r\nTo: b@example.org\r\n\r\nbody line\r\nSubject: viagra in body\r\n',
  'latin1',
);

describe('HeaderGate', () => {
  test('a folded header matches once unfolded; nothing is released; 554 with the spec text', () => {
    const { g, lines } = gate(['--header-blacklist-entry', 'subject:*viagra*']);
    const r = feed(g, MESSAGE, 7);
    assert.equal(r.released.length, 0);
    assert.ok(r.rejection);
    assert.equal(r.rejection.code, 554);
    assert.equal(r.rejection.text, 'Refused. Your message has been blocked due to its content.');
    assert.equal(r.rejection.logCode, 'DENIED_HEADER_BLACKLISTED');
    assert.equal(r.rejection.reason, 'subject:*viagra*');
    assert.ok(
      lines.includes(
        'verbose FILTER_HEADER_BLACKLIST header: Subject: Buy cheap  VIAGRA now entry: subject:*viagra*',
      ),
      lines.join('\n'),
    );
    // after the match the gate stays shut
    assert.deepEqual(g.push(Buffer.from('more\r\n')).release.length, 0);
    assert.ok(g.end().rejection);
  });

  test('no match: every byte is released unchanged, the body streams after the blank line', () => {
    const { g } = gate(['--header-blacklist-entry', 'subject:*cialis*']);
    const first = g.push(MESSAGE.subarray(0, 30));
    assert.equal(first.release.length, 0, 'headers are held');
    const second = g.push(MESSAGE.subarray(30));
    assert.ok(second.release.equals(MESSAGE.subarray(0)), 'released at the end of the headers');
    const body = Buffer.from('more body\r\n');
    assert.ok(g.push(body).release.equals(body));
    assert.equal(g.end().release.length, 0);
  });

  test('a body line that looks like a header is not checked', () => {
    const { g } = gate(['--header-blacklist-entry', 'subject:*in body*']);
    assert.equal(feed(g, MESSAGE, 1000).rejection, undefined);
  });

  test('property: any chunking releases exactly the message when nothing matches', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), (size) => {
        const { g } = gate(['--header-blacklist-entry', 'x-nothing:*']);
        const r = feed(g, MESSAGE, size);
        assert.equal(r.rejection, undefined);
        assert.ok(r.released.equals(MESSAGE));
      }),
    );
  });

  test('a message that is all headers is checked at the end (last header included)', () => {
    const { g } = gate(['--header-blacklist-entry', 'to:*@spam.test']);
    assert.equal(g.push(Buffer.from('From: x@y\r\nTo: z@spam.test\r\n')).release.length, 0);
    assert.ok(g.end().rejection);
    const other = gate(['--header-blacklist-entry', 'to:*@spam.test']).g;
    other.push(Buffer.from('From: x@y\r\nTo: z@ok.test\r\n'));
    const end = other.end();
    assert.equal(end.rejection, undefined);
    assert.equal(end.release.toString(), 'From: x@y\r\nTo: z@ok.test\r\n');
  });

  test('patterns from a file, reported as file(line) and file:line; entries without ":" are ignored', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-header-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'headers');
    writeFileSync(file, '# comment\nno colon here\nx-mailer: *bulk*\n');
    const { g, lines } = gate(['--header-blacklist-entry', 'subject', '--header-blacklist-file', file]);
    const r = feed(g, Buffer.from('Subject: hi\r\nX-Mailer: BulkSender 2\r\n\r\nbody\r\n'), 5);
    assert.equal(r.rejection?.reason, `${file}:3`);
    assert.ok(lines.some((l) => l.endsWith(`file: ${file}(3)`)));
  });

  test('a dot-stuffed header line is matched without the extra dot', () => {
    const { g } = gate(['--header-blacklist-entry', '.hidden: *']);
    assert.ok(feed(g, Buffer.from('..hidden: yes\r\n\r\nbody\r\n'), 3).rejection);
  });

  test('never holds more than 512 KiB; a match after that still refuses the message', () => {
    const { g } = gate(['--header-blacklist-entry', 'x-late: *']);
    const line = Buffer.from(`X-Filler: ${'a'.repeat(1000)}\r\n`);
    let released = 0;
    let held = 0;
    let pushed = 0;
    while (pushed < MAX_HELD_BYTES * 2) {
      const r = g.push(line);
      pushed += line.length;
      released += r.release.length;
      held = pushed - released;
      assert.ok(held <= MAX_HELD_BYTES, `held ${held} bytes`);
    }
    assert.ok(released > 0);
    const late = g.push(Buffer.from('X-Late: yes\r\n\r\n'));
    assert.ok(late.rejection, 'the session cuts the child off before the dot');
  });

  test('one endless header line is released past the limit and does not grow memory', () => {
    const { g } = gate(['--header-blacklist-entry', 'subject:*']);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let released = 0;
    for (let i = 0; i < 20; i++) released += g.push(chunk).release.length;
    assert.ok(20 * chunk.length - released <= MAX_HELD_BYTES);
  });
});

describe('helpers', () => {
  test('headerFilterEnabled', () => {
    assert.equal(headerFilterEnabled(options([])), false);
    assert.equal(headerFilterEnabled(options(['--header-blacklist-entry', 'a:b'])), true);
    assert.equal(headerFilterEnabled(options(['--header-blacklist-file', '/x'])), true);
  });
  test('accumulateHeaderPatterns: config-dir patterns add up for the message', () => {
    const base = options(['--header-blacklist-entry', 'a:*']);
    const r1 = options(['--header-blacklist-entry', 'a:*', '--header-blacklist-entry', 'b:*']);
    const r2 = options(['--header-blacklist-file', '/f']);
    const all = accumulateHeaderPatterns(accumulateHeaderPatterns(base, r1), r2);
    assert.deepEqual(all['header-blacklist-entry'], ['a:*', 'b:*']);
    assert.deepEqual(all['header-blacklist-file'], ['/f']);
  });
});
