// What dist/levee.cjs is made of: builds src/main.ts with build.mjs's settings plus an esbuild
// metafile (into bench/out/, never dist/) and lists the bytes each source file and each folder
// contributes to the output. Used by run.mjs (the "bundle" rows) and on its own:
//   node bench/bundle-report.mjs [--top N]
import { build } from 'esbuild';
import { mainBundle } from '../build-options.mjs';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds like build.mjs does for dist/levee.cjs and returns {total, files: [{path, bytes}], folders}. */
export async function bundleComposition() {
  const outDir = join(REPO, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    ...mainBundle,
    absWorkingDir: REPO,
    entryPoints: { 'levee-meta': 'src/main.ts' },
    outdir: outDir,
    logLevel: 'error',
    metafile: true,
  });
  const [output] = Object.values(result.metafile.outputs).filter((o) => o.entryPoint);
  const files = Object.entries(output.inputs)
    .map(([path, v]) => ({ path, bytes: v.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
  const folders = new Map();
  for (const f of files) {
    const folder = f.path.startsWith('node_modules/')
      ? f.path.split('/').slice(0, 2).join('/')
      : dirname(f.path);
    folders.set(folder, (folders.get(folder) ?? 0) + f.bytes);
  }
  return {
    total: output.bytes,
    files,
    folders: [...folders].map(([path, bytes]) => ({ path, bytes })).sort((a, b) => b.bytes - a.bytes),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const top = Number(process.argv[process.argv.indexOf('--top') + 1]) || 25;
  const c = await bundleComposition();
  const kb = (n) => (n / 1024).toFixed(1).padStart(7) + ' KiB';
  console.log(`levee.cjs (as build.mjs makes it): ${kb(c.total)}\n\nby folder:`);
  for (const f of c.folders) console.log(`${kb(f.bytes)}  ${f.path}`);
  console.log(`\nlargest ${top} files:`);
  for (const f of c.files.slice(0, top)) console.log(`${kb(f.bytes)}  ${f.path}`);
}
