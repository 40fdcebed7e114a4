// `levee graylist show|purge [--dry-run] [levee options, -f config]`: looks after the graylist tree
// (graylist-dir roots, `<domain>/<user>/<sender-domain>/<sender-user>` files) with the same options
// levee runs with. purge is src/graylist/prune.ts; show lists entries with their age and passes.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadOptions } from '../options/parse';
import { pruneGraylistRoot } from '../graylist/prune';

const USAGE = 'Usage: levee graylist (show | purge [--dry-run]) [levee options, e.g. -f /etc/levee.conf]\n';

/** Names on disk came from SMTP addresses: print them without control characters. */
const printable = (s: string) => s.replace(/[\0-\x1f\x7f]/g, '?');

export interface ShownEntry {
  path: string[];
  ageSecs: number;
  /** lines recorded when the sender passed (0: still graylisted) */
  passes: number;
}

/** Every entry below a root, depth-first in name order; unreadable parts are skipped. */
export function listEntries(root: string, nowSecs: number): ShownEntry[] {
  const out: ShownEntry[] = [];
  const walk = (dir: string, path: string[]): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const p = join(dir, name);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (path.length < 3 && st.isDirectory()) walk(p, [...path, name]);
      else if (path.length === 3 && st.isFile()) {
        let passes = 0;
        try {
          passes = readFileSync(p, 'latin1')
            .split('\n')
            .filter((l) => l !== '').length;
        } catch {
          // unreadable: shown with 0 passes
        }
        out.push({
          path: [...path, name],
          ageSecs: Math.max(0, nowSecs - Math.floor(st.mtimeMs / 1000)),
          passes,
        });
      }
    }
  };
  walk(root, []);
  return out;
}

export async function graylist(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const dryRun = rest.includes('--dry-run');
  const optionArgs = rest.filter((a) => a !== '--dry-run');
  if (command !== 'show' && command !== 'purge') {
    process.stderr.write(USAGE);
    return 111;
  }
  let o;
  try {
    o = loadOptions([...optionArgs, '--', '(graylist)']).options;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`levee: ERROR: ${e.message}\n${USAGE}`);
    return 111;
  }
  const roots = o['graylist-dir'];
  if (roots.length === 0) {
    process.stderr.write('levee: ERROR: no graylist-dir is configured\n');
    return 111;
  }
  const now = Math.floor(Date.now() / 1000);
  const maxSecs = o['graylist-max-secs'];
  if (command === 'show') {
    process.stdout.write('RECIPIENT\tSENDER\tAGE_SECS\tPASSES\tEXPIRED\n');
    for (const root of roots) {
      for (const e of listEntries(root, now)) {
        const [domain, user, senderDomain, senderUser] = e.path.map(printable);
        const expired = maxSecs > 0 && e.ageSecs > maxSecs;
        process.stdout.write(
          `${user}@${domain}\t${senderUser}@${senderDomain}\t${e.ageSecs}\t${e.passes}\t${expired ? 'yes' : 'no'}\n`,
        );
      }
    }
    return 0;
  }
  if (!(maxSecs > 0)) {
    process.stderr.write('levee: ERROR: graylist-max-secs is 0 (entries never expire): nothing to purge\n');
    return 111;
  }
  let failed = false;
  for (const root of roots) {
    const r = pruneGraylistRoot(root, { maxSecs, now, dryRun });
    process.stdout.write(
      `${printable(root)}: ${dryRun ? 'would remove' : 'removed'} ${r.removedEntries} entries, ` +
        `${r.removedDirs} directories, ${r.removedStale} stale lock files; kept ${r.keptEntries} entries\n`,
    );
    for (const err of r.errors) process.stderr.write(`levee: ERROR: ${printable(err)}\n`);
    failed ||= r.errors.length > 0;
  }
  return failed ? 1 : 0;
}
