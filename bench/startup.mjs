// Start-up, parse-only and whole-session times, and RSS at start. Every variant runs once per round,
// round after round (interleaved), so a burst of load from other work on the machine hits all of them
// alike; "Δ" figures are medians of per-round differences against `node -e 0` of the same round.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { LEVEE, NODE, measure, median, quantile, row } from './lib.mjs';

/**
 * CPUs to pin the paired filter runs to, one per round in turn; [] when they cannot be pinned. On the
 * machines measured, one vCPU ran `node -e 0` ~35 % slower than the other, and each process landed on
 * either, so the difference of two unpinned runs scattered by ±20 ms.
 */
function pinningCpus() {
  const n = availableParallelism();
  const ok = n > 1 && spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
  return ok ? Array.from({ length: n }, (_, i) => i) : [];
}

export async function startupBench(ctx) {
  const { tools, fx } = ctx;
  const cpus = pinningCpus();
  const variants = [
    { key: 'node0', cmd: [NODE, '-e', '0'], env: fx.envNone, input: 'none' },
    { key: 'cat', cmd: [NODE, fx.spawnCat], env: fx.envNone, input: 'hold' },
    {
      key: 'parse',
      cmd: [NODE, LEVEE, '--config-file', fx.parseOnly, tools.sink],
      env: fx.envTypical,
      input: 'none',
      exit: 111,
    },
    { key: 'greetNone', cmd: [NODE, LEVEE, ...fx.noneArgs], env: fx.envNone, input: 'hold' },
    { key: 'greetTypical', cmd: [NODE, LEVEE, ...fx.typicalArgs], env: fx.envTypical, input: 'hold' },
    { key: 'sessNone', cmd: [NODE, LEVEE, ...fx.noneArgs], env: fx.envNone, input: 0, expect: '221 ' },
    {
      key: 'sessTypical',
      cmd: [NODE, LEVEE, ...fx.typicalArgs],
      env: fx.envTypical,
      input: 0,
      expect: '221 ',
    },
    { key: 'sessC', cmd: [tools.relay, tools.sink], env: fx.envNone, input: 0, expect: '221 ' },
    // issue 4's pair again, both runs of a round on the same CPU (levee and its child share it)
    {
      key: 'pinNone',
      cmd: [NODE, LEVEE, ...fx.noneArgs],
      env: fx.envNone,
      input: 0,
      expect: '221 ',
      pin: true,
    },
    {
      key: 'pinTypical',
      cmd: [NODE, LEVEE, ...fx.typicalArgs],
      env: fx.envTypical,
      input: 0,
      expect: '221 ',
      pin: true,
    },
  ];
  const runs = Object.fromEntries(variants.map((v) => [v.key, []]));
  // single runs on a shared VM scatter over ±6 ms around the median (node -e 0 as much as levee),
  // so the start-up rows take twice the rounds of the other benchmarks
  const rounds = ctx.quick ? 15 : 2 * ctx.runs;
  for (let i = 0; i < rounds; i++) {
    for (const v of variants) {
      const cmd = v.pin && cpus.length ? ['taskset', '-c', String(cpus[i % cpus.length]), ...v.cmd] : v.cmd;
      const r = measure(tools.runstat, cmd, { input: v.input, env: v.env, expect: v.expect });
      if (!r.found || r.exit !== (v.exit ?? 0)) {
        throw new Error(`${v.key}: exit ${r.exit}, expected reply ${r.found ? 'seen' : 'missing'}`);
      }
      runs[v.key].push(r);
    }
    ctx.progress(`start-up round ${i + 1}/${rounds}`);
  }
  const wall = (k) => median(runs[k].map((r) => r.wallMs));
  const first = (k) => median(runs[k].map((r) => r.firstMs));
  const rss = (k) => median(runs[k].map((r) => r.maxRssMb));
  const pairedDeltas = (k, pick) => runs[k].map((r, i) => pick(r) - runs.node0[i].wallMs);
  const pairedDelta = (k, pick) => median(pairedDeltas(k, pick));
  /** the middle half of the rounds, so a reader sees how far single runs scatter */
  const spread = (values) =>
    `middle half of rounds ${quantile(values, 0.25).toFixed(1)} to ${quantile(values, 0.75).toFixed(1)} ms`;
  ctx.baseline.node0Ms = wall('node0');
  ctx.baseline.node0RssMb = rss('node0');
  const n0 = { baseLabel: 'node -e 0', base: wall('node0') };
  const g = 'start-up';
  const rows = [
    row(g, '`node -e 0`, spawn to exit', wall('node0'), 'ms'),
    row(g, 'node script that spawns `cat`, spawn to first byte', first('cat'), 'ms', {
      ...n0,
      delta: pairedDelta('cat', (r) => r.firstMs),
    }),
  ];
  const parseDelta = pairedDelta('parse', (r) => r.wallMs);
  rows.push(
    row(g, 'levee: option table + 20-line config file, then exit', wall('parse'), 'ms', {
      ...n0,
      delta: parseDelta,
      target: 'Δ < 10 ms',
      met: parseDelta < 10,
    }),
  );
  for (const [k, what] of [
    ['greetNone', 'no filters'],
    ['greetTypical', 'typical config (3 DNSBLs, rDNS, 4 lists)'],
  ]) {
    const deltas = pairedDeltas(k, (r) => r.firstMs);
    const delta = median(deltas);
    rows.push(
      row(g, `levee ${what}: spawn to child's 220 (Δ: ${spread(deltas)})`, first(k), 'ms', {
        ...n0,
        delta,
        target: 'Δ ≤ 10 ms',
        met: delta <= 10,
      }),
    );
  }
  for (const [k, what] of [
    ['sessNone', 'no filters'],
    ['sessTypical', 'typical config'],
  ]) {
    const ratio = median(runs[k].map((r, i) => r.wallMs / runs.node0[i].wallMs));
    rows.push(
      row('session', `0-byte session (EHLO…QUIT) through levee, ${what}`, wall(k), 'ms', {
        ...n0,
        ratio,
        target: '≤ 2.0×',
        met: ratio <= 2.0,
      }),
    );
  }
  // issue 4: what the typical filters add to a whole connection. Unpinned, the two runs of a round
  // may land on CPUs of different speed; pinned, both ran on the same one (the target row).
  const pairRows = (none, typical, label, target) => {
    const deltas = runs[typical].map((r, i) => r.wallMs - runs[none][i].wallMs);
    const delta = median(deltas);
    const cpu = median(runs[typical].map((r, i) => r.cpuMs - runs[none][i].cpuMs));
    return [
      row(
        'session',
        `0-byte session, typical config − no filters, ${label} (${spread(deltas)})`,
        delta,
        'ms',
        {
          baseLabel: 'no filters',
          base: wall(none),
          delta,
          ...(target && { target: 'Δ < 5 ms', met: delta < 5 }),
        },
      ),
      row('session', '  the same in CPU time (user + system, levee and its child)', cpu, 'ms', {
        baseLabel: 'no filters',
        base: median(runs[none].map((r) => r.cpuMs)),
        delta: cpu,
      }),
    ];
  };
  rows.push(...pairRows('sessNone', 'sessTypical', 'unpinned', false));
  rows.push(
    ...pairRows(
      'pinNone',
      'pinTypical',
      cpus.length ? `each round on one CPU (${cpus.length} in turn)` : 'not pinned (no taskset or one CPU)',
      true,
    ),
  );
  rows.push(row('session', '0-byte session through the C relay (floor)', wall('sessC'), 'ms'));
  const r0 = { baseLabel: 'node -e 0', base: rss('node0') };
  rows.push(row('memory', '`node -e 0` max RSS', rss('node0'), 'MB'));
  for (const [k, what] of [
    ['greetNone', 'no filters'],
    ['greetTypical', 'typical config'],
  ]) {
    const ratio = rss(k) / rss('node0');
    rows.push(
      row('memory', `levee max RSS at start (to greeting), ${what}`, rss(k), 'MB', {
        ...r0,
        ratio,
        target: '≤ 1.15×',
        met: ratio <= 1.15,
      }),
    );
  }
  return rows;
}

/** Proves the typical configuration really filters: a listed client must be refused by the DNSBL. */
export function checkTypicalConfigFilters(ctx) {
  const { tools, fx } = ctx;
  const r = measure(tools.runstat, [NODE, LEVEE, '--config-file', fx.dnsblCheck, tools.sink], {
    input: 0,
    env: fx.envListed,
    keepStderr: true,
  });
  if (!/DENIED_RBL_MATCH/.test(r.stderr)) {
    throw new Error(`the typical config did not refuse a DNSBL-listed client; levee said:\n${r.stderr}`);
  }
}
