// `levee stats`, the pure part: traffic lines out of a log (text lines from stderr or syslog, or JSON
// records) and counts by outcome and reason over a time window. Log text came from the network, so
// it is only counted and measured here; rendering escapes it.

export interface TrafficEntry {
  /** when it was logged, if the line says (syslog prefix, ISO prefix, JSON ts) */
  time: Date | undefined;
  /** ALLOWED, DENIED_*, TIMEOUT ... */
  code: string;
  reason: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const TRAFFIC =
  /(?:^|\]: )([A-Z][A-Z_]+) from: \S+ to: \S+ origin_ip: \S+ origin_rdns: \S+ auth: \S+ encryption: \S+ reason: (\S+)\s*$/;
const SYSLOG_TIME = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) /;
const ISO_TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s/;

/** Syslog stamps have no year: the most recent such moment not after `now`. */
function syslogTime(m: RegExpExecArray, now: Date): Date {
  const month = MONTHS.indexOf(m[1]!);
  const at = (year: number) => new Date(year, month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  const guess = at(now.getFullYear());
  return guess.getTime() > now.getTime() + 86_400_000 ? at(now.getFullYear() - 1) : guess;
}

export function parseTrafficLine(line: string, now: Date = new Date()): TrafficEntry | null {
  if (line.startsWith('{')) {
    try {
      const rec = JSON.parse(line) as Record<string, unknown>;
      if (typeof rec.code !== 'string' || typeof rec.reason !== 'string' || !('to' in rec)) return null;
      const t = typeof rec.ts === 'string' ? new Date(rec.ts) : undefined;
      return { time: t && !isNaN(t.getTime()) ? t : undefined, code: rec.code, reason: rec.reason };
    } catch {
      return null;
    }
  }
  const m = TRAFFIC.exec(line);
  if (!m) return null;
  let time: Date | undefined;
  const s = SYSLOG_TIME.exec(line);
  const iso = ISO_TIME.exec(line);
  if (s && MONTHS.includes(s[1]!)) time = syslogTime(s, now);
  else if (iso) time = new Date(iso[1]!);
  return { time: time && !isNaN(time.getTime()) ? time : undefined, code: m[1]!, reason: m[2]! };
}

/** `30m`, `24h`, `7d` → milliseconds; null when not a duration. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,6})([smhd])$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** Reasons that differ only in numbers (qmail's `ok_1700000000_qp_123`) are one reason. */
export function reasonGroup(reason: string): string {
  return reason.replace(/\d+/g, '#');
}

export interface Summary {
  total: number;
  /** count per outcome, largest first */
  byCode: Array<[string, number]>;
  /** per outcome, its reasons (grouped) with counts, largest first */
  reasons: Map<string, Array<[string, number]>>;
  /** time buckets (oldest first) with counts per outcome; empty without timestamps */
  buckets: Array<{ start: Date; counts: Map<string, number> }>;
  /** lines skipped because they had no time while a window was asked for */
  untimed: number;
}

export interface SummaryOptions {
  /** only entries at or after this moment (entries without a time are then skipped) */
  since?: Date;
  /** only entries before this moment */
  until?: Date;
  /** number of chart buckets */
  bucketCount?: number;
}

const byCountDesc = (a: [string, number], b: [string, number]) => b[1] - a[1] || a[0].localeCompare(b[0]);

export function summarize(entries: Iterable<TrafficEntry>, opts: SummaryOptions = {}): Summary {
  const kept: TrafficEntry[] = [];
  let untimed = 0;
  for (const e of entries) {
    if (opts.since || opts.until) {
      if (!e.time) {
        untimed++;
        continue;
      }
      if (opts.since && e.time < opts.since) continue;
      if (opts.until && e.time >= opts.until) continue;
    }
    kept.push(e);
  }
  const codes = new Map<string, number>();
  const reasons = new Map<string, Map<string, number>>();
  for (const e of kept) {
    codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
    const r = reasons.get(e.code) ?? new Map<string, number>();
    r.set(reasonGroup(e.reason), (r.get(reasonGroup(e.reason)) ?? 0) + 1);
    reasons.set(e.code, r);
  }
  const times = kept.filter((e) => e.time).map((e) => e.time!.getTime());
  const buckets: Summary['buckets'] = [];
  if (times.length) {
    const from = opts.since?.getTime() ?? Math.min(...times);
    const to = Math.max(opts.until?.getTime() ?? 0, Math.max(...times) + 1);
    const n = Math.max(1, opts.bucketCount ?? 24);
    const width = Math.max(1, Math.ceil((to - from) / n));
    for (let i = 0; i < n; i++) buckets.push({ start: new Date(from + i * width), counts: new Map() });
    for (const e of kept) {
      if (!e.time) continue;
      const i = Math.min(n - 1, Math.floor((e.time.getTime() - from) / width));
      const b = buckets[i]!.counts;
      b.set(e.code, (b.get(e.code) ?? 0) + 1);
    }
  }
  return {
    total: kept.length,
    byCode: [...codes].sort(byCountDesc),
    reasons: new Map([...reasons].map(([code, r]) => [code, [...r].sort(byCountDesc)])),
    buckets,
    untimed,
  };
}
