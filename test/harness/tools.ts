// Shared helpers for end-to-end tests: where things are, which outside tools exist, scratch
// directories and the environment that child processes get.
import { accessSync, constants, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';

/** Root of the repository (the folder with package.json). */
export const REPO = resolve(__dirname, '..', '..');
/** The installed entry point, as tcpserver would exec it. Needs `npm run build` first. */
export const LEVEE_BIN = join(REPO, 'bin', 'levee');
/** The qmail-smtpd stand-in (test/fixtures/qmail-standin.mjs), executable. */
export const QMAIL_STANDIN = join(REPO, 'test', 'fixtures', 'qmail-standin.mjs');

// Debian package that provides each command, for the skip message and .ci/run.
const DEBIAN_PACKAGE: Record<string, string> = {
  tcpserver: 'ucspi-tcp',
  tcprules: 'ucspi-tcp',
  tcprulescheck: 'ucspi-tcp',
  swaks: 'swaks libnet-ssleay-perl',
  exim4: 'exim4-daemon-light',
  rbldnsd: 'rbldnsd',
  dnsmasq: 'dnsmasq-base',
  dig: 'dnsutils',
  openssl: 'openssl',
  checkpw: 'checkpw',
  cdb: 'tinycdb',
  hyperfine: 'hyperfine',
};

/** Absolute path of `command` found on PATH (or the path itself if it contains a slash), else null. */
export function whichCommand(command: string): string | null {
  const candidates = command.includes('/')
    ? [command]
    : (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
        .split(delimiter)
        .concat(['/usr/sbin', '/sbin'])
        .filter((dir) => dir !== '')
        .map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return null;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Why a test cannot run here (missing commands, not root), or null when everything is present.
 * Usable where no TestContext exists, e.g. `describe('x', { skip: missingTools([...]) ?? false }, ...)`
 * (but remember that under CI a skip is not allowed: prefer needTools inside the test).
 */
export function missingTools(tools: string[], opts: { root?: boolean } = {}): string | null {
  const missing = tools.filter((tool) => whichCommand(tool) === null);
  const reasons: string[] = [];
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((tool) => DEBIAN_PACKAGE[tool] ?? tool))].join(' ');
    reasons.push(`needs ${missing.join(', ')} (apt-get install ${packages})`);
  }
  if (opts.root && !isRoot()) reasons.push('needs root');
  return reasons.length > 0 ? reasons.join('; ') : null;
}

/**
 * True when every tool is on PATH (and we are root if asked). Otherwise the test is skipped with a
 * message naming the Debian packages and false is returned; under CI (env CI set) it throws instead,
 * because CI must run every test. Use as `if (!needTools(t, ['tcpserver'])) return;`.
 */
export function needTools(t: TestContext, tools: string[], opts: { root?: boolean } = {}): boolean {
  const reason = missingTools(tools, opts);
  if (reason === null) return true;
  if (process.env.CI) throw new Error(`CI must run every test, but this one ${reason}`);
  t.skip(reason);
  return false;
}

export interface ScratchDir {
  dir: string;
  /** Removes the directory tree; safe to call twice. Kept when LEVEE_KEEP_TMP is set (debugging). */
  cleanup(): void;
}

/**
 * A fresh directory under the OS temp dir, mode 755 so that daemons which drop privileges (exim,
 * rbldnsd, dnsmasq) can enter it.
 */
export function tmpDir(prefix: string): ScratchDir {
  const dir = mkdtempSync(join(tmpdir(), `levee-${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
  chmodSync(dir, 0o755);
  let removed = false;
  return {
    dir,
    cleanup() {
      if (removed || process.env.LEVEE_KEEP_TMP) return;
      removed = true;
      // a process of the test may still be finishing a file in it: retry briefly (ENOTEMPTY)
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    },
  };
}

/** tmpDir whose removal is registered with `t.after`, for tests that need nothing else. */
export function tmpDirFor(t: TestContext, prefix: string): string {
  const scratch = tmpDir(prefix);
  t.after(() => scratch.cleanup());
  return scratch.dir;
}

/**
 * The environment for spawned programs: ours minus NODE_EXTRA_CA_CERTS / NODE_OPTIONS (they slow
 * every node start and production tcpserver does not pass them), plus `extra`.
 */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && key !== 'NODE_EXTRA_CA_CERTS' && key !== 'NODE_OPTIONS') env[key] = value;
  }
  return { ...env, ...extra };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
