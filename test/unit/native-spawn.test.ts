// The native spawn helper (native/spawn.c through src/relay/native-spawn.ts), as levee uses it:
// the child's stdin and stdout on pipes, stderr inherited, PATH lookup, exit codes and signals from
// SIGCHLD, errors as negative errnos, default signal dispositions (Node ignores SIGPIPE; a child
// must not inherit that), no descriptor of levee's leaking into the child, and a daemon whose fd 0
// is closed. Also its file mappings, which bin/levee loads the bundle and its code cache with.
// Skipped with a message when the helper is not built; CI builds it and must run these.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { LEVEE_BIN, REPO, tmpDirFor } from '../harness';
import { loadHelper, nativeSpawn, readLatin1Native, type NativeChild } from '../../src/relay/native-spawn';
import { Report, formatCheckLine } from '../../src/config-test/report';
import { checkSpawnHelper } from '../../src/config-test/service-checks';

const FILE = join(REPO, 'build', 'Release', 'levee_spawn.node');
const ENV = ['PATH=/usr/bin:/bin', 'LEVEE_TEST=1'];

function helperFor(t: TestContext) {
  const { helper, why } = loadHelper(FILE);
  if (helper) return helper;
  if (process.env.CI) throw new Error(`CI must build the native spawn helper: ${why}`);
  t.skip(`native spawn helper not built (npm install builds it): ${why}`);
  return null;
}

function started(c: NativeChild | number): NativeChild {
  assert.equal(typeof c, 'object', `spawn failed with errno ${String(c)}`);
  return c as NativeChild;
}

/** everything the child writes on stdout, up to EOF (blocking reads: the tests' children are short) */
function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  for (;;) {
    const n = readSync(fd, buf);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  closeSync(fd);
  return Buffer.concat(chunks).toString();
}

test('a child found in PATH reads its stdin pipe, writes its stdout pipe, and its exit code is reported', async (t) => {
  const h = helperFor(t);
  if (!h) return;
  const c = started(nativeSpawn(h, ['sh', '-c', 'read line; echo "got $line $LEVEE_TEST"; exit 3'], ENV));
  writeSync(c.stdinFd, 'hello\n');
  closeSync(c.stdinFd);
  assert.equal(readAll(c.stdoutFd), 'got hello 1\n');
  assert.deepEqual(await c.exited, { code: 3, signal: 0 });
});

test('a child ended by a signal reports the signal and no exit code', async (t) => {
  const h = helperFor(t);
  if (!h) return;
  const c = started(nativeSpawn(h, ['/bin/sh', '-c', 'kill -TERM $$'], ENV));
  closeSync(c.stdinFd);
  readAll(c.stdoutFd);
  assert.deepEqual(await c.exited, { code: null, signal: 15 });
});

test('kill() signals a running child; after it is reaped kill() does nothing', async (t) => {
  const h = helperFor(t);
  if (!h) return;
  const c = started(nativeSpawn(h, ['sleep', '30'], ENV));
  c.kill('SIGKILL');
  assert.deepEqual(await c.exited, { code: null, signal: 9 });
  c.kill('SIGKILL'); // its pid may belong to someone else by now: must not be signalled
  closeSync(c.stdinFd);
  closeSync(c.stdoutFd);
});

test('a command that does not exist is ENOENT; a NUL byte in an argument is EINVAL', (t) => {
  const h = helperFor(t);
  if (!h) return;
  assert.equal(nativeSpawn(h, ['/nonexistent/qmail-smtpd'], ENV), -2);
  assert.equal(nativeSpawn(h, ['no-such-command-levee-test'], ENV), -2);
  assert.equal(nativeSpawn(h, ['sh', '-c', 'echo a\0b'], ENV), -22);
});

test('the child starts with every signal at its default, none blocked, and stdin, stdout, stderr', async (t) => {
  const h = helperFor(t);
  if (!h) return;
  // node ignores SIGPIPE, and fd 2 may be close-on-exec in levee (it is under some supervisors).
  // The programs report on themselves, exec'd directly (a shell blocks signals while it forks).
  const status = started(nativeSpawn(h, ['grep', '-E', '^Sig(Ign|Blk)', '/proc/self/status'], ENV));
  closeSync(status.stdinFd);
  const out = readAll(status.stdoutFd);
  assert.match(out, /^SigBlk:\s+0+$/m);
  // signals 1-31 (glibc's internal 32 and 33 stay ignored through posix_spawn: native/spawn.c)
  const ignored = BigInt('0x' + /^SigIgn:\s+([0-9a-f]+)$/m.exec(out)![1]);
  assert.equal(ignored & 0x7fffffffn, 0n, `ignored signals: ${ignored.toString(16)}`);
  assert.deepEqual(await status.exited, { code: 0, signal: 0 });

  const fdList = started(nativeSpawn(h, ['ls', '/proc/self/fd'], ENV));
  closeSync(fdList.stdinFd);
  const fds = readAll(fdList.stdoutFd)
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
  assert.deepEqual(fds.slice(0, 3), [0, 1, 2], `the child's descriptors: ${fds.join(' ')}`);
  assert.deepEqual(await fdList.exited, { code: 0, signal: 0 });
});

test("levee's ends of the pipes do not leak into the child: closing its stdin is its EOF", async (t) => {
  const h = helperFor(t);
  if (!h) return;
  // a copy of the write end held by the child itself would keep `cat` waiting (for 5 s here)
  const c = started(
    nativeSpawn(
      h,
      ['sh', '-c', 'if timeout 5 cat >/dev/null; then echo eof seen; else echo no eof; fi'],
      ENV,
    ),
  );
  writeSync(c.stdinFd, 'some bytes\n');
  closeSync(c.stdinFd);
  assert.equal(readAll(c.stdoutFd), 'eof seen\n');
  assert.deepEqual(await c.exited, { code: 0, signal: 0 });
});

test('a daemon without fd 0 and 1 and with a close-on-exec fd 2 still gives the child all three', (t) => {
  const h = helperFor(t);
  if (!h) return;
  const dir = tmpDirFor(t, 'native-spawn-');
  const stderrFile = join(dir, 'stderr');
  const resultFile = join(dir, 'result.json');
  // pipe2() then hands out 0 and 1 themselves (they must be moved before the child's dup2s), and
  // fd 2 is a file node opened close-on-exec (as libuv's reopened terminal is)
  const script = `
    const { loadHelper, nativeSpawn } = require(${JSON.stringify(join(REPO, 'src', 'relay', 'native-spawn.ts'))});
    const fs = require('node:fs');
    const helper = loadHelper(${JSON.stringify(FILE)}).helper;
    fs.closeSync(2);
    if (fs.openSync(${JSON.stringify(stderrFile)}, 'w') !== 2) throw new Error('not on fd 2');
    fs.closeSync(0);
    fs.closeSync(1);
    const c = nativeSpawn(helper, ['sh', '-c', 'cat; echo to stderr >&2'], ['PATH=/usr/bin:/bin']);
    fs.writeSync(c.stdinFd, 'through cat');
    fs.closeSync(c.stdinFd);
    const buf = Buffer.alloc(64);
    const n = fs.readSync(c.stdoutFd, buf);
    c.exited.then((x) => fs.writeFileSync(${JSON.stringify(resultFile)}, JSON.stringify({ out: buf.toString('utf8', 0, n), x })));
  `;
  const tsx = join(REPO, 'node_modules', '.bin', 'tsx');
  assert.ok(existsSync(tsx));
  const r = spawnSync(tsx, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, readFileSync(stderrFile, 'utf8'));
  assert.deepEqual(JSON.parse(readFileSync(resultFile, 'utf8')), {
    out: 'through cat',
    x: { code: 0, signal: 0 },
  });
  assert.equal(readFileSync(stderrFile, 'utf8'), 'to stderr\n');
});

test('--config-test says whether the helper is there: loaded (verbose), turned off, or missing', (t) => {
  if (!helperFor(t)) return;
  const loaded = new Report();
  checkSpawnHelper(loaded, FILE);
  assert.deepEqual(loaded.lines.map(formatCheckLine), [
    `SUCCESS: Native spawn helper loaded (children start with posix_spawn; the bundle is mapped, shared between connections): ${FILE}`,
  ]);
  const missing = new Report();
  checkSpawnHelper(missing, join(REPO, 'build', 'nonexistent.node'));
  assert.equal(missing.lines.length, 1);
  assert.match(
    formatCheckLine(missing.lines[0]),
    /^WARNING: The native spawn helper cannot be loaded \(.*nonexistent\.node.*\): each connection's child starts a few ms later and each connection holds its own copy of the bundle \(~390 KB\)\. Build it with "npm rebuild levee"/,
  );
  const off = new Report();
  process.env.LEVEE_NATIVE_SPAWN = '0';
  try {
    checkSpawnHelper(off, FILE);
  } finally {
    delete process.env.LEVEE_NATIVE_SPAWN;
  }
  assert.deepEqual(off.lines.map(formatCheckLine), [
    "INFO: LEVEE_NATIVE_SPAWN=0: children start with libuv's fork-based spawn and each connection reads the bundle.",
  ]);
});

test('a mapped file reads as the same bytes, as a Buffer and as a one-byte string; errors are negative errnos', (t) => {
  const h = helperFor(t);
  if (!h) return;
  assert.equal(typeof h.mapBuffer, 'function');
  assert.equal(typeof h.mapLatin1, 'function', 'this Node has external strings (N-API experimental in 20)');
  const dir = tmpDirFor(t, 'levee-map-');
  // every byte value, and more than a page, so the mapping is not one V8 copies instead
  const bytes = Buffer.concat([
    Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    Buffer.alloc(9000, 'x'),
  ]);
  writeFileSync(join(dir, 'f'), bytes);
  const b = h.mapBuffer!(join(dir, 'f'));
  assert.ok(Buffer.isBuffer(b));
  assert.ok(b.equals(bytes));
  assert.equal(h.mapLatin1!(join(dir, 'f')), bytes.toString('latin1'));
  writeFileSync(join(dir, 'empty'), '');
  mkdirSync(join(dir, 'd'));
  for (const map of [h.mapBuffer!, h.mapLatin1!]) {
    assert.equal(map(join(dir, 'missing')), -2); // ENOENT
    assert.equal(map(join(dir, 'd')), -22); // EINVAL: not a regular file
    assert.equal(map(join(dir, 'empty')), -22); // EINVAL: nothing to map
  }
});

test('readLatin1 reads every byte of a file, also one of unknown size; failures are node:fs errors', (t) => {
  const h = helperFor(t);
  if (!h) return;
  const dir = tmpDirFor(t, 'levee-read-');
  const bytes = Buffer.concat([
    Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    Buffer.alloc(70000, 'y'),
  ]);
  writeFileSync(join(dir, 'f'), bytes);
  assert.equal(readLatin1Native(join(dir, 'f'), h), bytes.toString('latin1'));
  writeFileSync(join(dir, 'empty'), '');
  assert.equal(readLatin1Native(join(dir, 'empty'), h), '');
  // /proc files report size 0: read to EOF, not to the size
  assert.match(readLatin1Native('/proc/self/status', h) ?? '', /^Name:\t/);
  assert.throws(() => readLatin1Native(join(dir, 'missing'), h), {
    code: 'ENOENT',
    message: `ENOENT: no such file or directory, open '${join(dir, 'missing')}'`,
  });
  mkdirSync(join(dir, 'd'));
  assert.throws(() => readLatin1Native(join(dir, 'd'), h), { code: 'EISDIR' });
  assert.equal(readLatin1Native(join(dir, 'f'), null), undefined, 'without the helper: undefined');
});

/** The files a running levee (started by `levee ... sh`, greeting and waiting) has mapped from dist/. */
async function mappedDistFiles(env: NodeJS.ProcessEnv): Promise<string[]> {
  const child = spawn(
    process.execPath,
    [LEVEE_BIN, '--dns-level', 'none', 'sh', '-c', 'printf "220 child ESMTP\\r\\n"; sleep 10'],
    { env: { PATH: '/usr/bin:/bin', TCPREMOTEIP: '127.0.0.1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`levee exited (${code}) before greeting`)));
    });
    const maps = readFileSync(`/proc/${child.pid}/maps`, 'utf8');
    const dist = join(REPO, 'dist') + '/';
    return [
      ...new Set(
        maps.split('\n').flatMap((l) => (l.includes(dist) ? [l.slice(l.indexOf(dist) + dist.length)] : [])),
      ),
    ].sort();
  } finally {
    child.kill('SIGKILL');
  }
}

test('bin/levee maps the bundle and its code cache with the helper, and reads them with LEVEE_NATIVE_SPAWN=0', async (t) => {
  if (!helperFor(t)) return;
  assert.ok(existsSync(join(REPO, 'dist', 'levee.cjs.cache')), 'npm run build writes the code cache');
  assert.deepEqual(await mappedDistFiles({}), ['levee.cjs', 'levee.cjs.cache']);
  assert.deepEqual(await mappedDistFiles({ LEVEE_NATIVE_SPAWN: '0' }), []);
});
