// Shapes shared by the logging modules (spec §3.3, §3.4).

export type LogLevel = 'none' | 'error' | 'info' | 'verbose' | 'debug' | 'excessive';
export type LogTarget = 'stderr' | 'syslog';
export type LogFormat = 'text' | 'json';

/** Ordered as spamdyke orders them: a line is written when its level is at or below the configured one. */
export const LEVEL_RANK: Readonly<Record<LogLevel, number>> = {
  none: 0,
  error: 1,
  info: 2,
  verbose: 3,
  debug: 4,
  excessive: 5,
};

/** One per-recipient traffic line (spec §3.3). Empty strings are printed as spamdyke prints them. */
export interface TrafficRecord {
  /** ALLOWED, TIMEOUT, TLS_ENCRYPTED, DENIED_* ... */
  code: string;
  /** envelope sender as logged; '' -> (unknown) */
  sender: string;
  /** recipient as logged; '' -> (unknown) */
  recipient: string;
  ip: string;
  /** '' -> (unknown) */
  rdns: string;
  /** SMTP AUTH user; '' -> (unknown) */
  auth: string;
  /** '' -> (none) */
  encryption: '' | 'TLS' | 'SSL' | 'TLS_PASSTHROUGH';
  /** spaces become '_', '' -> (empty) */
  reason: string;
  // extras for the JSON format only (the text line ignores them):
  filter?: string;
  replyCode?: number;
  logOnly?: boolean;
}

export type FilterFields = readonly (readonly [string, string])[];

export type EventValue = string | number | boolean | null;

export interface LoggerOptions {
  level: LogLevel;
  targets: readonly LogTarget[];
  format: LogFormat;
  /** defaults to process.pid */
  pid?: number;
}

export type TranscriptDirection =
  | 'FROM REMOTE TO CHILD'
  | 'FROM CHILD TO REMOTE'
  | 'FROM CHILD, FILTERED'
  | 'FROM LEVEE TO REMOTE'
  | 'FROM LEVEE TO CHILD';

/** Connection state shown in transcript headers (` TLS`, ` TLS_PASSTHROUGH`, ` AUTH:<user>`). */
export interface TranscriptFlags {
  tls?: boolean;
  passthrough?: boolean;
  authUser?: string;
}
