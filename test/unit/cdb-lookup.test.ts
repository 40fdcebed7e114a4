// The CDB reader against files made by tinycdb (Debian's `cdb`, the format qmail's
// morercpthosts.cdb uses), against a reference writer for random key sets, and against broken files.
import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { bufferReader, cdbGet, cdbHash, CdbFormatError } from '../../src/cdb/lookup';
import { cdbFindFirst } from '../../src/cdb/file';

function haveTinycdb(t: TestContext): boolean {
  if (spawnSync('cdb', ['-h'], { stdio: 'ignore' }).error === undefined) return true;
  if (process.env.CI) assert.fail('the cdb command (Debian package tinycdb) is required in CI');
  t.skip('cdb (Debian package tinycdb) is not installed');
  return false;
}

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'levee-cdb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Makes a CDB with tinycdb from `key value` lines (`cdb -c -m`). */
function tinycdb(dir: string, name: string, lines: string[]): string {
  const file = join(dir, name);
  const r = spawnSync('cdb', ['-c', '-m', file], { input: lines.map((l) => l + '\n').join('') });
  assert.equal(r.status, 0, r.stderr.toString());
  return file;
}

/** A straightforward cdb writer (djb's cdbmake algorithm), for property tests without a process per case. */
function writeCdb(records: [Buffer, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  let pos = 2048;
  const byTable: { hash: number; pos: number }[][] = Array.from({ length: 256 }, () => []);
  for (const [k, v] of records) {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(k.length, 0);
    head.writeUInt32LE(v.length, 4);
    parts.push(head, k, v);
    const h = cdbHash(k);
    byTable[h & 255].push({ hash: h, pos });
    pos += 8 + k.length + v.length;
  }
  const header = Buffer.alloc(2048);
  const tables: Buffer[] = [];
  for (let i = 0; i < 256; i++) {
    const entries = byTable[i];
    const slots = entries.length * 2;
    header.writeUInt32LE(pos, i * 8);
    header.writeUInt32LE(slots, i * 8 + 4);
    const table = Buffer.alloc(slots * 8);
    for (const e of entries) {
      let s = (e.hash >>> 8) % slots;
      while (table.readUInt32LE(s * 8 + 4) !== 0) s = (s + 1) % slots;
      table.writeUInt32LE(e.hash, s * 8);
      table.writeUInt32LE(e.pos, s * 8 + 4);
    }
    tables.push(table);
    pos += table.length;
  }
  return Buffer.concat([header, ...parts, ...tables]);
}

describe('cdb hash', () => {
  test('matches the published values of djb hash', () => {
    assert.equal(cdbHash(Buffer.from('')), 5381);
    // h = ((5381 << 5) + 5381) ^ 0x61
    assert.equal(cdbHash(Buffer.from('a')), ((5381 * 33) ^ 0x61) >>> 0);
    // unsigned 32-bit even for long keys
    const h = cdbHash(Buffer.from('x'.repeat(1000)));
    assert.ok(h >= 0 && h <= 0xffffffff);
  });
});

describe('files made by tinycdb', () => {
  test('finds every domain of a morercpthosts-style file, and nothing else', (t) => {
    if (!haveTinycdb(t)) return;
    const dir = scratch(t);
    const domains = Array.from({ length: 2000 }, (_, i) => `d${i}.example${i % 7}.test`);
    const file = tinycdb(dir, 'more.cdb', [...domains, '.wild.example']);
    for (const d of domains) assert.ok(cdbFindFirst(file, [Buffer.from(d)]), d);
    assert.ok(cdbFindFirst(file, [Buffer.from('.wild.example')]));
    for (const miss of ['d2000.example5.test', 'example0.test', '', 'D1.EXAMPLE1.TEST', 'wild.example'])
      assert.equal(cdbFindFirst(file, [Buffer.from(miss)]), null, miss);
  });

  test('returns the first key present and reads values exactly', (t) => {
    if (!haveTinycdb(t)) return;
    const dir = scratch(t);
    const file = tinycdb(dir, 'kv.cdb', ['alpha 1', 'beta two', 'gamma']);
    const data = readFileSync(file);
    assert.equal(cdbGet(bufferReader(data), Buffer.from('beta'))?.toString(), 'two');
    assert.equal(cdbGet(bufferReader(data), Buffer.from('gamma'))?.toString(), '');
    const found = cdbFindFirst(file, [Buffer.from('nope'), Buffer.from('gamma'), Buffer.from('alpha')]);
    assert.equal(found?.toString(), 'gamma');
  });

  test('an empty database finds nothing', (t) => {
    if (!haveTinycdb(t)) return;
    const file = tinycdb(scratch(t), 'empty.cdb', []);
    assert.equal(cdbFindFirst(file, [Buffer.from('example.com')]), null);
  });
});

describe('random databases (reference writer)', () => {
  test('every key stored is found with its value; keys not stored are not', () => {
    const key = fc.uint8Array({ minLength: 0, maxLength: 12 }).map((a) => Buffer.from(a).toString('hex'));
    fc.assert(
      fc.property(
        fc.uniqueArray(key, { maxLength: 60 }),
        fc.array(key, { maxLength: 20 }),
        (keys, probes) => {
          const records = keys.map((k, i): [Buffer, Buffer] => [Buffer.from(k), Buffer.from(`v${i}`)]);
          const read = bufferReader(writeCdb(records));
          keys.forEach((k, i) => assert.equal(cdbGet(read, Buffer.from(k))?.toString(), `v${i}`));
          for (const p of probes) if (!keys.includes(p)) assert.equal(cdbGet(read, Buffer.from(p)), null);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('broken files', () => {
  test('a file shorter than the header is a format error', () => {
    assert.throws(() => cdbGet(bufferReader(Buffer.alloc(100)), Buffer.from('x')), CdbFormatError);
  });

  test('a hash table or record pointing outside the file is a format error, not a crash', () => {
    const good = writeCdb([[Buffer.from('example.com'), Buffer.alloc(0)]]);
    const h = cdbHash(Buffer.from('example.com'));
    const badTable = Buffer.from(good);
    badTable.writeUInt32LE(0x7fffffff, (h & 255) * 8);
    assert.throws(() => cdbGet(bufferReader(badTable), Buffer.from('example.com')), CdbFormatError);
    const truncated = good.subarray(0, 2048 + 4);
    assert.throws(() => cdbGet(bufferReader(truncated), Buffer.from('example.com')), CdbFormatError);
  });

  test('random garbage never throws anything but a format error and never hangs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 4096 }), fc.string(), (bytes, k) => {
        try {
          cdbGet(bufferReader(Buffer.from(bytes)), Buffer.from(k));
        } catch (e) {
          assert.ok(e instanceof CdbFormatError, String(e));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a missing file throws the system error (the caller logs it)', (t) => {
    const dir = scratch(t);
    assert.throws(() => cdbFindFirst(join(dir, 'missing.cdb'), [Buffer.from('a')]), /ENOENT/);
    writeFileSync(join(dir, 'short.cdb'), 'tiny');
    assert.throws(() => cdbFindFirst(join(dir, 'short.cdb'), [Buffer.from('a')]), CdbFormatError);
  });
});
