// 100 concurrent idle connections: levee (typical config) after its greeting, waiting for the client,
// against 100 idle `node -e 'setInterval(()=>{},1e9)'`. Memory is the sum of Pss from
// /proc/PID/smaps_rollup (shared pages such as node's own text are split between the processes that
// share them, so the sum is what the connections really cost).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { LEVEE, NODE, row, sleep } from './lib.mjs';

function pssKb(pid) {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function cpuTicks(pids) {
  let sum = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      sum += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return sum;
}

/** waits until the processes stop using CPU (start-up finished), at most `ms` */
async function settle(pids, ms) {
  const end = Date.now() + ms;
  let last = cpuTicks(pids);
  while (Date.now() < end) {
    await sleep(500);
    const now = cpuTicks(pids);
    if (now === last) return;
    last = now;
  }
}

/** spawns n copies in batches, waits for `ready` of each (or just starts them), settles, sums PSS */
async function idleSet(n, cmd, env, waitForGreeting) {
  const procs = [];
  try {
    for (let i = 0; i < n; i++) {
      const p = spawn(cmd[0], cmd.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (c) => (stderr = (stderr + c).slice(-2000)));
      const ready = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${cmd[1]} did not greet within 30 s`)), 30000);
        p.stdout.once('data', () => (clearTimeout(timer), resolve()));
        p.once(
          'exit',
          (code) => (clearTimeout(timer), reject(new Error(`${cmd[1]} exited early (${code}): ${stderr}`))),
        );
      });
      ready.catch(() => {});
      procs.push({ p, ready });
      if (i % 10 === 9)
        await (waitForGreeting ? Promise.all(procs.slice(-10).map((x) => x.ready)) : sleep(200));
    }
    if (waitForGreeting) await Promise.all(procs.map((x) => x.ready));
    const pids = procs.map((x) => x.p.pid);
    await settle(pids, 5000);
    await sleep(500);
    let own = 0;
    let children = 0;
    for (const pid of pids) {
      own += pssKb(pid);
      for (const c of childrenOf(pid)) children += pssKb(c);
    }
    return { ownMb: own / 1024, childrenMb: children / 1024 };
  } finally {
    for (const { p } of procs) {
      p.stdin.end();
      p.stdout.resume();
      p.once('exit', () => {});
    }
    await sleep(300);
    for (const { p } of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    await sleep(200);
  }
}

export async function idleBench(ctx) {
  const { fx } = ctx;
  const n = 100;
  const node = await idleSet(n, [NODE, '-e', 'setInterval(()=>{},1e9)'], fx.envNone, false);
  ctx.progress('idle node processes measured');
  const levee = await idleSet(n, [NODE, LEVEE, ...fx.typicalArgs], fx.envTypical, true);
  ctx.progress('idle levee processes measured');
  const ratio = levee.ownMb / node.ownMb;
  return [
    row('idle', `${n} idle levee (typical config, after greeting): Σ PSS of levee`, levee.ownMb, 'MB', {
      baseLabel: `${n} idle node`,
      base: node.ownMb,
      ratio,
      target: '≤ 1.2×',
      met: ratio <= 1.2,
    }),
    row('idle', `… plus their ${n} C sink children`, levee.ownMb + levee.childrenMb, 'MB'),
  ];
}
