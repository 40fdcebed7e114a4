// The host name inside CRAM-MD5 challenges (spec §1.3, §5.1): `hostname`, else the first line of
// `hostname-file`, else the first line `hostname-command` prints, else TCPLOCALHOST, then HOSTNAME,
// else unknown.server.unknown.domain. Only looked up when a CRAM-MD5 challenge is made.
import { readFileSync } from 'node:fs';
import { DEFAULT_HOSTNAME } from './mechanisms';
import { splitCommand } from './checkpassword';
import type { Logger } from '../log';
import type { OptionValues } from '../options/table';

/** a hostname-command that does not answer in this time is given up */
const COMMAND_TIMEOUT_MS = 10_000;

export type HostnameSources = Pick<OptionValues, 'hostname' | 'hostname-file' | 'hostname-command'>;

/** The first line of `text`, without its line ending. */
export function firstLine(text: string): string {
  const i = text.search(/\r?\n/);
  return (i < 0 ? text : text.slice(0, i)).trim();
}

export async function challengeHostname(
  o: HostnameSources,
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<string> {
  if (o.hostname) return o.hostname;
  const file = o['hostname-file'];
  if (file) {
    try {
      const name = firstLine(readFileSync(file, 'latin1'));
      if (name) return name;
    } catch (e) {
      log.error(`unable to read hostname file ${file}: ${(e as Error).message}`);
    }
  }
  const command = o['hostname-command'];
  if (command) {
    const argv = splitCommand(command);
    const name = await new Promise<string>((resolve) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { execFile } = require('node:child_process') as typeof import('node:child_process');
      execFile(argv[0], argv.slice(1), { timeout: COMMAND_TIMEOUT_MS, encoding: 'latin1' }, (err, stdout) => {
        if (err) log.error(`unable to run hostname command ${argv[0]}: ${err.message}`);
        resolve(err ? '' : firstLine(stdout));
      });
    });
    if (name) return name;
  }
  return env.TCPLOCALHOST || env.HOSTNAME || DEFAULT_HOSTNAME;
}
