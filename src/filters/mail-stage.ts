// MAIL FROM filters in spamdyke's order (spec §2.4 MAIL FROM steps 2–6). filter-level (step 1) is
// run by the session. Whitelists may sit anywhere (they beat any blacklist not yet delivered), but
// among blacklists the first hit wins, so the order decides which rejection a sender sees.
import type { Filter } from './types';
import { CONTINUE } from './types';
import { senderWhitelist, senderBlacklist } from './sender-lists';
import { rhsWhitelistSender, rhsBlacklistSender } from './dnsbl';
import { senderNotLocal, senderAuthenticationMismatch, senderNoMx } from './reject-sender';

/** `<@example.com>`: spamdyke runs no MAIL FROM filter for a sender without a local part. */
export function senderHasNoLocalPart(sender: string | undefined): boolean {
  return (sender ?? '').startsWith('@');
}

/** The filter, skipped (no prefetch, no run) for a sender without a local part. */
function needsLocalPart(f: Filter): Filter {
  return {
    ...f,
    prefetch:
      f.prefetch && ((input) => (senderHasNoLocalPart(input.sender) ? undefined : f.prefetch?.(input))),
    run: (input) => (senderHasNoLocalPart(input.sender) ? CONTINUE : f.run(input)),
  };
}

export const MAIL_FILTERS: readonly Filter[] = [
  senderWhitelist, // 2 sender-whitelist entries, then files
  rhsWhitelistSender, // 3 rhs-whitelist on the sender domain
  senderBlacklist, // 4 sender-blacklist entries, then files
  rhsBlacklistSender, // 5 rhs-blacklist on the sender domain
  senderNotLocal, // 6 reject-sender: not-local
  senderAuthenticationMismatch, //   authentication-mismatch, authentication-domain-mismatch
  senderNoMx, //   no-mx
].map(needsLocalPart);
