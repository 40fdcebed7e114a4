// One budgeted group of DNS queries over node's c-ares Resolver. I/O.
//
// c-ares alone cannot give the guarantees the filters need: it doubles its timeout on every retry and
// walks servers one by one (shared/research/perf.md §5). So each query is sent with tries:1, and the
// rounds of spamdyke's resolver (spec §5.6) are driven here: round n goes to the primaries (aggressive:
// all of them at once; normal: one, round-robin) for dns-max-retries-primary rounds, then to every server.
// A new round starts after perTryTimeoutMs, or at once when every packet of the current one failed.
// Answers to earlier rounds still count. The whole batch has one deadline; when it passes, every
// resolver is cancelled and whatever is unanswered reports 'timeout'.
import type * as NodeDns from 'node:dns';
import type { DnsServer, DnsSettings } from './settings';
import { isPermanentFailure, type DnsAnswer, type DnsFailure } from './types';

let nodeDnsModule: typeof NodeDns | undefined;
/** node:dns is loaded on the first query only: connections without DNS filters never pay for it. */
function nodeDns(): typeof NodeDns {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  nodeDnsModule ??= require('node:dns') as typeof NodeDns;
  return nodeDnsModule;
}

export interface RecordValues {
  A: string[];
  TXT: string[][];
  MX: NodeDns.MxRecord[];
  PTR: string[];
}
export type RecordType = keyof RecordValues;

const FAILURE_BY_CODE: Readonly<Record<string, DnsFailure>> = {
  ENOTFOUND: 'nxdomain',
  ENODATA: 'nodata',
  ETIMEOUT: 'timeout',
  ESERVFAIL: 'servfail',
  EREFUSED: 'refused',
};

function failureOf(err: NodeJS.ErrnoException): { failure: DnsFailure; message: string } {
  const code = typeof err.code === 'string' ? err.code : 'ERROR';
  return { failure: FAILURE_BY_CODE[code] ?? 'error', message: code };
}

/** `host` when the port is 53 (setServers with `ip:port` compiles a costly regex), else `ip:port`. */
function serverAddress(server: DnsServer): string {
  if (server.port === 53) return server.host;
  return server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/** c-ares' own setter: what Resolver#setServers calls with [family, address, port] once it has validated the strings. */
interface ChannelHandle {
  setServers(servers: [number, string, number][]): number;
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
    const handle = (resolver as unknown as { _handle?: Partial<ChannelHandle> })._handle;
    if (
      typeof handle?.setServers === 'function' &&
      handle.setServers([[v6 ? 6 : 4, server.host, server.port]]) === 0
    )
      return;
  }
  resolver.setServers([serverAddress(server)]);
}

type Callback<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

function send<K extends RecordType>(
  resolver: NodeDns.Resolver,
  type: K,
  name: string,
  done: Callback<RecordValues[K] | undefined>,
): void {
  const cb = done as Callback<unknown>;
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
}

/**
 * The c-ares channels of one connection, one per server, shared by all its batches: a channel costs
 * a socket and ~0.3 ms to set up, and a connection's lookups (PTR, A, each DNSBL) come in several
 * batches, mostly at once. A batch that ends with packets still in flight leaves them there while
 * another batch uses the channel (cancel() would fail that batch's queries too); the channel is
 * cancelled once no open batch uses it, so nothing is left waiting behind a finished session.
 */
export class ResolverPool {
  private readonly channels: (NodeDns.Resolver | undefined)[] = [];
  private readonly users = new Map<NodeDns.Resolver, Set<object>>();
  private readonly stale = new Set<NodeDns.Resolver>();

  constructor(private readonly settings: DnsSettings) {}

  /** The channel for server `index`, used by `batch` until it calls release(). */
  acquire(index: number, batch: object): NodeDns.Resolver {
    let resolver = this.channels[index];
    if (!resolver) {
      resolver = new (nodeDns().Resolver)({ timeout: this.settings.perTryTimeoutMs, tries: 1 });
      pointAt(resolver, this.settings.servers[index]);
      this.channels[index] = resolver;
      this.users.set(resolver, new Set());
    }
    this.users.get(resolver)!.add(batch);
    return resolver;
  }

  /** `batch` is done with its channels; `unanswered`: it left packets in flight. */
  release(batch: object, resolvers: Iterable<NodeDns.Resolver>, unanswered: boolean): void {
    for (const resolver of resolvers) {
      const users = this.users.get(resolver);
      users?.delete(batch);
      if (unanswered) this.stale.add(resolver);
      if (users?.size === 0 && this.stale.delete(resolver)) resolver.cancel();
    }
  }
}

export class DnsBatch {
  /** the pool's channels this batch has used */
  private readonly resolvers = new Set<NodeDns.Resolver>();
  private readonly roundTimers = new Set<NodeJS.Timeout>();
  /** the closers of queries that have not settled yet */
  private readonly unsettled = new Set<(failure: DnsFailure, message: string) => void>();
  private readonly deadline: number;
  private readonly deadlineTimer: NodeJS.Timeout;
  private readonly primaries: number[];
  private readonly everyone: number[];
  private closed = false;
  /** packets sent and not answered yet, of settled queries too (aggressive mode asks several servers) */
  private packetsInFlight = 0;

  constructor(
    private readonly settings: DnsSettings,
    private readonly pool: ResolverPool,
    private readonly onClose: () => void = () => undefined,
  ) {
    this.deadline = Date.now() + settings.totalTimeoutMs;
    this.deadlineTimer = setTimeout(
      () => this.close('timeout', `no answer within ${settings.totalTimeoutMs} ms`),
      settings.totalTimeoutMs,
    );
    const indices = settings.servers.map((_, i) => i);
    this.primaries = indices.filter((i) => settings.servers[i].primary);
    this.everyone = [...this.primaries, ...indices.filter((i) => !settings.servers[i].primary)];
  }

  /** Ends the batch: unanswered queries settle with `failure`; its packets still in flight are
   * cancelled once no other batch uses their channel (ResolverPool). */
  close(failure: DnsFailure = 'error', message = 'lookup cancelled'): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.deadlineTimer);
    for (const timer of this.roundTimers) clearTimeout(timer);
    this.roundTimers.clear();
    const unanswered = this.unsettled.size > 0 || this.packetsInFlight > 0;
    for (const settle of [...this.unsettled]) settle(failure, message);
    this.pool.release(this, this.resolvers, unanswered);
    this.onClose();
  }

  private resolverFor(index: number): NodeDns.Resolver {
    const resolver = this.pool.acquire(index, this);
    this.resolvers.add(resolver);
    return resolver;
  }

  private targetsOf(round: number): number[] {
    const pool =
      round < this.settings.maxRetriesPrimary && this.primaries.length ? this.primaries : this.everyone;
    if (this.settings.level === 'aggressive') return pool;
    return pool.length ? [pool[round % pool.length]] : [];
  }

  query<K extends RecordType>(type: K, name: string): Promise<DnsAnswer<RecordValues[K]>> {
    if (this.closed) return Promise.resolve({ ok: false, failure: 'error', message: 'lookup cancelled' });
    return new Promise((resolve) => {
      let settled = false;
      let round = 0;
      let inFlight = 0;
      let roundTimer: NodeJS.Timeout | undefined;
      // an actual SERVFAIL/REFUSED says more than the silence of another server
      let temporary: { failure: DnsFailure; message: string } | undefined;

      const stopRoundTimer = (): void => {
        if (roundTimer) clearTimeout(roundTimer);
        if (roundTimer) this.roundTimers.delete(roundTimer);
        roundTimer = undefined;
      };
      const settle = (answer: DnsAnswer<RecordValues[K]>): void => {
        if (settled) return;
        settled = true;
        stopRoundTimer();
        this.unsettled.delete(closer);
        resolve(answer);
      };
      const closer = (failure: DnsFailure, message: string): void =>
        settle(
          failure === 'timeout' && temporary ? { ok: false, ...temporary } : { ok: false, failure, message },
        );
      this.unsettled.add(closer);

      const nextRound = (): void => {
        stopRoundTimer();
        if (settled) return;
        if (round >= this.settings.maxRetriesTotal) {
          // out of rounds: report once nothing is in flight, or let the deadline end it
          if (inFlight === 0)
            settle({ ok: false, ...(temporary ?? { failure: 'timeout', message: 'ETIMEOUT' }) });
          return;
        }
        const targets = this.targetsOf(round);
        round++;
        for (const index of targets) {
          inFlight++;
          this.packetsInFlight++;
          const onAnswer: Callback<RecordValues[K] | undefined> = (err, value) => {
            inFlight--;
            this.packetsInFlight--;
            if (settled) return;
            if (!err && value !== undefined) return settle({ ok: true, value });
            const { failure, message } = err
              ? failureOf(err)
              : { failure: 'error' as const, message: 'no value' };
            if (isPermanentFailure(failure)) return settle({ ok: false, failure, message });
            if (failure !== 'timeout') temporary ??= { failure, message };
            if (inFlight === 0) nextRound();
          };
          try {
            send(this.resolverFor(index), type, name, onAnswer);
          } catch (e) {
            onAnswer(e as NodeJS.ErrnoException, undefined);
          }
        }
        if (settled || roundTimer) return; // a synchronous failure may already have moved on
        const wait = Math.min(this.settings.perTryTimeoutMs, Math.max(0, this.deadline - Date.now()));
        roundTimer = setTimeout(nextRound, wait);
        this.roundTimers.add(roundTimer);
      };
      nextRound();
    });
  }
}
