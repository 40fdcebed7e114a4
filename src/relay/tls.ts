// TLS that levee terminates itself (spec §5.5): the server context from the tls-* options, and the
// handshake on the client connection. node:tls is required only here and only when a certificate
// is configured, so a session without TLS never loads OpenSSL bindings.
//
// Under tcpserver fd 0 and fd 1 are the same TCP socket: the TLS layer is put directly on stdin's
// socket handle (native, no copying in JavaScript; handles.ts gives the handle up to a
// net.Socket). With two pipes (tests), or one socket for both directions (levee serve: the socket
// must outlive a failed handshake for the plaintext 454), a small Duplex joins the streams instead.
import type { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { Logger } from '../log';
import type { OptionValues } from '../options/table';
import { HandleSource } from './handles';
import type { ByteSink, ByteSource } from './io';

export type TlsOptions = Pick<
  OptionValues,
  | 'tls-level'
  | 'tls-certificate-file'
  | 'tls-privatekey-file'
  | 'tls-privatekey-password'
  | 'tls-privatekey-password-file'
  | 'tls-cipher-list'
  | 'tls-dhparams-file'
>;

/** a client that does not finish its handshake in this time is given up */
const HANDSHAKE_TIMEOUT_MS = 60_000;

/** True when the configuration asks levee to terminate TLS itself (it may still fail to load). */
export function ownTlsConfigured(o: TlsOptions): boolean {
  return !!o['tls-certificate-file'] && o['tls-level'] !== 'none';
}

let cached: { ctx: SecureContext | null } | undefined;

/**
 * The server context, built once per process (call it before dropping privileges: it reads the key).
 * null when TLS is not configured or could not be set up (logged once): spamdyke then treats the
 * session as if no certificate were given.
 */
export function serverContext(o: TlsOptions, log: Logger): SecureContext | null {
  if (cached) return cached.ctx;
  cached = { ctx: null };
  if (!ownTlsConfigured(o)) return null;
  const cert = o['tls-certificate-file'] ?? '';
  try {
    const certPem = readFileSync(cert);
    const keyPem = o['tls-privatekey-file'] ? readFileSync(o['tls-privatekey-file']) : certPem;
    let passphrase: string | undefined = o['tls-privatekey-password'] || undefined;
    if (!passphrase && o['tls-privatekey-password-file']) {
      const text = readFileSync(o['tls-privatekey-password-file'], 'latin1');
      passphrase = text.split(/\r?\n/)[0];
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tls = require('node:tls') as typeof import('node:tls');
    cached.ctx = tls.createSecureContext({
      cert: certPem,
      key: keyPem,
      passphrase,
      ciphers: o['tls-cipher-list'] || 'DEFAULT',
      dhparam: o['tls-dhparams-file'] ? readFileSync(o['tls-dhparams-file']) : undefined,
    });
  } catch (e) {
    log.error(`unable to set up TLS with certificate ${cert}; TLS disabled: ${(e as Error).message}`);
  }
  return cached.ctx;
}

/** for tests: forget the cached context */
export function resetServerContext(): void {
  cached = undefined;
}

interface HandleOwner {
  _handle?: { constructor?: { name?: string } } | null;
}

/** stdin is a TCP socket (tcpserver): the same socket carries our output. */
function isTcpSocket(s: ByteSource): boolean {
  if (s instanceof HandleSource) return s.sharesSocketWithOutput;
  return (s as unknown as HandleOwner)._handle?.constructor?.name === 'TCP';
}

/** stdin's TCP socket as a net.Socket for node:tls (levee stops reading it itself). */
function tcpTransport(s: ByteSource): Duplex {
  if (!(s instanceof HandleSource)) return s as unknown as Duplex;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Socket } = require('node:net') as typeof import('node:net');
  return new Socket({
    handle: s.release(),
    readable: true,
    writable: true,
    allowHalfOpen: true,
  } as ConstructorParameters<typeof Socket>[0]);
}

interface JoinedStreamsClass {
  new (input: ByteSource, output: ByteSink): Duplex & { start(): void };
}
let JoinedStreams: JoinedStreamsClass | undefined;

/**
 * One Duplex over a read side and a write side (two pipes), started at once. The class is made on
 * first use: node:stream is required only by a session that starts TLS.
 */
function joinStreams(input: ByteSource, output: ByteSink): Duplex {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Duplex } = require('node:stream') as typeof import('node:stream');
  JoinedStreams ??= class extends Duplex {
    constructor(
      private readonly input: ByteSource,
      private readonly output: ByteSink,
    ) {
      super();
    }

    start(): void {
      this.input.on('data', (c: Buffer) => {
        if (!this.push(c)) this.input.pause();
      });
      this.input.on('end', () => this.push(null));
      this.input.on('error', (e) => this.destroy(e));
      this.output.on('error', (e) => this.destroy(e));
      this.input.resume();
    }

    override _read(): void {
      this.input.resume();
    }

    override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
      if (this.output.write(chunk)) cb();
      else this.output.once('drain', () => cb());
    }

    override _final(cb: (e?: Error | null) => void): void {
      this.output.end(cb);
    }

    /** the session is over: stop reading (an open stdin would keep the process alive) */
    override _destroy(e: Error | null, cb: (e?: Error | null) => void): void {
      if ((this.input as unknown) === this.output) {
        // one socket (levee serve): it outlives the TLS layer, so that a failed handshake can
        // still be answered in plaintext; the session ends it
        this.input.removeAllListeners('data');
        this.input.pause();
        cb(e);
        return;
      }
      this.input.destroy();
      if (!this.output.writableEnded) this.output.end();
      cb(e);
    }
  };
  const joined = new JoinedStreams(input, output);
  joined.start();
  return joined;
}

/** What the handshake needs of the client connection (ClientIO has this shape). */
export interface ClientStreams {
  readonly input: ByteSource;
  readonly output: ByteSink;
  replaceStreams(input: ByteSource, output: ByteSink): void;
}

/**
 * Puts TLS on the client connection and waits for the handshake. Everything the client sent before
 * (still queued in levee) is dropped by the switch (CVE-2011-0411). On success the client's streams
 * are the TLS socket's plaintext; on failure the error is returned and the old output is kept for
 * the 454 reply.
 */
export function startServerTls(
  client: ClientStreams,
  ctx: SecureContext,
  timeoutMs = HANDSHAKE_TIMEOUT_MS,
): Promise<{ socket: TLSSocket } | { error: Error; rawOutput: ByteSink }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tls = require('node:tls') as typeof import('node:tls');
  const rawIn = client.input;
  const rawOut = client.output;
  // detach levee's reader from the raw input first (and drop queued input); everything from here
  // to the TLS socket's creation is synchronous, so no byte of the client's handshake is lost
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PassThrough } = require('node:stream') as typeof import('node:stream');
  client.replaceStreams(new PassThrough(), rawOut);
  // under tcpserver fd 0 and fd 1 are two descriptors of one TCP socket: TLS goes straight onto
  // fd 0's handle (native), and fd 1 is still there for a 454 when the handshake fails. One socket
  // for both directions (levee serve) has no second descriptor: TLS runs over a JS stream instead
  const transport: Duplex =
    isTcpSocket(rawIn) && (rawIn as unknown) !== rawOut ? tcpTransport(rawIn) : joinStreams(rawIn, rawOut);
  const socket = new tls.TLSSocket(transport, { isServer: true, secureContext: ctx });
  socket.once('close', () => transport.destroy());
  client.replaceStreams(socket, socket);
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: { socket: TLSSocket } | { error: Error; rawOutput: ByteSink }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      finish({ error: new Error('handshake timed out'), rawOutput: rawOut });
      socket.destroy();
    }, timeoutMs);
    socket.once('secure', () => finish({ socket }));
    socket.once('error', (e: Error) => finish({ error: e, rawOutput: rawOut }));
    socket.once('close', () =>
      finish({ error: new Error('connection closed during handshake'), rawOutput: rawOut }),
    );
    // later errors (client resets the connection) end the session through ClientIO's EOF
    socket.on('error', () => {});
  });
}

/** A short description of the negotiated session for the debug log. */
export function describeTls(socket: TLSSocket): string {
  const c = socket.getCipher();
  return `${socket.getProtocol() ?? 'unknown'} ${c?.name ?? 'unknown cipher'}`;
}
