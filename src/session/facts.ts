// The connection's facts from the environment tcpserver/xinetd gives us (spec §5.1), and the
// environment the child gets. IPv6 is a levee extension: spamdyke saw IPv6 clients as 0.0.0.0.
import { normalizeClientIp } from '../match/ip';

export const UNKNOWN_IP = '0.0.0.0';

export interface RemoteAddress {
  /** normalised IP, or '' when the variable held a host name that must be resolved */
  ip: string;
  /** the host name to resolve (TCPREMOTEIP/REMOTE_HOST that was not an IP) */
  hostname: string;
}

/**
 * Client address from TCPREMOTEIP (ucspi-tcp), TCP6REMOTEIP when PROTO=TCP6 (ucspi-tcp6), else
 * REMOTE_HOST (inetd/xinetd). v4-mapped IPv6 becomes plain IPv4 so IPv4 lists match it.
 */
export function remoteFromEnv(env: NodeJS.ProcessEnv): RemoteAddress {
  let raw = env.TCPREMOTEIP;
  if (env.PROTO === 'TCP6' && env.TCP6REMOTEIP) raw = env.TCP6REMOTEIP;
  if (raw === undefined || raw === '') raw = env.REMOTE_HOST;
  if (raw === undefined || raw === '') return { ip: UNKNOWN_IP, hostname: '' };
  if (raw.toLowerCase().startsWith('localhost')) return { ip: '127.0.0.1', hostname: '' };
  const ip = normalizeClientIp(raw);
  if (ip) return { ip, hostname: '' };
  // a host name (old inetd convention): spamdyke resolves it; only plausible names are looked up
  if (/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(raw)) return { ip: '', hostname: raw };
  return { ip: UNKNOWN_IP, hostname: '' };
}

/**
 * The child's environment (§5.1): TCPLOCALPORT forced to 25 unless it already starts with 25
 * (errata 9), SMTPS removed, RELAYCLIENT= added when levee grants relaying, and the remote IP
 * rewritten when it was a resolved host name.
 */
export function childEnvironment(
  env: NodeJS.ProcessEnv,
  opts: { grantRelay: boolean; resolvedIp?: string },
): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  if (out.TCPLOCALPORT === undefined || !out.TCPLOCALPORT.startsWith('25')) out.TCPLOCALPORT = '25';
  delete out.SMTPS;
  if (opts.grantRelay && out.RELAYCLIENT === undefined) out.RELAYCLIENT = '';
  if (opts.resolvedIp) {
    if (out.TCPREMOTEIP !== undefined) out.TCPREMOTEIP = opts.resolvedIp;
    else if (out.REMOTE_HOST !== undefined) out.REMOTE_HOST = opts.resolvedIp;
  }
  return out;
}

/** spamdyke's built-in PATH, used when PATH is unset or empty (§5.1). */
export const DEFAULT_PATH =
  '/var/qmail/bin:/home/vpopmail/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin';
