// Runs swaks (the SMTP test client) without a shell. Exit codes worth knowing (shared/docs/test-harness.md
// §5): 0 ok, 2 connect failed, 6 connection closed unexpectedly, 21 banner, 22 HELO, 23 MAIL, 24 no RCPT
// accepted, 25 DATA refused, 26 message refused after DATA, 28 AUTH failed, 29 TLS failed.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { childEnv } from './tools';

export interface SwaksResult {
  /** exit status (null if killed by a signal) */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SwaksOptions {
  /** kill swaks and reject after this long; default 15000 ms */
  timeoutMs?: number;
  env?: Record<string, string>;
  /** fed to swaks' stdin (e.g. for `--data -`); otherwise stdin is empty */
  input?: string | Buffer;
}

export function runSwaks(args: string[], opts: SwaksOptions = {}): Promise<SwaksResult> {
  const timeoutMs = opts.timeoutMs ?? 15000;
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn('swaks', args, { env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.on('error', () => {
      // swaks may exit without reading its stdin
    });
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectRun(
        new Error(
          `swaks ${args.join(' ')} timed out after ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      rejectRun(new Error(`cannot run swaks: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

/**
 * swaks arguments that put exactly `wire` on the connection after the 354 reply. `wire` must be the
 * complete data section: dot-stuffed and ending with "\r\n.\r\n" (see dataSection in smtp-client).
 * swaks with --no-data-fixup sends the file verbatim plus one CRLF, so the file omits that CRLF.
 */
export function exactDataArgs(file: string, wire: Buffer): string[] {
  const terminator = Buffer.from('\r\n.\r\n');
  const isBare = wire.equals(Buffer.from('.\r\n'));
  if (!isBare && !wire.subarray(-terminator.length).equals(terminator)) {
    throw new Error('exactDataArgs: the data section must end with CRLF.CRLF');
  }
  writeFileSync(file, wire.subarray(0, wire.length - 2));
  return ['--data', `@${file}`, '--no-data-fixup'];
}
