// `levee graylist show`: the entries of a real graylist tree, with age and passes, control
// characters in names made printable, lock files and odd depths ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDirFor } from '../harness';
import { listEntries } from '../../src/stats/graylist';

test('listEntries walks domain/user/sender-domain/sender-user files only', (t) => {
  const root = tmpDirFor(t, 'levee-graylist-');
  const dir = join(root, 'example.org', 'user', 'sender.test');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'bob'), '192.0.2.1 mx.sender.test\n192.0.2.2\n');
  writeFileSync(join(dir, 'carol'), '');
  writeFileSync(join(dir, '.bob.lock'), '');
  writeFileSync(join(root, 'example.org', 'user', 'stray-file'), '');
  const now = Math.floor(Date.now() / 1000);
  utimesSync(join(dir, 'bob'), now - 100, now - 100);
  const entries = listEntries(root, now);
  assert.deepEqual(
    entries.map((e) => [e.path.join('/'), e.passes]),
    [
      ['example.org/user/sender.test/bob', 2],
      ['example.org/user/sender.test/carol', 0],
    ],
  );
  assert.ok(entries[0]!.ageSecs >= 100 && entries[0]!.ageSecs < 110);
  assert.deepEqual(listEntries(join(root, 'missing'), now), []);
});
