// Helpers for a `levee-graylist-prune` utility (run from cron): spamdyke's file-per-tuple tree only
// grows, and can exhaust inodes. An entry older than graylist-max-secs no longer lets anything through
// (it would be emptied and the sender graylisted again on the next try), so removing it changes no
// decision; the same holds for empty `user` and `sender-domain` directories. Domain directories are
// configuration (they switch graylisting on for a domain) and are never removed. Left-over lock and
// temporary files (names starting with `.`) older than STALE_LOCK_SECS are removed too.
// The walk uses lstat and never follows symbolic links; anything unexpected is left alone.
import { lstatSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { STALE_LOCK_SECS } from './store';

export interface PruneOptions {
  /** entries whose mtime is more than this many seconds ago are removed (must be > 0) */
  readonly maxSecs: number;
  /** seconds since the epoch; defaults to the clock */
  readonly now?: number;
  /** only count what would be removed */
  readonly dryRun?: boolean;
}

export interface PruneResult {
  removedEntries: number;
  removedDirs: number;
  removedStale: number;
  keptEntries: number;
  /** problems met (unreadable directories, failed removals); the walk goes on */
  errors: string[];
}

function list(dir: string, r: PruneResult): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    r.errors.push(`unable to read ${dir}: ${(e as Error).message}`);
    return [];
  }
}

function remove(path: string, isDir: boolean, r: PruneResult, dryRun: boolean): boolean {
  if (dryRun) return true;
  try {
    if (isDir) rmdirSync(path);
    else unlinkSync(path);
    return true;
  } catch (e) {
    // ENOTEMPTY: a concurrent levee just created an entry in it, which is fine
    if ((e as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (e as NodeJS.ErrnoException).code !== 'ENOENT')
      r.errors.push(`unable to remove ${path}: ${(e as Error).message}`);
    return false;
  }
}

/** Prunes one graylist root (`GDIR/<domain>/<user>/<sender-domain>/<sender-user>`). */
export function pruneGraylistRoot(root: string, opts: PruneOptions): PruneResult {
  if (!(opts.maxSecs > 0)) throw new RangeError('maxSecs must be a positive number of seconds');
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const dryRun = opts.dryRun ?? false;
  const r: PruneResult = { removedEntries: 0, removedDirs: 0, removedStale: 0, keptEntries: 0, errors: [] };

  /** walks one level; returns true when `dir` is (or would be) empty afterwards */
  const walk = (dir: string, depth: number): boolean => {
    let left = 0;
    for (const name of list(dir, r)) {
      const p = join(dir, name);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue; // removed meanwhile
      }
      const mtime = Math.floor(st.mtimeMs / 1000);
      if (name.startsWith('.')) {
        if (st.isFile() && mtime + STALE_LOCK_SECS < now && remove(p, false, r, dryRun)) r.removedStale++;
        else left++;
      } else if (depth < 3 && st.isDirectory()) {
        const empty = walk(p, depth + 1);
        // depth 0 holds the domain directories: configuration, kept even when empty
        if (depth > 0 && empty && remove(p, true, r, dryRun)) r.removedDirs++;
        else left++;
      } else if (depth === 3 && st.isFile()) {
        if (mtime + opts.maxSecs < now && remove(p, false, r, dryRun)) r.removedEntries++;
        else {
          r.keptEntries++;
          left++;
        }
      } else left++; // pre-4.0 files, symlinks, sockets…: not ours to judge
    }
    return left === 0;
  };
  walk(root, 0);
  return r;
}
