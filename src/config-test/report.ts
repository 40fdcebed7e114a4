// The result lines of --config-test (spec §6) and their two renderings: spamdyke's text lines
// (`SUCCESS(opt): ...`, printed as the checks run, on stderr without the `levee[pid]:` prefix) and
// one JSON document (`--log-format json`) for scripts. Pure apart from the sink it is given.

export type Verdict = 'SUCCESS' | 'WARNING' | 'ERROR' | 'INFO';

export interface CheckLine {
  verdict: Verdict;
  /** the option the line is about, shown as `SUCCESS(option):` */
  option?: string;
  message: string;
  /** shown only with log-level verbose or higher (spamdyke prints these at verbose) */
  verbose?: boolean;
}

/** `WARNING(graylist-dir): ...` */
export function formatCheckLine(l: CheckLine): string {
  return `${l.verdict}${l.option ? `(${l.option})` : ''}: ${oneLine(l.message)}`;
}

/** Values from files, DNS answers and child output never get to break a line. */
export function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]+/g, ' ');
}

export const FINAL_SUCCESS = 'SUCCESS: Tests complete. No errors detected.';
export const FINAL_ERROR = 'ERROR: Tests complete. Errors detected.';

export class Report {
  readonly lines: CheckLine[] = [];

  /** `sink` receives every line as it is added (text mode prints as the tests run). */
  constructor(private readonly sink: (line: CheckLine) => void = () => {}) {}

  add(line: CheckLine): void {
    this.lines.push(line);
    this.sink(line);
  }
  success(message: string, option?: string, verbose = false): void {
    this.add({ verdict: 'SUCCESS', option, message, verbose });
  }
  warning(message: string, option?: string, verbose = false): void {
    this.add({ verdict: 'WARNING', option, message, verbose });
  }
  error(message: string, option?: string): void {
    this.add({ verdict: 'ERROR', option, message });
  }
  info(message: string, option?: string, verbose = false): void {
    this.add({ verdict: 'INFO', option, message, verbose });
  }

  get errorCount(): number {
    return this.lines.filter((l) => l.verdict === 'ERROR').length;
  }
  get warningCount(): number {
    return this.lines.filter((l) => l.verdict === 'WARNING').length;
  }

  finalLine(): string {
    return this.errorCount > 0 ? FINAL_ERROR : FINAL_SUCCESS;
  }

  /** The whole run as one JSON document (one line); verbose-only lines only when asked for. */
  toJson(version: string, includeVerbose = true): string {
    return JSON.stringify({
      version,
      ok: this.errorCount === 0,
      errors: this.errorCount,
      warnings: this.warningCount,
      results: this.lines
        .filter((l) => includeVerbose || !l.verbose)
        .map((l) => ({
          verdict: l.verdict,
          option: l.option ?? null,
          message: oneLine(l.message),
        })),
    });
  }
}
