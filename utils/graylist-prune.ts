// levee-graylist-prune [--dry-run] [-v] SECS DIR...: removes graylist entries (spec §4.8:
// DIR/<domain>/<user>/<sender-domain>/<sender-user>) not touched for SECS seconds, and the user and
// sender-domain directories that become empty. Domain directories are kept: their presence is what
// turns graylisting on for a domain. Symbolic links are never followed or removed, so the walk
// cannot leave the tree, and nothing outside the expected depth is touched.
import { lstatSync, readdirSync, rmdirSync, unlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { banner, EXIT_USAGE, runCli, type UtilIO } from './common';

const USAGE =
  'Usage: levee-graylist-prune [ --dry-run ] [ -v ] SECS GRAYLIST_DIR [ GRAYLIST_DIR ... ]\n' +
  '  Removes graylist entries older than SECS seconds (use the value of graylist-max-secs)\n' +
  '  and the directories that become empty; domain directories are kept.\n' +
  '  --dry-run  only print what would be removed\n' +
  '  -v         print every path removed\n';

/** Entry files are at this depth below the root: domain/user/sender-domain/sender-user. */
const ENTRY_DEPTH = 4;

export interface PruneResult {
  removedFiles: string[];
  removedDirs: string[];
  kept: number;
  /** symlinks and other things that are not part of a graylist tree; left alone */
  skipped: string[];
  errors: string[];
}

function list(dir: string, result: PruneResult): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (e) {
    result.errors.push(`${dir}: ${(e as Error).message}`);
    return [];
  }
}

/**
 * Prunes one graylist root. `cutoffMs`: entries whose mtime is older are removed. Returns what was
 * (or, with dryRun, would be) removed.
 */
export function pruneGraylist(
  root: string,
  cutoffMs: number,
  dryRun: boolean,
  result?: PruneResult,
): PruneResult {
  const r: PruneResult = result ?? { removedFiles: [], removedDirs: [], kept: 0, skipped: [], errors: [] };
  const visit = (dir: string, depth: number): boolean => {
    // returns true when `dir` is (or would be) empty afterwards
    let remaining = 0;
    for (const name of list(dir, r)) {
      const path = join(dir, name);
      let st: Stats;
      try {
        st = lstatSync(path);
      } catch (e) {
        r.errors.push(`${path}: ${(e as Error).message}`);
        remaining++;
        continue;
      }
      if (depth + 1 === ENTRY_DEPTH && st.isFile()) {
        if (st.mtimeMs < cutoffMs) {
          try {
            if (!dryRun) unlinkSync(path);
            r.removedFiles.push(path);
            continue;
          } catch (e) {
            r.errors.push(`${path}: ${(e as Error).message}`);
          }
        } else r.kept++;
        remaining++;
      } else if (depth + 1 < ENTRY_DEPTH && st.isDirectory()) {
        const empty = visit(path, depth + 1);
        // depth 0 children are domain directories: always kept
        if (empty && depth + 1 >= 2) {
          try {
            if (!dryRun) rmdirSync(path);
            r.removedDirs.push(path);
            continue;
          } catch (e) {
            r.errors.push(`${path}: ${(e as Error).message}`);
          }
        }
        remaining++;
      } else {
        r.skipped.push(path);
        remaining++;
      }
    }
    return remaining === 0;
  };
  let st: Stats;
  try {
    st = lstatSync(root);
  } catch (e) {
    r.errors.push(`${root}: ${(e as Error).message}`);
    return r;
  }
  if (!st.isDirectory()) r.errors.push(`${root}: not a directory`);
  else visit(root, 0);
  return r;
}

/** File names come from the tree, which senders' addresses shaped: no control bytes reach the terminal. */
function shown(path: string): string {
  return path.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function main(argv: readonly string[], io: UtilIO, now = Date.now()): number {
  let dryRun = false;
  let verbose = false;
  const words: string[] = [];
  for (const arg of argv) {
    if (arg === '-h' || arg === '--help') {
      io.out(banner('levee-graylist-prune') + USAGE);
      return 0;
    }
    if (arg === '--dry-run' || arg === '-n') dryRun = true;
    else if (arg === '-v' || arg === '--verbose') verbose = true;
    else if (arg.startsWith('-')) {
      io.err(`ERROR: unknown option: ${arg}\n${USAGE}`);
      return EXIT_USAGE;
    } else words.push(arg);
  }
  if (words.length < 2) {
    io.err(banner('levee-graylist-prune') + USAGE);
    return EXIT_USAGE;
  }
  if (!/^\d{1,10}$/.test(words[0])) {
    io.err(`ERROR: SECS must be a whole number of seconds: ${words[0]}\n`);
    return EXIT_USAGE;
  }
  const cutoff = now - Number(words[0]) * 1000;
  const r: PruneResult = { removedFiles: [], removedDirs: [], kept: 0, skipped: [], errors: [] };
  for (const root of words.slice(1)) pruneGraylist(root, cutoff, dryRun, r);
  const verb = dryRun ? 'would remove' : 'removed';
  if (verbose || dryRun)
    for (const p of [...r.removedFiles, ...r.removedDirs]) io.out(`${verb} ${shown(p)}\n`);
  for (const p of r.skipped) io.err(`WARNING: not part of a graylist tree, left alone: ${shown(p)}\n`);
  for (const e of r.errors) io.err(`ERROR: ${shown(e)}\n`);
  io.out(
    `${r.removedFiles.length} entries ${verb}, ${r.kept} kept, ${r.removedDirs.length} empty directories ${verb}\n`,
  );
  return r.errors.length ? 1 : 0;
}

export const cli = (): void => runCli(main);
