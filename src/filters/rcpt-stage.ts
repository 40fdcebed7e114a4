// RCPT TO filters in spamdyke's order (spec §2.4 RCPT steps 2–3): the recipient whitelist first
// (stage rcpt-allow), then the per-recipient checks; relay control runs for trusted sessions too.
import type { Filter } from './types';
import { recipientWhitelist } from './recipient-lists';
import { relayControl } from './relay';

export const RCPT_FILTERS: readonly Filter[] = [recipientWhitelist, relayControl];
