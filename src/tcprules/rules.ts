// tcpserver's rules lookup (ucspi-tcp rules.c and tcpserver.c found()), so a rules.cdb made by
// `tcprules` behaves in `levee serve` as it did in front of levee: keys tried in tcpserver's order,
// the first key present decides; its data is NUL-terminated instructions, `D` = deny and
// `+VAR=value` = set VAR in the child's environment.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CdbFormatError, cdbGet, type ReadAt } from '../cdb/lookup';

export interface RuleDecision {
  /** a key matched (false: no rule at all, which tcpserver treats as allow) */
  matched: boolean;
  /** the key that matched, for the log */
  key: string;
  deny: boolean;
  /** environment assignments in file order */
  env: Array<[string, string]>;
}

/**
 * The keys tcpserver tries for a client, in order: `ip`, `=host`, the IP's dotted prefixes
 * (`1.2.3.`, `1.2.`, `1.`), the host's parent domains (`=.example.org`, `=.org`), `=`, and the
 * empty key. (`info@ip` keys need ident lookups, which levee does not do.)
 */
export function ruleKeys(ip: string, host: string | undefined): string[] {
  const keys = [ip];
  if (host) keys.push(`=${host}`);
  for (let len = ip.length; len > 0; len--) {
    if (ip[len - 1] === '.' || ip[len - 1] === ':') keys.push(ip.slice(0, len));
  }
  if (host) {
    for (let i = 0; i < host.length; i++) if (host[i] === '.') keys.push(`=${host.slice(i)}`);
    keys.push('=');
  }
  keys.push('');
  return keys;
}

/** tcpserver.c found(): `D` denies, `+NAME=value` assigns; other instructions are ignored. */
export function parseRuleData(data: Buffer): { deny: boolean; env: Array<[string, string]> } {
  let deny = false;
  const env: Array<[string, string]> = [];
  let start = 0;
  for (let end = data.indexOf(0, start); end >= 0; end = data.indexOf(0, start)) {
    const instr = data.toString('latin1', start, end);
    start = end + 1;
    if (instr[0] === 'D') deny = true;
    else if (instr[0] === '+') {
      const eq = instr.indexOf('=');
      if (eq > 1) env.push([instr.slice(1, eq), instr.slice(eq + 1)]);
    }
  }
  return { deny, env };
}

export function lookupRules(read: ReadAt, ip: string, host: string | undefined): RuleDecision {
  for (const key of ruleKeys(ip, host)) {
    const data = cdbGet(read, Buffer.from(key, 'latin1'));
    if (data) return { matched: true, key, ...parseRuleData(data) };
  }
  return { matched: false, key: '', deny: false, env: [] };
}

/**
 * Opens the file for this one connection (so a rebuilt rules.cdb applies at once, as with tcpserver).
 * Throws when it cannot be read or is broken (CdbFormatError); the caller then refuses the client.
 */
export function lookupRulesFile(path: string, ip: string, host: string | undefined): RuleDecision {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const read: ReadAt = (offset, length) => {
      if (offset + length > size) throw new CdbFormatError(`${path}: record outside the file`);
      const b = Buffer.alloc(length);
      if (readSync(fd, b, 0, length, offset) !== length) throw new CdbFormatError(`${path}: short read`);
      return b;
    };
    return lookupRules(read, ip, host);
  } finally {
    closeSync(fd);
  }
}
