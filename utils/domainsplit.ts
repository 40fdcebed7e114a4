// levee-domainsplit [NAME...]: the "base domain" of each name (spec §7): the last two labels, or the
// last three when the top-level domain has at most two letters. Names come from the arguments or,
// without arguments, one per line from standard input.
import { baseDomain } from '../src/match/rdns';
import { banner, EXIT_USAGE, runCli, type UtilIO } from './common';

const USAGE =
  'Usage: levee-domainsplit [ NAME ... ]\n' +
  '  Prints the base domain of each NAME (foo.bar.example.com -> example.com,\n' +
  '  foo.example.com.us -> example.com.us). Without NAMEs, reads names from standard input.\n';

export async function main(argv: readonly string[], io: UtilIO): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    io.out(banner('levee-domainsplit') + USAGE);
    return 0;
  }
  const bad = argv.find((a) => a.startsWith('-'));
  if (bad !== undefined) {
    io.err(`ERROR: unknown option: ${bad}\n${USAGE}`);
    return EXIT_USAGE;
  }
  const names = argv.length
    ? [...argv]
    : (await io.readStdin())
        .toString('latin1')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '');
  let status = 0;
  for (const name of names) {
    if (/[\s\x00-\x1f\x7f/]/.test(name)) {
      io.err(`ERROR: not a domain name: ${JSON.stringify(name)}\n`);
      status = EXIT_USAGE;
      continue;
    }
    io.out(baseDomain(name.replace(/\.$/, '')) + '\n');
  }
  return status;
}

export const cli = (): void => runCli(main);
