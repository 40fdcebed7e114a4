// Soak: N SMTP conversations through tcpserver → levee → exim -bs → Maildir, several at a time from
// many loopback addresses. A mix of accepted and rejected (an IP blacklist covers some sources) and
// about 20 % with faults: the client vanishing mid-DATA, or a smuggling attempt inside the body.
// At the end: every message that got a 250 is in the Maildir byte for byte, nothing else is there, no
// levee process is left, every levee exited 0, levee's peak RSS stayed flat from the first conversations
// to the last, and stderr shows no stack trace. Prints a summary table.
//
//   npm run soak -- --count 10000 [--parallel 8]       (needs root, ucspi-tcp and exim4-daemon-light)
// test/e2e/soak-ci.test.ts runs a small count inside the normal suite.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SmtpClient, dataSection } from '../harness/smtp-client';
import { setupExim } from '../harness/exim';
import { startTcpserver } from '../harness/tcpserver';
import { LEVEE_BIN, missingTools, sleep } from '../harness/tools';
import { peakRssKb, waitNoProcesses } from './procs';

export interface SoakOptions {
  count: number;
  /** conversations at a time (default 8; tcpserver allows 40) */
  parallel?: number;
  /** the whole run must end within this (default: 2 s per conversation / parallel + 60 s) */
  deadlineMs?: number;
  /** progress lines on stderr */
  progress?: boolean;
}

type Kind = 'accepted' | 'blacklisted' | 'vanished' | 'smuggling';

export interface SoakResult {
  counts: Record<Kind, number>;
  /** what went wrong; empty when the run passed */
  problems: string[];
  delivered: number;
  peakRssKb: { first: number; last: number; max: number; sampled: number };
  seconds: number;
  table: string;
}

/** Sources 127.0.9.0/24 are blacklisted; accepted mail comes from 127.0.8.0/24. */
const BLACKLISTED_NET = '127.0.9.';
const CLEAN_NET = '127.0.8.';

function kindOf(i: number): Kind {
  const r = i % 10;
  if (r === 3) return 'vanished';
  if (r === 7) return 'smuggling';
  if (r === 5) return 'blacklisted';
  return 'accepted';
}

/** A message unique to conversation i, with 8-bit text, dot lines and a size that varies. */
function messageFor(i: number, kind: Kind): string {
  const lines = [
    `Subject: soak ${i}`,
    `X-Soak-Id: ${i}`,
    '',
    `conversation ${i} ${randomBytes(6).toString('hex')}`,
  ];
  for (let k = 0; k < (i % 17) * 7; k++)
    lines.push((k % 5 === 0 ? '.' : '') + `line ${k} Gr\u00fc\u00dfe ${'z'.repeat(k % 60)}`);
  let text = lines.join('\r\n') + '\r\n';
  if (kind === 'smuggling') {
    const seq = i % 20 === 7 ? '\n.\n' : '\r\n.\n';
    text += `tail${seq}MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nsmuggled ${i}\r\n`;
  }
  return text;
}

interface Outcome {
  kind: Kind;
  i: number;
  /** the expected Maildir body (LF line ends), when levee answered 250 to the end of data */
  delivered?: Buffer;
  problem?: string;
}

async function converse(port: number, i: number): Promise<Outcome> {
  const kind = kindOf(i);
  const ip = (kind === 'blacklisted' ? BLACKLISTED_NET : CLEAN_NET) + String(1 + (i % 250));
  const c = await SmtpClient.connect(port, { localAddress: ip, timeoutMs: 10_000 });
  try {
    const banner = await c.readReply();
    if (banner.code !== 220) return { kind, i, problem: `banner ${banner.raw}` };
    await c.command('EHLO soak.test');
    const mail = await c.command(`MAIL FROM:<s${i}@example.org>`);
    const rcpt = await c.command(`RCPT TO:<r${i}@example.org>`);
    if (kind === 'blacklisted') {
      const ok = mail.code === 250 && rcpt.lines.join() === '554 Refused. Your IP address is blacklisted.';
      const data = await c.command('DATA');
      await c.command('QUIT');
      if (!ok || data.code < 500)
        return { kind, i, problem: `blacklisted got ${mail.code}/${rcpt.raw}/${data.code}` };
      return { kind, i };
    }
    if (mail.code !== 250 || rcpt.code !== 250)
      return { kind, i, problem: `MAIL/RCPT ${mail.raw}${rcpt.raw}` };
    const data = await c.command('DATA');
    if (data.code !== 354) return { kind, i, problem: `DATA ${data.raw}` };
    const message = messageFor(i, kind);
    const section = dataSection(message);
    if (kind === 'vanished') {
      await c.write(section.subarray(0, Math.floor(section.length / 2)));
      await sleep(5);
      c.close();
      return { kind, i };
    }
    await c.write(section);
    const end = await c.readReply(20_000);
    await c.command('QUIT').catch(() => undefined);
    if (end.code !== 250) return { kind, i, problem: `end of data ${end.raw}` };
    return { kind, i, delivered: Buffer.from(message.replace(/\r\n/g, '\n')) };
  } catch (e) {
    return { kind, i, problem: (e as Error).message.split('\n')[0] };
  } finally {
    c.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const missing = missingTools(['tcpserver', 'exim4'], { root: true });
  if (missing) throw new Error(`soak ${missing}`);
  const started = Date.now();
  const parallel = opts.parallel ?? 8;
  const deadline = started + (opts.deadlineMs ?? (opts.count * 2000) / parallel + 60_000);
  const exim = await setupExim();
  const marker = randomBytes(8).toString('hex');
  const rcpthosts = join(exim.dir, 'rcpthosts');
  writeFileSync(rcpthosts, 'example.org\n');
  const ts = await startTcpserver(
    [
      LEVEE_BIN,
      ...['--log-target', 'stderr', '--log-level=info', '--dns-level', 'none'],
      ...['--qmail-rcpthosts-file', rcpthosts, '--ip-blacklist-entry', BLACKLISTED_NET.slice(0, -1)],
      ...['--idle-timeout-secs', '10'],
      ...exim.childArgv,
    ],
    { env: { LEVEE_SOAK_RUN: marker }, concurrency: 40 },
  );
  const problems: string[] = [];
  const outcomes: Outcome[] = [];
  // peak RSS per levee process, sampled while it runs; keyed by connection order
  const peaks = new Map<number, number>();
  const sampler = setInterval(() => {
    ts.connections().forEach((conn, order) => {
      if (conn.status !== null) return;
      const kb = peakRssKb(conn.pid);
      if (kb !== null) peaks.set(order, Math.max(peaks.get(order) ?? 0, kb));
    });
  }, 25);
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < opts.count && Date.now() < deadline) {
        const i = next++;
        outcomes.push(await converse(ts.port, i));
        if (opts.progress && outcomes.length % 500 === 0)
          process.stderr.write(`soak: ${outcomes.length}/${opts.count}\n`);
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    if (outcomes.length < opts.count)
      problems.push(`deadline reached after ${outcomes.length} conversations`);
    for (const o of outcomes) if (o.problem) problems.push(`#${o.i} (${o.kind}): ${o.problem}`);

    const conns = await ts.waitForIdle(outcomes.length, 30_000).catch((e: Error) => {
      problems.push(e.message.split('\n')[0]!);
      return ts.connections();
    });
    const bad = conns.filter((c) => c.status !== 0);
    if (bad.length)
      problems.push(
        `${bad.length} levee processes exited non-zero: ${bad
          .slice(0, 5)
          .map((c) => `${c.pid}:${c.status}`)
          .join(' ')}`,
      );
    const left = await waitNoProcesses('LEVEE_SOAK_RUN', marker, 5000);
    if (left.length)
      problems.push(
        `processes left: ${left.map((p) => `${p.pid} ${p.argv.slice(0, 3).join(' ')}`).join('; ')}`,
      );

    // every 250 is in the Maildir byte for byte, and nothing else is
    const expected = new Map<string, Buffer>();
    for (const o of outcomes) if (o.delivered) expected.set(String(o.i), o.delivered);
    const stored = await exim.waitForMessages(expected.size, 30_000).catch(() => exim.messages());
    const seen = new Set<string>();
    for (const msg of stored) {
      const body = exim.bodyOf(msg);
      const id = /^X-Soak-Id: (\d+)$/m.exec(body.toString('latin1'))?.[1] ?? '?';
      const want = expected.get(id);
      if (!want) problems.push(`Maildir holds message ${id}, which was never answered 250`);
      else if (!body.equals(want)) problems.push(`message ${id} differs from what was sent`);
      if (seen.has(id)) problems.push(`message ${id} delivered twice`);
      seen.add(id);
    }
    for (const id of expected.keys())
      if (!seen.has(id)) problems.push(`message ${id} got 250 but is not in the Maildir`);
    if (/evil@attacker\.example/.test(exim.logs()))
      problems.push('a smuggled MAIL FROM reached exim as a command');

    const stderr = ts.stderr();
    if (/\n\s+at .+:\d+:\d+\)?\n|TypeError|RangeError|Unhandled/.test(stderr))
      problems.push('a stack trace in stderr');

    const ordered = [...peaks.entries()].sort((a, b) => a[0] - b[0]).map(([, kb]) => kb);
    const tenth = Math.max(1, Math.floor(ordered.length / 10));
    const first = median(ordered.slice(0, tenth));
    const last = median(ordered.slice(-tenth));
    const max = Math.max(0, ...ordered);
    if (ordered.length >= 10 && last > first * 1.25 + 8192)
      problems.push(`peak RSS grew from ${first} kB (first tenth) to ${last} kB (last tenth)`);
    if (max > 200 * 1024) problems.push(`a levee process reached ${max} kB`);

    const counts: Record<Kind, number> = { accepted: 0, blacklisted: 0, vanished: 0, smuggling: 0 };
    for (const o of outcomes) counts[o.kind]++;
    const delivered = seen.size;
    const seconds = (Date.now() - started) / 1000;
    const row = (a: string, b: string | number, c: string | number) =>
      `${a.padEnd(28)}${String(b).padStart(10)}  ${c}`;
    const table = [
      row('kind', 'sent', 'expected outcome'),
      row('accepted', counts.accepted, '250, in Maildir byte for byte'),
      row('blacklisted source IP', counts.blacklisted, '554 at RCPT, nothing stored'),
      row('client vanished mid-DATA', counts.vanished, 'nothing stored'),
      row('smuggling attempt', counts.smuggling, '250, one message, smuggled text is content'),
      row('delivered (Maildir)', delivered, `expected ${expected.size}`),
      row('levee peak RSS (kB)', max, `first tenth ${first}, last tenth ${last}, ${ordered.length} sampled`),
      row('problems', problems.length, problems.slice(0, 3).join(' | ')),
      row('seconds', seconds.toFixed(1), `${(outcomes.length / seconds).toFixed(1)} conversations/s`),
    ].join('\n');
    return {
      counts,
      problems,
      delivered,
      peakRssKb: { first, last, max, sampled: ordered.length },
      seconds,
      table,
    };
  } finally {
    clearInterval(sampler);
    await ts.stop();
    exim.cleanup();
  }
}

function argValue(argv: string[], name: string): number | undefined {
  const at = argv.indexOf(name);
  const text = at >= 0 ? argv[at + 1] : argv.find((a) => a.startsWith(name + '='))?.slice(name.length + 1);
  const n = text === undefined ? undefined : Number(text);
  if (n !== undefined && !(Number.isInteger(n) && n > 0)) throw new Error(`${name} needs a positive integer`);
  return n;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  runSoak({
    count: argValue(argv, '--count') ?? 10_000,
    parallel: argValue(argv, '--parallel'),
    progress: true,
  })
    .then((r) => {
      process.stdout.write(r.table + '\n');
      for (const p of r.problems.slice(0, 50)) process.stdout.write(`PROBLEM: ${p}\n`);
      process.exit(r.problems.length ? 1 : 0);
    })
    .catch((e: Error) => {
      process.stderr.write(`soak: ${e.message}\n`);
      process.exit(2);
    });
}
