// The graylist filter and tree (spec §4.8, quirk 9) on a scratch directory; ages are set with utimes.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { graylist } from '../../src/filters/graylist';
import { checkGraylist } from '../../src/graylist/decide';
import { entryKey } from '../../src/graylist/paths';
import { pruneGraylistRoot } from '../../src/graylist/prune';
import { facts, filterInput, options, recordingLog } from './filters-connect-helpers';

function scratch(t: { after(f: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'levee-graylist-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the filter once for a recipient; returns the verdict and the log lines. */
function run(argv: string[], recipient: string, sender: string, ip = '11.22.33.44', rdns = '') {
  const log = recordingLog();
  const input = { ...filterInput(options(argv), facts(ip, rdns), log, undefined, sender), recipient };
  const verdict = graylist.run(input);
  // graylisting is file work only: its verdict is synchronous
  if (verdict instanceof Promise) throw new Error('graylist verdict should not be a promise');
  return { verdict, lines: log.lines };
}

function age(path: string, secondsAgo: number): void {
  const t = Date.now() / 1000 - secondsAgo;
  utimesSync(path, t, t);
}

/** every file and directory below dir, relative */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out.push(relative(dir, p));
    if (statSync(p).isDirectory()) out.push(...walk(p).map((x) => join(name, x)));
  }
  return out;
}

describe('graylist filter, level always', () => {
  test('first try graylisted (421, entry created empty), again after min-secs passes and records ip rdns', (t) => {
    const g = scratch(t);
    mkdirSync(join(g, 'example.org'));
    const argv = ['--graylist-level', 'always', '--graylist-dir', g, '--graylist-min-secs', '300'];
    const first = run(argv, 'bob@example.org', 'alice@example.net', '11.22.33.44', 'mail.example.net');
    assert.equal(first.verdict.kind, 'reject');
    const entry = join(g, 'example.org/bob/example.net/alice');
    if (first.verdict.kind === 'reject') {
      assert.equal(first.verdict.rejection.code, 421);
      assert.equal(first.verdict.rejection.text, 'Your address has been graylisted. Try again later.');
      assert.equal(first.verdict.rejection.logCode, 'DENIED_GRAYLISTED');
      assert.equal(first.verdict.rejection.reason, entry);
    }
    assert.ok(
      first.lines.includes(
        `verbose FILTER_GRAYLISTED sender: alice@example.net recipient: bob@example.org path: ${entry}`,
      ),
    );
    assert.equal(readFileSync(entry, 'utf8'), '');
    assert.equal(statSync(entry).mode & 0o777, 0o600);
    assert.equal(statSync(join(g, 'example.org/bob')).mode & 0o777, 0o700);

    // too early: still graylisted, file still empty
    assert.equal(run(argv, 'bob@example.org', 'alice@example.net').verdict.kind, 'reject');
    age(entry, 301);
    assert.equal(
      run(argv, 'bob@example.org', 'alice@example.net', '11.22.33.44', 'mail.example.net').verdict.kind,
      'continue',
    );
    assert.equal(readFileSync(entry, 'utf8'), '11.22.33.44 mail.example.net\n');
    // the same client again: no duplicate line; another one is added; a non-empty entry passes at once
    run(argv, 'bob@example.org', 'alice@example.net', '11.22.33.44', 'mail.example.net');
    assert.equal(run(argv, 'bob@example.org', 'alice@example.net', '55.66.77.88').verdict.kind, 'continue');
    assert.equal(readFileSync(entry, 'utf8'), '11.22.33.44 mail.example.net\n55.66.77.88\n');
  });

  test('the pass path only refreshes mtime when a new line is written (quirk 9)', (t) => {
    const g = scratch(t);
    mkdirSync(join(g, 'example.org'));
    const argv = ['--graylist-level', 'always', '--graylist-dir', g, '--graylist-max-secs', '1000'];
    run(argv, 'bob@example.org', 'a@x.test');
    const entry = join(g, 'example.org/bob/x.test/a');
    age(entry, 500);
    run(argv, 'bob@example.org', 'a@x.test'); // writes the line: mtime now
    const fresh = statSync(entry).mtimeMs;
    assert.ok(Date.now() - fresh < 5000);
    age(entry, 500);
    const before = statSync(entry).mtimeMs;
    assert.equal(run(argv, 'bob@example.org', 'a@x.test').verdict.kind, 'continue');
    assert.equal(statSync(entry).mtimeMs, before);
  });

  test('max-secs: an expired entry is truncated and the sender graylisted again', (t) => {
    const g = scratch(t);
    mkdirSync(join(g, 'example.org'));
    const argv = ['--graylist-level', 'always', '--graylist-dir', g, '--graylist-max-secs', '1000'];
    const entry = join(g, 'example.org/bob/x.test/a');
    mkdirSync(join(g, 'example.org/bob/x.test'), { recursive: true });
    writeFileSync(entry, '1.2.3.4\n');
    age(entry, 1001);
    const r = run(argv, 'bob@example.org', 'a@x.test');
    assert.equal(r.verdict.kind, 'reject');
    assert.equal(readFileSync(entry, 'utf8'), '');
    assert.ok(Date.now() - statSync(entry).mtimeMs < 5000);
  });

  test('no domain directory: no graylisting, nothing created', (t) => {
    const g = scratch(t);
    const r = run(['--graylist-level', 'always', '--graylist-dir', g], 'bob@example.org', 'a@x.test');
    assert.equal(r.verdict.kind, 'continue');
    assert.deepEqual(readdirSync(g), []);
  });

  test('null sender uses _none/_none; the old `user/_none` file is converted keeping its age', (t) => {
    const g = scratch(t);
    mkdirSync(join(g, 'example.org/bob'), { recursive: true });
    const old = join(g, 'example.org/bob/_none');
    writeFileSync(old, '');
    age(old, 1000);
    const argv = ['--graylist-level', 'always', '--graylist-dir', g, '--graylist-min-secs', '300'];
    assert.equal(run(argv, 'bob@example.org', '').verdict.kind, 'continue');
    assert.ok(statSync(join(g, 'example.org/bob/_none')).isDirectory());
    assert.equal(readFileSync(join(g, 'example.org/bob/_none/_none'), 'utf8'), '11.22.33.44\n');
  });

  test('a pre-4.0 `user/sender@domain` entry is moved into place with its age', (t) => {
    const g = scratch(t);
    mkdirSync(join(g, 'example.org/bob'), { recursive: true });
    const old = join(g, 'example.org/bob/a@x.test');
    writeFileSync(old, '');
    age(old, 1000);
    const argv = ['--graylist-level', 'always', '--graylist-dir', g, '--graylist-min-secs', '300'];
    assert.equal(run(argv, 'bob@example.org', 'a@x.test').verdict.kind, 'continue');
    assert.equal(existsSync(old), false);
    assert.ok(existsSync(join(g, 'example.org/bob/x.test/a')));
  });

  test('exceptions are not graylisted (ip entry, rdns entry, rdns dir)', (t) => {
    const g = scratch(t);
    mkdirSync(join(g, 'example.org'));
    const base = ['--graylist-level', 'always', '--graylist-dir', g];
    const ex = (extra: string[], ip: string, rdns: string) =>
      run([...base, ...extra], 'bob@example.org', 'a@x.test', ip, rdns).verdict.kind;
    assert.equal(ex(['--graylist-exception-ip-entry', '11.22.33'], '11.22.33.44', ''), 'continue');
    assert.equal(
      ex(['--graylist-exception-rdns-entry', '.example.net'], '1.2.3.4', 'mx.example.net'),
      'continue',
    );
    const rd = join(g, '..', `${g.split('/').pop()}-rdns`);
    mkdirSync(join(rd, 'net/e/example'), { recursive: true });
    t.after(() => rmSync(rd, { recursive: true, force: true }));
    writeFileSync(join(rd, 'net/e/example/example.net'), '');
    assert.equal(ex(['--graylist-exception-rdns-dir', rd], '1.2.3.4', 'mx.example.net'), 'continue');
    assert.equal(ex(['--graylist-exception-ip-entry', '11.22.33'], '9.9.9.9', 'mx.other.test'), 'reject');
  });

  test('a graylist tree that cannot be used logs an error and lets the mail through', (t) => {
    const g = scratch(t);
    mkdirSync(join(g, 'example.org/bob/x.test/a'), { recursive: true }); // a directory where the entry goes
    const r = run(['--graylist-level', 'always', '--graylist-dir', g], 'bob@example.org', 'a@x.test');
    assert.equal(r.verdict.kind, 'continue');
    assert.ok(r.lines.some((l) => l.startsWith('error graylist entry is not a file')));
  });

  test('a symlink planted inside the tree is not walked into', (t) => {
    const g = scratch(t);
    const outside = scratch(t);
    mkdirSync(join(g, 'example.org'));
    symlinkSync(outside, join(g, 'example.org/bob'));
    const r = run(['--graylist-level', 'always', '--graylist-dir', g], 'bob@example.org', 'a@x.test');
    assert.equal(r.verdict.kind, 'continue');
    assert.deepEqual(readdirSync(outside), []);
  });
});

describe('graylist levels', () => {
  test('only: just the exceptions are graylisted', (t) => {
    const g = scratch(t);
    mkdirSync(join(g, 'example.org'));
    const argv = [
      '--graylist-level',
      'only',
      '--graylist-dir',
      g,
      '--graylist-exception-ip-entry',
      '11.22.33.44',
    ];
    assert.equal(run(argv, 'bob@example.org', 'a@x.test', '11.22.33.44').verdict.kind, 'reject');
    assert.equal(run(argv, 'bob@example.org', 'a@x.test', '11.22.33.45').verdict.kind, 'continue');
  });

  test('always-create-dir creates the domain directory only for a local domain', (t) => {
    const g = scratch(t);
    const hosts = join(scratch(t), 'rcpthosts');
    writeFileSync(hosts, 'example.org\n');
    const argv = [
      '--graylist-level',
      'always-create-dir',
      '--graylist-dir',
      g,
      '--qmail-rcpthosts-file',
      hosts,
    ];
    assert.equal(run(argv, 'bob@elsewhere.test', 'a@x.test').verdict.kind, 'continue');
    assert.equal(existsSync(join(g, 'elsewhere.test')), false);
    assert.equal(run(argv, 'bob@example.org', 'a@x.test').verdict.kind, 'reject');
    assert.equal(statSync(join(g, 'example.org')).mode & 0o777, 0o700);
  });

  test('only-create-dir: exceptions only, creating the directory for a local domain', (t) => {
    const g = scratch(t);
    const hosts = join(scratch(t), 'rcpthosts');
    writeFileSync(hosts, 'example.org\n');
    const argv = [
      ...['--graylist-level', 'only-create-dir', '--graylist-dir', g, '--qmail-rcpthosts-file', hosts],
      ...['--graylist-exception-rdns-entry', 'dyn.example.net'],
    ];
    assert.equal(
      run(argv, 'bob@example.org', 'a@x.test', '1.2.3.4', 'mx.example.net').verdict.kind,
      'continue',
    );
    assert.equal(existsSync(join(g, 'example.org')), false);
    assert.equal(
      run(argv, 'bob@example.org', 'a@x.test', '1.2.3.4', 'dyn.example.net').verdict.kind,
      'reject',
    );
  });

  test('creation uses the first graylist-dir where mkdir succeeds; lookup the first that has it', (t) => {
    const base = scratch(t);
    const missingParent = join(base, 'no/such/dir');
    const g2 = join(base, 'g2');
    const g3 = join(base, 'g3');
    mkdirSync(g2);
    mkdirSync(g3);
    const hosts = join(base, 'rcpthosts');
    writeFileSync(hosts, 'example.org\n');
    const argv = [
      ...['--graylist-level', 'always-create-dir', '--qmail-rcpthosts-file', hosts],
      ...['--graylist-dir', missingParent, '--graylist-dir', g2, '--graylist-dir', g3],
    ];
    assert.equal(run(argv, 'bob@example.org', 'a@x.test').verdict.kind, 'reject');
    assert.ok(existsSync(join(g2, 'example.org/bob/x.test/a')));
    assert.equal(existsSync(join(g3, 'example.org')), false);
  });

  test('enabled only with a level other than none and a graylist-dir', () => {
    assert.equal(graylist.enabled(options(['--graylist-level', 'always'])), false);
    assert.equal(graylist.enabled(options(['--graylist-dir', '/tmp'])), false);
    assert.equal(graylist.enabled(options(['--graylist-level', 'always', '--graylist-dir', '/tmp'])), true);
  });
});

describe('hostile addresses stay inside the root', () => {
  const hostile = [
    ['../../etc/x@example.org', 'a@x.test'],
    ['bob@example.org', '../../../@../..'],
    ['bob@example.org', '/etc/passwd@/tmp'],
    ['bob@example.org', 'a\0b@x\0y'],
    ['bob@example.org', `${'a'.repeat(600)}@${'b'.repeat(600)}`],
    ['bob@example.org', '\u00fcml\u00e4ut@\u0441\u0430\u0439\u0442.\u0440\u0444'],
    ['bob@example.org', '.@..'],
    ['..@example.org', '..@..'],
  ];
  for (const [recipient, sender] of hostile) {
    test(`${JSON.stringify(recipient).slice(0, 40)} from ${JSON.stringify(sender).slice(0, 40)}`, (t) => {
      const base = scratch(t);
      const g = join(base, 'root');
      mkdirSync(join(g, 'example.org'), { recursive: true });
      const r = run(['--graylist-level', 'always', '--graylist-dir', g], recipient, sender);
      assert.equal(r.verdict.kind, 'reject');
      assert.deepEqual(readdirSync(base), ['root']);
      const entries = walk(join(g, 'example.org'));
      assert.equal(entries.length, 3, entries.join(', '));
      for (const e of entries)
        for (const part of e.split('/')) assert.ok(part !== '..' && part !== '.' && part.length < 255);
    });
  }
});

describe('prune helper', () => {
  test('removes entries older than max-secs and empty dirs, keeps domain dirs and young entries', (t) => {
    const g = scratch(t);
    mkdirSync(join(g, 'example.org'));
    mkdirSync(join(g, 'empty.test'));
    const key = (s: string) => entryKey('bob@example.org', s)!;
    const now = Math.floor(Date.now() / 1000);
    for (const s of ['old@x.test', 'young@y.test']) {
      checkGraylist({
        roots: [g],
        key: key(s),
        mayCreateDomain: () => false,
        minSecs: 0,
        maxSecs: 0,
        ip: '1.2.3.4',
        rdns: '',
      });
    }
    age(join(g, 'example.org/bob/x.test/old'), 5000);
    writeFileSync(join(g, 'example.org/bob/y.test/.young.lock'), '');
    age(join(g, 'example.org/bob/y.test/.young.lock'), 100);
    const dry = pruneGraylistRoot(g, { maxSecs: 1000, now, dryRun: true });
    assert.equal(dry.removedEntries, 1);
    assert.ok(existsSync(join(g, 'example.org/bob/x.test/old')));
    const r = pruneGraylistRoot(g, { maxSecs: 1000, now });
    assert.deepEqual([r.removedEntries, r.removedDirs, r.removedStale, r.keptEntries], [1, 1, 1, 1]);
    assert.deepEqual(walk(g).sort(), [
      'empty.test',
      'example.org',
      'example.org/bob',
      'example.org/bob/y.test',
      'example.org/bob/y.test/young',
    ]);
  });
});
