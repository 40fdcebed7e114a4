import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, pruneGraylist } from '../../utils/graylist-prune';
import type { UtilIO } from '../../utils/common';

const NOW = Date.now();
const HOUR = 3600;

function tree(t: { after(fn: () => void): void }) {
  const base = mkdtempSync(join(tmpdir(), 'levee-prune-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, 'graylist');
  const entry = (rel: string, ageSecs: number) => {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, '');
    const when = (NOW - ageSecs * 1000) / 1000;
    utimesSync(p, when, when);
    return p;
  };
  return { base, root, entry };
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const sink: UtilIO = {
    out: (s) => out.push(String(s)),
    err: (s) => err.push(s),
    readStdin: async () => Buffer.alloc(0),
  };
  return { sink, out: () => out.join(''), err: () => err.join('') };
}

describe('levee-graylist-prune', () => {
  test('removes old entries and emptied directories, keeps fresh ones and domain directories', (t) => {
    const { root, entry } = tree(t);
    const old = entry('example.org/bob/sender.test/alice', 10 * HOUR);
    const fresh = entry('example.org/bob/other.test/carol', 60);
    const lonely = entry('example.org/eve/spam.test/x', 10 * HOUR);
    mkdirSync(join(root, 'example.net'));
    const r = pruneGraylist(root, NOW - 5 * HOUR * 1000, false);
    assert.deepEqual(r.removedFiles.sort(), [old, lonely].sort());
    assert.equal(r.kept, 1);
    assert.equal(existsSync(fresh), true);
    assert.equal(existsSync(join(root, 'example.org/bob/sender.test')), false);
    assert.equal(existsSync(join(root, 'example.org/eve')), false);
    assert.equal(existsSync(join(root, 'example.org')), true);
    assert.equal(
      existsSync(join(root, 'example.net')),
      true,
      'an empty domain directory keeps graylisting on',
    );
  });

  test('--dry-run removes nothing and lists what it would remove', (t) => {
    const { root, entry } = tree(t);
    const old = entry('example.org/bob/sender.test/alice', 10 * HOUR);
    const o = io();
    assert.equal(main(['--dry-run', String(5 * HOUR), root], o.sink, NOW), 0);
    assert.equal(existsSync(old), true);
    assert.match(o.out(), new RegExp(`would remove ${old.replace(/[.]/g, '\\.')}\n`));
    assert.match(o.out(), /1 entries would remove, 0 kept/);
  });

  test('never follows a symlink out of the tree, never removes it', (t) => {
    const { base, root, entry } = tree(t);
    entry('example.org/bob/sender.test/alice', 10 * HOUR);
    const outside = join(base, 'precious');
    mkdirSync(join(outside, 'u/d'), { recursive: true });
    writeFileSync(join(outside, 'u/d/file'), '');
    utimesSync(join(outside, 'u/d/file'), 0, 0);
    symlinkSync(outside, join(root, 'linked.org'));
    symlinkSync(join(outside, 'u/d/file'), join(root, 'example.org/bob/sender.test/link'));
    const o = io();
    assert.equal(main(['1', root], o.sink, NOW), 0);
    assert.equal(existsSync(join(outside, 'u/d/file')), true);
    assert.match(o.err(), /not part of a graylist tree, left alone: .*linked\.org/);
    assert.match(o.err(), /left alone: .*sender\.test\/link/);
  });

  test('bad arguments fail with status 2; a missing root with status 1', () => {
    assert.equal(main([], io().sink, NOW), 2);
    assert.equal(main(['soon', '/tmp'], io().sink, NOW), 2);
    assert.equal(main(['--force', '1', '/tmp'], io().sink, NOW), 2);
    const o = io();
    assert.equal(main(['1', '/nonexistent/graylist'], o.sink, NOW), 1);
    assert.match(o.err(), /ERROR: \/nonexistent\/graylist: /);
  });
});
