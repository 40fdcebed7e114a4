// A c-ares channel to one DNS server, as DnsBatch uses it: four record types and cancel(). I/O.
//
// Straight on Node's cares_wrap binding (ChannelWrap, the object node:dns's Resolver wraps) when it
// is there, node:dns otherwise (src/bindings.ts: LEVEE_NODE_STREAMS=1, --pending-deprecation, or a
// binding that looks different). Loading node:dns and its modules cost ~1.2 ms and ~100 KB of young
// allocations per connection that uses DNS, enough to push the typical configuration's session past
// V8's first semi-space into a 2-4 ms scavenge; the Resolver adds nothing levee uses (checks of the
// strings it is given, promises, TTLs, IDN conversion of names that are ASCII here already).
import type * as NodeDns from 'node:dns';
import { internalBinding } from '../bindings';
import type { DnsServer } from './settings';

export interface RecordValues {
  A: string[];
  TXT: string[][];
  MX: NodeDns.MxRecord[];
  PTR: string[];
}
export type RecordType = keyof RecordValues;

/** How a query ends: an error code as node:dns names it (ENOTFOUND, ETIMEOUT, ...), or the records. */
export type QueryDone = (code: string | null, value: unknown) => void;

export interface Channel {
  /** `done` may be called before query() returns (a query that cannot be sent) */
  query(type: RecordType, name: string, done: QueryDone): void;
  /** ends every query in flight with ECANCELLED */
  cancel(): void;
}

/** A channel to `server`, each packet waiting `timeoutMs` and sent once (DnsBatch does the rounds). */
export function openChannel(timeoutMs: number, server: DnsServer): Channel {
  return caresChannel(timeoutMs, server) ?? resolverChannel(timeoutMs, server);
}

// ---- on the binding -------------------------------------------------------------------------------

interface QueryReq {
  oncomplete: (code: unknown, value: unknown) => void;
}
type QueryMethod = (req: QueryReq, name: string) => number;
interface ChannelWrap {
  setServers(servers: [number, string, number][]): number;
  cancel(): void;
}
interface CaresBinding {
  ChannelWrap: new (timeoutMs: number, tries: number) => ChannelWrap;
  QueryReqWrap: new () => QueryReq;
}

const METHOD: Readonly<Record<RecordType, string>> = {
  A: 'queryA',
  TXT: 'queryTxt',
  MX: 'queryMx',
  PTR: 'queryPtr',
};

/** What levee asks for is ASCII (normaliseHostName, PTR names); node:dns would IDN-convert the rest. */
function isAsciiName(name: string): boolean {
  if (name === '') return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

let cares: CaresBinding | null | undefined;

function caresBinding(): CaresBinding | null {
  if (cares !== undefined) return cares;
  cares = null;
  const b = internalBinding('cares_wrap');
  const wrap = b?.ChannelWrap as { prototype?: Record<string, unknown> } | undefined;
  const methods = [...Object.values(METHOD), 'setServers', 'cancel'];
  if (
    typeof b?.ChannelWrap === 'function' &&
    typeof b.QueryReqWrap === 'function' &&
    methods.every((m) => typeof wrap?.prototype?.[m] === 'function')
  )
    cares = b as unknown as CaresBinding;
  return cares;
}

function caresChannel(timeoutMs: number, server: DnsServer): Channel | null {
  const b = caresBinding();
  if (!b) return null;
  let channel: ChannelWrap;
  try {
    channel = new b.ChannelWrap(timeoutMs, 1);
    if (channel.setServers([[server.host.includes(':') ? 6 : 4, server.host, server.port]]) !== 0)
      return null;
  } catch {
    return null;
  }
  const methods = channel as unknown as Record<string, QueryMethod>;
  return {
    query(type, name, done) {
      if (!isAsciiName(name)) return done('EBADNAME', undefined);
      const req = new b.QueryReqWrap();
      req.oncomplete = (code, value) => done(code ? String(code) : null, value);
      const err = methods[METHOD[type]]!.call(channel, req, name);
      if (err) done(typeof err === 'string' ? err : 'ERROR', undefined);
    },
    cancel: () => channel.cancel(),
  };
}

// ---- on node:dns ----------------------------------------------------------------------------------

let nodeDnsModule: typeof NodeDns | undefined;
/** node:dns is loaded on the first query only: connections without DNS filters never pay for it. */
function nodeDns(): typeof NodeDns {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  nodeDnsModule ??= require('node:dns') as typeof NodeDns;
  return nodeDnsModule;
}

/** `host` when the port is 53 (setServers with `ip:port` compiles a costly regex), else `ip:port`. */
function serverAddress(server: DnsServer): string {
  if (server.port === 53) return server.host;
  return server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/**
 * Points `resolver` at one server. Resolver#setServers validates `ip:port` and IPv6 strings with
 * net.isIPv6, whose large regex compiles on first use (~6 ms of every connection's start-up); the
 * address here is already a checked IP (settings.ts), so it goes to the channel directly when
 * node has that handle, and through the public setter otherwise or when the channel refuses it.
 */
function pointAt(resolver: NodeDns.Resolver, server: DnsServer): void {
  const v6 = server.host.includes(':');
  if (server.port !== 53 || v6) {
    const handle = (resolver as unknown as { _handle?: Partial<ChannelWrap> })._handle;
    if (
      typeof handle?.setServers === 'function' &&
      handle.setServers([[v6 ? 6 : 4, server.host, server.port]]) === 0
    )
      return;
  }
  resolver.setServers([serverAddress(server)]);
}

function resolverChannel(timeoutMs: number, server: DnsServer): Channel {
  const resolver = new (nodeDns().Resolver)({ timeout: timeoutMs, tries: 1 });
  pointAt(resolver, server);
  return {
    query(type, name, done) {
      const cb = (err: NodeJS.ErrnoException | null, value: unknown): void =>
        done(err ? (typeof err.code === 'string' ? err.code : 'ERROR') : null, value);
      switch (type) {
        case 'A':
          resolver.resolve4(name, cb);
          break;
        case 'TXT':
          resolver.resolveTxt(name, cb);
          break;
        case 'MX':
          resolver.resolveMx(name, cb);
          break;
        default:
          resolver.resolvePtr(name, cb);
      }
    },
    cancel: () => resolver.cancel(),
  };
}
