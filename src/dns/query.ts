// One budgeted group of DNS queries over c-ares channels (channel.ts). I/O.
//
// c-ares alone cannot give the guarantees the filters need: it doubles its timeout on every retry and
// walks servers one by one (shared/research/perf.md §5). So each query is sent with tries:1, and the
// rounds of spamdyke's resolver (spec §5.6) are driven here: round n goes to the primaries (aggressive:
// all of them at once; normal: one, round-robin) for dns-max-retries-primary rounds, then to every server.
// A new round starts after perTryTimeoutMs, or at once when every packet of the current one failed.
// Answers to earlier rounds still count. The whole batch has one deadline; when it passes, whatever
// is unanswered reports 'timeout' and the channels are cancelled once no batch uses them. Each query
// keeps one timer (its next round, or the deadline after its last round), not one more per batch:
// a connection makes a dozen of them, and a timer costs ~20-70 µs of V8's interpreter here.
import { openChannel, type Channel, type RecordType, type RecordValues } from './channel';
import type { DnsSettings } from './settings';
import { isPermanentFailure, type DnsAnswer, type DnsFailure } from './types';

export type { RecordType, RecordValues } from './channel';

const FAILURE_BY_CODE: Readonly<Record<string, DnsFailure>> = {
  ENOTFOUND: 'nxdomain',
  ENODATA: 'nodata',
  ETIMEOUT: 'timeout',
  ESERVFAIL: 'servfail',
  EREFUSED: 'refused',
};

function failureOf(code: string): { failure: DnsFailure; message: string } {
  return { failure: FAILURE_BY_CODE[code] ?? 'error', message: code };
}

/**
 * The c-ares channels of one connection, one per server, shared by all its batches: a channel costs
 * a socket and ~0.3 ms to set up, and a connection's lookups (PTR, A, each DNSBL) come in several
 * batches, mostly at once. A batch that ends with packets still in flight leaves them there while
 * another batch uses the channel (cancel() would fail that batch's queries too); the channel is
 * cancelled once no open batch uses it, so nothing is left waiting behind a finished session.
 */
export class ResolverPool {
  private readonly channels: (Channel | undefined)[] = [];
  private readonly users = new Map<Channel, Set<object>>();
  private readonly stale = new Set<Channel>();

  constructor(
    private readonly settings: DnsSettings,
    /** how a channel is opened (tests give channels without sockets) */
    private readonly open: typeof openChannel = openChannel,
  ) {}

  /** The channel for server `index`, used by `batch` until it calls release(). */
  acquire(index: number, batch: object): Channel {
    let channel = this.channels[index];
    if (!channel) {
      channel = this.open(this.settings.perTryTimeoutMs, this.settings.servers[index]);
      this.channels[index] = channel;
      this.users.set(channel, new Set());
    }
    this.users.get(channel)!.add(batch);
    return channel;
  }

  /** `batch` is done with its channels; `unanswered`: it left packets in flight. */
  release(batch: object, channels: Iterable<Channel>, unanswered: boolean): void {
    for (const channel of channels) {
      const users = this.users.get(channel);
      users?.delete(batch);
      if (unanswered) this.stale.add(channel);
      if (users?.size === 0 && this.stale.delete(channel)) channel.cancel();
    }
  }
}

export class DnsBatch {
  /** the pool's channels this batch has used */
  private readonly channels = new Set<Channel>();
  private readonly roundTimers = new Set<NodeJS.Timeout>();
  /** the closers of queries that have not settled yet */
  private readonly unsettled = new Set<(failure: DnsFailure, message: string) => void>();
  private readonly deadline: number;
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
    const indices = settings.servers.map((_, i) => i);
    this.primaries = indices.filter((i) => settings.servers[i].primary);
    this.everyone = [...this.primaries, ...indices.filter((i) => !settings.servers[i].primary)];
  }

  /** Ends the batch: unanswered queries settle with `failure`; its packets still in flight are
   * cancelled once no other batch uses their channel (ResolverPool). */
  close(failure: DnsFailure = 'error', message = 'lookup cancelled'): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.roundTimers) clearTimeout(timer);
    this.roundTimers.clear();
    const unanswered = this.unsettled.size > 0 || this.packetsInFlight > 0;
    for (const settle of [...this.unsettled]) settle(failure, message);
    this.pool.release(this, this.channels, unanswered);
    this.onClose();
  }

  private channelFor(index: number): Channel {
    const channel = this.pool.acquire(index, this);
    this.channels.add(channel);
    return channel;
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
        const left = this.deadline - Date.now();
        if (left <= 0) return closer('timeout', `no answer within ${this.settings.totalTimeoutMs} ms`);
        if (round >= this.settings.maxRetriesTotal) {
          // out of rounds: report once nothing is in flight, else when the deadline comes
          if (inFlight === 0)
            return settle({ ok: false, ...(temporary ?? { failure: 'timeout', message: 'ETIMEOUT' }) });
          roundTimer = setTimeout(nextRound, left);
          this.roundTimers.add(roundTimer);
          return;
        }
        const targets = this.targetsOf(round);
        round++;
        for (const index of targets) {
          inFlight++;
          this.packetsInFlight++;
          const onAnswer = (code: string | null, value: unknown): void => {
            inFlight--;
            this.packetsInFlight--;
            if (settled) return;
            if (code === null && value !== undefined)
              return settle({ ok: true, value: value as RecordValues[K] });
            const { failure, message } =
              code !== null ? failureOf(code) : { failure: 'error' as const, message: 'no value' };
            if (isPermanentFailure(failure)) return settle({ ok: false, failure, message });
            if (failure !== 'timeout') temporary ??= { failure, message };
            if (inFlight === 0) nextRound();
          };
          try {
            this.channelFor(index).query(type, name, onAnswer);
          } catch (e) {
            const code = (e as NodeJS.ErrnoException | undefined)?.code;
            onAnswer(typeof code === 'string' ? code : 'ERROR', undefined);
          }
        }
        if (settled || roundTimer) return; // a synchronous failure may already have moved on
        // the next round, or the deadline if that comes first (then nextRound reports the timeout)
        const wait = Math.min(this.settings.perTryTimeoutMs, Math.max(0, this.deadline - Date.now()));
        roundTimer = setTimeout(nextRound, wait);
        this.roundTimers.add(roundTimer);
      };
      nextRound();
    });
  }
}
