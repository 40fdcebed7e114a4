// One accepted connection in `levee serve`: the facts tcpserver would have put in the environment,
// the tcprules verdict, and then the same Session that wrapper mode runs, with the socket as the
// client and either a spawned child (--exec) or an MTA over TCP (--forward) as the downstream.
// The fact building mirrors runWrapper in src/main.ts (kept in step by hand until it is shared).
import type { Socket } from 'node:net';
import { version } from '../../package.json';
import type { Parsed } from '../options/parse';
import { Logger, Transcript } from '../log';
import { Session } from '../session/session';
import { childEnvironment, remoteFromEnv, UNKNOWN_IP } from '../session/facts';
import { relayGranted, rcpthostsFiles, morercpthostsFiles } from '../filters/relay';
import type { ConnectionFacts } from '../filters/types';
import { Dns, dnsOptionsOf, dnsSettingsFromOptions } from '../dns';
import { lookupRulesFile } from '../tcprules/rules';
import { normalizeClientIp } from '../match/ip';
import type { ServeArgs } from './args';
import { forwardDownstream } from './forward';

/** What every connection of one configuration generation shares (replaced on SIGHUP). */
export interface ServeConfig {
  args: ServeArgs;
  parsed: Parsed;
  /** the daemon's environment, the base of every child's */
  baseEnv: NodeJS.ProcessEnv;
}

export interface SocketAddresses {
  remoteIp: string;
  remotePort: number;
  localIp: string;
  localPort: number;
}

export function socketAddresses(socket: Socket): SocketAddresses | null {
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (!remoteAddress || remotePort === undefined || !localAddress || localPort === undefined) return null;
  return {
    remoteIp: normalizeClientIp(remoteAddress) ?? remoteAddress,
    remotePort,
    localIp: normalizeClientIp(localAddress) ?? localAddress,
    localPort,
  };
}

/** The variables tcpserver (ucspi-tcp) sets; IPv6 clients also get ucspi-tcp6's TCP6* names. */
export function tcpEnvironment(base: NodeJS.ProcessEnv, a: SocketAddresses): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const k of Object.keys(env)) if (/^TCP6?(REMOTE|LOCAL)/.test(k)) delete env[k];
  const v6 = a.remoteIp.includes(':');
  env.PROTO = v6 ? 'TCP6' : 'TCP';
  env.TCPREMOTEIP = a.remoteIp;
  env.TCPREMOTEPORT = String(a.remotePort);
  env.TCPLOCALIP = a.localIp;
  env.TCPLOCALPORT = String(a.localPort);
  if (v6) {
    env.TCP6REMOTEIP = a.remoteIp;
    env.TCP6REMOTEPORT = String(a.remotePort);
    env.TCP6LOCALIP = a.localIp;
    env.TCP6LOCALPORT = String(a.localPort);
  }
  return env;
}

type MutableFacts = { -readonly [K in keyof ConnectionFacts]: ConnectionFacts[K] };

/** Runs one session on `socket`; never throws (a failing connection must not disturb the others). */
export async function runConnection(socket: Socket, cfg: ServeConfig): Promise<void> {
  socket.on('error', () => {});
  const addrs = socketAddresses(socket);
  if (!addrs) {
    socket.destroy();
    return;
  }
  const { options: o, child, userSet } = cfg.parsed;
  const log = Logger.forOptions(o);
  let dns: Dns | undefined;
  try {
    const env = tcpEnvironment(cfg.baseEnv, addrs);
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
    const getDns = () =>
      (dns ??= new Dns(dnsSettingsFromOptions(dnsOptionsOf(o, userSet.has('dns-timeout-secs')), env)));
    const remote = remoteFromEnv(env);
    const facts: MutableFacts = {
      ip: remote.ip || UNKNOWN_IP,
      rdns: '',
      rdnsTemporaryFailure: false,
      remoteInfo: '',
      relayClient: env.RELAYCLIENT,
    };
    const factsReady = (async () => {
      if (o['dns-level'] === 'none' || facts.ip === UNKNOWN_IP) return;
      transcript?.eventLine(`Remote IP = ${facts.ip}`);
      const ptr = await getDns().ptr(facts.ip);
      if (ptr.ok) {
        facts.rdns = ptr.value;
        transcript?.eventLine(`Remote rDNS = ${facts.rdns}`);
      } else if (ptr.failure !== 'nxdomain' && ptr.failure !== 'nodata') {
        facts.rdnsTemporaryFailure = true;
        log.verbose(`rDNS lookup for ${facts.ip} failed temporarily: ${ptr.message}`);
      }
    })();

    if (cfg.args.rules) {
      // tcpserver decides before the program runs, with the rDNS name for `=host` rules
      await factsReady;
      let verdict;
      try {
        verdict = lookupRulesFile(cfg.args.rules, facts.ip, facts.rdns || undefined);
      } catch (e) {
        log.error(
          `unable to read rules file ${cfg.args.rules}: ${e instanceof Error ? e.message : String(e)}`,
        );
        socket.destroy();
        return;
      }
      if (verdict.deny) {
        log.info(`connection from ${facts.ip} denied by rules (key "${verdict.key}")`);
        socket.end();
        return;
      }
      for (const [name, value] of verdict.env) env[name] = value;
      facts.relayClient = env.RELAYCLIENT;
      facts.remoteInfo = env.TCPREMOTEINFO ?? '';
    }

    const authRelay =
      ['ondemand', 'ondemand-encrypted', 'always', 'always-encrypted'].includes(o['smtp-auth-level']) &&
      (rcpthostsFiles(o).length > 0 || morercpthostsFiles(o).length > 0);
    const forward = cfg.args.forward;
    const session = new Session({
      o,
      child: forward ? [`${forward.host}:${forward.port}`] : child,
      // config-dir files are applied to copies of it, as in wrapper mode
      optionState: cfg.parsed.state,
      downstream: forward
        ? () =>
            forwardDownstream({
              target: forward,
              proxyProtocol: cfg.args.proxyProtocol,
              xclient: cfg.args.xclient,
              client: {
                ...addrs,
                remoteIp: facts.ip,
                rdns: facts.rdns,
                rdnsTemporaryFailure: facts.rdnsTemporaryFailure,
              },
              timeoutMs: 30_000,
              debug: (text) => log.debug(text),
            })
        : undefined,
      childEnv: () => childEnvironment(env, { grantRelay: authRelay || relayGranted(o, facts, log) }),
      // the XCLIENT NAME needs the rDNS result, so a forward waits for it like rdns-relay does
      childEnvNeedsFacts:
        o['rdns-relay-entry'].length > 0 ||
        o['rdns-relay-file'].length > 0 ||
        (!!forward && !cfg.args.proxyProtocol),
      facts,
      factsReady: () => factsReady,
      log,
      input: socket,
      output: socket,
      dns: getDns,
      trace: transcript ? (direction, data) => transcript.chunk(direction, data) : undefined,
    });
    await session.run();
    // after STARTTLS the socket outlives the TLS layer (src/relay/tls.ts): close it once flushed
    if (!socket.destroyed) socket.end(() => socket.destroy());
  } catch (e) {
    log.error(
      `internal error in connection from ${addrs.remoteIp}: ${e instanceof Error ? e.message : String(e)}`,
    );
    socket.destroy();
  } finally {
    dns?.cancelAll();
    await log.close().catch(() => {});
  }
}
