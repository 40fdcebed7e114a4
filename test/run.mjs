// Runs the test suites with node's own test runner (TypeScript through tsx).
//   node test/run.mjs            all suites
//   node test/run.mjs unit e2e   only those folders (test/<name>/*.test.ts)
//   TEST_FILTER=regex            only files whose path matches
// The relay, fault and TLS suites then run a second time with LEVEE_NODE_STREAMS=1, and the suites
// about the child once more with LEVEE_NATIVE_SPAWN=0 (see below).
// NODE_EXTRA_CA_CERTS is removed: it adds ~70 ms to every node start (shared/research/perf.md), and
// tests start levee hundreds of times; tcpserver in production does not have it either.
import { readdirSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const suites = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'e2e'];
const filter = process.env.TEST_FILTER ? new RegExp(process.env.TEST_FILTER) : null;
const files = [];
for (const s of suites) {
  const dir = join('test', s);
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (f.endsWith('.test.ts') && (!filter || filter.test(p))) files.push(p);
  }
}
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
delete env.NODE_OPTIONS;
// Backstops so a stuck test can never hold CI to its limit: no test runs longer than 10 minutes,
// and the whole run is stopped, loudly, after 45 minutes (a file that leaves a handle open after its
// tests would otherwise never exit). Not --test-force-exit: with concurrency it drops the tail of a
// file's results before the parent reads them, and the run still passes with fewer tests
// (nodejs/node#64833; seen here as 1,569 of 1,585 tests reported).
const RUN_LIMIT_MS = 45 * 60_000;
function runFiles(list, extraEnv = {}) {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...list],
    { stdio: 'inherit', env: { ...env, ...extraEnv }, timeout: RUN_LIMIT_MS, killSignal: 'SIGKILL' },
  );
  if (r.error || r.signal) {
    console.error(
      `test run stopped: ${r.error?.message ?? `killed by ${r.signal}`} ` +
        `(limit ${RUN_LIMIT_MS / 60_000} minutes; a test file probably left a handle open)`,
    );
    return 1;
  }
  return r.status ?? 1;
}
let status = runFiles(files);
// Wrapper mode runs on libuv handles (src/relay/handles.ts) and c-ares channels (src/dns/channel.ts)
// and falls back to node's stream and dns modules where it cannot; the relay, fault, TLS and DNS
// suites run once more on that fallback, so both paths stay tested (a later Node may leave levee
// only the fallback).
const FALLBACK_SUITES =
  /[/\\](wrapper-relay|wrapper-faults|faults-env|tls-levee|dns-resolver|filters-connect-dns)\.test\.ts$/;
const fallbackFiles = files.filter((f) => FALLBACK_SUITES.test(f));
if (fallbackFiles.length && process.env.LEVEE_NODE_STREAMS !== '1') {
  console.log(`# again with LEVEE_NODE_STREAMS=1 (node's stream modules): ${fallbackFiles.join(' ')}`);
  const fallbackStatus = runFiles(fallbackFiles, { LEVEE_NODE_STREAMS: '1' });
  status = status || fallbackStatus;
}
// The child is started by the native spawn helper (native/spawn.c) when it is built, by libuv's
// spawn otherwise: the suites about the child run once more on libuv's.
const UV_SPAWN_SUITES = /[/\\](wrapper-relay|wrapper-faults|wrapper-grace)\.test\.ts$/;
const uvSpawnFiles = files.filter((f) => UV_SPAWN_SUITES.test(f));
if (uvSpawnFiles.length && process.env.LEVEE_NATIVE_SPAWN !== '0' && process.env.LEVEE_NODE_STREAMS !== '1') {
  console.log(`# again with LEVEE_NATIVE_SPAWN=0 (libuv's spawn): ${uvSpawnFiles.join(' ')}`);
  const uvStatus = runFiles(uvSpawnFiles, { LEVEE_NATIVE_SPAWN: '0' });
  status = status || uvStatus;
}
process.exit(status);
