// The graylist tree under concurrency: 50 processes at once (as 50 levee connections would be) check
// the same and different tuples. No process may crash or see an error, no entry may be broken or
// lose a line, no lock or temporary file may be left, and every tuple passes once its entry is old
// enough (ages are set with utimes, never waited for).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { REPO } from '../harness';

const PROCESSES = 50;
const TUPLES = 10;

const WORKER = `
import { checkGraylist } from ${JSON.stringify(join(REPO, 'src/graylist/decide.ts'))};
import { entryKey } from ${JSON.stringify(join(REPO, 'src/graylist/paths.ts'))};
const [root, recipient, sender, ip, min, max] = process.argv.slice(2);
const out = checkGraylist({
  roots: [root], key: entryKey(recipient, sender), mayCreateDomain: () => true,
  minSecs: Number(min), maxSecs: Number(max), ip, rdns: 'host-' + ip.replace(/\\./g, '-') + '.example.net',
});
process.stdout.write(JSON.stringify(out));
`;

interface Outcome {
  kind: string;
  why?: string;
  warning?: string;
  errors?: string[];
}

function runWorker(
  script: string,
  args: string[],
): Promise<{ code: number | null; out: Outcome | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [script, ...args], { cwd: REPO, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      let out: Outcome | null = null;
      try {
        out = JSON.parse(stdout) as Outcome;
      } catch {
        // reported by the assertion below
      }
      resolve({ code, out, stderr });
    });
  });
}

/** tuple i of TUPLES: recipients and senders differ, so each has its own entry */
function tuple(i: number): [string, string] {
  return [`user${i % 3}@example.org`, i % 4 === 0 ? '' : `sender${i}@s${i}.example.com`];
}

function entryPath(root: string, i: number): string {
  const [r, s] = tuple(i);
  const [ru] = r.split('@');
  if (s === '') return join(root, 'example.org', ru!, '_none', '_none');
  const [su, sd] = s.split('@');
  return join(root, 'example.org', ru!, sd!, su!);
}

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...allFiles(p));
    else out.push(p);
  }
  return out;
}

async function wave(script: string, root: string, min: number, max: number) {
  const jobs = Array.from({ length: PROCESSES }, (_, n) => {
    const [r, s] = tuple(n % TUPLES);
    return runWorker(script, [root, r, s, `127.0.${n % TUPLES}.${n + 1}`, String(min), String(max)]);
  });
  const results = await Promise.all(jobs);
  for (const [n, res] of results.entries()) {
    assert.equal(res.code, 0, `worker ${n} failed: ${res.stderr}`);
    assert.ok(res.out, `worker ${n} printed no outcome: ${res.stderr}`);
    assert.equal(res.out.errors, undefined, `worker ${n}: ${JSON.stringify(res.out)}`);
    assert.equal(res.out.warning, undefined, `worker ${n}: ${JSON.stringify(res.out)}`);
  }
  return results.map((r) => r.out!);
}

describe('graylist: 50 processes at once', () => {
  test(
    'create, pass and expire without a crash, a broken file or a lost line',
    { timeout: 120_000 },
    async (t) => {
      const base = mkdtempSync(join(tmpdir(), 'levee-graylist-conc-'));
      t.after(() => rmSync(base, { recursive: true, force: true }));
      // bundled once, so 50 workers start as fast as levee itself does (no TypeScript compile each)
      const source = join(base, 'worker.ts');
      writeFileSync(source, WORKER);
      const script = join(base, 'worker.cjs');
      buildSync({
        entryPoints: [source],
        bundle: true,
        platform: 'node',
        format: 'cjs',
        outfile: script,
        logLevel: 'error',
      });
      const root = join(base, 'root');
      mkdirSync(root);

      // wave 1: nobody known yet; the domain directory and all entries are created concurrently
      const first = await wave(script, root, 300, 3600);
      assert.ok(
        first.every((o) => o.kind === 'graylisted'),
        JSON.stringify(first),
      );
      assert.equal(
        first.filter((o) => o.why === 'created').length,
        TUPLES,
        'each entry created exactly once',
      );
      const entries = allFiles(root).sort();
      assert.deepEqual(entries, Array.from({ length: TUPLES }, (_, i) => entryPath(root, i)).sort());
      for (const e of entries) assert.equal(readFileSync(e, 'utf8'), '');

      // wave 2: the entries are old enough; every process passes and records its client
      const old = Date.now() / 1000 - 301;
      for (const e of entries) utimesSync(e, old, old);
      const second = await wave(script, root, 300, 3600);
      assert.ok(
        second.every((o) => o.kind === 'pass'),
        JSON.stringify(second),
      );
      assert.deepEqual(allFiles(root).sort(), entries, 'no lock or temporary file left behind');
      for (let i = 0; i < TUPLES; i++) {
        const lines = readFileSync(entryPath(root, i), 'utf8').split('\n');
        assert.equal(lines.pop(), '', 'the entry ends with a newline');
        const expected = Array.from({ length: PROCESSES / TUPLES }, (_, k) => {
          const n = i + k * TUPLES;
          return `127.0.${i}.${n + 1} host-127-0-${i}-${n + 1}.example.net`;
        });
        assert.deepEqual(
          lines.sort(),
          expected.sort(),
          `entry ${i}: every client recorded once, no line broken`,
        );
      }

      // wave 3: the entries expired; every process graylists again and the entries end up empty
      const ancient = Date.now() / 1000 - 7200;
      for (const e of entries) utimesSync(e, ancient, ancient);
      const third = await wave(script, root, 300, 3600);
      assert.ok(
        third.every((o) => o.kind === 'graylisted'),
        JSON.stringify(third),
      );
      for (const e of entries) assert.equal(readFileSync(e, 'utf8'), '');
      assert.deepEqual(allFiles(root).sort(), entries);
    },
  );
});
