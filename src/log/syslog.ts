// Real syslog: RFC 3164 datagrams to the local socket (/dev/log), facility mail, ident `levee`, with
// the PID — what glibc's openlog("spamdyke", LOG_PID, LOG_MAIL) + syslog() sends. Node has no unix
// datagram sockets, so the native `unix-dgram` addon is required on the first syslog line only.
import { syslogDatagram } from './format';

export const SYSLOG_IDENT = 'levee';
export const DEFAULT_SYSLOG_SOCKET = '/dev/log';
const RETRY_AFTER_FAILURE_MS = 1000;
const CONGESTION_RETRIES = 20; // 1 ms apart: syslogd is briefly behind
const IDLE_CLOSE_MS = 100;

interface DgramSocket {
  on(event: 'error', listener: (err: Error) => void): unknown;
  connect(path: string): void;
  send(buf: Buffer, callback: (err?: Error & { code?: unknown }) => void): void;
  close(): void;
}
interface UnixDgramModule {
  createSocket(type: 'unix_dgram'): DgramSocket;
}

let sleeper: Int32Array | undefined;
function sleepMs(ms: number): void {
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleeper, 0, 0, ms);
}

/**
 * One connected datagram socket per process. Failures are silent: when the socket cannot be
 * reached the line is dropped (stderr, if configured, still has it), and a new connect is tried
 * no sooner than a second later. The socket keeps node's event loop alive, so it is closed after
 * a short idle time even if close() is never called.
 */
export class SyslogSender {
  private socket: DgramSocket | null = null;
  private failedAt = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly path: string;

  constructor(
    private readonly pid: number,
    path?: string,
  ) {
    this.path = path ?? (process.env.LEVEE_SYSLOG_SOCKET || DEFAULT_SYSLOG_SOCKET);
  }

  send(severity: number, msg: string, now: Date = new Date()): boolean {
    const datagram = Buffer.from(syslogDatagram(severity, SYSLOG_IDENT, this.pid, msg, now), 'utf8');
    for (let attempt = 0; attempt < 2; attempt++) {
      const sock = this.connect();
      if (!sock) return false;
      const result = this.sendOnce(sock, datagram);
      if (result === 'ok') {
        this.armIdleClose();
        return true;
      }
      // the daemon may have restarted (ECONNREFUSED/ENOTCONN): reconnect once
      this.drop();
      if (result === 'dropped') break;
    }
    this.failedAt = Date.now();
    return false;
  }

  close(): void {
    this.drop();
  }

  private sendOnce(sock: DgramSocket, datagram: Buffer): 'ok' | 'reconnect' | 'dropped' {
    for (let tries = 0; ; tries++) {
      let outcome: 'ok' | 'congestion' | 'error' = 'ok';
      try {
        sock.send(datagram, (err) => {
          if (err) outcome = err.message === 'congestion' ? 'congestion' : 'error';
        });
      } catch {
        outcome = 'error';
      }
      if (outcome === 'ok') return 'ok';
      if (outcome === 'error') return 'reconnect';
      if (tries >= CONGESTION_RETRIES) return 'dropped';
      sleepMs(1);
    }
  }

  private connect(): DgramSocket | null {
    if (this.socket) return this.socket;
    if (this.failedAt && Date.now() - this.failedAt < RETRY_AFTER_FAILURE_MS) return null;
    let sock: DgramSocket | null = null;
    let failed = false;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const dgram = require('unix-dgram') as UnixDgramModule;
      sock = dgram.createSocket('unix_dgram');
      sock.on('error', () => {
        failed = true;
      });
      sock.connect(this.path); // synchronous: a failure has emitted 'error' by now
    } catch {
      failed = true;
    }
    if (failed || !sock) {
      if (sock) closeQuietly(sock);
      this.failedAt = Date.now();
      return null;
    }
    this.failedAt = 0;
    this.socket = sock;
    return sock;
  }

  private armIdleClose(): void {
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => this.drop(), IDLE_CLOSE_MS);
      // unref'd: it must not keep the process alive by itself, only shut the socket that does
      this.idleTimer.unref();
    }
  }

  private drop(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (this.socket) {
      closeQuietly(this.socket);
      this.socket = null;
    }
  }
}

function closeQuietly(sock: DgramSocket): void {
  try {
    sock.close();
  } catch {
    // already closed or never opened: nothing to release
  }
}
