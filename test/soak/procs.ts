// Process inspection through /proc for the abuse, fault and soak tests: which processes a test left
// behind, and how much memory a levee process used at its peak. Linux only (CI is Debian).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ProcInfo {
  pid: number;
  ppid: number;
  argv: string[];
}

function readProc(pid: string): ProcInfo | null {
  try {
    const stat = readFileSync(join('/proc', pid, 'stat'), 'latin1');
    // the command name is in parentheses and may contain spaces: ppid is the 2nd field after ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return null; // a zombie is already dead; its parent reaps it
    const argv = readFileSync(join('/proc', pid, 'cmdline'), 'latin1')
      .split('\0')
      .filter((a) => a !== '');
    return { pid: Number(pid), ppid: Number(fields[1]), argv };
  } catch {
    return null; // gone meanwhile
  }
}

/**
 * Live processes (not tcpserver itself) whose environment has `KEY=value`: the levee processes and
 * their children of one test, since tcpserver passes its environment down.
 */
export function processesWithEnv(key: string, value: string): ProcInfo[] {
  const needle = `${key}=${value}\0`;
  const found: ProcInfo[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    let env: string;
    try {
      env = readFileSync(join('/proc', p, 'environ'), 'latin1');
    } catch {
      continue;
    }
    if (!env.startsWith(needle) && !env.includes('\0' + needle)) continue;
    const info = readProc(p);
    if (info && !(info.argv[0] ?? '').endsWith('tcpserver')) found.push(info);
  }
  return found;
}

/** Polls until no process carries `KEY=value` (or `ms` passes); returns what is left. */
export async function waitNoProcesses(key: string, value: string, ms = 5000): Promise<ProcInfo[]> {
  const until = Date.now() + ms;
  for (;;) {
    const left = processesWithEnv(key, value);
    if (left.length === 0 || Date.now() > until) return left;
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** VmHWM (peak resident set) of a live process in kB, or null when it is gone. */
export function peakRssKb(pid: number): number | null {
  try {
    const status = readFileSync(join('/proc', String(pid), 'status'), 'latin1');
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
