// Per-recipient checks at RCPT TO (spec §2.4 RCPT step 3): max-recipients, same-as-sender, the
// recipient blacklist, and the recipient-validation-command run for local recipients (§3.1 rows 1,
// 13, 24, 26, 27). Their rejections concern one recipient; the pipeline applies the precedence quirk
// (same-as-sender may replace an earlier rejection, the blacklist may not).
import { makeRejection, type RejectionKey } from '../session/rejections';
import { CONTINUE, reject, type Filter, type FilterInput, type Verdict } from './types';
import { hitDetail } from './common';
import { searchAddress } from './sender-lists';

/** max-recipients: counts the recipients the child accepted in this transaction (errata 2, quirk 10). */
export const maxRecipients: Filter = {
  name: 'max-recipients',
  stage: 'rcpt',
  kind: 'recipient',
  enabled: (o) => o['max-recipients'] > 0,
  run(input) {
    const max = input.o['max-recipients'];
    if ((input.acceptedRecipients ?? 0) < max) return CONTINUE;
    input.log.filter('FILTER_TOO_MANY_RECIPIENTS', [['maximum', String(max)]]);
    return reject(makeRejection('tooManyRecipients', input.o, '', 'max-recipients'));
  },
};

/** reject-recipient=same-as-sender: exact compare of the lower-cased addresses; the null sender never matches. */
export const recipientSameAsSender: Filter = {
  name: 'recipient-same-as-sender',
  stage: 'rcpt',
  kind: 'recipient',
  overrides: true,
  enabled: (o) => o['reject-recipient'].includes('same-as-sender'),
  run(input) {
    const sender = input.sender ?? '';
    const recipient = input.recipient ?? '';
    if (sender === '' || recipient === '' || sender !== recipient) return CONTINUE;
    input.log.filter('FILTER_IDENTICAL_SENDER_RECIPIENT', [
      ['sender', sender],
      ['recipient', recipient],
    ]);
    return reject(makeRejection('identicalSenderRecipient', input.o, '', 'recipient-same-as-sender'));
  },
};

export const recipientBlacklist: Filter = {
  name: 'recipient-blacklist',
  stage: 'rcpt',
  kind: 'recipient',
  enabled: (o) => o['recipient-blacklist-entry'].length > 0 || o['recipient-blacklist-file'].length > 0,
  run(input) {
    const rcpt = input.recipient ?? '';
    const hit = searchAddress(
      input,
      rcpt,
      input.o['recipient-blacklist-entry'],
      input.o['recipient-blacklist-file'],
    );
    if (!hit) return CONTINUE;
    const d = hitDetail(hit);
    input.log.filter('FILTER_RECIPIENT_BLACKLIST', [['recipient', rcpt], d.field]);
    return reject(makeRejection('recipientBlacklisted', input.o, d.reason, 'recipient-blacklist'));
  },
};

// ------------------------------------------------------------------ recipient-validation-command

/** spamdyke-qrv's exit codes. */
export type Validity = 'undecided' | 'valid' | 'invalid' | 'unavailable';

/** How long one validation command may run before it is killed and counts as undecided. */
export const VALIDATION_TIMEOUT_MS = 30_000;

/** What one run of a validation command came to: its exit code, or why there is none. */
export type CommandOutcome = { code: number } | { failed: string };

/**
 * Runs `argv` without a shell, its stdin closed and its output discarded (stderr goes to levee's,
 * like the child's). After `timeoutMs` its whole process group is killed.
 */
export function runValidationCommand(
  argv: readonly string[],
  timeoutMs = VALIDATION_TIMEOUT_MS,
): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: CommandOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(o);
    };
    // detached: the command and anything it starts form one process group, killed together
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { spawn } = require('node:child_process') as typeof import('node:child_process');
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      done({ failed: `no answer within ${Math.round(timeoutMs / 1000)} seconds; killed` });
    }, timeoutMs);
    child.on('error', (e) => done({ failed: e.message }));
    child.on('exit', (code, signal) =>
      done(code === null ? { failed: `killed by signal ${signal ?? 'unknown'}` } : { code }),
    );
  });
}

/** `,` in the option already became a space (option parser); the command is split at spaces. */
function commandWords(command: string): string[] {
  return command.split(' ').filter((w) => w !== '');
}

/**
 * The last step of recipient validity: for a local recipient, ask each recipient-validation-command
 * (`CMD domain username`) until one decides; exit 1 valid, 2 invalid, 3 unavailable, 0 undecided.
 * A refusal only counts when `reject-recipient` names it.
 */
export async function validateRecipient(
  input: FilterInput,
  domain: string,
  user: string,
  timeoutMs = VALIDATION_TIMEOUT_MS,
): Promise<Verdict> {
  const o = input.o;
  const wantInvalid = o['reject-recipient'].includes('invalid');
  const wantUnavailable = o['reject-recipient'].includes('unavailable');
  if ((!wantInvalid && !wantUnavailable) || !o['recipient-validation-command'].length) return CONTINUE;
  const address = domain ? `${user}@${domain}` : user;
  for (const command of o['recipient-validation-command']) {
    const words = commandWords(command);
    if (!words.length) continue;
    const outcome = await runValidationCommand([...words, domain, user], timeoutMs);
    if ('failed' in outcome) {
      input.log.error(`unable to run validation command ${words[0]}: ${outcome.failed}`);
      continue;
    }
    const v = validityOf(outcome.code);
    if (v === null) {
      input.log.verbose(`unknown exit code from validation command, code ${outcome.code}: ${command}`);
      continue;
    }
    if (v === 'undecided') continue;
    if (v === 'invalid' && wantInvalid)
      return refuse(input, 'FILTER_INVALID_RECIPIENT', 'invalidRecipient', address);
    if (v === 'unavailable' && wantUnavailable)
      return refuse(input, 'FILTER_UNAVAILABLE_RECIPIENT', 'unavailableRecipient', address);
    return CONTINUE;
  }
  return CONTINUE;
}

function validityOf(code: number): Validity | null {
  return code === 0
    ? 'undecided'
    : code === 1
      ? 'valid'
      : code === 2
        ? 'invalid'
        : code === 3
          ? 'unavailable'
          : null;
}

function refuse(input: FilterInput, keyword: string, key: RejectionKey, address: string): Verdict {
  input.log.filter(keyword, [['recipient', address]]);
  return reject(makeRejection(key, input.o, '', 'relay'));
}
