// run-as-user for the daemon: switch to USER[:GROUP] (names or numbers) after the listening sockets
// are bound, so levee can bind port 25 as root and then serve as an unprivileged user.
import { readFileSync } from 'node:fs';

export interface Identity {
  uid: number;
  gid: number;
  /** the user name for initgroups, when the user is in /etc/passwd */
  name: string | undefined;
}

/** Looks USER[:GROUP] up in passwd/group text (pure). Throws with a message fit for the log. */
export function resolveIdentity(spec: string, passwd: string, group: string): Identity {
  const [userPart = '', groupPart] = spec.split(':', 2);
  const users = passwd.split('\n').map((l) => l.split(':'));
  const user =
    users.find((f) => f[0] === userPart) ??
    (/^\d+$/.test(userPart) ? users.find((f) => f[2] === userPart) : undefined);
  let uid: number;
  let gid: number | undefined;
  if (user && user.length >= 4) {
    uid = Number(user[2]);
    gid = Number(user[3]);
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
  } else {
    throw new Error(`run-as-user: no such user: ${userPart}`);
  }
  if (groupPart !== undefined && groupPart !== '') {
    const g = group
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[0] === groupPart);
    if (g && g.length >= 3) gid = Number(g[2]);
    else if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else throw new Error(`run-as-user: no such group: ${groupPart}`);
  }
  if (gid === undefined) throw new Error(`run-as-user: user ${userPart} has no group; give USER:GROUP`);
  return { uid, gid, name: user?.[0] };
}

/** the POSIX-only process calls (absent on Windows, so optional) */
interface PosixProcess {
  initgroups?: (user: string, extraGroup: number) => void;
  setgroups?: (groups: number[]) => void;
  setgid?: (id: number) => void;
  setuid?: (id: number) => void;
}

export function switchUser(spec: string): Identity {
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  const id = resolveIdentity(spec, read('/etc/passwd'), read('/etc/group'));
  // order matters: groups first, while still root
  const posix = process as PosixProcess;
  if (!posix.setuid || !posix.setgid || !posix.setgroups) throw new Error('run-as-user: not supported here');
  if (id.name && posix.initgroups) posix.initgroups(id.name, id.gid);
  else posix.setgroups([id.gid]);
  posix.setgid(id.gid);
  posix.setuid(id.uid);
  return id;
}
