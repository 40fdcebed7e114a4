// Logging (spec §3.3, §3.4, §3.6): traffic and FILTER lines, stderr/syslog output, JSON events,
// full transcripts. Nothing heavy at require time: unix-dgram is loaded on the first syslog line.
export type {
  EventValue,
  FilterFields,
  LogFormat,
  LoggerOptions,
  LogLevel,
  LogTarget,
  TrafficRecord,
  TranscriptDirection,
  TranscriptFlags,
} from './types';
export { LEVEL_RANK } from './types';
export { formatFilterLine, formatTrafficLine } from './format';
export { escapeUnsafe, MAX_LINE_BYTES, safeLine } from './sanitize';
export { errnoText } from './errno';
export { Logger } from './logger';
export { Transcript, type TranscriptSection } from './transcript';
