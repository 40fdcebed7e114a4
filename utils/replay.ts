// levee-replay: runs a recorded client conversation through the current configuration and prints
// every filter decision, with no network client and no qmail: the client is the script, the child
// a built-in stand-in that accepts everything (250/354). Decisions are levee's own log lines (on
// standard error, as a live `--log-target stderr` run writes them); the dialogue goes to standard
// output. DNS uses the configured servers, or none with `--dns-level none`.
import { readFileSync } from 'node:fs';
import { Writable, PassThrough } from 'node:stream';
import { loadOptions, ConfigError } from '../src/options/parse';
import { LEVEL_RANK, Logger, type LogLevel } from '../src/log';
import { Session } from '../src/session/session';
import { childEnvironment, DEFAULT_PATH } from '../src/session/facts';
import { relayGranted, rcpthostsFiles, morercpthostsFiles } from '../src/filters/relay';
import type { ConnectionFacts } from '../src/filters/types';
import { Dns, dnsSettingsFromOptions } from '../src/dns';
import { normalizeClientIp } from '../src/match/ip';
import { banner, EXIT_USAGE, runCli, type UtilIO } from './common';
import { clientUnits, fakeDownstream, parseTranscript, type ClientUnit } from './replay-script';

const USAGE =
  'Usage: levee-replay [ --ip IP ] [ --rdns NAME ] [ --env NAME=VALUE ... ]\n' +
  '                    ( --script FILE | --transcript FILE ) [ -- ] LEVEE_OPTIONS ...\n' +
  '  Feeds the client side of a conversation through levee with LEVEE_OPTIONS (the production\n' +
  '  command line, with or without the qmail command) and prints the dialogue on standard output\n' +
  "  and levee's decisions (FILTER_* and traffic lines, at least at verbose) on standard error.\n" +
  '  --script FILE      plain SMTP client lines (EHLO, MAIL FROM, ..., the message after DATA)\n' +
  '  --transcript FILE  a full-log-dir transcript: its FROM REMOTE sections, client IP and rDNS\n' +
  "  --ip IP            client address (TCPREMOTEIP); default: the transcript's, else 127.0.0.1\n" +
  '  --rdns NAME        client rDNS name, instead of a PTR lookup\n' +
  '  --env NAME=VALUE   extra environment for the session (e.g. RELAYCLIENT=)\n' +
  'Nothing is delivered and no qmail is started. Use --dns-level none to send no DNS query.\n';

interface ReplayArgs {
  ip?: string;
  rdns?: string;
  env: Record<string, string>;
  script?: string;
  transcript?: string;
  levee: string[];
}

export function parseReplayArgs(argv: readonly string[]): ReplayArgs | string {
  const a: ReplayArgs = { env: {}, levee: [] };
  let i = 0;
  const value = (): string | undefined => argv[++i];
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (
      arg === '--ip' ||
      arg === '--rdns' ||
      arg === '--script' ||
      arg === '--transcript' ||
      arg === '--env'
    ) {
      const v = value();
      if (v === undefined) return `${arg} needs a value`;
      if (arg === '--ip') {
        const ip = normalizeClientIp(v);
        if (!ip) return `not an IP address: ${v}`;
        a.ip = ip;
      } else if (arg === '--rdns') {
        if (!/^[A-Za-z0-9_.-]{1,253}$/.test(v)) return `not a host name: ${v}`;
        a.rdns = v.toLowerCase().replace(/\.$/, '');
      } else if (arg === '--env') {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(v);
        if (!m) return `--env wants NAME=VALUE: ${v}`;
        a.env[m[1]] = m[2];
      } else if (arg === '--script') a.script = v;
      else a.transcript = v;
      continue;
    }
    break; // the first other word starts levee's own options
  }
  a.levee = argv.slice(i);
  if ((a.script === undefined) === (a.transcript === undefined))
    return 'give exactly one of --script and --transcript';
  return a;
}

/** Client bytes made printable for the dialogue listing. */
function printable(line: string): string {
  return line.replace(/[\x00-\x1f\x7f-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const PLACEHOLDER_CHILD = 'levee-replay-child';

export async function main(argv: readonly string[], io: UtilIO): Promise<number> {
  if (argv.length === 0 || argv[0] === '-h' || argv[0] === '--help') {
    (argv.length === 0 ? io.err : io.out)(banner('levee-replay') + USAGE);
    return argv.length === 0 ? EXIT_USAGE : 0;
  }
  const args = parseReplayArgs(argv);
  if (typeof args === 'string') {
    io.err(`ERROR: ${args}\n${USAGE}`);
    return EXIT_USAGE;
  }
  let parsed;
  try {
    parsed = loadOptions([...args.levee, PLACEHOLDER_CHILD]);
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(`ERROR: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  const o = parsed.options;
  let units: ClientUnit[];
  let ip = args.ip;
  let rdns = args.rdns;
  try {
    if (args.transcript !== undefined) {
      const t = parseTranscript(readFileSync(args.transcript));
      units = clientUnits(t.client);
      ip ??= t.ip ? (normalizeClientIp(t.ip) ?? undefined) : undefined;
      rdns ??= t.rdns;
    } else units = clientUnits(readFileSync(args.script as string));
  } catch (e) {
    io.err(`ERROR: cannot read ${args.transcript ?? args.script}: ${(e as Error).message}\n`);
    return EXIT_USAGE;
  }
  if (units.length === 0) {
    io.err('ERROR: the script holds no client input\n');
    return EXIT_USAGE;
  }
  ip ??= '127.0.0.1';

  const configured = o['log-level'] as LogLevel;
  const level: LogLevel = LEVEL_RANK[configured] >= LEVEL_RANK.verbose ? configured : 'verbose';
  const log = new Logger({ level, targets: ['stderr'], format: o['log-format'], pid: process.pid });
  for (const w of parsed.warnings ?? []) log.error(w);

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH || DEFAULT_PATH,
    TCPREMOTEIP: ip,
    TCPLOCALPORT: '25',
    ...args.env,
  };
  let dns: Dns | undefined;
  const getDns = () => (dns ??= new Dns(dnsSettingsFromOptions(o, env)));
  const facts: ConnectionFacts = {
    ip,
    rdns: rdns ?? '',
    rdnsTemporaryFailure: false,
    remoteInfo: '',
    relayClient: env.RELAYCLIENT,
  };
  const factsReady = (async () => {
    if (rdns !== undefined || o['dns-level'] === 'none') return;
    const ptr = await getDns().ptr(ip);
    if (ptr.ok) facts.rdns = ptr.value;
    else if (ptr.failure !== 'nxdomain' && ptr.failure !== 'nodata') facts.rdnsTemporaryFailure = true;
  })();
  const authRelay =
    ['ondemand', 'ondemand-encrypted', 'always', 'always-encrypted'].includes(o['smtp-auth-level']) &&
    (rcpthostsFiles(o).length > 0 || morercpthostsFiles(o).length > 0);

  // the scripted client: sends one unit, waits for the complete reply, sends the next
  const toLevee = new PassThrough();
  let next = 0;
  let replyBuf = '';
  let lastCommand = '';
  const show = (text: string) => io.out(text);
  const sendNext = (lastCode: string): void => {
    let unit = units[next];
    // a real client sends the message only after a 354
    while (unit && unit.kind === 'message' && !(lastCommand === 'DATA' && lastCode === '354'))
      unit = units[++next];
    if (!unit) {
      toLevee.end();
      return;
    }
    next++;
    if (unit.kind === 'message') {
      const lines = unit.bytes.toString('latin1').split('\r\n').length - 1;
      show(`C: <message: ${unit.bytes.length} bytes, ${lines} lines>\n`);
      lastCommand = '';
    } else {
      const line = unit.bytes.toString('latin1').replace(/\r\n$/, '');
      show(`C: ${printable(line)}\n`);
      lastCommand = line.split(' ')[0].toUpperCase();
    }
    toLevee.write(unit.bytes);
  };
  const fromLevee = new Writable({
    write(chunk: Buffer, _enc, done) {
      replyBuf += chunk.toString('latin1');
      let nl: number;
      while ((nl = replyBuf.indexOf('\n')) !== -1) {
        const line = replyBuf.slice(0, nl).replace(/\r$/, '');
        replyBuf = replyBuf.slice(nl + 1);
        show(`S: ${printable(line)}\n`);
        if (/^\d{3}( |$)/.test(line)) sendNext(line.slice(0, 3));
      }
      done();
    },
  });

  const session = new Session({
    o,
    child: [PLACEHOLDER_CHILD],
    downstream: () => fakeDownstream(),
    childEnv: () => childEnvironment(env, { grantRelay: authRelay || relayGranted(o, facts, log) }),
    childEnvNeedsFacts: true,
    facts,
    factsReady: () => factsReady,
    log,
    input: toLevee,
    output: fromLevee,
    dns: getDns,
  });
  const code = await session.run();
  dns?.cancelAll();
  await log.close();
  return code;
}

export const cli = (): void => runCli(main);
