// esbuild settings shared by build.mjs and bench/bundle-report.mjs (which must measure the bundle
// exactly as it is built).
import { readFileSync } from 'node:fs';

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
export const stripHelpTexts = {
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

export const common = {
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
export const mainBundle = {
  ...common,
  entryPoints: { levee: 'src/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  plugins: [stripHelpTexts],
  charset: 'ascii',
  minify: true,
  banner: { js: `${CJS_WRAPPER}// loaded by bin/levee, not a module of its own` },
  footer: { js: '\n})' },
};
