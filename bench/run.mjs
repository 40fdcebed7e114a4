// `npm run bench`: levee's performance next to its floors (node itself, a C relay), in one run.
//   node bench/run.mjs [--quick] [--big] [--runs N] [--only name,name] [--markdown]
// --quick: ~30 s (15 start-up rounds, 50 MiB relay only, fewer body runs); --big adds a 1 GiB body
// (minutes, lots of I/O: never in CI). The table goes to stdout; the rows also to bench/out/results.json
// and bench/out/results.md. Every measured process runs without NODE_EXTRA_CA_CERTS and NODE_OPTIONS.
//
// To add a benchmark (TLS relay, `levee serve` load, ...): write `async function xBench(ctx)` that
// returns rows made with lib.mjs `row()`, and add it to BENCHMARKS below. ctx has tools (runstat,
// sink, relay), fx (fixtures.mjs: configs, envs, DNS), baseline (node -e 0 figures from 'startup'),
// quick, big, runs and progress(msg).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LEVEE_SPAWN_HELPER,
  OUT,
  buildCTools,
  formatTable,
  machineDescription,
  row,
  snapshotLevee,
} from './lib.mjs';
import { setUpFixtures } from './fixtures.mjs';
import { checkTypicalConfigFilters, startupBench } from './startup.mjs';
import { bodyMemoryBench, relayBench } from './relay.mjs';
import { idleBench } from './idle.mjs';
import { bundleComposition } from './bundle-report.mjs';
import { tlsRelayBench } from './tls.mjs';
import { serveLoadBench } from './serve-load.mjs';

async function bundleBench(ctx) {
  const size = ctx.bundleBytes;
  const c = await bundleComposition();
  const rows = [row('bundle', 'dist/levee.cjs size', size / 1024, 'KiB')];
  for (const f of c.files.slice(0, 5))
    rows.push(row('bundle', `  of which ${f.path}`, f.bytes / 1024, 'KiB'));
  return rows;
}

/** In this order; 'startup' must run before 'body-memory' (it measures the node -e 0 baseline). */
const BENCHMARKS = [
  { name: 'bundle', run: bundleBench },
  { name: 'startup', run: startupBench },
  { name: 'relay', run: relayBench },
  { name: 'body-memory', run: bodyMemoryBench },
  { name: 'idle', run: idleBench },
  { name: 'tls-relay', run: tlsRelayBench },
  { name: 'serve-load', run: serveLoadBench },
];

function parseArgs(argv) {
  const a = { quick: false, big: false, runs: 21, only: null, markdown: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') a.quick = true;
    else if (argv[i] === '--big') a.big = true;
    else if (argv[i] === '--markdown') a.markdown = true;
    else if (argv[i] === '--runs') a.runs = Math.max(15, Number(argv[++i]) || 15);
    else if (argv[i] === '--only') a.only = argv[++i].split(',');
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return a;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const tools = buildCTools();
  const bundleBytes = snapshotLevee();
  const fx = await setUpFixtures(tools);
  const progress = (msg) =>
    process.stderr.isTTY &&
    process.stderr.write(`\r\x1b[K[${((Date.now() - started) / 1000).toFixed(0)} s] ${msg}`);
  const ctx = { ...args, tools, fx, bundleBytes, baseline: { node0Ms: NaN, node0RssMb: NaN }, progress };
  const rows = [];
  try {
    checkTypicalConfigFilters(ctx);
    for (const b of BENCHMARKS) {
      if (
        args.only &&
        !args.only.includes(b.name) &&
        !(b.name === 'startup' && args.only.includes('body-memory'))
      ) {
        continue;
      }
      rows.push(...(await b.run(ctx)));
    }
  } finally {
    await fx.close();
  }
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const header = [
    `machine: ${machineDescription()}`,
    `load average at end: ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
    `DNS for the typical config: ${fx.dns.kind}`,
    // levee without it starts its child with libuv's fork, ~4 ms slower per connection (docs/faq.md)
    `native spawn helper: ${existsSync(LEVEE_SPAWN_HELPER) ? 'built' : 'NOT BUILT (npm run install builds it)'}`,
    `mode: ${args.quick ? 'quick' : 'default'}${args.big ? ' + big' : ''}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
  ];
  console.log(header.join('\n') + '\n');
  console.log(formatTable(rows, { markdown: args.markdown }));
  writeFileSync(join(OUT, 'results.json'), JSON.stringify({ header, rows }, null, 1));
  writeFileSync(
    join(OUT, 'results.md'),
    header.map((h) => `- ${h}`).join('\n') + '\n\n' + formatTable(rows, { markdown: true }) + '\n',
  );
  if (rows.some((r) => r.met === false)) console.log('\nSome targets were not met (see "met").');
}

main().catch((e) => {
  process.stderr.write(`\nbench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
