// A raw SMTP client on node:net for what swaks cannot do: pipelining in one write, talking before the
// banner, bare LF, odd bytes, half-close. It never interprets replies beyond splitting them, so a test
// sees exactly what the server sent. Every wait has a timeout and its error shows what was received.
import net from 'node:net';

export interface SmtpReply {
  code: number;
  /** the reply's lines without CRLF, e.g. ['250-mx.test', '250 PIPELINING'] */
  lines: string[];
  /** the reply's exact text including CRLFs */
  raw: string;
}

export interface SmtpClientOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** source address; any 127.x.y.z works on loopback and becomes TCPREMOTEIP */
  localAddress?: string;
  /** connect timeout and default for every wait; default 5000 ms */
  timeoutMs?: number;
}

const CRLF = Buffer.from('\r\n');
// One reply line: 3 digits, then '-' (more lines follow) or ' ' (last line) or nothing (last line).
const REPLY_LINE = /^(\d{3})([- ]?)/;

export class SmtpClient {
  private readonly socket: net.Socket;
  private readonly defaultTimeoutMs: number;
  private readonly chunks: Buffer[] = [];
  private unread: Buffer = Buffer.alloc(0);
  private remoteEnded = false;
  private closed = false;
  private error: Error | null = null;
  private readonly listeners = new Set<() => void>();

  private constructor(socket: net.Socket, timeoutMs: number) {
    this.socket = socket;
    this.defaultTimeoutMs = timeoutMs;
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.unread = this.unread.length === 0 ? chunk : Buffer.concat([this.unread, chunk]);
      this.notify();
    });
    socket.on('end', () => {
      this.remoteEnded = true;
      this.notify();
    });
    socket.on('error', (err) => {
      this.error = err;
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  static connect(port: number, opts: SmtpClientOptions = {}): Promise<SmtpClient> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const host = opts.host ?? '127.0.0.1';
    return new Promise((resolveConnect, rejectConnect) => {
      // allowHalfOpen: after the server's FIN we may still write, to test what the server does then
      const socket = net.connect({ port, host, localAddress: opts.localAddress, allowHalfOpen: true });
      const client = new SmtpClient(socket, timeoutMs);
      const timer = setTimeout(() => {
        socket.destroy();
        rejectConnect(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolveConnect(client);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        rejectConnect(new Error(`connect to ${host}:${port} failed: ${err.message}`));
      });
    });
  }

  /** Sends bytes as they are (no CRLF added); resolves when handed to the kernel. */
  write(data: string | Buffer): Promise<void> {
    return new Promise((done, fail) => {
      if (this.socket.writableEnded || this.socket.destroyed) {
        fail(new Error(`write after the connection was closed; received:\n${this.received()}`));
        return;
      }
      this.socket.write(data, (err) => (err ? fail(err) : done()));
    });
  }

  /** Reads the next complete reply (single or multi-line). */
  readReply(timeoutMs = this.defaultTimeoutMs): Promise<SmtpReply> {
    return this.waitFor(() => this.takeReply(), timeoutMs, 'a reply');
  }

  /** Reads `n` replies in order (e.g. the answers to a pipelined group). */
  async readAll(n: number, timeoutMs = this.defaultTimeoutMs): Promise<SmtpReply[]> {
    const replies: SmtpReply[] = [];
    for (let i = 0; i < n; i++) replies.push(await this.readReply(timeoutMs));
    return replies;
  }

  /** Writes `line` + CRLF and reads one reply. */
  async command(line: string, timeoutMs = this.defaultTimeoutMs): Promise<SmtpReply> {
    await this.write(line + '\r\n');
    return this.readReply(timeoutMs);
  }

  /**
   * Resolves when the server has closed the connection (FIN or reset), with whatever arrived that no
   * readReply consumed; rejects if it is still open after `ms`.
   */
  async expectClosed(ms = this.defaultTimeoutMs): Promise<string> {
    await this.waitFor(() => (this.remoteEnded || this.closed ? true : undefined), ms, 'the server to close');
    return this.unread.toString('utf8');
  }

  /** Resolves if nothing new arrives (and the connection stays open) for `ms`; rejects otherwise. */
  expectNothing(ms: number): Promise<void> {
    const before = this.receivedBytes().length;
    return new Promise((done, fail) => {
      const listener = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        const what = this.receivedBytes().length > before ? 'data arrived' : 'the connection closed';
        fail(new Error(`expected silence for ${ms} ms but ${what}; received:\n${this.received()}`));
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        done();
      }, ms);
      this.listeners.add(listener);
    });
  }

  /** Half-close: sends FIN, keeps reading. */
  endWrite(): void {
    this.socket.end();
  }

  /** Closes both directions at once (no QUIT). */
  close(): void {
    this.socket.destroy();
  }

  /** Everything received so far, decoded as UTF-8. */
  received(): string {
    return this.receivedBytes().toString('utf8');
  }

  receivedBytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** True once the server's FIN or a reset arrived. */
  isClosed(): boolean {
    return this.remoteEnded || this.closed;
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  // Removes one complete reply from the front of `unread`, or returns undefined if none is there yet.
  private takeReply(): SmtpReply | undefined {
    let offset = 0;
    const lines: string[] = [];
    for (;;) {
      const end = this.unread.indexOf(CRLF, offset);
      if (end < 0) return undefined;
      const line = this.unread.subarray(offset, end).toString('utf8');
      offset = end + 2;
      lines.push(line);
      const m = REPLY_LINE.exec(line);
      if (!m)
        throw new Error(`not an SMTP reply line: ${JSON.stringify(line)}; received:\n${this.received()}`);
      if (m[2] !== '-') {
        const raw = this.unread.subarray(0, offset).toString('utf8');
        this.unread = this.unread.subarray(offset);
        return { code: Number(m[1]), lines, raw };
      }
    }
  }

  private waitFor<T>(check: () => T | undefined, ms: number, what: string): Promise<T> {
    return new Promise<T>((resolveWait, rejectWait) => {
      const finish = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      const attempt = () => {
        let value: T | undefined;
        try {
          value = check();
        } catch (err) {
          finish();
          rejectWait(err);
          return;
        }
        if (value !== undefined) {
          finish();
          resolveWait(value);
        } else if (this.remoteEnded || this.closed) {
          finish();
          const why = this.error ? `connection error (${this.error.message})` : 'connection closed';
          rejectWait(new Error(`${why} while waiting for ${what}; received:\n${this.received()}`));
        }
      };
      const listener = () => attempt();
      const timer = setTimeout(() => {
        finish();
        rejectWait(new Error(`timed out after ${ms} ms waiting for ${what}; received:\n${this.received()}`));
      }, ms);
      this.listeners.add(listener);
      attempt();
    });
  }
}

/**
 * The bytes a client sends after 354 for `message`: dot-stuffed, CRLF added if the message does not
 * end with one, then ".\r\n". The message's line endings are left as they are.
 */
export function dataSection(message: string | Buffer): Buffer {
  const text = Buffer.isBuffer(message)
    ? message.toString('latin1')
    : Buffer.from(message).toString('latin1');
  const stuffed = text.replace(/(^|\r\n)\./g, '$1..');
  const ending = stuffed === '' || stuffed.endsWith('\r\n') ? '' : '\r\n';
  return Buffer.from(stuffed + ending + '.\r\n', 'latin1');
}
