// `levee stats [--since 24h] [--html] [--top N] [FILE...]`: counts traffic lines by outcome and
// reason from levee's logs (files or stdin; text or JSON format), as a table or an HTML page.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseDuration, parseTrafficLine, summarize, type TrafficEntry } from './summary';
import { renderHtml, renderText } from './render';

const USAGE = 'Usage: levee stats [--since DURATION (30m, 24h, 7d)] [--html] [--top N] [LOGFILE...]\n';

export async function stats(argv: readonly string[]): Promise<number> {
  let sinceMs: number | null = null;
  let html = false;
  let top = 5;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--html') html = true;
    else if (a === '--since') sinceMs = parseDuration(argv[++i] ?? '') ?? NaN;
    else if (a === '--top') top = Number(argv[++i]);
    else if (a === '--help') {
      process.stdout.write(USAGE);
      return 0;
    } else if (a.startsWith('-') && a !== '-') {
      process.stderr.write(`levee: ERROR: unknown option ${a}\n${USAGE}`);
      return 111;
    } else files.push(a);
  }
  if (Number.isNaN(sinceMs) || !Number.isInteger(top) || top < 0) {
    process.stderr.write(`levee: ERROR: bad --since or --top value\n${USAGE}`);
    return 111;
  }
  const now = new Date();
  const entries: TrafficEntry[] = [];
  for (const file of files.length ? files : ['-']) {
    const input = file === '-' ? process.stdin : createReadStream(file);
    try {
      for await (const line of createInterface({ input, crlfDelay: Infinity })) {
        const e = parseTrafficLine(line, now);
        if (e) entries.push(e);
      }
    } catch (e) {
      process.stderr.write(
        `levee: ERROR: unable to read ${file}: ${e instanceof Error ? e.message : String(e)}\n`,
      );
      return 111;
    }
  }
  const since = sinceMs === null ? undefined : new Date(now.getTime() - sinceMs);
  const summary = summarize(entries, { since, until: since ? now : undefined });
  const title = `levee traffic${since ? ` since ${since.toISOString()}` : ''}`;
  process.stdout.write(html ? renderHtml(summary, title, top) : renderText(summary, top));
  return 0;
}
