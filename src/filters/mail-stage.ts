// MAIL FROM filters in spamdyke's order (spec §2.4 MAIL FROM steps 2–6).
import type { Filter } from './types';
import { senderWhitelist, senderBlacklist } from './sender-lists';
import { rhsWhitelistSender, rhsBlacklistSender } from './dnsbl';

export const MAIL_FILTERS: readonly Filter[] = [
  senderWhitelist,
  rhsWhitelistSender,
  senderBlacklist,
  rhsBlacklistSender,
];
