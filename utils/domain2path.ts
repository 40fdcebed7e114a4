// levee-domain2path [-d] NAME...: where NAME's file goes in an rDNS directory tree (spec §4.3, §7),
// e.g. mail.example.com -> com/e/example/mail.example.com; -d prints only the directory.
import { domain2path } from '../src/match/rdns';
import { banner, EXIT_USAGE, runCli, type UtilIO } from './common';

const USAGE =
  'Usage: levee-domain2path [ -d ] NAME [ NAME ... ]\n' +
  '  Prints the path of the file for NAME inside an rDNS directory tree\n' +
  '  (rdns-blacklist-dir, rdns-whitelist-dir, graylist-exception-rdns-dir).\n' +
  '  -d  print only the directory part\n';

/** A host name as rDNS trees store it: letters, digits, `-`, `_`, non-empty labels. */
const HOST_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/;

export function main(argv: readonly string[], io: UtilIO): number {
  let dirOnly = false;
  const names: string[] = [];
  for (const arg of argv) {
    if (arg === '-h' || arg === '--help') {
      io.out(banner('levee-domain2path') + USAGE);
      return 0;
    }
    if (arg === '-d') dirOnly = true;
    else if (arg.startsWith('-')) {
      io.err(`ERROR: unknown option: ${arg}\n${USAGE}`);
      return EXIT_USAGE;
    } else names.push(arg);
  }
  if (names.length === 0) {
    io.err(banner('levee-domain2path') + USAGE);
    return EXIT_USAGE;
  }
  let status = 0;
  for (const name of names) {
    if (!HOST_NAME.test(name) || name.length > 253) {
      io.err(`ERROR: not a host name: ${JSON.stringify(name)}\n`);
      status = EXIT_USAGE;
      continue;
    }
    io.out(domain2path(name.replace(/\.$/, ''), dirOnly) + '\n');
  }
  return status;
}

export const cli = (): void => runCli(main);
