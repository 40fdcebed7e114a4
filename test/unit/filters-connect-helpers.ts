// Shared pieces of the connect-filter unit tests: options from an argv, a logger that records lines,
// and a resolver whose answers the test scripts (and whose calls it counts).
import { loadOptions } from '../../src/options/parse';
import type { OptionValues } from '../../src/options/table';
import type { Logger } from '../../src/log';
import type { Dns, DnsAnswer, RblResult, RblZone } from '../../src/dns';
import { formatFilterLine } from '../../src/log/format';
import type { FilterFields } from '../../src/log/types';
import type { ConnectionFacts, FilterInput } from '../../src/filters/types';
import { runStage } from '../../src/filters/pipeline';
import { Decision } from '../../src/session/decision';

export function options(argv: string[]): OptionValues {
  return loadOptions([...argv, '/bin/true']).options;
}

export interface RecordedLog {
  lines: string[];
  logger: Logger;
}

/** A Logger stand-in keeping `LEVEL text` lines (FILTER lines formatted as the real one does). */
export function recordingLog(): RecordedLog {
  const lines: string[] = [];
  const at = (level: string) => (text: string) => lines.push(`${level} ${text}`);
  const fake = {
    error: at('error'),
    info: at('info'),
    verbose: at('verbose'),
    debug: at('debug'),
    excessive: at('excessive'),
    filter: (keyword: string, fields: FilterFields) =>
      lines.push(`verbose ${formatFilterLine(keyword, fields)}`),
  };
  return { lines, logger: fake as unknown as Logger };
}

export type ListAnswer = Partial<Omit<RblResult, 'zone' | 'queried'>> | 'hang';

/** Scripted DNS: list answers per zone (as queried), A answers per name; counts every call. */
export class ScriptedDns {
  calls: string[] = [];
  constructor(
    private readonly lists: Record<string, ListAnswer> = {},
    private readonly addresses: Record<string, DnsAnswer<string[]>> = {},
  ) {}

  private list(kind: string, subject: string, zone: RblZone): Promise<RblResult> {
    this.calls.push(`${kind} ${subject} ${zone.zone}`);
    const answer = this.lists[zone.zone] ?? { listed: false, failure: 'nxdomain' };
    if (answer === 'hang') return new Promise(() => undefined);
    return Promise.resolve({ listed: false, ...answer, zone, queried: `${subject}.${zone.displayZone}` });
  }
  rbl(ip: string, zone: RblZone): Promise<RblResult> {
    return this.list('rbl', ip, zone);
  }
  rhsbl(name: string, zone: RblZone): Promise<RblResult> {
    return this.list('rhsbl', name, zone);
  }
  a(name: string): Promise<DnsAnswer<string[]>> {
    this.calls.push(`a ${name}`);
    return Promise.resolve(
      this.addresses[name] ?? { ok: false, failure: 'nxdomain', message: 'no such name' },
    );
  }
  asDns(): Dns {
    return this as unknown as Dns;
  }
}

export function facts(ip: string, rdns = '', rdnsTemporaryFailure = false): ConnectionFacts {
  return { ip, rdns, rdnsTemporaryFailure, remoteInfo: '', relayClient: undefined };
}

export function filterInput(
  o: OptionValues,
  f: ConnectionFacts,
  log: RecordedLog,
  dns: ScriptedDns = new ScriptedDns(),
  sender?: string,
): FilterInput {
  const memos = new Map<string, Promise<unknown>>();
  return {
    o,
    facts: f,
    log: log.logger,
    sender,
    authUser: '',
    dns: () => dns.asDns(),
    memo<T>(key: string, make: () => Promise<T>): Promise<T> {
      let p = memos.get(key) as Promise<T> | undefined;
      if (!p) {
        p = make();
        memos.set(key, p);
      }
      return p;
    },
  };
}

/** Runs the connect stage as the session does; returns the decision and what was logged. */
export async function connectStage(
  argv: string[],
  f: ConnectionFacts,
  dns: ScriptedDns = new ScriptedDns(),
): Promise<{ decision: Decision; lines: string[] }> {
  const log = recordingLog();
  const decision = new Decision();
  await runStage('connect', filterInput(options(argv), f, log, dns), decision);
  return { decision, lines: log.lines };
}
