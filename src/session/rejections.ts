// spamdyke's rejection table (spec §3.1) and the rules that turn a rejection into a reply line
// (§3.1 reply format, §3.2 code substitution). Texts and log keywords are interface facts: admins
// grep them, so they are copied exactly, trailing periods included.
import type { OptionValues } from '../options/table';

type TextOption = keyof OptionValues & `rejection-text-${string}`;

interface RejectionDef {
  readonly code: number;
  readonly text: string;
  readonly logCode: string;
  /** policy-url is appended */
  readonly policy: boolean;
  /** option that replaces the text */
  readonly option?: TextOption;
}

export const REJECTIONS = {
  unparseable: {
    code: 554,
    text: 'Unable to parse input. Please verify input format is correct.',
    logCode: 'DENIED_UNPARSEABLE',
    policy: false,
  },
  tooManyRecipients: {
    code: 421,
    text: 'Too many recipients. Try the remaining addresses again later.',
    logCode: 'DENIED_TOO_MANY_RECIPIENTS',
    policy: true,
    option: 'rejection-text-max-recipients',
  },
  unqualifiedRecipient: {
    code: 554,
    text: 'Improper recipient address. Try supplying a domain name.',
    logCode: 'DENIED_UNQUALIFIED_RECIPIENT',
    policy: true,
    option: 'rejection-text-local-recipient',
  },
  graylisted: {
    code: 421,
    text: 'Your address has been graylisted. Try again later.',
    logCode: 'DENIED_GRAYLISTED',
    policy: true,
    option: 'rejection-text-graylist',
  },
  rdnsMissing: {
    code: 421,
    text: 'Refused. You have no reverse DNS entry.',
    logCode: 'DENIED_RDNS_MISSING',
    policy: true,
    option: 'rejection-text-empty-rdns',
  },
  rdnsResolve: {
    code: 421,
    text: 'Refused. Your reverse DNS entry does not resolve.',
    logCode: 'DENIED_RDNS_RESOLVE',
    policy: true,
    option: 'rejection-text-unresolvable-rdns',
  },
  ipInCcRdns: {
    code: 554,
    text: 'Refused. Your reverse DNS entry contains your IP address and a country code.',
    logCode: 'DENIED_IP_IN_CC_RDNS',
    policy: true,
    option: 'rejection-text-ip-in-cc-rdns',
  },
  ipInRdns: {
    code: 554,
    text: 'Refused. Your reverse DNS entry contains your IP address and a banned keyword.',
    logCode: 'DENIED_IP_IN_RDNS',
    policy: true,
    option: 'rejection-text-ip-in-rdns-keyword-blacklist',
  },
  earlytalker: {
    code: 554,
    text: 'Refused. You are not following the SMTP protocol.',
    logCode: 'DENIED_EARLYTALKER',
    policy: true,
    option: 'rejection-text-earlytalker',
  },
  blacklistName: {
    code: 554,
    text: 'Refused. Your domain name is blacklisted.',
    logCode: 'DENIED_BLACKLIST_NAME',
    policy: true,
    option: 'rejection-text-rdns-blacklist',
  },
  blacklistIp: {
    code: 554,
    text: 'Refused. Your IP address is blacklisted.',
    logCode: 'DENIED_BLACKLIST_IP',
    policy: true,
    option: 'rejection-text-ip-blacklist',
  },
  timeout: {
    code: 421,
    text: 'Timeout. Talk faster next time.',
    logCode: 'TIMEOUT',
    policy: true,
    option: 'rejection-text-timeout',
  },
  senderBlacklisted: {
    code: 554,
    text: 'Refused. Your sender address has been blacklisted.',
    logCode: 'DENIED_SENDER_BLACKLISTED',
    policy: true,
    option: 'rejection-text-sender-blacklist',
  },
  recipientBlacklisted: {
    code: 554,
    text: 'Refused. Mail is not being accepted at this address.',
    logCode: 'DENIED_RECIPIENT_BLACKLISTED',
    policy: true,
    option: 'rejection-text-recipient-blacklist',
  },
  senderNoMx: {
    code: 421,
    text: 'Refused. The domain of your sender address has no mail exchanger (MX).',
    logCode: 'DENIED_SENDER_NO_MX',
    policy: true,
    option: 'rejection-text-sender-no-mx',
  },
  rblMatch: {
    code: 554,
    text: 'Refused. Your IP address is listed in the RBL at ',
    logCode: 'DENIED_RBL_MATCH',
    policy: true,
    option: 'rejection-text-dns-blacklist',
  },
  rhsblMatch: {
    code: 554,
    text: 'Refused. Your domain name is listed in the RHSBL at ',
    logCode: 'DENIED_RHSBL_MATCH',
    policy: true,
    option: 'rejection-text-rhs-blacklist',
  },
  authFailure: {
    code: 535,
    text: 'Refused. Authentication failed.',
    logCode: 'FAILED_AUTH',
    policy: false,
    option: 'rejection-text-auth-failure',
  },
  authUnknown: {
    code: 504,
    text: 'Refused. Unknown authentication method.',
    logCode: 'UNKNOWN_AUTH',
    policy: false,
    option: 'rejection-text-auth-unknown',
  },
  relaying: {
    code: 554,
    text: 'Refused. Sending to remote addresses (relaying) is not allowed.',
    logCode: 'DENIED_RELAYING',
    policy: true,
    option: 'rejection-text-relaying-denied',
  },
  other: { code: 421, text: '', logCode: 'DENIED_OTHER', policy: true },
  zeroRecipients: {
    code: 554,
    text: 'Refused. You must specify at least one valid recipient.',
    logCode: 'DENIED_ZERO_RECIPIENTS',
    policy: false,
    option: 'rejection-text-zero-recipients',
  },
  authRequired: {
    code: 554,
    text: 'Refused. Authentication is required to send mail.',
    logCode: 'DENIED_AUTH_REQUIRED',
    policy: true,
    option: 'rejection-text-smtp-auth-required',
  },
  rejectAll: {
    code: 554,
    text: 'Refused. Mail is not being accepted.',
    logCode: 'DENIED_REJECT_ALL',
    policy: true,
    option: 'rejection-text-reject-all',
  },
  identicalSenderRecipient: {
    code: 554,
    text: 'Refused. Identical sender and recipient addresses are not allowed.',
    logCode: 'DENIED_IDENTICAL_SENDER_RECIPIENT',
    policy: true,
    option: 'rejection-text-recipient-same-as-sender',
  },
  headerBlacklisted: {
    code: 554,
    text: 'Refused. Your message has been blocked due to its content.',
    logCode: 'DENIED_HEADER_BLACKLISTED',
    policy: true,
    option: 'rejection-text-header-blacklist',
  },
  invalidRecipient: {
    code: 554,
    text: 'Refused. The recipient address does not exist.',
    logCode: 'DENIED_INVALID_RECIPIENT',
    policy: true,
    option: 'rejection-text-recipient-invalid',
  },
  unavailableRecipient: {
    code: 554,
    text: 'Refused. The recipient is not accepting mail right now.',
    logCode: 'DENIED_UNAVAILABLE_RECIPIENT',
    policy: true,
    option: 'rejection-text-recipient-unavailable',
  },
  senderNotLocal: {
    code: 554,
    text: 'Refused. Mail for your sender domain is not hosted here.',
    logCode: 'DENIED_SENDER_NOT_LOCAL',
    policy: true,
    option: 'rejection-text-sender-not-local',
  },
  senderNotAuth: {
    code: 554,
    text: 'Refused. Your sender address does not match your authentication username.',
    logCode: 'DENIED_SENDER_NOT_AUTH',
    policy: true,
    option: 'rejection-text-sender-authentication-mismatch',
  },
  tlsFailure: {
    code: 454,
    text: 'Failed to negotiate TLS connection.',
    logCode: 'FAILED_TLS',
    policy: false,
    option: 'rejection-text-tls-failure',
  },
  // levee extension (--bare-lf reject): a message whose lines did not all end in CRLF, or whose
  // end-of-data looked like an SMTP smuggling attempt. Not configurable: there is no spamdyke text.
  bareLf: {
    code: 554,
    text: 'Refused. Message lines must end with CRLF.',
    logCode: 'DENIED_BARE_LF',
    policy: true,
  },
} as const satisfies Record<string, RejectionDef>;

export type RejectionKey = keyof typeof REJECTIONS;

/** A decided rejection: what is sent (code + text) and what is logged (keyword + reason). */
export interface Rejection {
  readonly key: RejectionKey;
  readonly code: number;
  /** the reply text without the code, policy URL included */
  readonly text: string;
  readonly logCode: string;
  /** the traffic line's reason field (entry, file:line, zone...) before space → `_` */
  readonly reason: string;
  /** the filter that decided (log-only name space; '' for protocol rejections) */
  readonly filter: string;
}

/** The longest reply line spamdyke sends is 1023 bytes including the CRLF. */
const MAX_REPLY = 1021;

/**
 * Builds a rejection from the table: the text is the configured override or the default, then
 * `suffix` (RBL/RHSBL zone detail) and the policy URL (§3.1 reply format).
 */
export function makeRejection(
  key: RejectionKey,
  o: OptionValues,
  reason: string,
  filter: string,
  opts: { suffix?: string; text?: string } = {},
): Rejection {
  const def: RejectionDef = REJECTIONS[key];
  const custom = def.option ? o[def.option] : undefined;
  let text = (opts.text ?? (custom !== undefined && custom !== '' ? custom : def.text)) + (opts.suffix ?? '');
  const url = o['policy-url'];
  if (def.policy && url)
    text += url.endsWith('=') ? ` See: ${url}${def.logCode}` : ` See: ${url}#${def.logCode}`;
  return { key, code: def.code, text: clampReplyText(text), logCode: def.logCode, reason, filter };
}

/** Keeps a reply single-line and within spamdyke's 1023-byte limit. */
export function clampReplyText(text: string): string {
  let t = text.replace(/[\r\n\0]/g, ' ');
  if (t.length > MAX_REPLY - 4) t = t.slice(0, MAX_REPLY - 4);
  return t;
}

/** One reply line, `<code> <text>\r\n`. */
export function replyLine(code: number, text: string): Buffer {
  return Buffer.from(`${code} ${text}\r\n`, 'latin1');
}

/** The moments at which a rejection can be delivered (§3.2). */
export type Moment = 'greeting' | 'helo' | 'mail' | 'rcpt' | 'data' | 'starttls' | 'dot' | 'other' | 'quit';

/** §3.2: the code actually sent depends on the command the rejection answers. */
export function substitutedCode(r: Rejection, at: Moment): number {
  switch (at) {
    case 'greeting':
      return 220;
    case 'helo':
    case 'mail':
      return 250;
    case 'quit':
      return 221;
    case 'other':
      return 554;
    default:
      return r.code;
  }
}
