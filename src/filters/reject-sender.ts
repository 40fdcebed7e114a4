// The reject-sender group at MAIL FROM (spec §2.4 MAIL FROM step 6, §5.3 last paragraph), in
// spamdyke's order: not-local, authentication-mismatch, authentication-domain-mismatch, no-mx.
// Skipped for an empty sender domain (the null sender, `user` without a domain). not-local and no-mx
// apply to unauthenticated sessions only, the two authentication checks to authenticated ones only,
// so the group is three filters whose conditions never overlap.
import { isPermanentFailure } from '../dns';
import { makeRejection } from '../session/rejections';
import { CONTINUE, reject, type Filter, type FilterInput, type Verdict } from './types';
import { hasRcpthostsSource, isLocalDomain, splitAddress } from './relay';

/**
 * Is the sender's domain hosted here? Without any rcpthosts source every sender counts as local
 * (so not-local and no-mx never fire: spamdyke 5.0.1).
 */
function senderIsLocal(input: FilterInput, domain: string): boolean {
  if (!hasRcpthostsSource(input.o)) return true;
  return isLocalDomain(input.o, domain, input.log);
}

function senderParts(input: FilterInput): { user: string; domain: string } {
  return splitAddress(input.sender ?? '');
}

/** Blacklist kind: skipped once anything decided the connection, including authentication. */
export const senderNotLocal: Filter = {
  name: 'sender-not-local',
  stage: 'mail',
  kind: 'blacklist',
  enabled: (o) => o['reject-sender'].includes('not-local'),
  run(input) {
    const { domain } = senderParts(input);
    if (domain === '' || input.authUser !== '' || senderIsLocal(input, domain)) return CONTINUE;
    input.log.filter('FILTER_SENDER_NOT_LOCAL', [['domain', domain]]);
    return reject(makeRejection('senderNotLocal', input.o, '', 'sender-not-local'));
  },
};

/**
 * The authentication checks. Kind 'whitelist' is deliberate: in the pipeline that kind runs while
 * the session is not whitelisted, which is exactly spamdyke's condition here (an authenticated
 * session has already left the range where blacklist-kind filters run); a rejection it returns
 * decides the connection like any other. It acts only when the session is authenticated.
 */
export const senderAuthenticationMismatch: Filter = {
  name: 'sender-authentication-mismatch',
  stage: 'mail',
  kind: 'whitelist',
  enabled: (o) =>
    o['reject-sender'].includes('authentication-mismatch') ||
    o['reject-sender'].includes('authentication-domain-mismatch'),
  run(input) {
    const { user, domain } = senderParts(input);
    const login = input.authUser;
    if (domain === '' || login === '') return CONTINUE;
    return authMismatch(input, input.sender ?? '', user, domain, login);
  },
};

/** §5.3: the login must equal the sender (or its local part when the login has no `@`); its domain must equal the sender's. */
export function authMismatch(
  input: FilterInput,
  sender: string,
  senderUser: string,
  senderDomain: string,
  login: string,
): Verdict {
  const at = login.indexOf('@');
  const loginDomain = at < 0 ? undefined : login.slice(at + 1);
  const rejectSender = input.o['reject-sender'];
  if (rejectSender.includes('authentication-mismatch')) {
    const expected = loginDomain === undefined ? senderUser : sender;
    if (login.toLowerCase() !== expected.toLowerCase()) {
      input.log.filter('FILTER_SENDER_NOT_AUTH', [
        ['sender', sender],
        ['username', login],
      ]);
      return reject(makeRejection('senderNotAuth', input.o, '', 'sender-authentication-mismatch'));
    }
  }
  if (
    rejectSender.includes('authentication-domain-mismatch') &&
    loginDomain !== undefined &&
    loginDomain.toLowerCase() !== senderDomain.toLowerCase()
  ) {
    input.log.filter('FILTER_SENDER_NOT_AUTH_DOMAIN', [
      ['domain', senderDomain],
      ['username', login],
    ]);
    return reject(makeRejection('senderNotAuth', input.o, '', 'sender-authentication-mismatch'));
  }
  return CONTINUE;
}

/** no-mx: only for senders whose domain is not hosted here, only without authentication. */
export const senderNoMx: Filter = {
  name: 'sender-no-mx',
  stage: 'mail',
  kind: 'blacklist',
  enabled: (o) => o['reject-sender'].includes('no-mx'),
  prefetch(input) {
    const domain = noMxSubject(input);
    if (domain !== null) void mxOf(input, domain);
  },
  async run(input) {
    const domain = noMxSubject(input);
    if (domain === null) return CONTINUE;
    const mx = await mxOf(input, domain);
    if (mx.ok && mx.value) return CONTINUE;
    if (!mx.ok && !isPermanentFailure(mx.failure)) {
      // as reject-unresolvable-rdns does: a lookup that failed for now proves nothing
      input.log.verbose(
        `reject-sender no-mx: not applied to ${domain}: the MX lookup failed temporarily (${mx.failure})`,
      );
      return CONTINUE;
    }
    input.log.filter('FILTER_SENDER_NO_MX', [['domain', domain]]);
    return reject(makeRejection('senderNoMx', input.o, '', 'sender-no-mx'));
  },
};

/** The domain to check, or null when no-mx does not apply to this sender. */
function noMxSubject(input: FilterInput): string | null {
  const { domain } = senderParts(input);
  if (domain === '' || input.authUser !== '' || senderIsLocal(input, domain)) return null;
  return domain;
}

function mxOf(input: FilterInput, domain: string) {
  return input.memo(`mx:${domain}`, () => input.dns().mxCheck(domain));
}
