// Step 6 of --config-test (spec §6): start the qmail command as a connection would, say EHLO, and see
// whether it offers STARTTLS and AUTH; then judge that against levee's tls-* and smtp-auth-*
// settings. The dialogue is bounded in time and size; the child's text is never printed.
import { spawn } from 'node:child_process';
import type { OptionValues } from '../options/table';
import type { Report } from './report';

export interface ChildCapabilities {
  /** the child produced any output at all */
  answered: boolean;
  /** a 220 greeting arrived */
  greeted: boolean;
  tls: boolean;
  auth: boolean;
  /** why the dialogue ended early, if it did */
  problem?: string;
}

const PROBE_TIMEOUT_MS = 10_000;
const MAX_OUTPUT = 64 * 1024;

/** The EHLO keywords the capability check cares about, from the reply lines (pure). */
export function capabilitiesFromEhlo(lines: readonly string[]): { tls: boolean; auth: boolean } {
  let tls = false;
  let auth = false;
  for (const line of lines) {
    if (!/^250[- ]/.test(line)) continue;
    const keyword = line.slice(4).trim().toUpperCase();
    if (keyword === 'STARTTLS') tls = true;
    if (keyword.startsWith('AUTH ') || keyword.startsWith('AUTH=')) auth = true;
  }
  return { tls, auth };
}

/** Runs `argv` with `env`, expects `220 `, sends EHLO, reads to the final `250 `, sends QUIT. */
export function probeChild(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<ChildCapabilities> {
  return new Promise((resolve) => {
    const result: ChildCapabilities = { answered: false, greeted: false, tls: false, auth: false };
    let buffered = '';
    let ehloLines: string[] = [];
    let phase: 'greeting' | 'ehlo' | 'done' = 'greeting';
    let settled = false;
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'ignore'], env });
    const finish = (problem?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (problem) result.problem = problem;
      Object.assign(result, capabilitiesFromEhlo(ehloLines));
      try {
        child.stdin.end();
      } catch {
        // already closed
      }
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
      resolve(result);
    };
    const timer = setTimeout(() => finish('no complete reply within 10 seconds'), PROBE_TIMEOUT_MS);
    child.on('error', (e) => finish(e.message));
    child.stdin.on('error', () => {});
    child.on('exit', () => setTimeout(() => finish(phase === 'done' ? undefined : 'the command exited'), 50));
    child.stdout.on('data', (chunk: Buffer) => {
      result.answered = true;
      buffered += chunk.toString('latin1');
      if (buffered.length > MAX_OUTPUT) return finish('too much output');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl).replace(/\r$/, '');
        buffered = buffered.slice(nl + 1);
        if (phase === 'greeting') {
          if (line.startsWith('220 ')) {
            result.greeted = true;
            phase = 'ehlo';
            child.stdin.write('EHLO localhost\r\n');
          } else if (!line.startsWith('220-')) return finish(`unexpected greeting: ${line.slice(0, 80)}`);
        } else if (phase === 'ehlo') {
          ehloLines.push(line);
          if (line.startsWith('250 ')) {
            phase = 'done';
            child.stdin.write('QUIT\r\n');
            return finish();
          }
          if (!line.startsWith('250-')) {
            ehloLines = [];
            return finish(`EHLO was refused: ${line.slice(0, 80)}`);
          }
        }
      }
    });
  });
}

const AUTH_OFFERING_LEVELS = ['ondemand', 'ondemand-encrypted', 'always', 'always-encrypted'];

/** The verdict lines for the capabilities found (pure; spec §6 step 6, errata 6). */
export function judgeCapabilities(
  report: Report,
  o: OptionValues,
  command: string,
  c: ChildCapabilities,
): void {
  if (!c.answered) {
    report.error(`Command returned no output: ${command}${c.problem ? ` (${c.problem})` : ''}`);
    return;
  }
  if (!c.greeted || c.problem) {
    report.error(`${command} did not complete an SMTP greeting and EHLO: ${c.problem ?? 'no 220 greeting'}`);
    return;
  }
  const certificate = o['tls-level'] !== 'none' && o['tls-certificate-file'] !== undefined;
  if (o['tls-level'] === 'none') {
    report.success(
      c.tls
        ? `${command} appears to offer TLS support but tls-level is none: levee removes STARTTLS from its EHLO reply.`
        : `${command} does not appear to offer TLS support and tls-level is none: no TLS will be offered.`,
    );
  } else if (c.tls && certificate) {
    report.success(
      `${command} appears to offer TLS support. levee will answer STARTTLS itself with its certificate and filter the decrypted session.`,
    );
  } else if (c.tls) {
    report.warning(
      `${command} appears to offer TLS support but levee has no certificate: encrypted sessions are passed through and levee cannot filter them after STARTTLS. Please use the "tls-level" and "tls-certificate-file" options so levee can decrypt the traffic.`,
    );
  } else if (certificate) {
    report.success(
      `${command} does not appear to offer TLS support. levee will offer TLS using its certificate.`,
    );
  } else {
    report.warning(
      `${command} does not appear to offer TLS support. Please use (or change) the "tls-level" and "tls-certificate-file" options so levee can offer TLS.`,
    );
  }

  const level = o['smtp-auth-level'];
  const commands = o['smtp-auth-command'];
  if (AUTH_OFFERING_LEVELS.includes(level)) {
    if (commands.length === 0) {
      report.error(
        `smtp-auth-level is ${level} but no "smtp-auth-command" is given: levee cannot check passwords.`,
      );
    } else {
      report.success(
        `${command} ${c.auth ? 'appears' : 'does not appear'} to offer SMTP AUTH support. levee will offer SMTP AUTH itself and check passwords with smtp-auth-command.`,
      );
    }
  } else if (level === 'none') {
    report.success(
      c.auth
        ? `${command} appears to offer SMTP AUTH support. smtp-auth-level none hides it from clients (an AUTH command is still passed on).`
        : `${command} does not appear to offer SMTP AUTH support and smtp-auth-level is none.`,
    );
  } else {
    report.success(
      c.auth
        ? `${command} appears to offer SMTP AUTH support. levee will observe any authentication and trust its results.`
        : `${command} does not appear to offer SMTP AUTH support. levee will observe any authentication and trust its results.`,
    );
  }
  if (commands.length > 0 && !AUTH_OFFERING_LEVELS.includes(level)) {
    report.warning(
      `smtp-auth-command is given but smtp-auth-level is ${level}, so the command is never used; set smtp-auth-level to ondemand or always to use it.`,
      'smtp-auth-level',
    );
  }
}
