// RCPT TO filters in spamdyke's order (spec §2.4 RCPT steps 2–3): the recipient whitelist first
// (stage rcpt-allow), then the per-recipient checks. Precedence quirk: same-as-sender and relay
// control (`overrides`) replace an earlier rejection of the recipient; the blacklist and graylist
// only apply while none is set. Relay control runs for trusted sessions too (`always`).
import type { Filter } from './types';
import { recipientWhitelist } from './recipient-lists';
import { maxRecipients, recipientSameAsSender, recipientBlacklist } from './recipient-checks';
import { relayControl } from './relay';
import { graylist } from './graylist';

export const RCPT_FILTERS: readonly Filter[] = [
  recipientWhitelist, // 2 (rcpt-allow)
  maxRecipients, // 3a
  recipientSameAsSender, // 3b
  recipientBlacklist, // 3c
  relayControl, // 3d unqualified → relaying → invalid/unavailable
  graylist, // 3e
];
