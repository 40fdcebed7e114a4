// SMTP AUTH as levee does it itself (spec §5.3, RFC 4954/4616/2195): which mechanisms a level offers,
// the prompts, and decoding the client's base64 answers. Pure: no I/O, no crypto (the CRAM-MD5 digest
// is checked by the checkpassword program, which gets the challenge as its timestamp).

export type Mechanism = 'LOGIN' | 'PLAIN' | 'CRAM-MD5';
export type AuthLevel =
  'none' | 'observe' | 'ondemand' | 'ondemand-encrypted' | 'always' | 'always-encrypted';

/** `334 Username:` and `334 Password:` in base64, exactly as spamdyke sends them */
export const LOGIN_USER_PROMPT = 'VXNlcm5hbWU6';
export const LOGIN_PASSWORD_PROMPT = 'UGFzc3dvcmQ6';
/** used when no hostname source gives a name (spec §1.3) */
export const DEFAULT_HOSTNAME = 'unknown.server.unknown.domain';

/** The mechanisms levee offers at a level, in advertisement order; empty when levee does not do AUTH. */
export function mechanismsFor(level: AuthLevel): Mechanism[] {
  switch (level) {
    case 'ondemand':
    case 'always':
      return ['LOGIN', 'PLAIN'];
    case 'ondemand-encrypted':
    case 'always-encrypted':
      return ['LOGIN', 'PLAIN', 'CRAM-MD5'];
    default:
      return [];
  }
}

/** base64 as RFC 4648 writes it (padding optional); null for anything else, including `*` (cancel). */
export function decodeBase64(text: string): Buffer | null {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 === 1) return null;
  return Buffer.from(t, 'base64');
}

export interface PlainCredentials {
  user: Buffer;
  password: Buffer;
}

/** PLAIN (RFC 4616): `authzid NUL authcid NUL passwd`; the user is the authcid. */
export function parsePlain(decoded: Buffer): PlainCredentials | null {
  const first = decoded.indexOf(0);
  if (first < 0) return null;
  const second = decoded.indexOf(0, first + 1);
  if (second < 0 || decoded.indexOf(0, second + 1) >= 0) return null;
  const user = decoded.subarray(first + 1, second);
  if (user.length === 0) return null;
  return { user, password: decoded.subarray(second + 1) };
}

export interface CramResponse {
  user: Buffer;
  /** the client's HMAC-MD5 as 32 lower-case hex digits */
  digest: Buffer;
}

/** CRAM-MD5 (RFC 2195): `user SP digest`; the user may itself contain spaces, the digest never does. */
export function parseCramResponse(decoded: Buffer): CramResponse | null {
  const sp = decoded.lastIndexOf(0x20);
  if (sp <= 0) return null;
  const digest = decoded.subarray(sp + 1);
  if (!/^[0-9a-fA-F]{32}$/.test(digest.toString('latin1'))) return null;
  return { user: decoded.subarray(0, sp), digest: Buffer.from(digest.toString('latin1').toLowerCase()) };
}

/** spamdyke's challenge: `<random.unixtime@hostname>` (RFC 2195 msg-id form). */
export function cramChallenge(random: number, unixtime: number, hostname: string): string {
  return `<${random}.${unixtime}@${hostname.replace(/[^\x21-\x7e]/g, '') || DEFAULT_HOSTNAME}>`;
}

/** Splits `AUTH mech [initial-response]` into its parts (mechanism upper-cased). */
export function parseAuthCommand(argument: string): { mechanism: string; initial: string | undefined } {
  const words = argument.trim().split(/\s+/);
  return { mechanism: (words[0] ?? '').toUpperCase(), initial: words[1] };
}
