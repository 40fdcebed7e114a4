// SMTP command recognition as spamdyke does it (spec §2.5): a case-insensitive prefix compare on the
// line with CR/LF stripped. So `DATAX` counts as DATA and `MAIL  FROM` (two spaces) is unknown and
// simply forwarded.

export type Command =
  'helo' | 'ehlo' | 'auth' | 'starttls' | 'mail' | 'rcpt' | 'data' | 'quit' | 'rset' | 'other';

const PREFIXES: readonly (readonly [string, Command])[] = [
  ['HELO', 'helo'],
  ['EHLO', 'ehlo'],
  ['AUTH', 'auth'],
  ['STARTTLS', 'starttls'],
  ['MAIL FROM', 'mail'],
  ['RCPT TO', 'rcpt'],
  ['DATA', 'data'],
  ['QUIT', 'quit'],
  ['RSET', 'rset'],
];

export function recognise(line: string): Command {
  for (const [p, c] of PREFIXES) {
    if (line.length >= p.length && line.slice(0, p.length).toUpperCase() === p) return c;
  }
  return 'other';
}

/** The command's argument text: everything after the prefix (MAIL FROM / RCPT TO keep the colon). */
export function argumentOf(line: string, c: Command): string {
  const len = c === 'mail' ? 9 : c === 'rcpt' ? 7 : c === 'starttls' ? 8 : 4;
  return line.slice(len);
}

/** Strips one trailing CR (the LF is already gone). */
export function stripCr(line: Buffer): Buffer {
  return line.length && line[line.length - 1] === 13 ? line.subarray(0, line.length - 1) : line;
}

/**
 * Observed AUTH (smtp-auth-level=observe): the user name, when the client's text carries one.
 * PLAIN: base64 `authzid\0authcid\0password`; LOGIN: the first response is the user name;
 * CRAM-MD5: base64 `user digest`.
 */
export function authUserFrom(mechanism: string, response: string): string {
  let text: string;
  try {
    text = Buffer.from(response.trim(), 'base64').toString('latin1');
  } catch {
    return '';
  }
  let user = '';
  switch (mechanism) {
    case 'PLAIN': {
      const parts = text.split('\0');
      user = parts.length >= 3 ? parts[1] : '';
      break;
    }
    case 'LOGIN':
      user = text;
      break;
    case 'CRAM-MD5':
      user = text.slice(0, Math.max(0, text.lastIndexOf(' ')));
      break;
  }
  // a user name comes from the network: keep it printable and short before it reaches a log line
  return user.replace(/[^\x21-\x7e]/g, '').slice(0, 255);
}
