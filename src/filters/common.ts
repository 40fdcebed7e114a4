// Small pieces every list-style filter uses: the FILTER_* field and traffic-line reason for a list
// hit (spec §3.3, §3.4), and the logging adapter the list reader wants.
import type { Logger } from '../log';
import type { ListHit, ListLog } from '../lists/read';

/** `entry: X` / `file: F(N)` for the FILTER line, `X` / `F:N` for the traffic line's reason. */
export function hitDetail(hit: ListHit): { field: readonly [string, string]; reason: string } {
  if (hit.file !== undefined)
    return { field: ['file', `${hit.file}(${hit.line})`], reason: `${hit.file}:${hit.line}` };
  return { field: ['entry', hit.value], reason: hit.value };
}

export function listLog(log: Logger): ListLog {
  return (level, message) => (level === 'error' ? log.error(message) : log.verbose(message));
}
