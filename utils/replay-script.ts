// The pure half of levee-replay: turning a client script or a full-log-dir transcript into what a
// client sends, one unit per reply it waits for, and the stand-in child that answers like an MTA
// accepting everything.
import { PassThrough } from 'node:stream';
import type { ChildExit, Downstream } from '../src/relay/io';

/** One thing the client sends before it waits for a reply: a command line or a whole message. */
export interface ClientUnit {
  kind: 'command' | 'message';
  /** bytes as sent, line ends included */
  bytes: Buffer;
}

/** Lines of `data`, each with its own line end (CRLF, or a bare LF normalised to CRLF). */
function splitLines(data: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    const lf = data.indexOf(0x0a, start);
    const end = lf === -1 ? data.length : lf;
    const body = data.subarray(start, end > start && data[end - 1] === 0x0d ? end - 1 : end);
    lines.push(Buffer.concat([body, Buffer.from('\r\n')]));
    start = end + 1;
  }
  return lines;
}

/**
 * Splits client bytes into units: every line is a command, except that after `DATA` (or `BDAT`-less
 * plain DATA) the lines up to and including the lone `.` form one message unit.
 */
export function clientUnits(data: Buffer): ClientUnit[] {
  const units: ClientUnit[] = [];
  let message: Buffer[] | null = null;
  for (const line of splitLines(data)) {
    if (message) {
      message.push(line);
      if (line.equals(Buffer.from('.\r\n'))) {
        units.push({ kind: 'message', bytes: Buffer.concat(message) });
        message = null;
      }
      continue;
    }
    units.push({ kind: 'command', bytes: line });
    if (/^data\r\n$/i.test(line.toString('latin1'))) message = [];
  }
  if (message && message.length) units.push({ kind: 'message', bytes: Buffer.concat(message) });
  return units;
}

export interface TranscriptReplay {
  /** every byte the client sent, in order */
  client: Buffer;
  /** the client address the transcript recorded, if any */
  ip?: string;
  /** the rDNS name the transcript recorded, if any */
  rdns?: string;
}

const SECTION = /\n\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d FROM REMOTE TO CHILD: (\d+) bytes[^\n]*\n/g;

/** Reads a full-log-dir transcript (spec §3.6): the FROM REMOTE sections and the client's facts. */
export function parseTranscript(file: Buffer): TranscriptReplay {
  const text = file.toString('latin1'); // latin1 keeps byte offsets equal to string offsets
  const chunks: Buffer[] = [];
  for (const m of text.matchAll(SECTION)) {
    const start = (m.index ?? 0) + m[0].length;
    chunks.push(file.subarray(start, start + Number(m[1])));
  }
  const ip =
    /- Remote IP = ([0-9A-Fa-f:.]+)\n/.exec(text)?.[1] ?? /\nTCPREMOTEIP=([0-9A-Fa-f:.]+)\n/.exec(text)?.[1];
  const rdns = /- Remote rDNS = ([A-Za-z0-9_.-]+)\n/.exec(text)?.[1];
  return { client: Buffer.concat(chunks), ip, rdns };
}

/** The reply the stand-in gives to one command line (lower-case verb decides). */
export function fakeReply(line: string): string {
  const verb = line.split(' ')[0].toUpperCase();
  switch (verb) {
    case 'EHLO':
      return '250-replay.invalid\r\n250-PIPELINING\r\n250 8BITMIME\r\n';
    case 'HELO':
      return '250 replay.invalid\r\n';
    case 'DATA':
      return '354 go ahead\r\n';
    case 'QUIT':
      return '221 replay.invalid\r\n';
    case 'STARTTLS':
    case 'AUTH':
      return '502 unimplemented (replay)\r\n';
    default:
      return '250 ok\r\n';
  }
}

/** A Downstream that answers 220, 250 and 354 like a permissive MTA, with no process behind it. */
export function fakeDownstream(): Downstream {
  const input = new PassThrough();
  const output = new PassThrough();
  let resolveExit: (e: ChildExit) => void = () => {};
  const exited = new Promise<ChildExit>((r) => (resolveExit = r));
  let buf = '';
  let inData = false;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    output.end();
    resolveExit({ code: 0, signal: null });
  };
  output.write('220 replay.invalid ESMTP levee-replay\r\n');
  input.on('data', (chunk: Buffer) => {
    buf += chunk.toString('latin1');
    let nl: number;
    while (!done && (nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (inData) {
        if (line === '.') {
          inData = false;
          output.write('250 ok: message accepted (replay)\r\n');
        }
        continue;
      }
      const reply = fakeReply(line);
      output.write(reply);
      if (reply.startsWith('354')) inData = true;
      if (reply.startsWith('221')) finish();
    }
  });
  input.on('end', finish);
  input.on('error', () => {});
  return {
    input,
    output,
    exited,
    startError: undefined,
    kill: () => finish(),
  };
}
