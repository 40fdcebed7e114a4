// The DNS layer's public surface. Importing it opens nothing: a c-ares channel (channel.ts) is set up
// on the first query.
export { Dns } from './dns';
export { dnsOptionsOf, dnsSettingsFromOptions, parseResolvConf, parseServerSpec } from './settings';
export type { DnsLevel, DnsOptionValues, DnsServer, DnsSettings } from './settings';
export { isPermanentFailure } from './types';
export type { DnsAnswer, DnsFailure } from './types';
export { parseRblZoneEntry, rblReplySuffix, sanitiseDnsText, displayZoneOf } from './rbl';
export type { AddrFilter, RblResult, RblZone } from './rbl';
export { parseIp, ptrQueryName, reversedIpLabels, rhsblCandidates } from './names';
