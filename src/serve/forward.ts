// `--forward HOST:PORT`: the session's downstream is an MTA over TCP instead of qmail-smtpd on pipes.
// Before the client sees anything, levee tells the MTA who the client is: a PROXY v1 line
// (--proxy-protocol), or XCLIENT after an EHLO when the MTA advertises it. If the MTA refuses XCLIENT
// the connection fails closed: relaying the client as levee's own (often trusted, local) address
// would turn levee into an open relay.
import net from 'node:net';
import { hostname } from 'node:os';
import { PassThrough } from 'node:stream';
import type { ChildExit, Downstream } from '../relay/io';
import { ehloKeywords, proxyV1Header, xclientCommand, type ClientEndpoint } from './handoff';
import type { ListenAddress } from './args';

export interface ForwardOptions {
  target: ListenAddress;
  proxyProtocol: boolean;
  xclient: boolean;
  client: ClientEndpoint;
  /** connect + handshake must finish within this */
  timeoutMs: number;
  /** debug lines about the handshake */
  debug: (text: string) => void;
}

interface Reply {
  code: number;
  lines: string[];
  raw: Buffer;
}

/** Splits complete SMTP replies off the front of `buf` (a reply ends at a line without `-` after the code). */
function takeReply(buf: Buffer): { reply: Reply; rest: Buffer } | null {
  let pos = 0;
  const lines: string[] = [];
  for (;;) {
    const lf = buf.indexOf(10, pos);
    if (lf < 0) return null;
    const line = buf.toString('latin1', pos, lf).replace(/\r$/, '');
    lines.push(line);
    pos = lf + 1;
    if (!(line.length > 3 && line[3] === '-')) {
      const code = /^\d{3}/.test(line) ? Number(line.slice(0, 3)) : 0;
      return { reply: { code, lines, raw: buf.subarray(0, pos) }, rest: buf.subarray(pos) };
    }
  }
}

export function forwardDownstream(opts: ForwardOptions): Downstream {
  const toMta = new PassThrough();
  const fromMta = new PassThrough();
  let startError: Error | undefined;
  let resolveExit: (x: ChildExit) => void = () => {};
  const exited = new Promise<ChildExit>((resolve) => (resolveExit = resolve));
  const socket = net.connect({ host: opts.target.host, port: opts.target.port });
  socket.setNoDelay(true);

  const fail = (e: Error): void => {
    startError ??= e;
    socket.destroy();
  };
  const timer = setTimeout(() => fail(new Error('timed out connecting to the MTA')), opts.timeoutMs);
  socket.on('error', (e) => {
    if (!spliced) fail(e);
  });
  socket.on('close', () => {
    clearTimeout(timer);
    // a downstream that is gone must release anyone waiting to write to it (ChildIO.drain)
    toMta.destroy();
    if (!fromMta.writableEnded) fromMta.end();
    resolveExit({ code: startError ? null : 0, signal: null });
  });

  let spliced = false;
  /** From here on bytes flow both ways untouched; `banner` is what the client's side sees first. */
  const splice = (banner: Buffer, rest: Buffer): void => {
    clearTimeout(timer);
    spliced = true;
    socket.removeAllListeners('data');
    socket.on('error', () => {});
    if (banner.length) fromMta.write(banner);
    if (rest.length) fromMta.write(rest);
    socket.pipe(fromMta);
    toMta.pipe(socket);
  };

  let buf: Buffer = Buffer.alloc(0);
  let waiting: ((r: Reply) => void) | null = null;
  const nextReply = (): Promise<Reply> => new Promise((resolve) => ((waiting = resolve), pump()));
  const pump = (): void => {
    const got = waiting && takeReply(buf);
    if (!got) return;
    buf = Buffer.from(got.rest);
    const w = waiting!;
    waiting = null;
    w(got.reply);
  };
  const send = (line: Buffer): void => {
    opts.debug(`to MTA: ${line.toString('latin1').trimEnd()}`);
    socket.write(line);
  };

  socket.on('connect', () => {
    if (opts.proxyProtocol) {
      send(proxyV1Header(opts.client));
      return splice(Buffer.alloc(0), Buffer.alloc(0));
    }
    if (!opts.xclient) return splice(Buffer.alloc(0), Buffer.alloc(0));
    socket.on('data', (c: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, c]) : c;
      pump();
    });
    void (async () => {
      const banner = await nextReply();
      if (banner.code !== 220) return splice(banner.raw, buf);
      send(Buffer.from(`EHLO ${hostname().replace(/[^A-Za-z0-9.-]/g, '') || 'levee'}\r\n`, 'latin1'));
      const ehlo = await nextReply();
      const advertised = ehlo.code === 250 ? ehloKeywords(ehlo.lines).get('XCLIENT') : undefined;
      if (!advertised) {
        opts.debug('MTA does not offer XCLIENT; it sees levee as the client');
        return splice(banner.raw, buf);
      }
      send(xclientCommand(opts.client, advertised));
      const answer = await nextReply();
      if (answer.code !== 220) {
        return fail(new Error(`MTA refused XCLIENT: ${answer.lines.join(' / ').slice(0, 200)}`));
      }
      splice(answer.raw, buf);
    })();
  });

  return {
    input: toMta,
    output: fromMta,
    exited,
    get startError() {
      return startError;
    },
    kill: () => {
      socket.destroy();
    },
  };
}
