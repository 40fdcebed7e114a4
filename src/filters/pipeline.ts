// The filter pipeline: spamdyke's order (spec §2.4) as data, and the one function that runs a stage
// and applies the decision rules of §2.2 to what the filters return.
import type { Decision } from '../session/decision';
import type { Rejection } from '../session/rejections';
import type { Filter, FilterInput, Stage } from './types';
import { CONNECT_FILTERS } from './connect-stage';
import { MAIL_FILTERS } from './mail-stage';
import { RCPT_FILTERS } from './rcpt-stage';

/**
 * The whole pipeline, in order. Order matters and is spamdyke's; each stage's list lives in its own
 * file. filter-level and earlytalker are not list-style filters (one locks the decision, the other
 * waits on the socket): the session runs them at their place.
 */
export const PIPELINE: readonly Filter[] = [...CONNECT_FILTERS, ...MAIL_FILTERS, ...RCPT_FILTERS];

export function filtersFor(stage: Stage, pipeline: readonly Filter[] = PIPELINE): Filter[] {
  return pipeline.filter((f) => f.stage === stage);
}

/** The outcome of a recipient-kind filter: the rejection for this recipient, if any. */
export interface StageResult {
  recipientRejection?: Rejection;
}

function stageFilters(
  stage: Stage,
  input: FilterInput,
  opts: { onlyAlways?: boolean; pipeline?: readonly Filter[] },
): Filter[] {
  return filtersFor(stage, opts.pipeline ?? PIPELINE).filter(
    (f) => f.enabled(input.o) && (!opts.onlyAlways || f.always),
  );
}

/**
 * Starts the lookups of one stage's filters that the facts known so far allow (each filter's
 * prefetch skips what it cannot ask yet, and runStage asks the rest; answers are memoised per
 * session, so nothing is asked twice).
 */
export function prefetchStage(stage: Stage, input: FilterInput): void {
  for (const f of stageFilters(stage, input, {})) f.prefetch?.(input);
}

/**
 * Runs one stage's filters in order. Connection-level verdicts go into `decision`; recipient-kind
 * verdicts are returned (they concern one recipient). A filter named in --log-only logs what it
 * would have done and is otherwise ignored.
 */
export async function runStage(
  stage: Stage,
  input: FilterInput,
  decision: Decision,
  opts: { onlyAlways?: boolean; pipeline?: readonly Filter[] } = {},
): Promise<StageResult> {
  const filters = stageFilters(stage, input, opts);
  for (const f of filters) f.prefetch?.(input);
  const result: StageResult = {};
  for (const f of filters) {
    if (decision.locked) break;
    if (f.kind === 'blacklist' && !decision.blacklistMayRun()) continue;
    if (f.kind === 'whitelist' && !decision.whitelistMayRun()) continue;
    if (f.kind === 'recipient' && result.recipientRejection && !f.overrides) continue;
    const v = await f.run(input);
    if (v.kind === 'continue') continue;
    if (v.kind === 'allow') {
      if (f.kind === 'recipient') decision.transientAllow = true;
      else decision.whitelist();
      continue;
    }
    if (input.o['log-only'].includes(f.name as never)) {
      logOnly(input, v.rejection);
      continue;
    }
    if (f.kind === 'recipient') result.recipientRejection = v.rejection;
    else decision.reject(v.rejection);
  }
  return result;
}

/** --log-only: the decision is logged at info level, and the mail goes on. */
export function logOnly(input: FilterInput, r: Rejection): void {
  const reason = r.reason === '' ? '(empty)' : r.reason.replace(/ /g, '_');
  input.log.info(
    `LOG_ONLY would be ${r.logCode} from: ${input.sender || '(unknown)'} to: ${input.recipient || '(unknown)'} ` +
      `origin_ip: ${input.facts.ip} origin_rdns: ${input.facts.rdns || '(unknown)'} reason: ${reason}`,
  );
}
