// levee-timefilter START_SECS_AGO END_SECS_AGO: copies the standard-input lines whose leading
// timestamp lies between now-START and now-END (spec §7). Understands TAI64N (`@4000…`, multilog),
// syslog (`Oct 22 21:17:11`), Apache (`[22/Oct/2008:21:03:50 +0200]`) and ISO 8601 stamps. Lines
// without a timestamp are dropped. A leading `+` on START or END adds one hour to it, for logs
// written before a daylight-saving change.
import { banner, EXIT_USAGE, runCli, type UtilIO } from './common';

const USAGE =
  'Usage: levee-timefilter START_SECS_AGO END_SECS_AGO < LOG\n' +
  '  Prints the lines of LOG whose timestamp is between START and END seconds ago\n' +
  '  (START >= END). A leading + adds one hour to a value (daylight-saving shift).\n' +
  '  Example: levee-timefilter 3600 0 < /var/log/qmail/smtpd/current   # the last hour\n';

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
/** TAI64 labels count from 2^62; TAI is 10 s ahead of UTC in daemontools' convention. */
const TAI64_EPOCH = 2n ** 62n + 10n;
const DST_SHIFT_SECS = 3600;

/** `N` or `+N` (one hour more); null when it is not a non-negative integer. */
export function parseSecsAgo(text: string): number | null {
  const m = /^(\+?)(\d{1,10})$/.exec(text);
  if (!m) return null;
  return Number(m[2]) + (m[1] ? DST_SHIFT_SECS : 0);
}

function month(name: string): number {
  return MONTHS.indexOf(name.toLowerCase());
}

/** Epoch seconds of a line's leading timestamp, or null when it has none (pure). */
export function leadingTimestamp(line: string, now: Date): number | null {
  let m = /^@([0-9a-f]{16})[0-9a-f]{8}/i.exec(line);
  if (m) return Number(BigInt('0x' + m[1]) - TAI64_EPOCH);
  m = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)/.exec(line);
  if (m && month(m[1]) >= 0) {
    // syslog has no year: the most recent such date that is not in the future
    let year = now.getFullYear();
    const at = (y: number) =>
      new Date(y, month(m![1]), Number(m![2]), Number(m![3]), Number(m![4]), Number(m![5]));
    if (at(year).getTime() > now.getTime() + 86_400_000) year--;
    return Math.floor(at(year).getTime() / 1000);
  }
  m = /^\[(\d{1,2})\/([A-Za-z]{3})\/(\d{4}):(\d\d):(\d\d):(\d\d)(?: ([+-])(\d\d)(\d\d))?/.exec(line);
  if (m && month(m[2]) >= 0) {
    const [d, mon, y, hh, mm, ss] = [
      Number(m[1]),
      month(m[2]),
      Number(m[3]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6]),
    ];
    if (m[7]) {
      const offset = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 3600 + Number(m[9]) * 60);
      return Date.UTC(y, mon, d, hh, mm, ss) / 1000 - offset;
    }
    return Math.floor(new Date(y, mon, d, hh, mm, ss).getTime() / 1000);
  }
  m = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?/.exec(line);
  if (m) {
    const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}`);
    return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
  }
  return null;
}

/** The lines stamped between now-startAgo and now-endAgo, inclusive (pure). */
export function filterByTime(
  lines: readonly string[],
  startAgo: number,
  endAgo: number,
  now: Date,
): string[] {
  const nowSecs = Math.floor(now.getTime() / 1000);
  const from = nowSecs - startAgo;
  const to = nowSecs - endAgo;
  return lines.filter((line) => {
    const t = leadingTimestamp(line, now);
    return t !== null && t >= from && t <= to;
  });
}

export async function main(argv: readonly string[], io: UtilIO, now = new Date()): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    io.out(banner('levee-timefilter') + USAGE);
    return 0;
  }
  if (argv.length !== 2) {
    io.err(banner('levee-timefilter') + USAGE);
    return EXIT_USAGE;
  }
  const start = parseSecsAgo(argv[0]);
  const end = parseSecsAgo(argv[1]);
  if (start === null || end === null) {
    io.err(`ERROR: START_SECS_AGO and END_SECS_AGO must be whole numbers of seconds: ${argv.join(' ')}\n`);
    return EXIT_USAGE;
  }
  if (start < end) {
    io.err(`ERROR: START_SECS_AGO (${start}) must not be smaller than END_SECS_AGO (${end})\n`);
    return EXIT_USAGE;
  }
  const text = (await io.readStdin()).toString('latin1');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const kept = filterByTime(lines, start, end, now);
  if (kept.length) io.out(Buffer.from(kept.join('\n') + '\n', 'latin1'));
  return 0;
}

export const cli = (): void => runCli(main);
