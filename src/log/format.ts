// Pure formatting of log lines: the spamdyke-compatible text lines (spec §3.3, §3.4), the JSON
// records, the RFC 3164 syslog datagram and the transcript timestamps. No I/O here.
import { capBytes, escapeUnsafe, MAX_LINE_BYTES, safeLine, TRUNCATION_MARK } from './sanitize';
import type { EventValue, FilterFields, LogLevel, TrafficRecord } from './types';

const UNKNOWN = '(unknown)';

/**
 * A field of the traffic line that comes from the client (address, rDNS, user): escaped like any
 * log text, and a space is escaped too so that nothing sent can forge the next `name: value` field.
 */
function field(value: string, empty: string = UNKNOWN): string {
  if (value === '') return empty;
  const escaped = escapeUnsafe(value);
  return escaped.includes(' ') ? escaped.replaceAll(' ', '\\x20') : escaped;
}

/** `<CODE> from: S to: R origin_ip: IP origin_rdns: N auth: U encryption: E reason: X` (spec §3.3). */
export function formatTrafficLine(r: TrafficRecord): string {
  const reason = r.reason === '' ? '(empty)' : escapeUnsafe(r.reason).replaceAll(' ', '_');
  return safeLine(
    `${field(r.code)} from: ${field(r.sender)} to: ${field(r.recipient)} origin_ip: ${field(r.ip)}` +
      ` origin_rdns: ${field(r.rdns)} auth: ${field(r.auth)} encryption: ${r.encryption || '(none)'}` +
      ` reason: ${reason}`,
  );
}

/** `FILTER_X name: value name: value` (spec §3.4); a keyword without fields is printed alone. */
export function formatFilterLine(keyword: string, fields: FilterFields): string {
  let line = keyword;
  for (const [name, value] of fields) line += ` ${name}: ${value}`;
  return safeLine(line);
}

/** Text of the non-traffic families; the C function/file/line part of spamdyke's prefix is gone. */
export function formatLevelLine(level: LogLevel, text: string): string {
  switch (level) {
    case 'error':
      return safeLine(`ERROR: ${text}`);
    case 'debug':
      return safeLine(`DEBUG: ${text}`);
    case 'excessive':
      return safeLine(`EXCESSIVE: ${text}`);
    default:
      return safeLine(text);
  }
}

// ---- JSON ---------------------------------------------------------------------------------------

type JsonValue = EventValue | { [key: string]: JsonValue };
export type JsonRecord = { [key: string]: JsonValue };

const RESERVED = new Set(['ts', 'pid', 'event', 'level']);

/** Keys are fixed by the caller; a data key that would overwrite a header field gets a `data_` prefix. */
export function jsonRecord(
  event: string,
  level: LogLevel,
  pid: number,
  data: Readonly<Record<string, JsonValue>>,
  now: Date = new Date(),
): JsonRecord {
  const rec: JsonRecord = { ts: now.toISOString(), pid, event, level };
  for (const [k, v] of Object.entries(data)) rec[RESERVED.has(k) ? `data_${k}` : k] = v;
  return rec;
}

export function trafficJson(r: TrafficRecord): Record<string, JsonValue> {
  return {
    code: r.code,
    from: r.sender,
    to: r.recipient,
    ip: r.ip,
    rdns: r.rdns,
    auth: r.auth,
    encryption: r.encryption,
    reason: r.reason,
    filter: r.filter ?? null,
    reply_code: r.replyCode ?? null,
    log_only: r.logOnly ?? false,
  };
}

export function filterJson(keyword: string, fields: FilterFields): Record<string, JsonValue> {
  const named: { [key: string]: JsonValue } = {};
  for (const [name, value] of fields) named[name] = value;
  return { keyword, fields: named };
}

function sanitizeStrings(v: JsonValue): JsonValue {
  if (typeof v === 'string') return escapeUnsafe(v);
  if (v === null || typeof v !== 'object') return v;
  const out: { [key: string]: JsonValue } = {};
  for (const [k, inner] of Object.entries(v)) out[escapeUnsafe(k)] = sanitizeStrings(inner);
  return out;
}

/** The longest string value anywhere in the record, with the object holding it. */
function longestString(obj: {
  [key: string]: JsonValue;
}): { holder: { [key: string]: JsonValue }; key: string } | null {
  let best: { holder: { [key: string]: JsonValue }; key: string; len: number } | null = null;
  const visit = (o: { [key: string]: JsonValue }): void => {
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'string') {
        if (!best || v.length > best.len) best = { holder: o, key: k, len: v.length };
      } else if (v !== null && typeof v === 'object') visit(v);
    }
  };
  visit(obj);
  return best;
}

/**
 * One JSON object on one line: strings are escaped like text lines (so both formats show the same
 * value), and when the line is too long the longest strings are cut until it fits — the result is
 * always valid JSON.
 */
export function formatJsonLine(rec: JsonRecord, maxBytes: number = MAX_LINE_BYTES): string {
  const clean = sanitizeStrings(rec) as JsonRecord;
  let line = JSON.stringify(clean);
  for (let guard = 0; guard < 64; guard++) {
    const excess = Buffer.byteLength(line, 'utf8') - maxBytes;
    if (excess <= 0) break;
    const target = longestString(clean);
    if (!target) break;
    const value = target.holder[target.key] as string;
    if (value.length <= TRUNCATION_MARK.length) break;
    // every raw byte cut removes at least one serialized byte, so cutting `excess` raw bytes suffices
    const budget = Buffer.byteLength(value, 'utf8') - excess;
    target.holder[target.key] = budget > TRUNCATION_MARK.length ? capBytes(value, budget) : TRUNCATION_MARK;
    line = JSON.stringify(clean);
  }
  return line;
}

// ---- syslog and transcript timestamps -----------------------------------------------------------

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => (n < 10 ? '0' : '') + n;

/** `Mmm dd hh:mm:ss` in local time, the day padded with a space, as glibc's syslog() writes it. */
export function syslogTimestamp(d: Date): string {
  const day = d.getDate();
  return `${MONTHS[d.getMonth()]} ${day < 10 ? ' ' : ''}${day} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export const FACILITY_MAIL = 2;
export const SEVERITY = { err: 3, info: 6, debug: 7 } as const;

/** spamdyke's mapping: error -> LOG_ERR, debug (and excessive) -> LOG_DEBUG, everything else LOG_INFO. */
export function syslogSeverity(level: LogLevel): number {
  if (level === 'error') return SEVERITY.err;
  if (level === 'debug' || level === 'excessive') return SEVERITY.debug;
  return SEVERITY.info;
}

/** `<PRI>Mmm dd hh:mm:ss ident[pid]: msg` (RFC 3164 as sent to /dev/log by glibc). */
export function syslogDatagram(severity: number, ident: string, pid: number, msg: string, now: Date): string {
  return `<${FACILITY_MAIL * 8 + severity}>${syslogTimestamp(now)} ${ident}[${pid}]: ${msg}`;
}

/** `MM/DD/YYYY HH:MM:SS`, local time (transcript headers, spec §3.6). */
export function transcriptTimestamp(d: Date): string {
  return `${two(d.getMonth() + 1)}/${two(d.getDate())}/${d.getFullYear()} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** `YYYYMMDD_HHMMSS` (transcript file names). */
export function transcriptFileStamp(d: Date): string {
  return `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}_${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
}
