// `levee serve` command line: the daemon's own flags are taken out, everything else is levee's filter
// options (given to the option parser unchanged), and `--exec` ends the line with the child command.
// Pure: no files, no sockets.

export interface ListenAddress {
  host: string;
  port: number;
}

export interface ServeArgs {
  listen: ListenAddress[];
  /** one connection on fd 0 (inetd, tcpserver, systemd Accept=yes), then exit */
  inetd: boolean;
  /** child command for --exec */
  exec: string[];
  /** --forward HOST:PORT */
  forward: ListenAddress | undefined;
  /** send a PROXY protocol v1 header to the --forward target */
  proxyProtocol: boolean;
  /** probe the --forward target for XCLIENT (default on; --no-xclient turns it off) */
  xclient: boolean;
  /** tcprules cdb consulted for every connection */
  rules: string | undefined;
  /** most simultaneous sessions (tcpserver's default, 40) */
  maxConnections: number;
  /** most simultaneous sessions from one client IP; 0 = no limit */
  maxPerIp: number;
  /** after SIGTERM, sessions get this long to finish before they are closed */
  shutdownSecs: number;
  /** levee's filter options (parsed by src/options/parse) */
  filterArgs: string[];
}

export class ServeUsageError extends Error {
  override name = 'ServeUsageError';
}

export const SERVE_USAGE =
  'Usage: levee serve (--listen ADDR:PORT ... | --inetd) [--max-connections N] [--max-per-ip N]\n' +
  '         [--rules rules.cdb] [--shutdown-secs N] [levee options...]\n' +
  '         (--exec /path/to/qmail-smtpd [args...] | --forward HOST:PORT [--proxy-protocol | --no-xclient])\n';

/** `127.0.0.1:2525`, `[::1]:2525`, `mx.example:25`. Port 0 = any free port (listen only). */
export function parseHostPort(text: string, what: string): ListenAddress {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:\s[\]]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ServeUsageError(`${what}: expected HOST:PORT, got "${text}"`);
  return { host: m[1]!, port };
}

function count(text: string | undefined, flag: string, min: number): number {
  if (text === undefined || !/^\d{1,9}$/.test(text) || Number(text) < min) {
    throw new ServeUsageError(`${flag} needs a whole number${min > 0 ? ` of at least ${min}` : ''}`);
  }
  return Number(text);
}

export function parseServeArgs(argv: readonly string[]): ServeArgs {
  const out: ServeArgs = {
    listen: [],
    inetd: false,
    exec: [],
    forward: undefined,
    proxyProtocol: false,
    xclient: true,
    rules: undefined,
    maxConnections: 40,
    maxPerIp: 0,
    shutdownSecs: 30,
    filterArgs: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    const value = (): string => {
      if (eq > 0) return raw.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new ServeUsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--listen':
        out.listen.push(parseHostPort(value(), '--listen'));
        break;
      case '--inetd':
        out.inetd = true;
        break;
      case '--forward':
        out.forward = parseHostPort(value(), '--forward');
        if (out.forward.port === 0) throw new ServeUsageError('--forward: port 0 is not a port');
        break;
      case '--proxy-protocol':
        out.proxyProtocol = true;
        break;
      case '--no-xclient':
        out.xclient = false;
        break;
      case '--rules':
        out.rules = value();
        break;
      case '--max-connections':
        out.maxConnections = count(value(), flag, 1);
        break;
      case '--max-per-ip':
        out.maxPerIp = count(value(), flag, 0);
        break;
      case '--shutdown-secs':
        out.shutdownSecs = count(value(), flag, 0);
        break;
      case '--exec':
        out.exec = argv.slice(i + 1);
        if (out.exec.length === 0) throw new ServeUsageError('--exec needs a command');
        i = argv.length;
        break;
      default:
        out.filterArgs.push(raw);
    }
  }
  if (out.exec.length && out.forward) throw new ServeUsageError('give either --exec or --forward, not both');
  if (!out.exec.length && !out.forward)
    throw new ServeUsageError('--exec COMMAND or --forward HOST:PORT is required');
  if (out.inetd && out.listen.length) throw new ServeUsageError('--inetd and --listen exclude each other');
  if (!out.inetd && !out.listen.length)
    throw new ServeUsageError('--listen ADDR:PORT (or --inetd) is required');
  if (out.proxyProtocol && !out.forward)
    throw new ServeUsageError('--proxy-protocol only applies to --forward');
  return out;
}
