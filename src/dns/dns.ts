// The lookups the filters need (spec §2.4 items 14-18, §5.6): PTR, A, the sender-MX rule, RBL and RHSBL.
// Each public call is one DnsBatch: all its queries run in parallel and share one deadline of
// totalTimeoutMs, so no call ever takes longer than the budget, whatever the number of servers.
import {
  joinQueryName,
  normaliseHostName,
  parseIpv4,
  ptrQueryName,
  reversedIpLabels,
  rhsblCandidates,
  stripTrailingDots,
} from './names';
import { classifyRblAnswers, type RblResult, type RblZone } from './rbl';
import { DnsBatch, ResolverPool, type RecordValues } from './query';
import type { DnsSettings } from './settings';
import { isPermanentFailure, type DnsAnswer, type DnsFailure } from './types';

/** At most this many MX targets are resolved: the MX list comes from the network. */
const MAX_MX_TARGETS = 10;

type Failed = { ok: false; failure: DnsFailure; message: string };

// dns-level none: spamdyke sends no packet at all and every lookup means "no record" (spec §5.6).
const LEVEL_NONE: Failed = { ok: false, failure: 'nxdomain', message: 'dns-level none: no query sent' };
const badName = (what: string): Failed => ({
  ok: false,
  failure: 'nxdomain',
  message: `not a valid ${what}: no query sent`,
});

function usableAddress(addresses: readonly string[]): boolean {
  return addresses.some((a) => a !== '127.0.0.1');
}

/** Resolves true as soon as one promise gives true, false once all gave false. */
function anyTrue(promises: readonly Promise<boolean>[]): Promise<boolean> {
  if (promises.length === 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    let left = promises.length;
    for (const p of promises) {
      void p.then((value) => {
        left--;
        if (value || left === 0) resolve(value);
      });
    }
  });
}

function firstTxt(answer: DnsAnswer<RecordValues['TXT']>): string | undefined {
  return answer.ok && answer.value.length > 0 ? answer.value[0].join('') : undefined;
}

export class Dns {
  private readonly open = new Set<DnsBatch>();
  private readonly pool: ResolverPool;

  constructor(private readonly settings: DnsSettings) {
    this.pool = new ResolverPool(settings);
  }

  /** Ends every lookup in progress (e.g. the client went away); they settle with failure 'error'. */
  cancelAll(): void {
    for (const batch of [...this.open]) batch.close('error', 'lookup cancelled');
  }

  private async inBatch<T>(work: (batch: DnsBatch) => Promise<T>): Promise<T> {
    const batch: DnsBatch = new DnsBatch(this.settings, this.pool, () => this.open.delete(batch));
    this.open.add(batch);
    try {
      return await work(batch);
    } finally {
      batch.close();
    }
  }

  /**
   * First PTR name, lower-cased, trailing dots stripped; IPv4 and IPv6 (IPv4-mapped IPv6 is looked up as
   * IPv4). The name is returned as the server gave it, odd characters included: the caller checks it.
   */
  async ptr(ip: string): Promise<DnsAnswer<string>> {
    const name = ptrQueryName(ip);
    if (name === null) return badName('IP address');
    if (this.settings.level === 'none') return LEVEL_NONE;
    const answer = await this.inBatch((b) => b.query('PTR', name));
    if (!answer.ok) return answer;
    const first = stripTrailingDots((answer.value[0] ?? '').toLowerCase());
    // an empty PTR (the root) names nobody
    return first === ''
      ? { ok: false, failure: 'nodata', message: 'empty PTR name' }
      : { ok: true, value: first };
  }

  /** IPv4 (A) addresses of `name`; AAAA is not asked, as in spamdyke ("any A record", spec §5.6). */
  async a(name: string): Promise<DnsAnswer<string[]>> {
    const host = normaliseHostName(name);
    if (host === null) return badName('host name');
    if (this.settings.level === 'none') return LEVEL_NONE;
    return this.inBatch((b) => b.query('A', host));
  }

  /**
   * spamdyke's sender-MX rule (spec §5.6): true when an MX target resolves to an address other than
   * 127.0.0.1 (an IP literal as MX target counts), or, only when the domain has no MX at all, when the
   * domain's own A record is not 127.0.0.1. `{ok: true, value: false}` is a definite "no mail exchanger";
   * `{ok: false}` means the answer could not be obtained. MX and A are asked in parallel so an A-only
   * domain costs one round trip (spamdyke 5.0.1 stalls a round there, spec §11 item 13).
   */
  async mxCheck(domain: string): Promise<DnsAnswer<boolean>> {
    const host = normaliseHostName(domain);
    if (host === null) return badName('domain');
    if (this.settings.level === 'none') return LEVEL_NONE;
    return this.inBatch(async (b) => {
      const mxAnswer = b.query('MX', host);
      const aAnswer = b.query('A', host);
      const mx = await mxAnswer;
      if (mx.ok && mx.value.length > 0) return this.mxTargetsUsable(b, mx.value);
      const a = await aAnswer;
      if (a.ok && usableAddress(a.value)) return { ok: true, value: true };
      if (!mx.ok && !isPermanentFailure(mx.failure)) return mx;
      if (!a.ok && !isPermanentFailure(a.failure)) return a;
      return { ok: true, value: false };
    });
  }

  private async mxTargetsUsable(b: DnsBatch, records: RecordValues['MX']): Promise<DnsAnswer<boolean>> {
    const names: string[] = [];
    for (const record of [...records].sort((x, y) => x.priority - y.priority)) {
      const target = record.exchange.replace(/^\[(.*)\]$/, '$1');
      if (parseIpv4(target)) {
        if (target !== '127.0.0.1') return { ok: true, value: true };
        continue;
      }
      const host = normaliseHostName(target); // '' (null MX, RFC 7505) and junk are skipped
      if (host !== null && !names.includes(host)) names.push(host);
    }
    let temporary: Failed | undefined;
    const lookups = names.slice(0, MAX_MX_TARGETS).map(async (host) => {
      const a = await b.query('A', host);
      if (!a.ok && !isPermanentFailure(a.failure)) temporary ??= a;
      return a.ok && usableAddress(a.value);
    });
    if (await anyTrue(lookups)) return { ok: true, value: true };
    return temporary ?? { ok: true, value: false };
  }

  /** RBL/RWL lookup of a client address: `d.c.b.a.<zone>`, or 32 reversed nibbles for IPv6. */
  async rbl(ip: string, zone: RblZone): Promise<RblResult> {
    const labels = reversedIpLabels(ip);
    const name = labels === null ? null : joinQueryName(labels, zone.zone);
    if (name === null) return { listed: false, zone, failure: 'error', queried: '' };
    return this.listLookup(zone, [name]);
  }

  /**
   * RHSBL/RHSWL lookup: `<name>.<zone>` for the name and each parent down to the registered domain (the
   * last two labels), all in parallel; the first listed name wins.
   */
  async rhsbl(name: string, zone: RblZone): Promise<RblResult> {
    const host = normaliseHostName(name);
    const names = host === null ? [] : rhsblCandidates(host).map((n) => joinQueryName(n, zone.zone));
    const queryNames = names.filter((n): n is string => n !== null);
    if (queryNames.length === 0) return { listed: false, zone, failure: 'nxdomain', queried: '' };
    return this.listLookup(zone, queryNames);
  }

  private async listLookup(zone: RblZone, names: string[]): Promise<RblResult> {
    // query names as reported: with the display zone, so a DQS key never reaches a log line
    const shown = (name: string): string => `${name.slice(0, -zone.zone.length)}${zone.displayZone}`;
    if (this.settings.level === 'none')
      return { listed: false, zone, failure: 'nxdomain', queried: shown(names[0]) };
    return this.inBatch(async (b) => {
      const zoneErrors: string[] = [];
      let failure: DnsFailure | undefined;
      let listedAt = -1;
      let listing: string[] = [];
      const checks = names.map(async (n, i) => {
        const a = await b.query('A', n);
        if (!a.ok) {
          // a temporary failure on any name matters more than "not found" on another
          if (failure === undefined || isPermanentFailure(failure)) failure = a.failure;
          return false;
        }
        const verdict = classifyRblAnswers(zone, a.value);
        if (verdict.zoneError) zoneErrors.push(verdict.zoneError);
        if (verdict.listing.length === 0 || listedAt >= 0) return false;
        listedAt = i;
        listing = verdict.listing;
        return true;
      });
      const listed = await anyTrue(checks);
      const zoneError = zoneErrors.length ? zoneErrors.join('; ') : undefined;
      if (!listed)
        return {
          listed: false,
          zone,
          queried: shown(names[0]),
          ...(failure && { failure }),
          ...(zoneError && { zoneError }),
        };
      // the reason text is asked for only now: most clients are not listed, and three zones' TXT
      // queries (and their NXDOMAIN answers) were a third of a connection's DNS work; a listed
      // client waits one more round trip for its rejection
      const txt = firstTxt(await b.query('TXT', names[listedAt]));
      return {
        listed: true,
        zone,
        answers: listing,
        queried: shown(names[listedAt]),
        ...(txt !== undefined && { txt }),
        ...(zoneError && { zoneError }),
      };
    });
  }
}
