// The shape every filter module has: what it needs (options and the facts of the connection), what
// it decides (allow, reject with a rejection, or nothing). Filters never touch the session's
// internals; the pipeline applies spamdyke's decision rules to what they return.
import type { OptionValues } from '../options/table';
import type { Logger } from '../log';
import type { Rejection } from '../session/rejections';
import type { Dns } from '../dns';

/** What is known about the remote end before it says anything. */
export interface ConnectionFacts {
  /** dotted quad or IPv6 text; '0.0.0.0' when unknown */
  readonly ip: string;
  /** first PTR name, lower case; '' when none */
  rdns: string;
  /** the PTR lookup failed temporarily (timeout/SERVFAIL), so an empty rdns is not proof of none */
  rdnsTemporaryFailure: boolean;
  /** TCPREMOTEINFO */
  readonly remoteInfo: string;
  /** RELAYCLIENT: undefined when unset, else its value ('' is common) */
  readonly relayClient: string | undefined;
}

/** Where a filter runs (spec §2.4). */
export type Stage = 'connect' | 'mail' | 'rcpt-allow' | 'rcpt';

export interface FilterInput {
  readonly o: OptionValues;
  readonly facts: ConnectionFacts;
  readonly log: Logger;
  /** envelope sender as compared/logged (`user@domain`, '' for the null sender); mail and rcpt stages */
  readonly sender?: string;
  /** the recipient being decided; rcpt stage */
  readonly recipient?: string;
  /** SMTP AUTH user name, '' when not authenticated */
  readonly authUser: string;
  /** recipients the child accepted so far in this transaction; rcpt stage */
  readonly acceptedRecipients?: number;
  /** this connection's resolver (created on first use) */
  dns(): Dns;
  /**
   * Per-connection memo: the first call starts `make`, later calls get the same promise. Filters
   * use it so prefetch() and run() share one query, and so a proxy process keeps no state in the
   * (shared) filter modules.
   */
  memo<T>(key: string, make: () => Promise<T>): Promise<T>;
}

export type Verdict =
  | { readonly kind: 'continue' }
  | { readonly kind: 'allow' }
  | { readonly kind: 'reject'; readonly rejection: Rejection };

export const CONTINUE: Verdict = { kind: 'continue' };
export const ALLOW: Verdict = { kind: 'allow' };
export function reject(rejection: Rejection): Verdict {
  return { kind: 'reject', rejection };
}

/**
 * - whitelist: runs while nothing stronger is decided; `allow` whitelists the connection.
 * - blacklist: runs only while undecided (first hit wins); `reject` decides the connection.
 * - recipient: per-recipient check at RCPT (§2.4 step 3); `reject` refuses that recipient only.
 *   `overrides` marks the checks whose rejection replaces an earlier one (spamdyke's precedence quirk).
 */
export type FilterKind = 'whitelist' | 'blacklist' | 'recipient';

export interface Filter {
  /** stable name, used by --log-only and in JSON logs */
  readonly name: string;
  readonly stage: Stage;
  readonly kind: FilterKind;
  readonly overrides?: boolean;
  /** runs for whitelisted and authenticated sessions too (relay control) */
  readonly always?: boolean;
  /** cheap: is the filter configured at all? Unconfigured filters cost nothing. */
  enabled(o: OptionValues): boolean;
  /** optional: start slow I/O (DNS) early, so all queries of a stage run in parallel */
  prefetch?(input: FilterInput): void;
  run(input: FilterInput): Verdict | Promise<Verdict>;
}
