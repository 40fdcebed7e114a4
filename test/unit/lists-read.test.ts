import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readListLines, searchEntriesThenFiles, searchRdnsDirs, type ListLog } from '../../src/lists/read';
import { matchIpEntry } from '../../src/match/ip';
import { matchRdnsEntry } from '../../src/match/rdns';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'levee-lists-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

function recorder(): { log: ListLog; messages: string[] } {
  const messages: string[] = [];
  return { log: (level, message) => messages.push(`${level}: ${message}`), messages };
}

describe('list file rules (spec §4 intro, quirk 6)', () => {
  test('comments only at the very first byte, empty lines skipped, no trimming', () => {
    const p = file('rules', '# comment\n\n  # not a comment\nexample.com \n\texample.org\nlast');
    const { log, messages } = recorder();
    assert.deepEqual(readListLines(p, log), [
      { text: '  # not a comment', line: 3 },
      { text: 'example.com ', line: 4 },
      { text: '\texample.org', line: 5 },
      { text: 'last', line: 6 },
    ]);
    assert.deepEqual(messages, []);
  });

  test('CR and LF each end a line, so CRLF counts two lines', () => {
    assert.deepEqual(readListLines(file('cr', 'a\rb\rc'), recorder().log), [
      { text: 'a', line: 1 },
      { text: 'b', line: 2 },
      { text: 'c', line: 3 },
    ]);
    assert.deepEqual(readListLines(file('crlf', 'a\r\nb\r\n'), recorder().log), [
      { text: 'a', line: 1 },
      { text: 'b', line: 3 },
    ]);
  });

  test('a line longer than 65,535 bytes continues as the next line', () => {
    const long = 'x'.repeat(65535) + 'tail';
    const lines = readListLines(file('long', `${long}\nnext`), recorder().log);
    assert.deepEqual(
      lines?.map((l) => [l.text.length, l.line]),
      [
        [65535, 1],
        [4, 2],
        [4, 3],
      ],
    );
  });

  test('bytes are read as latin1 and text after a NUL is invisible', () => {
    const lines = readListLines(
      file('bytes', Buffer.from([0xe4, 0x0a, 0x61, 0x00, 0x62, 0x0a, 0x00, 0x63])),
      recorder().log,
    );
    assert.deepEqual(lines, [
      { text: '\xe4', line: 1 },
      { text: 'a', line: 2 },
    ]);
  });

  test('at most 65,536 lines, then a verbose notice', () => {
    const p = file('big', Array.from({ length: 70000 }, (_, i) => `l${i + 1}`).join('\n'));
    const { log, messages } = recorder();
    const lines = readListLines(p, log);
    assert.equal(lines?.length, 65536);
    assert.deepEqual(lines?.at(-1), { text: 'l65536', line: 65536 });
    assert.deepEqual(messages, [`verbose: ignoring file content past line 65536: ${p}`]);
  });

  test('a hit before the limit gives no notice', () => {
    const p = file('big2', Array.from({ length: 70000 }, (_, i) => `l${i + 1}`).join('\n'));
    const { log, messages } = recorder();
    assert.deepEqual(
      searchEntriesThenFiles([], [p], (c) => c === 'l10', log),
      { value: 'l10', file: p, line: 10 },
    );
    assert.deepEqual(messages, []);
  });

  test('a missing or unreadable file is an error and no match', (t) => {
    const missing = join(dir, 'nope');
    const { log, messages } = recorder();
    assert.equal(readListLines(missing, log), null);
    assert.equal(
      searchEntriesThenFiles([], [missing], () => true, log),
      null,
    );
    assert.deepEqual(messages, [
      `error: unable to open file for searching ${missing}: No such file or directory`,
      `error: unable to open file for searching ${missing}: No such file or directory`,
    ]);
    const underFile = join(file('plain', 'x'), 'sub');
    const n = recorder();
    assert.equal(readListLines(underFile, n.log), null);
    assert.deepEqual(n.messages, [`error: unable to open file for searching ${underFile}: Not a directory`]);
    if (process.getuid?.() === 0) {
      t.diagnostic('running as root: permission check skipped (root reads anything)');
      return;
    }
    const locked = file('locked', 'x');
    chmodSync(locked, 0o000);
    const r = recorder();
    assert.equal(readListLines(locked, r.log), null);
    assert.deepEqual(r.messages, [`error: unable to open file for searching ${locked}: Permission denied`]);
  });

  test('a directory reads as 65,536 failed lines, like fopen() on a directory', () => {
    const { log, messages } = recorder();
    assert.deepEqual(readListLines(dir, log), []);
    assert.deepEqual(messages, [`verbose: ignoring file content past line 65536: ${dir}`]);
  });

  test('files are re-read on every search', () => {
    const p = file('changing', 'a\n');
    assert.equal(
      searchEntriesThenFiles([], [p], (c) => c === 'b', recorder().log),
      null,
    );
    writeFileSync(p, 'a\nb\n');
    assert.deepEqual(
      searchEntriesThenFiles([], [p], (c) => c === 'b', recorder().log),
      { value: 'b', file: p, line: 2 },
    );
  });
});

describe('searchEntriesThenFiles', () => {
  test('entries first, then files in order, first hit wins', () => {
    const f1 = file('ips1', '# office\n10.0.0.0/8\n11.22.33\n');
    const f2 = file('ips2', '11.22.33.44\n');
    const client = { ip: '11.22.33.44', rdns: '' };
    const match = (e: string): boolean => matchIpEntry(e, client);
    const { log } = recorder();
    assert.deepEqual(searchEntriesThenFiles(['1.2.3.4', '11.22'], [f1, f2], match, log), { value: '11.22' });
    assert.deepEqual(searchEntriesThenFiles(['1.2.3.4'], [f1, f2], match, log), {
      value: '11.22.33',
      file: f1,
      line: 3,
    });
    assert.deepEqual(searchEntriesThenFiles([], [f2, f1], match, log), {
      value: '11.22.33.44',
      file: f2,
      line: 1,
    });
    assert.equal(searchEntriesThenFiles(['1.2.3.4', ''], [], match, log), null);
  });

  test('a missing file does not stop the search of the next one', () => {
    const good = file('rdns', '.example.com\n');
    const { log, messages } = recorder();
    const hit = searchEntriesThenFiles(
      [],
      [join(dir, 'missing'), good],
      (e) => matchRdnsEntry(e, 'mail.example.com'),
      log,
    );
    assert.deepEqual(hit, { value: '.example.com', file: good, line: 1 });
    assert.equal(messages.length, 1);
  });

  test('a custom open message (keyword files)', () => {
    const { log, messages } = recorder();
    searchEntriesThenFiles([], [join(dir, 'kw')], () => true, log, 'unable to open keywords file');
    assert.deepEqual(messages, [
      `error: unable to open keywords file ${join(dir, 'kw')}: No such file or directory`,
    ]);
  });
});

describe('searchRdnsDirs (spec §4.3)', () => {
  test('a file for the domain matches every name below it; any file type counts', () => {
    const tree = join(dir, 'tree-a');
    mkdirSync(join(tree, 'com/e/example'), { recursive: true });
    writeFileSync(join(tree, 'com/e/example/example.com'), '');
    mkdirSync(join(tree, 'net/e/example/mail.example.net'), { recursive: true }); // a directory also matches
    const other = join(dir, 'tree-b');
    mkdirSync(join(other, 'org/o'), { recursive: true });
    writeFileSync(join(other, 'org/o/org'), ''); // the whole TLD

    assert.deepEqual(searchRdnsDirs([tree], 'a.b.mail.example.com'), {
      dir: tree,
      path: `${tree}/com/e/example/example.com`,
    });
    assert.deepEqual(searchRdnsDirs([tree], 'mail.example.net'), {
      dir: tree,
      path: `${tree}/net/e/example/mail.example.net`,
    });
    assert.equal(searchRdnsDirs([tree], 'example.org'), null);
    assert.deepEqual(searchRdnsDirs([tree, other], 'www.example.org'), {
      dir: other,
      path: `${other}/org/o/org`,
    });
    assert.equal(searchRdnsDirs([tree], 'badexample.com'), null);
  });

  test('hostile names never probe outside the tree', () => {
    const tree = join(dir, 'rdns-hostile');
    mkdirSync(tree, { recursive: true });
    writeFileSync(join(dir, 'secret'), '');
    for (const name of ['..', '../secret', 'a/../../secret', '..secret', 'secret.', '.', '', 'x\0y']) {
      assert.equal(searchRdnsDirs([tree], name), null, JSON.stringify(name));
    }
  });
});
