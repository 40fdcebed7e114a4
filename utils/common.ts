// What every levee utility shares: the banner, the I/O seam that tests replace, and the runner the
// bin/ wrappers call. The utilities are separate bundles (dist/utils/*.cjs), never loaded by levee.
import { readFileSync } from 'node:fs';
import { version } from '../package.json';

export interface UtilIO {
  /** standard output; a Buffer is written as it is (log lines keep their bytes) */
  out(text: string | Buffer): void;
  err(text: string): void;
  /** all of standard input (read only by the utilities that take input there) */
  readStdin(): Promise<Buffer>;
}

export type UtilMain = (argv: readonly string[], io: UtilIO) => number | Promise<number>;

/** Exit status for bad usage or bad input. */
export const EXIT_USAGE = 2;

export function banner(name: string): string {
  return `${name} (levee-utils ${version}), part of levee, a spamdyke 5.0.1 compatible SMTP filter\n`;
}

export function processIO(): UtilIO {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    readStdin: async () => {
      try {
        return readFileSync(0);
      } catch {
        return Buffer.alloc(0);
      }
    },
  };
}

/** Runs a utility with the real process streams and sets the exit status. */
export function runCli(main: UtilMain): void {
  process.stdout.on('error', () => {});
  Promise.resolve()
    .then(() => main(process.argv.slice(2), processIO()))
    .then(
      (code) => {
        process.exitCode = code;
      },
      (e: unknown) => {
        process.stderr.write(`ERROR: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 111;
      },
    );
}
