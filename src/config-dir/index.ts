// config-dir (spec §4.7, §2.4 RCPT step 1, errata 5): before each RCPT the connection's options are
// copied, the files of the tree that match this client, sender and recipient are applied to the copy
// (only D-allowed options; a bad line is logged and skipped), and the filters then run with the copy.
// The session keeps the copy for this recipient only.
//
// Search: for each root, in the order `_ip_`, `_rdns_`, `_sender_`, `_recipient_`, the criterion's
// paths are probed most specific first. A regular file is a match (a file named `_at_` never is); a
// directory may continue with another criterion (`_ip_/11/22/33/44/_sender_/com/example/_at_/mom`),
// which is searched at once, depth first, with the criteria not used on the way. With
// config-dir-search `first` each criterion contributes at most one file across all roots (its most
// specific); `all-ip`, `all-rdns`, `all-sender`, `all-recipient` let that criterion contribute every
// match. A nested file counts for the criterion that names it (the last one on its path). Files are
// applied in the order found, most specific first. Symbolic links are followed, as spamdyke does:
// the tree belongs to the administrator, and no component from the wire can leave it (paths.ts).
import { statSync } from 'node:fs';
import { applyConfigFile, cloneState, finish, type OptionState } from '../options/parse';
import type { OptionValues } from '../options/table';
import type { Logger } from '../log';
import { candidatePaths, CRITERIA, criterionDir, type Criterion, type Who } from './paths';

export type { Who } from './paths';

/** The earlytalker check ran at connect; a config-dir file may switch it off, not on (spec §2.4 step 19). */
const EARLYTALKER_TOO_LATE = 'earlytalker filter cannot be activated after the start of the connection';

type Kind = 'file' | 'dir' | 'none';

function kindOf(path: string): Kind {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return 'none';
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'none';
  } catch {
    return 'none'; // EACCES, ENAMETOOLONG, ENOTDIR…: not a match, as stat() failing is in spamdyke
  }
}

/** The matching files of the trees, in the order they are applied. */
export function findConfigFiles(dirs: readonly string[], who: Who, search: readonly string[]): string[] {
  const candidates = candidatePaths(who);
  const all = (c: Criterion): boolean => search.includes(`all-${c}`);
  const taken = new Set<Criterion>();
  const found: string[] = [];

  const walk = (base: string, remaining: readonly Criterion[]): void => {
    for (const c of remaining) {
      const root = `${base}/${criterionDir(c)}`;
      if (candidates[c].length === 0 || kindOf(root) !== 'dir') continue;
      const rest = remaining.filter((r) => r !== c);
      for (const rel of candidates[c]) {
        const path = `${root}/${rel}`;
        const kind = kindOf(path);
        if (kind === 'file') {
          if (taken.has(c) && !all(c)) continue;
          taken.add(c);
          found.push(path);
        } else if (kind === 'dir' && rest.length) walk(path, rest);
      }
    }
  };
  for (const dir of dirs) if (dir !== '') walk(dir, CRITERIA);
  return found;
}

/**
 * The options for one recipient: a copy of `baseState` with the matching config-dir files applied.
 * `files` are the files read, in order. Problems in the files are logged at error level.
 */
export function configDirOptions(
  baseState: OptionState,
  dirs: readonly string[],
  who: { ip: string; rdns: string; sender: string; recipient: string },
  search: readonly string[],
  log: Logger,
): { options: OptionValues; files: string[] } {
  const files = findConfigFiles(dirs, who, search);
  if (files.length === 0) return { options: finish(baseState), files };
  const state = cloneState(baseState);
  const before = state.warnings.length;
  for (const file of files) {
    log.debug(`reading configuration file ${file}`);
    applyConfigFile(state, file, 'D');
  }
  const baseDelay = baseState.values.get('greeting-delay-secs');
  const delay = state.values.get('greeting-delay-secs');
  if (delay !== baseDelay && delay !== 0) {
    state.warnings.push(EARLYTALKER_TOO_LATE);
    state.values.set('greeting-delay-secs', baseDelay);
  }
  for (const message of state.warnings.slice(before)) log.error(message);
  return { options: finish(state), files };
}
