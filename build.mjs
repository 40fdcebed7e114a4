// Builds dist/levee.cjs: one CommonJS bundle, because a connection should load one file
// (shared/research/perf.md: many files +10 ms, ESM +15..80 ms). Code that only some configurations
// need lives in separate entry points that the main bundle require()s lazily (see LAZY below).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

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
  external: ['unix-dgram', 'yargs', 'yargs/*', './*.cjs'],
};
await build({
  ...common,
  entryPoints: { levee: 'src/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
});
const lazyEntries = Object.fromEntries(Object.entries(LAZY));
await build({ ...common, entryPoints: lazyEntries, outdir: 'dist', outExtension: { '.js': '.cjs' } });
await build({ ...common, entryPoints: UTILS, outdir: 'dist/utils', outExtension: { '.js': '.cjs' } });
