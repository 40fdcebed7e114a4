// The graylist tree on disk (spec §4.8), safe for many levee processes at once, also on NFS:
//   - an entry is created with O_CREAT|O_EXCL (atomic; the loser of a race just reads the winner's);
//   - an entry's content is only ever replaced whole, by writing a temporary file and rename()-ing it
//     over the entry (atomic on local file systems and NFS), so no reader sees a partial file;
//   - read-modify-write (append the `ip rdns` line, truncate an expired entry) happens under a lock
//     file made with O_EXCL next to the entry, so no concurrent update is lost. A lock older than
//     STALE_LOCK_SECS (a crashed holder) is broken. The decision itself never waits for the lock:
//     when it cannot be had in LOCK_WAIT_MS the append is skipped (mail still passes) and an expired
//     entry is truncated in place with one truncate() call.
// Directories are created 0700 and files 0600. Nothing here follows a name from the wire: callers
// pass canonical components (paths.ts).
import {
  closeSync,
  fchmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { hasLine } from './paths';

export const LOCK_WAIT_MS = 3000;
export const STALE_LOCK_SECS = 30;
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** lock and temporary files start with `.`, which no canonical component does */
export function lockPathOf(entry: string): string {
  return join(dirname(entry), `.${baseName(entry)}.lock`);
}

function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function tempPathOf(entry: string): string {
  const rand = Math.floor(Math.random() * 0xffffffff).toString(16);
  return join(dirname(entry), `.${baseName(entry)}.${process.pid}.${rand}.tmp`);
}

let sleeper: Int32Array | undefined;
function sleepSync(ms: number): void {
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleeper, 0, 0, ms);
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The first root holding a directory for the domain (spec §4.8). */
export function findDomainDir(roots: readonly string[], domain: string): string | null {
  for (const root of roots) {
    if (root === '') continue;
    const p = join(root, domain);
    if (isDir(p)) return p;
  }
  return null;
}

/**
 * Creates the domain directory in the first root where mkdir succeeds (quirk 9; an existing one made
 * by a concurrent process counts). Null, with the errors, when no root took it.
 */
export function createDomainDir(
  roots: readonly string[],
  domain: string,
): { dir: string | null; errors: string[] } {
  const errors: string[] = [];
  for (const root of roots) {
    if (root === '') continue;
    const p = join(root, domain);
    try {
      mkdirSync(p, { mode: DIR_MODE });
      return { dir: p, errors };
    } catch (e) {
      if (code(e) === 'EEXIST' && isDir(p)) return { dir: p, errors };
      errors.push(`unable to create graylist directory ${p}: ${(e as Error).message}`);
    }
  }
  return { dir: null, errors };
}

/** mkdir -p below an existing directory, one component at a time, without following symlinks out. */
function ensureDirs(base: string, parts: readonly string[]): string {
  let p = base;
  for (const part of parts) {
    p = join(p, part);
    try {
      mkdirSync(p, { mode: DIR_MODE });
    } catch (e) {
      if (code(e) !== 'EEXIST') throw e;
      // an existing name must be a real directory: a symlink or file planted here is not walked into
      if (!lstatSync(p).isDirectory())
        throw Object.assign(new Error(`not a directory: ${p}`), { code: 'ENOTDIR' });
    }
  }
  return p;
}

/** Creates the file empty if it does not exist; true when this process created it. */
export function createEmpty(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', FILE_MODE);
  } catch (e) {
    if (code(e) === 'EEXIST') return false;
    throw e;
  }
  try {
    fchmodSync(fd, FILE_MODE); // the umask may have taken bits away or left group bits in
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Runs `f` holding the entry's lock; false when the lock could not be had in time. */
export function withLock(entry: string, f: () => void, waitMs = LOCK_WAIT_MS): boolean {
  const lock = lockPathOf(entry);
  const deadline = Date.now() + waitMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    try {
      closeSync(openSync(lock, 'wx', FILE_MODE));
      break;
    } catch (e) {
      if (code(e) !== 'EEXIST') throw e;
    }
    try {
      const st = statSync(lock);
      if (st.mtimeMs < Date.now() - STALE_LOCK_SECS * 1000) {
        unlinkSync(lock);
        continue;
      }
    } catch {
      continue; // released between our open and stat: try again at once
    }
    if (Date.now() >= deadline) return false;
    sleepSync(delay);
  }
  try {
    f();
    return true;
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      // broken as stale by another process: nothing to release
    }
  }
}

/** Replaces the entry's content whole (temporary file + rename). */
export function replaceContent(entry: string, content: string): void {
  const tmp = tempPathOf(entry);
  const fd = openSync(tmp, 'wx', FILE_MODE);
  try {
    fchmodSync(fd, FILE_MODE);
    if (content !== '') writeSync(fd, Buffer.from(content, 'latin1'));
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, entry);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // gone already
    }
    throw e;
  }
}

export type EntryState =
  | { readonly kind: 'missing' }
  | { readonly kind: 'file'; readonly stats: Stats }
  | { readonly kind: 'other' };

export function entryState(path: string): EntryState {
  try {
    const st = lstatSync(path);
    return st.isFile() ? { kind: 'file', stats: st } : { kind: 'other' };
  } catch (e) {
    if (code(e) === 'ENOENT') return { kind: 'missing' };
    throw e;
  }
}

/**
 * Makes sure the entry's parent directories exist (0700) and moves a pre-4.0 entry file
 * (`user/sender@domain`) to the entry's place, keeping its mtime. Returns the entry path.
 */
export function prepareEntry(domainDir: string, rel: string, legacyRel: string | null): string {
  const parts = rel.split('/');
  const parent = ensureDirs(domainDir, parts.slice(0, -1));
  const entry = join(parent, parts[parts.length - 1] as string);
  if (legacyRel !== null && entryState(entry).kind === 'missing') {
    const legacy = join(domainDir, legacyRel);
    const st = entryState(legacy);
    if (st.kind === 'file') {
      try {
        renameSync(legacy, entry); // rename keeps the mtime, which is the entry's age
      } catch (e) {
        if (code(e) !== 'ENOENT') throw e; // another process moved it first
      }
    }
  }
  return entry;
}

/**
 * The old null-sender layout had a *file* `user/_none` where the new one has a directory: move it to
 * `user/_none/_none`. Safe against a concurrent conversion (the loser finds the directory).
 */
export function convertLegacyNone(domainDir: string, user: string): void {
  const old = join(domainDir, user, '_none');
  const st = entryState(old);
  if (st.kind !== 'file') return;
  const tmp = join(domainDir, user, `._none.${process.pid}.convert`);
  try {
    renameSync(old, tmp);
  } catch (e) {
    if (code(e) === 'ENOENT') return;
    throw e;
  }
  try {
    mkdirSync(old, { mode: DIR_MODE });
  } catch (e) {
    if (code(e) !== 'EEXIST') throw e;
  }
  const target = join(old, '_none');
  try {
    if (entryState(target).kind === 'missing') renameSync(tmp, target);
    else unlinkSync(tmp);
  } catch {
    // a concurrent conversion finished first
  }
}

/** Appends `line` under the lock if not present yet; false when the lock was not had in time. */
export function appendLine(entry: string, line: string): boolean {
  return withLock(entry, () => {
    let content = '';
    try {
      content = readFileSync(entry, 'latin1');
    } catch (e) {
      if (code(e) !== 'ENOENT') throw e;
    }
    if (hasLine(content, line)) return;
    const sep = content === '' || content.endsWith('\n') ? '' : '\n';
    replaceContent(entry, `${content}${sep}${line}\n`);
  });
}

/** Empties an expired entry (its mtime becomes now, so the wait starts again). */
export function truncateEntry(entry: string): void {
  if (!withLock(entry, () => replaceContent(entry, ''))) truncateSync(entry, 0);
}
