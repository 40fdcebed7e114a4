// run-as-user USER[:GROUP] (spec §1.3): levee gives up root before it talks to the client, after it
// has read what only root may read (the TLS key). The ids are looked up in /etc/passwd and
// /etc/group; the lookup is pure so that it is unit-tested. Supplementary groups are reduced to
// the one group, as djb's setuidgid does.
import { readFileSync } from 'node:fs';
import type { Logger } from '../log';
import type { OptionValues } from '../options/table';

export interface RunAs {
  uid: number;
  gid: number;
}

const NUMBER = /^\d+$/;

function lookup(table: string, key: string, byName: boolean): string[] | undefined {
  for (const line of table.split('\n')) {
    const f = line.split(':');
    if (f.length < 4) continue;
    if (byName ? f[0] === key : f[2] === key) return f;
  }
  return undefined;
}

/** Resolves `USER[:GROUP]` (names or numbers) against passwd/group file contents; a string is an error. */
export function resolveRunAs(spec: string, passwd: string, group: string): RunAs | string {
  const colon = spec.indexOf(':');
  const user = colon < 0 ? spec : spec.slice(0, colon);
  const grp = colon < 0 ? '' : spec.slice(colon + 1);
  if (!user) return `run-as-user: no user name in "${spec}"`;
  const pw = lookup(passwd, user, !NUMBER.test(user));
  let uid: number;
  if (NUMBER.test(user)) uid = Number(user);
  else if (pw) uid = Number(pw[2]);
  else return `run-as-user: unknown user ${user}`;
  let gid: number;
  if (grp) {
    if (NUMBER.test(grp)) gid = Number(grp);
    else {
      const gr = lookup(group, grp, true);
      if (!gr) return `run-as-user: unknown group ${grp}`;
      gid = Number(gr[2]);
    }
  } else if (pw) gid = Number(pw[3]);
  else return `run-as-user: user ${user} has no passwd entry; give the group as ${user}:GROUP`;
  if (!Number.isSafeInteger(uid) || !Number.isSafeInteger(gid)) return `run-as-user: bad id in "${spec}"`;
  return { uid, gid };
}

/**
 * Switches to run-as-user (no-op when it is not set). False after logging an error: levee must not
 * go on as root when the administrator asked it not to.
 */
export function dropPrivileges(o: Pick<OptionValues, 'run-as-user'>, log: Logger): boolean {
  const spec = o['run-as-user'];
  if (!spec) return true;
  const read = (p: string) => {
    try {
      return readFileSync(p, 'latin1');
    } catch {
      return '';
    }
  };
  const ids = resolveRunAs(spec, read('/etc/passwd'), read('/etc/group'));
  if (typeof ids === 'string') {
    log.error(ids);
    return false;
  }
  try {
    if (process.getuid?.() === 0) process.setgroups?.([ids.gid]);
    process.setgid?.(ids.gid);
    process.setuid?.(ids.uid);
  } catch (e) {
    log.error(`unable to switch to user ${spec}: ${(e as Error).message}`);
    return false;
  }
  return true;
}
