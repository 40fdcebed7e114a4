// One graylist check (spec §4.8) on the tree: find or create the domain directory, then create,
// judge, append to or truncate the entry. The options and the exception lists are the filter's
// business (src/filters/graylist.ts); this is the part a test can drive with plain values.
import { join } from 'node:path';
import { decideEntry, entryRelPath, legacyRelPath, passLine, NONE, type EntryKey } from './paths';
import {
  appendLine,
  convertLegacyNone,
  createDomainDir,
  createEmpty,
  entryState,
  findDomainDir,
  prepareEntry,
  truncateEntry,
} from './store';

export interface GraylistRequest {
  /** graylist-dir values, in order */
  readonly roots: readonly string[];
  readonly key: EntryKey;
  /** asked only when no root has the domain directory: may it be created (create-dir levels + local domain)? */
  readonly mayCreateDomain: () => boolean;
  readonly minSecs: number;
  readonly maxSecs: number;
  readonly ip: string;
  readonly rdns: string;
  /** seconds since the epoch; defaults to the clock */
  readonly now?: number;
}

export type GraylistOutcome =
  /** no domain directory: this recipient domain is not graylisted */
  | { readonly kind: 'not-graylisted-domain' }
  /** `warning`: the `ip rdns` line could not be recorded (lock busy); the mail passes anyway */
  | { readonly kind: 'pass'; readonly path: string; readonly warning?: string }
  | { readonly kind: 'graylisted'; readonly path: string; readonly why: 'created' | 'too-new' | 'expired' }
  /** the tree could not be used; the caller lets the mail through and logs `errors` */
  | { readonly kind: 'error'; readonly errors: readonly string[] };

export function checkGraylist(req: GraylistRequest): GraylistOutcome {
  const errors: string[] = [];
  let domainDir = findDomainDir(req.roots, req.key.domain);
  if (domainDir === null) {
    if (!req.mayCreateDomain()) return { kind: 'not-graylisted-domain' };
    const made = createDomainDir(req.roots, req.key.domain);
    errors.push(...made.errors);
    domainDir = made.dir;
    if (domainDir === null) return { kind: 'error', errors };
  }
  const rel = entryRelPath(req.key);
  let path = join(domainDir, rel);
  try {
    if (req.key.senderDomain === NONE) convertLegacyNone(domainDir, req.key.user);
    path = prepareEntry(domainDir, rel, legacyRelPath(req.key));
    let state = entryState(path);
    if (state.kind === 'missing') {
      if (createEmpty(path)) return { kind: 'graylisted', path, why: 'created' };
      // lost a creation race: judge the winner's fresh (empty) file
      state = entryState(path);
    }
    if (state.kind !== 'file') return { kind: 'error', errors: [`graylist entry is not a file: ${path}`] };
    const d = decideEntry({
      now: req.now ?? Math.floor(Date.now() / 1000),
      mtime: Math.floor(state.stats.mtimeMs / 1000),
      size: state.stats.size,
      minSecs: req.minSecs,
      maxSecs: req.maxSecs,
    });
    if (d.pass) {
      if (appendLine(path, passLine(req.ip, req.rdns))) return { kind: 'pass', path };
      return { kind: 'pass', path, warning: `graylist entry busy, the client was not recorded in ${path}` };
    }
    if (d.expired) {
      truncateEntry(path);
      return { kind: 'graylisted', path, why: 'expired' };
    }
    return { kind: 'graylisted', path, why: 'too-new' };
  } catch (e) {
    errors.push(`unable to use graylist entry ${path}: ${(e as Error).message}`);
    return { kind: 'error', errors };
  }
}
