// The per-connection logger: decides by level, formats once, and writes each line to stderr
// (one write per line), syslog (one datagram per line) and the attached transcript.
import {
  filterJson,
  formatFilterLine,
  formatJsonLine,
  formatLevelLine,
  formatTrafficLine,
  jsonRecord,
  syslogSeverity,
  trafficJson,
  type JsonRecord,
} from './format';
import { STDERR_WAIT_MS, writeLineSync } from './stderr';
import { SyslogSender, SYSLOG_IDENT } from './syslog';
import type { Transcript } from './transcript';
import type { OptionValues } from '../options/table';
import {
  LEVEL_RANK,
  type EventValue,
  type FilterFields,
  type LogLevel,
  type LoggerOptions,
  type LogTarget,
  type TrafficRecord,
} from './types';

const STDERR_FD = 2;
/** after one line was dropped on a stalled pipe, later lines wait only this long (see docs/logging.md) */
const STALLED_STDERR_WAIT_MS = 50;

export class Logger {
  private readonly rank: number;
  private readonly json: boolean;
  private readonly toStderr: boolean;
  private readonly toSyslog: boolean;
  private readonly pid: number;
  private readonly stderrPrefix: string;
  private syslog: SyslogSender | null = null;
  private transcript: Transcript | null = null;
  private stderrBroken = false;
  private stderrWaitMs = STDERR_WAIT_MS;

  /** The logger the log-level, log-target and log-format options describe (`level` overrides). */
  static forOptions(
    o: Pick<OptionValues, 'log-level' | 'log-target' | 'log-format'>,
    level: LogLevel = o['log-level'],
  ): Logger {
    return new Logger({
      level,
      targets: o['log-target'] as readonly LogTarget[],
      format: o['log-format'],
      pid: process.pid,
    });
  }

  constructor(o: LoggerOptions) {
    this.rank = LEVEL_RANK[o.level];
    this.json = o.format === 'json';
    this.toStderr = o.targets.includes('stderr');
    this.toSyslog = o.targets.includes('syslog');
    this.pid = o.pid ?? process.pid;
    this.stderrPrefix = `${SYSLOG_IDENT}[${this.pid}]: `;
  }

  /**
   * True when a line of this level goes anywhere. A transcript records every level up to debug
   * whatever log-level says (spamdyke's LOG OUTPUT has all messages), so callers may build
   * expensive debug text only when this says yes.
   */
  enabled(level: LogLevel): boolean {
    if (level === 'none') return false;
    const rank = LEVEL_RANK[level];
    return rank <= this.rank || (this.transcript !== null && rank <= LEVEL_RANK.debug);
  }

  error(text: string): void {
    this.levelLine('error', text);
  }
  info(text: string): void {
    this.levelLine('info', text);
  }
  verbose(text: string): void {
    this.levelLine('verbose', text);
  }
  debug(text: string): void {
    this.levelLine('debug', text);
  }
  excessive(text: string): void {
    this.levelLine('excessive', text);
  }

  /** `FILTER_* name: value ...` at verbose level (spec §3.4). */
  filter(keyword: string, fields: FilterFields): void {
    if (!this.enabled('verbose')) return;
    this.emit(
      'verbose',
      () => formatFilterLine(keyword, fields),
      () => jsonRecord('filter', 'verbose', this.pid, filterJson(keyword, fields)),
    );
  }

  /** The per-recipient traffic line at info level (spec §3.3). */
  traffic(r: TrafficRecord): void {
    if (!this.enabled('info')) return;
    this.emit(
      'info',
      () => formatTrafficLine(r),
      () => jsonRecord('traffic', 'info', this.pid, trafficJson(r)),
    );
  }

  /** Structured events (connect, disconnect with timings, ...) at info level; JSON format only. */
  event(name: string, data: Record<string, EventValue>): void {
    if (!this.json || LEVEL_RANK.info > this.rank) return;
    this.write('info', formatJsonLine(jsonRecord(name, 'info', this.pid, data)));
  }

  /** From now on every log line is also written to the transcript's LOG OUTPUT. */
  attachTranscript(t: Transcript): void {
    this.transcript = t;
  }

  /** Releases the syslog socket and closes the attached transcript (its CLOSED line). */
  async close(): Promise<void> {
    this.syslog?.close();
    this.syslog = null;
    this.transcript?.close();
    this.transcript = null;
  }

  private levelLine(level: LogLevel, text: string): void {
    if (!this.enabled(level)) return;
    this.emit(
      level,
      () => formatLevelLine(level, text),
      () => jsonRecord(level, level, this.pid, { msg: text }),
    );
  }

  private emit(level: LogLevel, text: () => string, record: () => JsonRecord): void {
    const toOutputs = LEVEL_RANK[level] <= this.rank;
    // the transcript is spamdyke's format: it always gets the text line
    const textLine = this.transcript !== null || (toOutputs && !this.json) ? text() : '';
    this.transcript?.logOutput(textLine);
    if (toOutputs) this.write(level, this.json ? formatJsonLine(record()) : textLine);
  }

  private write(level: LogLevel, line: string): void {
    if (this.toStderr && !this.stderrBroken) {
      // JSON lines carry the pid inside and stay pure JSON lines; text lines get spamdyke's prefix
      const out = this.json ? line + '\n' : this.stderrPrefix + line + '\n';
      const result = writeLineSync(STDERR_FD, Buffer.from(out, 'utf8'), this.stderrWaitMs);
      if (result === 'broken') this.stderrBroken = true;
      this.stderrWaitMs = result === 'full' ? STALLED_STDERR_WAIT_MS : STDERR_WAIT_MS;
    }
    if (this.toSyslog) {
      this.syslog ??= new SyslogSender(this.pid);
      this.syslog.send(syslogSeverity(level), line);
    }
  }
}
