// The checkpassword interface (spec §5.4, cr.yp.to/checkpwd/interface.html): each smtp-auth-command
// is run with `user\0password\0timestamp\0` on fd 3, stdout/stderr discarded, a 30-second limit;
// the commands are tried in order until one exits 0. The exit codes of vchkpw get spamdyke's
// explanations in the verbose log.
import type { Logger } from '../log';

/** spamdyke's TIMEOUT_CHECKPASSWORD_SECS */
export const CHECKPASSWORD_TIMEOUT_MS = 30_000;

/** What a checkpassword exit status means; null for success. Pure (unit-tested). */
export function describeCheckpasswordExit(status: number): string | null {
  switch (status) {
    case 0:
      return null;
    case 1:
      return 'authentication failure (bad username/password, vchkpw uses this to indicate SMTP access is not allowed)';
    case 2:
      return 'authentication misuse (no input given or no additional command path given, e.g. /bin/true)';
    case 111:
      return 'authentication error (likely due to missing/unexecutable commands)';
  }
  const vchkpw = VCHKPW_EXITS[status];
  if (vchkpw) return `authentication error ${status} (vchkpw uses this to indicate ${vchkpw})`;
  return `unknown authentication error code (${status})`;
}

const VCHKPW_EXITS: Readonly<Record<number, string>> = {
  3: 'an unknown username or authentication failure',
  7: 'a failure to set the USER environment variable, possibly due to low memory',
  8: 'a failure to set the HOME environment variable, possibly due to low memory',
  9: 'a failure to set the SHELL environment variable, possibly due to low memory',
  10: 'a failure to set the VPOPUSER environment variable, possibly due to low memory',
  11: 'missing input on file descriptor 3',
  12: 'an empty username',
  13: 'an empty password',
  14: "a failure to create a virtual user's home directory",
  15: 'a virtual user has no password',
  20: 'an unparsable email address',
  21: 'a failed username lookup in the system password file',
  22: 'a failed username lookup in the system shadow file',
  23: 'a failed authentication attempt using the system password file',
};

/** A command value split as spamdyke does: on every single space (no quoting; `a  b` has an empty word). */
export function splitCommand(command: string): string[] {
  return command.split(' ');
}

/** The fd-3 payload. Fields are bytes from the client: a NUL inside one would shift the fields. */
export function checkpasswordInput(user: Buffer, password: Buffer, timestamp: Buffer): Buffer | null {
  if (user.includes(0) || password.includes(0) || timestamp.includes(0)) return null;
  const nul = Buffer.from([0]);
  return Buffer.concat([user, nul, password, nul, timestamp, nul]);
}

export interface CheckpasswordRun {
  /** exit status, or null when it was killed, timed out or could not be started */
  status: number | null;
  error?: string;
}

/** Runs one checkpassword command to completion (or the time limit). */
export function runCheckpassword(
  argv: readonly string[],
  input: Buffer,
  timeoutMs = CHECKPASSWORD_TIMEOUT_MS,
): Promise<CheckpasswordRun> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: CheckpasswordRun) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { spawn } = require('node:child_process') as typeof import('node:child_process');
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: process.env,
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ status: null, error: `timed out after ${timeoutMs / 1000} seconds` });
    }, timeoutMs);
    child.on('error', (e) => done({ status: null, error: e.message }));
    // output is read and thrown away so that a chatty program cannot block on a full pipe
    child.stdout?.resume();
    child.stderr?.resume();
    const fd3 = child.stdio[3] as NodeJS.WritableStream | null;
    if (fd3) {
      fd3.on('error', () => {});
      fd3.end(input);
    }
    child.on('exit', (code, signal) =>
      done(code !== null ? { status: code } : { status: null, error: `killed by signal ${signal}` }),
    );
  });
}

export interface Credentials {
  user: Buffer;
  password: Buffer;
  /** empty for PLAIN/LOGIN; the decoded challenge for CRAM-MD5 (password = the client's hex digest) */
  timestamp: Buffer;
}

/** Tries every smtp-auth-command in order; true as soon as one accepts the credentials. */
export async function verifyCredentials(
  commands: readonly string[],
  c: Credentials,
  log: Logger,
): Promise<boolean> {
  const input = checkpasswordInput(c.user, c.password, c.timestamp);
  const shownUser = printable(c.user);
  if (!input) {
    log.verbose(`authentication refused: a NUL byte inside the credentials: ${shownUser}`);
    return false;
  }
  for (const command of commands) {
    const argv = splitCommand(command);
    if (!argv[0]) continue;
    log.debug(`executing SMTP AUTH command ${argv[0]} for user: ${shownUser}`);
    const r = await runCheckpassword(argv, input);
    if (r.status === 0) {
      log.debug(`authentication successful: ${shownUser}`);
      return true;
    }
    if (r.status === null) log.verbose(`authentication aborted abnormally (${r.error}): ${shownUser}`);
    else log.verbose(`${describeCheckpasswordExit(r.status)}: ${shownUser}`);
  }
  return false;
}

/** A client-supplied name made safe for a log line: printable ASCII only, at most 255 bytes. */
export function printable(b: Buffer): string {
  return b
    .toString('latin1')
    .replace(/[^\x21-\x7e]/g, '')
    .slice(0, 255);
}
