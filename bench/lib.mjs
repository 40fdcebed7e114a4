// Shared pieces of `npm run bench`: the clean environment every measured process gets, the C helpers
// (built here with gcc into bench/out/), one measured run through runstat, and statistics.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT = join(REPO, 'bench', 'out');
/** the levee that is measured: a copy of bin/ + dist/ (see snapshotLevee) */
export const LEVEE = join(OUT, 'levee', 'bin', 'levee');
/** the measured copy of the native spawn helper (when `npm install` built it: native/spawn.c) */
export const LEVEE_SPAWN_HELPER = join(OUT, 'levee', 'build', 'Release', 'levee_spawn.node');
export const NODE = process.execPath;

/**
 * The environment of every measured process: NODE_EXTRA_CA_CERTS alone adds ~70 ms to each node
 * start (shared/research/perf.md finding 1) and NODE_OPTIONS could load anything; tcpserver in
 * production has neither.
 */
export function cleanEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  for (const k of ['TCPREMOTEIP', 'TCPREMOTEHOST', 'TCPREMOTEINFO', 'RELAYCLIENT', 'REMOTE_HOST']) {
    if (!(k in extra)) delete env[k];
  }
  return env;
}

/**
 * Copies bin/levee and dist/*.cjs into bench/out/levee/, so a rebuild of dist/ by someone else during
 * the run (build.mjs empties dist/ first) cannot break or change what is measured. Packages still
 * resolve from the repository's node_modules (bench/out/levee is inside the repository).
 */
export function snapshotLevee() {
  const root = join(OUT, 'levee');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'dist'));
  copyFileSync(join(REPO, 'bin', 'levee'), LEVEE);
  for (const f of readdirSync(join(REPO, 'dist'))) {
    // the bundles and the V8 code cache bin/levee loads with dist/levee.cjs
    if (f.endsWith('.cjs') || f.endsWith('.cjs.cache'))
      copyFileSync(join(REPO, 'dist', f), join(root, 'dist', f));
  }
  const helper = join(REPO, 'build', 'Release', 'levee_spawn.node');
  if (existsSync(helper)) {
    mkdirSync(dirname(LEVEE_SPAWN_HELPER), { recursive: true });
    copyFileSync(helper, LEVEE_SPAWN_HELPER);
  }
  return statSync(join(root, 'dist', 'levee.cjs')).size;
}

/** Compiles bench/*.c into bench/out/ (when the source is newer) and returns their paths. */
export function buildCTools() {
  mkdirSync(OUT, { recursive: true });
  const tools = {};
  for (const name of ['runstat', 'sink', 'relay']) {
    const src = join(REPO, 'bench', `${name}.c`);
    const bin = join(OUT, name);
    if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
      execFileSync('gcc', ['-O2', '-Wall', '-o', bin, src], { stdio: 'inherit' });
    }
    tools[name] = bin;
  }
  return tools;
}

/**
 * One run of `cmd` under runstat. input: 'none' (stdin closed at once), 'hold' (closed at the first
 * output byte) or a body size in MiB (a whole SMTP session with that body is written). Returns
 * milliseconds, MB and what runstat saw; throws when runstat itself fails.
 */
export function measure(
  runstat,
  cmd,
  { input = 'none', env, expect, keepStderr = false, timeoutMs = 120000 },
) {
  const args = [];
  if (input === 'hold') args.push('--hold');
  else if (typeof input === 'number') args.push('--gen', String(input));
  if (expect) args.push('--expect', expect);
  if (keepStderr) args.push('--stderr');
  const r = spawnSync(runstat, [...args, '--', ...cmd], { env, encoding: 'latin1', timeout: timeoutMs });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  const f = line.split(' ').map(Number);
  if (r.status !== 0 || f.length !== 8 || f.some(Number.isNaN)) {
    throw new Error(
      `runstat failed for ${cmd.join(' ')}: ${r.error?.message ?? ''} ${r.stderr ?? ''} ${line}`,
    );
  }
  return {
    wallMs: f[0] / 1000,
    firstMs: f[1] < 0 ? NaN : f[1] / 1000,
    maxRssMb: f[2] / 1024,
    exit: f[3],
    outBytes: f[4],
    inBytes: f[5],
    found: f[6] === 1,
    /** user + system time of the command and the children it reaped */
    cpuMs: f[7] / 1000,
    stderr: r.stderr ?? '',
  };
}

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** The value below which `p` (0..1) of the values lie (nearest rank). */
export function quantile(values, p) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.floor(p * v.length))] : NaN;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** "Debian GNU/Linux 12, 2 × Intel Xeon …, 24 GiB, Node v20…" */
export function machineDescription() {
  const read = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  const os = read('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"']) || process.platform;
  const cpu = read('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]);
  const cpus = read('nproc', []);
  const memKb = Number(read('sh', ['-c', "grep MemTotal /proc/meminfo | awk '{print $2}'"]));
  const gcc = read('sh', ['-c', 'gcc --version | head -1']);
  return `${os}; ${cpus} × ${cpu.trim()}; ${(memKb / 1048576).toFixed(0)} GiB RAM; node ${process.version}; ${gcc}`;
}

// ---- result rows and the table ----

/**
 * A result row. value in `unit`; base (optional) is what it is compared with; kind 'ratio' prints
 * value/base, 'delta' prints value-base (or a precomputed paired delta); target is a predicate text
 * with a check.
 */
export function row(group, metric, value, unit, extra = {}) {
  return { group, metric, value, unit, ...extra };
}

const fmt = (v, unit) =>
  !Number.isFinite(v) ? '–' : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${unit}`;

export function formatTable(rows, { markdown = false } = {}) {
  const head = ['group', 'metric', 'value', 'compared with', 'ratio / Δ', 'target', 'met'];
  const lines = rows.map((r) => [
    r.group,
    r.metric,
    fmt(r.value, r.unit),
    r.baseLabel ? `${r.baseLabel}: ${fmt(r.base, r.unit)}` : '',
    r.ratio !== undefined
      ? `${r.ratio.toFixed(2)}×`
      : r.delta !== undefined
        ? `${r.delta < 0 ? '−' : '+'}${Math.abs(r.delta).toFixed(1)} ${r.unit}`
        : '',
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO',
  ]);
  if (markdown) {
    return [head, head.map(() => '---'), ...lines].map((l) => `| ${l.join(' | ')} |`).join('\n');
  }
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const pad = (l) =>
    l
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [pad(head), pad(widths.map((w) => '-'.repeat(w))), ...lines.map(pad)].join('\n');
}
