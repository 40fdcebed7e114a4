// Builds dist/levee.cjs: one CommonJS bundle, because a connection should load one file
// (shared/research/perf.md: many files +10 ms, ESM +15..80 ms). Code that only some configurations
// need lives in separate entry points that the main bundle require()s lazily (LAZY in build-options.mjs).
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

import { LAZY, UTILS, common, mainBundle } from './build-options.mjs';

rmSync('dist', { recursive: true, force: true });
await build(mainBundle);
const bundleText = readFileSync('dist/levee.cjs', 'latin1');
if (/[^\x00-\x7f]/.test(bundleText)) throw new Error('dist/levee.cjs must be ASCII (see build.mjs)');
const lazyEntries = Object.fromEntries(Object.entries(LAZY));
await build({ ...common, entryPoints: lazyEntries, outdir: 'dist', outExtension: { '.js': '.cjs' } });
await build({ ...common, entryPoints: UTILS, outdir: 'dist/utils', outExtension: { '.js': '.cjs' } });

// V8 code cache for the per-connection bundle (bin/levee loads it): made by running one ordinary
// session through levee (the demo's mail server as the child, no DNS), so the functions a session
// compiles are cached too. Saves ~20 ms per connection on this machine kind.
const cacheFile = resolve('dist/levee.cjs.cache');
const session =
  'EHLO build.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\nRSET\r\nQUIT\r\n';
const env = { ...process.env, LEVEE_WRITE_CODE_CACHE: cacheFile, TCPREMOTEIP: '127.0.0.1', RELAYCLIENT: '' };
delete env.NODE_OPTIONS;
delete env.NODE_EXTRA_CA_CERTS;
const r = spawnSync(
  process.execPath,
  ['bin/levee', '--dns-level', 'none', '--log-level', 'none', process.execPath, 'demo/sink.mjs'],
  { input: session, env, timeout: 20_000 },
);
if (r.status !== 0 || !readFileSync(cacheFile).length) {
  throw new Error(`building the code cache failed: ${r.error ?? r.stderr}`);
}
