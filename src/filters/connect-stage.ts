// Connection-time filters in spamdyke's order (spec §2.4 steps 2–18). filter-level (step 1) and
// earlytalker (step 19) are run by the session: one locks the decision, the other waits on the socket.
// The order is the contract: whitelists may sit anywhere (they beat any blacklist that has not been
// delivered), but among blacklists the first hit wins, so it decides which rejection a client sees.
import type { Filter } from './types';
import { ipWhitelist, ipBlacklist } from './ip-lists';
import { rdnsMissing, ipInCcRdns, rdnsWhitelist, rdnsBlacklist, unresolvableRdns } from './rdns';
import { ipInRdnsKeywordWhitelist, ipInRdnsKeywordBlacklist } from './ip-keywords';
import { dnsWhitelist, rhsWhitelistRdns, dnsBlacklist, rhsBlacklistRdns } from './dnsbl';

export const CONNECT_FILTERS: readonly Filter[] = [
  rdnsMissing, // 2 reject-empty-rdns
  ipInCcRdns, // 3 reject-ip-in-cc-rdns
  rdnsWhitelist, // 4–6 rdns-whitelist entry, file, dir
  rdnsBlacklist, // 7–9 rdns-blacklist entry, file, dir
  ipWhitelist, // 10
  ipBlacklist, // 11
  ipInRdnsKeywordWhitelist, // 12
  ipInRdnsKeywordBlacklist, // 13
  unresolvableRdns, // 14 reject-unresolvable-rdns
  dnsWhitelist, // 15 RWL
  rhsWhitelistRdns, // 16 RHSWL on the rDNS name
  dnsBlacklist, // 17 RBL
  rhsBlacklistRdns, // 18 RHSBL on the rDNS name
];
