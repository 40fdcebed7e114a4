// The AUTH dialogue levee holds with the client when it processes AUTH itself: prompts, answers,
// credentials for the checkpassword program. The I/O is behind AuthDialog, so every path of the
// dialogue is unit-tested without a session.
import {
  LOGIN_PASSWORD_PROMPT,
  LOGIN_USER_PROMPT,
  decodeBase64,
  parseCramResponse,
  parsePlain,
  type Mechanism,
} from './mechanisms';
import type { Credentials } from './checkpassword';

export interface AuthDialog {
  /** sends `334 <text>` and resolves with the client's answer line (CRLF stripped), or null at EOF */
  prompt(text: string): Promise<string | null>;
  /** the CRAM-MD5 challenge (`<random.unixtime@hostname>`), made only when CRAM-MD5 is used */
  challenge(): Promise<string>;
}

export type ExchangeResult =
  | { kind: 'credentials'; credentials: Credentials }
  /** the mechanism is not offered: 504 */
  | { kind: 'unknown' }
  /** malformed or cancelled answer: 535 */
  | { kind: 'failed' }
  /** the client went away */
  | { kind: 'eof' };

const FAILED: ExchangeResult = { kind: 'failed' };
const EMPTY = Buffer.alloc(0);

/** Runs the dialogue for `mechanism` (upper-case) with an optional initial response. */
export async function runExchange(
  mechanism: string,
  initial: string | undefined,
  offered: readonly Mechanism[],
  dialog: AuthDialog,
): Promise<ExchangeResult> {
  if (!(offered as readonly string[]).includes(mechanism)) return { kind: 'unknown' };
  const ask = async (text: string): Promise<Buffer | null | 'eof'> => {
    const answer = await dialog.prompt(text);
    return answer === null ? 'eof' : decodeBase64(answer);
  };
  switch (mechanism as Mechanism) {
    case 'PLAIN': {
      // `=` is RFC 4954's empty initial response; the client then answers after an empty prompt
      const raw = initial !== undefined && initial !== '=' ? decodeBase64(initial) : await ask('');
      if (raw === 'eof') return { kind: 'eof' };
      const plain = raw ? parsePlain(raw) : null;
      if (!plain) return FAILED;
      return { kind: 'credentials', credentials: { ...plain, timestamp: EMPTY } };
    }
    case 'LOGIN': {
      const user = initial !== undefined ? decodeBase64(initial) : await ask(LOGIN_USER_PROMPT);
      if (user === 'eof') return { kind: 'eof' };
      if (!user || user.length === 0) return FAILED;
      const password = await ask(LOGIN_PASSWORD_PROMPT);
      if (password === 'eof') return { kind: 'eof' };
      if (!password) return FAILED;
      return { kind: 'credentials', credentials: { user, password, timestamp: EMPTY } };
    }
    case 'CRAM-MD5': {
      // an initial response makes no sense for a challenge-response mechanism (RFC 4954 §4)
      if (initial !== undefined) return FAILED;
      const challenge = await dialog.challenge();
      const raw = await ask(Buffer.from(challenge, 'latin1').toString('base64'));
      if (raw === 'eof') return { kind: 'eof' };
      const cram = raw ? parseCramResponse(raw) : null;
      if (!cram) return FAILED;
      return {
        kind: 'credentials',
        credentials: { user: cram.user, password: cram.digest, timestamp: Buffer.from(challenge, 'latin1') },
      };
    }
  }
}
