// spamdyke's decision model (spec §2.2) and grace (§2.3), kept apart from the SMTP state machine so
// the rules can be read (and tested) in one place.
import type { OptionValues } from '../options/table';
import type { Rejection } from './rejections';

/** Ordered as in spamdyke: a higher action beats a lower one. */
export enum Action {
  Undecided = 0,
  TransientReject = 1,
  Reject = 2,
  Authenticated = 3,
  TransientAllow = 4,
  Whitelisted = 5,
}

/** When a connection-level rejection is delivered. */
export enum Grace {
  None = 0,
  AfterFrom = 1,
  AfterTo = 2,
}

/** §2.3: the grace a configuration implies. */
export function graceFor(o: OptionValues): Grace {
  if (o['recipient-whitelist-entry'].length || o['recipient-whitelist-file'].length || o['config-dir'].length)
    return Grace.AfterTo;
  if (
    o['sender-whitelist-entry'].length ||
    o['sender-whitelist-file'].length ||
    o['rhs-whitelist-entry'].length ||
    o['rhs-whitelist-file'].length ||
    o['smtp-auth-level'] !== 'none'
  )
    return Grace.AfterFrom;
  return Grace.None;
}

export class Decision {
  action = Action.Undecided;
  rejection: Rejection | undefined;
  /** filter-level=reject-all: nothing can undo the rejection */
  locked = false;
  /** the rejection has been sent; the child is cut off and levee answers everything itself */
  delivered = false;
  /** per-recipient result, reset before every command */
  transient: Rejection | undefined;
  transientAllow = false;

  /** a blacklist-type filter may run only while nothing stronger is decided (first hit wins) */
  blacklistMayRun(): boolean {
    return !this.locked && this.action < Action.Reject;
  }

  whitelistMayRun(): boolean {
    return !this.locked && this.action < Action.Whitelisted;
  }

  reject(r: Rejection): void {
    if (this.locked) return;
    this.action = Action.Reject;
    this.rejection = r;
  }

  /** whitelists clear any rejection not yet delivered, whatever the order they ran in */
  whitelist(): void {
    if (this.locked) return;
    this.action = Action.Whitelisted;
    this.rejection = undefined;
  }

  /** filter-level=reject-all */
  rejectAndLock(r: Rejection): void {
    this.action = Action.Reject;
    this.rejection = r;
    this.locked = true;
  }

  /** filter-level=require-auth overrides whitelists: it does not look at the current action */
  forceReject(r: Rejection): void {
    if (this.locked) return;
    this.action = Action.Reject;
    this.rejection = r;
  }

  authenticate(): void {
    if (this.locked) return;
    this.action = Action.Authenticated;
    this.rejection = undefined;
  }

  /** a rejection is decided for the connection (not per recipient) */
  get rejecting(): boolean {
    return this.action === Action.Reject && this.rejection !== undefined;
  }

  /** whitelisted or authenticated: per-recipient filters other than relay control are skipped */
  get trusted(): boolean {
    return this.action >= Action.Authenticated;
  }

  /** a copy to decide one recipient with (config-dir: the files apply to that recipient only) */
  clone(): Decision {
    const d = new Decision();
    d.action = this.action;
    d.rejection = this.rejection;
    d.locked = this.locked;
    d.delivered = this.delivered;
    return d;
  }

  clearTransient(): void {
    this.transient = undefined;
    this.transientAllow = false;
  }
}
