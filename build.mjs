// Builds dist/levee.cjs: one CommonJS bundle, because a connection should load one file
// (shared/research/perf.md: many files +10 ms, ESM +15..80 ms). Code that only some configurations
// need lives in separate entry points that the main bundle require()s lazily (see LAZY below).
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

// Each lazy module becomes its own file in dist/ and is loaded with require('./<name>.cjs') at
// the place that needs it; src/lazy.ts maps names to those files.
export const LAZY = {
  help: 'src/options/help.ts',
  'config-test': 'src/config-test/index.ts',
  serve: 'src/serve/index.ts',
  stats: 'src/stats/index.ts',
  graylist: 'src/stats/graylist.ts',
};

// The admin utilities (utils/*.ts): one bundle each in dist/utils/, run by the bin/levee-* wrappers;
// levee itself never loads them.
export const UTILS = {
  'levee-domain2path': 'utils/domain2path.ts',
  'levee-domainsplit': 'utils/domainsplit.ts',
  'levee-timefilter': 'utils/timefilter.ts',
  'levee-graylist-prune': 'utils/graylist-prune.ts',
  'levee-replay': 'utils/replay.ts',
};

// The option table's help texts are half its size and only --help, --more-help and the docs read
// them; they stay in the one table (the single source of truth) and are left out of the
// per-connection bundle only, where every 100 KB costs 5-7 ms of compile time at each start.
const STRING = String.raw`'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"`;
const HELP_TEXT = new RegExp(String.raw`help:\s*(?:${STRING})(?:\s*\+\s*(?:${STRING}))*`, 'g');
const stripHelpTexts = {
  name: 'strip-help-texts',
  setup(b) {
    b.onLoad({ filter: /src[\\/]options[\\/]table\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const stripped = source.replace(HELP_TEXT, "help: ''");
      const left = (stripped.match(/help:/g) ?? []).length - (stripped.match(/help: ''/g) ?? []).length;
      if (left !== 0) throw new Error(`strip-help-texts: ${left} help texts not recognised in ${args.path}`);
      return { contents: stripped, loader: 'ts' };
    });
  },
};

rmSync('dist', { recursive: true, force: true });
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  // native addon and the heavy CLI library are never bundled into the start-up file
  // ipaddr.js is only needed for IPv6 (src/match/ip.ts requires it on first use)
  external: ['unix-dgram', 'yargs', 'yargs/*', 'ipaddr.js', './*.cjs'],
};
// The per-connection bundle is loaded by bin/levee only (with its code cache): ASCII with no
// comments (V8 keeps a one-byte string, half the memory of a two-byte one, in every process) and
// wrapped as the CommonJS function at build time, so bin/levee compiles the file's text as it is.
const CJS_WRAPPER = '(function (exports, require, module, __filename, __dirname) {';
await build({
  ...common,
  entryPoints: { levee: 'src/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  plugins: [stripHelpTexts],
  charset: 'ascii',
  minifyWhitespace: true,
  banner: { js: `${CJS_WRAPPER}// loaded by bin/levee, not a module of its own` },
  footer: { js: '\n})' },
});
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
