// The listening side of `levee serve`: accepts connections, enforces the total and per-IP limits
// (a clean 421 when full), runs one Session per connection in this process, reloads the
// configuration on SIGHUP (new connections get it; running ones keep theirs) and drains on SIGTERM.
import net from 'node:net';
import { runConnection, type ServeConfig } from './connection';
import type { ListenAddress } from './args';

/** What a client gets when levee is full; it is told to come back (RFC 5321 §3.8: 421 then close). */
export const BUSY_REPLY = Buffer.from('421 Too many connections. Try again later.\r\n', 'latin1');
/** a refused client that does not read its 421 is dropped after this long */
const BUSY_CLOSE_MS = 5000;

export interface ServerEvents {
  /** one line for the daemon's own log (stderr) */
  note(text: string): void;
}

export class ConnectionLimits {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly maxTotal: () => number,
    private readonly maxPerIp: () => number,
  ) {}

  get active(): number {
    return this.total;
  }

  /** Takes a slot for `ip`, or says why there is none. */
  acquire(ip: string): 'ok' | 'total' | 'per-ip' {
    if (this.total >= this.maxTotal()) return 'total';
    const n = this.perIp.get(ip) ?? 0;
    const perIp = this.maxPerIp();
    if (perIp > 0 && n >= perIp) return 'per-ip';
    this.total++;
    this.perIp.set(ip, n + 1);
    return 'ok';
  }

  release(ip: string): void {
    this.total--;
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n > 0) this.perIp.set(ip, n);
    else this.perIp.delete(ip);
  }
}

export class ServeDaemon {
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly limits: ConnectionLimits;
  private stopping = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private cfg: ServeConfig,
    private readonly events: ServerEvents,
  ) {
    this.limits = new ConnectionLimits(
      () => this.cfg.args.maxConnections,
      () => this.cfg.args.maxPerIp,
    );
  }

  /** Binds every address; resolves with the bound addresses (port 0 becomes the real port). */
  async listen(addresses: readonly ListenAddress[]): Promise<ListenAddress[]> {
    const bound: ListenAddress[] = [];
    for (const a of addresses) {
      const server = net.createServer((socket) => this.accept(socket));
      server.on('error', (e) => this.events.note(`listener error: ${e.message}`));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: a.host, port: a.port, backlog: 511 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address() as net.AddressInfo;
      bound.push({ host: a.host, port: addr.port });
      this.servers.push(server);
    }
    return bound;
  }

  /** New connections use `cfg` from now on (SIGHUP). */
  reload(cfg: ServeConfig): void {
    this.cfg = cfg;
  }

  get activeConnections(): number {
    return this.limits.active;
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => {});
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const ip = socket.remoteAddress ?? '';
    const slot = this.limits.acquire(ip);
    if (slot !== 'ok') {
      this.events.note(
        `refused connection from ${ip}: ${slot === 'total' ? 'too many connections' : 'too many connections from this address'}`,
      );
      socket.end(BUSY_REPLY);
      setTimeout(() => socket.destroy(), BUSY_CLOSE_MS).unref();
      return;
    }
    this.sockets.add(socket);
    const cfg = this.cfg;
    void runConnection(socket, cfg)
      .catch((e: unknown) =>
        this.events.note(`internal error: ${e instanceof Error ? e.message : String(e)}`),
      )
      .finally(() => {
        this.sockets.delete(socket);
        this.limits.release(ip);
        if (this.sockets.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
  }

  /**
   * SIGTERM: stop accepting, let running sessions finish for up to `graceMs`, then close their
   * client connections (each session then ends its downstream as on a client disconnect).
   */
  async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const s of this.servers) s.close();
    if (this.sockets.size === 0) return;
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>(
      (resolve) => (timer = setTimeout(() => resolve('deadline'), graceMs)),
    );
    const r = await Promise.race([idle, deadline]);
    clearTimeout(timer);
    if (r === 'deadline') {
      this.events.note(`shutdown deadline reached: closing ${this.sockets.size} session(s)`);
      // with an error, so the session sees the client gone (a plain destroy() emits no 'end')
      for (const s of this.sockets) s.destroy(new Error('levee is shutting down'));
      await Promise.race([idle, new Promise((resolve) => setTimeout(resolve, 15_000).unref())]);
    }
  }
}
