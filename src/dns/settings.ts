// Resolver settings (spec §5.6): which servers to ask, in which order, and how long a query may take.
// Pure apart from the default file reader; nothing here touches the network.
import { readFileSync } from 'node:fs';
import { parseIpv4, parseIpv6 } from './names';
import { isDigit } from '../text';

export interface DnsServer {
  /** bare IP address (IPv6 without brackets) */
  host: string;
  port: number;
  primary: boolean;
}

export type DnsLevel = 'none' | 'normal' | 'aggressive';

export interface DnsSettings {
  servers: DnsServer[];
  /** hard limit for one lookup, retries and all servers included */
  totalTimeoutMs: number;
  /** how long one round waits before the next round is sent */
  perTryTimeoutMs: number;
  /** rounds per query (dns-max-retries-total) */
  maxRetriesTotal: number;
  /** rounds sent to the primary servers only (dns-max-retries-primary) */
  maxRetriesPrimary: number;
  level: DnsLevel;
  /** configuration problems worth logging (bad nameserver lines, bad ports); never fatal */
  problems: string[];
}

export interface DnsOptionValues {
  'dns-server-ip': readonly string[];
  'dns-server-ip-primary': readonly string[];
  'dns-resolv-conf': readonly string[];
  'dns-timeout-secs': number;
  /** true when dns-timeout-secs was given by the user (its default 30 must not beat resolv.conf) */
  'dns-timeout-set'?: boolean;
  'dns-max-retries-total': number;
  'dns-max-retries-primary': number;
  'dns-level': string;
}

/** The DNS options of `o`, with whether dns-timeout-secs was given (a copy of those only: the whole
 * option object has ~150 properties, and this runs at every connection with DNS filters). */
export function dnsOptionsOf(o: DnsOptionValues, timeoutSet: boolean | undefined): DnsOptionValues {
  return {
    'dns-server-ip': o['dns-server-ip'],
    'dns-server-ip-primary': o['dns-server-ip-primary'],
    'dns-resolv-conf': o['dns-resolv-conf'],
    'dns-timeout-secs': o['dns-timeout-secs'],
    'dns-timeout-set': timeoutSet,
    'dns-max-retries-total': o['dns-max-retries-total'],
    'dns-max-retries-primary': o['dns-max-retries-primary'],
    'dns-level': o['dns-level'],
  };
}

export const DEFAULT_DNS_PORT = 53;
const DEFAULT_TOTAL_TIMEOUT_SECS = 30;

/** What one resolv.conf-style file says (spec §5.6). */
export interface ResolvConf {
  nameservers: string[];
  /** `port N`: default port for servers given without one */
  port?: number;
  /** `timeout N`: total seconds per query */
  totalTimeoutSecs?: number;
  /** `options timeout:N`: seconds per try */
  perTryTimeoutSecs?: number;
  problems: string[];
}

/** True when text[from..to) is 1 to `most` ASCII digits. */
function digitsOnly(text: string, from: number, to: number, most: number): boolean {
  if (to <= from || to - from > most) return false;
  for (let i = from; i < to; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}

function positiveInt(text: string | undefined, max: number): number | undefined {
  if (text === undefined || !digitsOnly(text, 0, text.length, 6)) return undefined;
  const n = Number(text);
  return n > 0 && n <= max ? n : undefined;
}

/** Where a leading dotted quad (1-3 digits per octet) ends in `text`, or -1 when it does not start with one. */
function quadEnd(text: string): number {
  let pos = 0;
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (text.charCodeAt(pos) !== 46) return -1;
      pos++;
    }
    const start = pos;
    while (pos - start < 3 && isDigit(text.charCodeAt(pos))) pos++;
    if (pos === start) return -1;
  }
  return pos;
}

export function parseResolvConf(text: string, fileName = 'resolv.conf'): ResolvConf {
  const out: ResolvConf = { nameservers: [], problems: [] };
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (line === '') return;
    const [keyword, ...args] = line.split(/\s+/);
    const where = `${fileName}(${index + 1})`;
    switch (keyword.toLowerCase()) {
      case 'nameserver':
        if (args[0] !== undefined) out.nameservers.push(args[0]);
        break;
      case 'port': {
        const port = positiveInt(args[0], 65535);
        if (port === undefined) out.problems.push(`invalid port in ${where}: ${line}`);
        else out.port = port;
        break;
      }
      case 'timeout': {
        const secs = positiveInt(args[0], 65536);
        if (secs === undefined) out.problems.push(`invalid timeout in ${where}: ${line}`);
        else out.totalTimeoutSecs = secs;
        break;
      }
      case 'options':
        for (const option of args) {
          const m = /^timeout:(.*)$/.exec(option);
          if (!m) continue;
          const secs = positiveInt(m[1], 65536);
          if (secs === undefined) out.problems.push(`invalid options timeout in ${where}: ${line}`);
          else out.perTryTimeoutSecs = secs;
        }
        break;
      default:
        break; // search, domain, sortlist...: nothing a resolver without search lists needs
    }
  });
  return out;
}

/**
 * Parses `IP[:PORT]` as spamdyke accepts it (also `a.b.c.d.PORT`), plus IPv6 as `[::1]:5353` or bare
 * `::1`. IPv4 addresses must have a first octet of 1..255. Returns null for anything else.
 */
export function parseServerSpec(spec: string, defaultPort: number): { host: string; port: number } | null {
  // `[v6]`, `[v6]:port`, `a.b.c.d`, `a.b.c.d:port` (or `.port`), or a bare IPv6 address; by hand, as
  // this runs at every connection that uses DNS (a regular expression compiles in every process)
  const text = spec.trim();
  let host = text;
  let portText: string | undefined;
  let v4 = false;
  const close = text.startsWith('[') ? text.indexOf(']') : -1;
  if (close > 1 && (close === text.length - 1 || text[close + 1] === ':')) {
    host = text.slice(1, close);
    if (close < text.length - 1) {
      if (!digitsOnly(text, close + 2, text.length, Infinity)) return null;
      portText = text.slice(close + 2);
    }
  } else if (close >= 0) {
    return null;
  } else {
    const quad = quadEnd(text);
    const sep = text[quad];
    if (quad === text.length) v4 = true;
    else if (quad > 0 && (sep === '.' || sep === ':') && digitsOnly(text, quad + 1, text.length, Infinity)) {
      v4 = true;
      portText = text.slice(quad + 1);
    }
    if (v4) host = text.slice(0, quad);
  }
  if (v4) {
    const octets = parseIpv4(host);
    if (!octets || octets[0] === 0) return null;
    host = octets.join('.');
  } else if (!parseIpv6(host)) {
    return null;
  } else {
    host = host.toLowerCase();
  }
  if (portText === undefined) return { host, port: defaultPort };
  const port = positiveInt(portText, 65535);
  return port === undefined ? null : { host, port };
}

function serverKey(s: { host: string; port: number }): string {
  return `${s.host}#${s.port}`;
}

/** RES_OPTIONS `timeout:N` (seconds per try); the last valid one wins. */
function resOptionsTimeout(env: NodeJS.ProcessEnv): number | undefined {
  let secs: number | undefined;
  if (env.RES_OPTIONS === undefined) return secs;
  for (const word of env.RES_OPTIONS.split(/\s+/)) {
    const m = /^timeout:(\d+)/.exec(word);
    const n = m ? positiveInt(m[1], 65536) : undefined;
    if (n !== undefined) secs = n;
  }
  return secs;
}

function levelOf(text: string): DnsLevel {
  return text === 'none' || text === 'normal' ? text : 'aggressive';
}

export function dnsSettingsFromOptions(
  o: DnsOptionValues,
  env: NodeJS.ProcessEnv,
  readFile: (p: string) => string = (p) => readFileSync(p, 'latin1'),
): DnsSettings {
  const problems: string[] = [];
  const servers: DnsServer[] = [];
  const seen = new Set<string>();
  const add = (spec: string, primary: boolean, defaultPort: number): void => {
    const parsed = parseServerSpec(spec, defaultPort);
    if (!parsed) {
      problems.push(`invalid DNS server address: ${spec}`);
      return;
    }
    if (seen.has(serverKey(parsed))) return;
    seen.add(serverKey(parsed));
    servers.push({ ...parsed, primary });
  };

  const maxRetriesTotal = Math.max(1, Math.floor(o['dns-max-retries-total']) || 1);
  const maxRetriesPrimary = Math.max(0, Math.floor(o['dns-max-retries-primary']) || 0);
  let confTotalSecs: number | undefined;
  let confPerTrySecs: number | undefined;

  for (const spec of o['dns-server-ip-primary']) add(spec, true, DEFAULT_DNS_PORT);
  for (const spec of o['dns-server-ip']) add(spec, false, DEFAULT_DNS_PORT);

  // resolv.conf files are read only when no server was given (spamdyke reads them for their nameservers
  // and takes their timeouts on the way; with explicit servers it never opens them).
  if (servers.length === 0) {
    const fromFiles: string[] = [];
    let filePort = DEFAULT_DNS_PORT;
    for (const file of o['dns-resolv-conf']) {
      let text: string;
      try {
        text = readFile(file);
      } catch {
        continue; // a missing /etc/resolv.conf is normal in containers; 127.0.0.1 is the fallback
      }
      const conf = parseResolvConf(text, file);
      problems.push(...conf.problems);
      if (conf.port !== undefined) filePort = conf.port;
      fromFiles.push(...conf.nameservers);
      confTotalSecs = conf.totalTimeoutSecs ?? confTotalSecs;
      confPerTrySecs = conf.perTryTimeoutSecs ?? confPerTrySecs;
    }
    // the last `port` line applies to every nameserver written without a port, as in spamdyke
    for (const spec of fromFiles) add(spec, servers.length === 0, filePort);
    if (servers.length === 0) servers.push({ host: '127.0.0.1', port: filePort, primary: true });
  }

  // priority (spec §5.6): RES_OPTIONS timeout:N x rounds, resolv.conf `timeout N`, `options timeout:N` x rounds
  const envSecs = resOptionsTimeout(env);
  const systemTotalSecs =
    envSecs !== undefined
      ? envSecs * maxRetriesTotal
      : (confTotalSecs ?? (confPerTrySecs !== undefined ? confPerTrySecs * maxRetriesTotal : undefined));

  const given = o['dns-timeout-secs'];
  // Without the explicit flag, a value other than the table default (30) can only come from the user.
  const userSet = o['dns-timeout-set'] ?? (given > 0 && given !== DEFAULT_TOTAL_TIMEOUT_SECS);
  const totalSecs = userSet && given > 0 ? given : (systemTotalSecs ?? DEFAULT_TOTAL_TIMEOUT_SECS);
  const totalTimeoutMs = totalSecs * 1000;
  return {
    servers,
    totalTimeoutMs,
    perTryTimeoutMs: Math.max(1, Math.floor(totalTimeoutMs / maxRetriesTotal)),
    maxRetriesTotal,
    maxRetriesPrimary,
    level: levelOf(o['dns-level']),
    problems,
  };
}
