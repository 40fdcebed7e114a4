// levee's entry point: parse the options, learn the connection's facts, run one session, exit.
// Everything here runs once per SMTP connection, so nothing is loaded that a configuration does not
// use: help text, config-test and the proxy daemon are separate files required on demand.
import { loadOptions, ConfigError, needsChild, type OptionState } from './options/parse';
import type { OptionValues } from './options/table';
import { Logger, Transcript } from './log';
import { version } from '../package.json';
import { Session, childStartsAtOnce } from './session/session';
import { childEnvironment, remoteFromEnv, UNKNOWN_IP, DEFAULT_PATH } from './session/facts';
import { relayGranted, rcpthostsFiles, morercpthostsFiles } from './filters/relay';
import type { ConnectionFacts } from './filters/types';
import { Dns, dnsOptionsOf, dnsSettingsFromOptions } from './dns';
import { ownTlsConfigured, serverContext } from './relay/tls';
import { openStdinSocket, spawnDownstream } from './relay/io';
import { openClientHandles } from './relay/handles';
import { writeLineSync } from './log/stderr';
import { dropPrivileges } from './auth/privileges';

/** Exit status for configuration errors (spamdyke exited 0; levee does not hide errors). */
const EXIT_CONFIG = 111;

/** straight to fd 2: process.stderr would load node:stream (and node:net for a pipe) first */
function writeStderr(text: string): void {
  writeLineSync(2, Buffer.from(text));
}

function fatal(message: string): never {
  writeStderr(`levee: ERROR: ${message}\nUse --help for usage.\n`);
  process.exit(EXIT_CONFIG);
}

/** dist/help.cjs, next to this bundle (build.mjs LAZY): only --help/--version pay for the texts */
function loadHelp(): { helpText(more: boolean): string; versionText(): string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./help.cjs') as ReturnType<typeof loadHelp>;
}

/** dist/config-test.cjs and dist/serve.cjs: loaded only by the commands that use them */
interface ConfigTestModule {
  runConfigTest(o: OptionValues, child: readonly string[], log: Logger): Promise<number>;
}
interface ServeModule {
  serve(argv: readonly string[]): Promise<number>;
}
interface StatsModule {
  stats(argv: readonly string[]): Promise<number>;
}
interface GraylistModule {
  graylist(argv: readonly string[]): Promise<number>;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'serve') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('./serve.cjs') as ServeModule).serve(argv.slice(1));
  }
  if (argv[0] === 'stats') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('./stats.cjs') as StatsModule).stats(argv.slice(1));
  }
  if (argv[0] === 'graylist') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('./graylist.cjs') as GraylistModule).graylist(argv.slice(1));
  }
  let parsed;
  try {
    parsed = loadOptions(argv);
  } catch (e) {
    if (e instanceof ConfigError) fatal(e.message);
    throw e;
  }
  const o = parsed.options;
  if (o.help || o['more-help'] || o.version) {
    const help = loadHelp();
    writeStderr(o.version ? help.versionText() : help.helpText(o['more-help']));
    return 0;
  }
  if (needsChild(o) && parsed.child.length === 0) fatal('Missing qmail-smtpd command');
  const log = Logger.forOptions(o, o['config-test'] && o['log-level'] === 'none' ? 'error' : o['log-level']);
  for (const w of parsed.warnings ?? []) log.error(w);
  if (o['config-test']) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ct = require('./config-test.cjs') as ConfigTestModule;
    const code = await ct.runConfigTest(o, parsed.child, log);
    await log.close();
    return code;
  }
  if (!process.env.PATH) process.env.PATH = DEFAULT_PATH;
  const code = await runWrapper(o, parsed.child, log, parsed.userSet.has('dns-timeout-secs'), parsed.state);
  await log.close();
  return code;
}

/** fd 1: the client (a client going away while we write must not crash levee; SIGPIPE is ignored) */
function clientOutput(): NodeJS.WriteStream {
  process.stdout.on('error', () => {});
  return process.stdout;
}

/** Wrapper mode: one connection on fd 0/1, the child named on the command line. */
async function runWrapper(
  o: OptionValues,
  child: readonly string[],
  log: Logger,
  dnsTimeoutSet: boolean,
  optionState: OptionState,
): Promise<number> {
  const env = process.env;
  // the TLS key may be readable by root only: read it before giving root up
  if (ownTlsConfigured(o)) serverContext(o, log);
  if (!dropPrivileges(o, log)) return 111;
  let transcript: Transcript | null = null;
  if (o['full-log-dir']) {
    transcript = Transcript.open(o['full-log-dir'], version, process.pid, (msg) => log.error(msg));
    if (transcript) {
      log.attachTranscript(transcript);
      transcript.section(
        'CURRENT ENVIRONMENT',
        Object.entries(env).map(([k, v]) => `${k}=${v}`),
      );
    }
  }
  let dns: Dns | undefined;
  const getDns = () => (dns ??= new Dns(dnsSettingsFromOptions(dnsOptionsOf(o, dnsTimeoutSet), env)));
  const remote = remoteFromEnv(env);
  const facts: ConnectionFacts = {
    ip: remote.ip || UNKNOWN_IP,
    rdns: '',
    rdnsTemporaryFailure: false,
    remoteInfo: env.TCPREMOTEINFO ?? '',
    relayClient: env.RELAYCLIENT,
  };
  let resolvedIp: string | undefined;
  const lookUpFacts = async (): Promise<void> => {
    if (o['dns-level'] === 'none') return;
    if (remote.hostname) {
      const a = await getDns().a(remote.hostname);
      if (a.ok && a.value.length) (facts as { ip: string }).ip = resolvedIp = a.value[0];
    }
    transcript?.eventLine(`Remote IP = ${facts.ip}`);
    if (facts.ip === UNKNOWN_IP) return;
    const ptr = await getDns().ptr(facts.ip);
    if (ptr.ok) {
      facts.rdns = ptr.value;
      transcript?.eventLine(`Remote rDNS = ${facts.rdns}`);
    } else if (ptr.failure !== 'nxdomain' && ptr.failure !== 'nodata') {
      facts.rdnsTemporaryFailure = true;
      log.verbose(`rDNS lookup for ${facts.ip} failed temporarily: ${ptr.message}`);
    }
  };
  let factsLookup: Promise<void> | undefined;
  const authRelay =
    ['ondemand', 'ondemand-encrypted', 'always', 'always-encrypted'].includes(o['smtp-auth-level']) &&
    (rcpthostsFiles(o).length > 0 || morercpthostsFiles(o).length > 0);
  const childEnv = () =>
    childEnvironment(env, { grantRelay: authRelay || relayGranted(o, facts, log), resolvedIp });
  const childEnvNeedsFacts =
    o['rdns-relay-entry'].length > 0 || o['rdns-relay-file'].length > 0 || remote.hostname !== '';
  // started before fd 0/1 and the session are set up: the child's own start-up (its exec, its
  // banner) runs meanwhile. Its output is read from the next tick on, when the session listens.
  const started = childStartsAtOnce(o, childEnvNeedsFacts) ? spawnDownstream(child, childEnv()) : undefined;
  // fd 0/1 as libuv handles (no node:net/stream: handles.ts); node's streams where that cannot be
  const client = openClientHandles();
  const session = new Session({
    o,
    child,
    started,
    childEnv,
    childEnvNeedsFacts,
    facts,
    factsReady: () => (factsLookup ??= lookUpFacts()),
    log,
    input: client?.input ?? openStdinSocket() ?? process.stdin,
    output: client?.output ?? clientOutput(),
    dns: getDns,
    optionState,
    trace: transcript ? (direction, data) => transcript.chunk(direction, data) : undefined,
  });
  const code = await session.run();
  dns?.cancelAll();
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Once the event loop has nothing left (every reply and log line written, the child reaped),
    // exit at once: Node's own teardown after that (freeing the environment and V8's heap page
    // by page) costs every connection ~3 ms and does nothing a finished process needs.
    process.once('beforeExit', () => process.exit());
  },
  (e: unknown) => {
    writeStderr(
      `levee[${process.pid}]: ERROR: internal error: ${e instanceof Error ? e.message : String(e)}\n`,
    );
    process.exitCode = 111;
  },
);
