// Connection-time filters in spamdyke's order (spec §2.4 steps 2–18). filter-level (step 1) and
// earlytalker (step 19) are run by the session: one locks the decision, the other waits on the socket.
import type { Filter } from './types';
import { ipWhitelist, ipBlacklist } from './ip-lists';

export const CONNECT_FILTERS: readonly Filter[] = [ipWhitelist, ipBlacklist];
