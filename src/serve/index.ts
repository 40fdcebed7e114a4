// `levee serve`: proxy mode, a long-running daemon in front of qmail-smtpd (--exec) or an MTA over
// TCP (--forward), running the same filters and Session as wrapper mode (loaded only by that
// command, dist/serve.cjs). See docs/proxy.md.
import net from 'node:net';
import { ConfigError, loadOptions, type Parsed } from '../options/parse';
import { Logger } from '../log';
import { ownTlsConfigured, serverContext } from '../relay/tls';
import { DEFAULT_PATH } from '../session/facts';
import { parseServeArgs, ServeUsageError, SERVE_USAGE, type ServeArgs } from './args';
import { runConnection, type ServeConfig } from './connection';
import { ServeDaemon } from './server';
import { switchUser } from './user';

const EXIT_CONFIG = 111;
/** stands in for the child command when the downstream is --forward (the option parser wants one) */
const FORWARD_CHILD = '(forward)';

function note(text: string): void {
  process.stderr.write(`levee[${process.pid}]: ${text}\n`);
}

/** The filter options, read again on every SIGHUP (config files included). */
export function loadServeOptions(args: ServeArgs): Parsed {
  const child = args.exec.length ? args.exec : [FORWARD_CHILD];
  const parsed = loadOptions([...args.filterArgs, '--', ...child]);
  if (parsed.child.length !== child.length) {
    throw new ServeUsageError(`unexpected argument: ${parsed.child[0] ?? ''}`);
  }
  const o = parsed.options;
  if (o.help || o['more-help'] || o.version || o['config-test']) {
    throw new ServeUsageError('--help, --version and --config-test belong to wrapper mode (levee --help)');
  }
  return parsed;
}

export async function serve(argv: readonly string[]): Promise<number> {
  let args: ServeArgs;
  let parsed: Parsed;
  try {
    args = parseServeArgs(argv);
    parsed = loadServeOptions(args);
  } catch (e) {
    if (e instanceof ServeUsageError || e instanceof ConfigError) {
      process.stderr.write(`levee: ERROR: ${e.message}\n${SERVE_USAGE}`);
      return EXIT_CONFIG;
    }
    throw e;
  }
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, PATH: process.env.PATH || DEFAULT_PATH };
  for (const w of parsed.warnings) note(`ERROR: ${w}`);
  // one session crashing must not take the others with it
  process.on('uncaughtException', (e) => note(`ERROR: internal error: ${e.message}`));
  process.on('unhandledRejection', (e) =>
    note(`ERROR: internal error: ${e instanceof Error ? e.message : String(e)}`),
  );

  if (args.inetd) {
    // tcpserver / inetd / systemd Accept=yes: the connection is fd 0; stdout is the client, so
    // nothing may be printed there
    const socket = new net.Socket({ fd: 0, readable: true, writable: true });
    await runConnection(socket, { args, parsed, baseEnv });
    return 0;
  }

  const daemon = new ServeDaemon({ args, parsed, baseEnv }, { note });
  let bound;
  try {
    bound = await daemon.listen(args.listen);
  } catch (e) {
    process.stderr.write(`levee: ERROR: unable to listen: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_CONFIG;
  }
  const runAs = parsed.options['run-as-user'];
  if (runAs) {
    // the TLS key may be readable by root only: read it (once, for every session) before giving
    // root up, as wrapper mode does
    const o = parsed.options;
    if (ownTlsConfigured(o)) {
      const log = Logger.forOptions(o);
      serverContext(o, log);
      await log.close();
    }
    try {
      switchUser(runAs);
    } catch (e) {
      process.stderr.write(`levee: ERROR: ${e instanceof Error ? e.message : String(e)}\n`);
      return EXIT_CONFIG;
    }
  }
  // tests and supervisors learn which port was picked for port 0
  bound.forEach((b, i) => {
    if (args.listen[i]!.port === 0) process.stdout.write(`${b.port}\n`);
  });
  note(`listening on ${bound.map((b) => `${b.host}:${b.port}`).join(' ')}`);

  process.on('SIGHUP', () => {
    try {
      const fresh: ServeConfig = { args, parsed: loadServeOptions(args), baseEnv };
      daemon.reload(fresh);
      note('configuration reloaded');
    } catch (e) {
      note(
        `ERROR: reload failed, keeping the old configuration: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      // listeners are closed synchronously inside shutdown(), before the line below is written
      const done = daemon.shutdown(args.shutdownSecs * 1000);
      note(`${signal}: no new connections; waiting for ${daemon.activeConnections} session(s)`);
      void done.then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  note('stopped');
  // anything a stuck session still holds (a child that ignores SIGTERM) must not keep us running
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}
