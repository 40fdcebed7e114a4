// The commands that concern security: EHLO advertisement rewriting, AUTH and STARTTLS (spec §5.2,
// §5.3, §5.5). They talk to the session only through SessionPort, so this file can grow (levee's
// own AUTH and TLS) without reaching into the state machine.
import type { OptionValues } from '../options/table';
import type { Logger, TrafficRecord } from '../log';
import type { ChildIO, ClientIO, Reply } from '../relay/io';
import type { Decision } from './decision';
import type { Encryption } from './session';
import { argumentOf, authUserFrom, stripCr } from './commands';
import { rewriteEhlo } from './ehlo';
import { makeRejection } from './rejections';

/** What the security commands may use of the session. */
export interface SessionPort {
  readonly o: OptionValues;
  readonly log: Logger;
  readonly decision: Decision;
  readonly client: ClientIO;
  readonly childIO: ChildIO | undefined;
  authUser: string;
  encryption: Encryption;
  /** forwards a client line to the child; null when the child is gone (the client was told) */
  forward(raw: Buffer): Promise<Reply | null>;
  /** the next client line (child output meanwhile is relayed) */
  nextLine(): Promise<Buffer | 'eof' | 'toolong'>;
  reply(code: number, text: string): void;
  send(b: Buffer): void;
  relayReply(r: Reply, lines?: readonly string[]): void;
  traffic(code: string, recipient: string, reason: string, extra?: Partial<TrafficRecord>): void;
  resetTransaction(): void;
  activity(): void;
}

export class Security {
  constructor(private readonly s: SessionPort) {}

  /** The child's EHLO reply, with AUTH/STARTTLS lines as the configured levels want them. */
  async ehlo(raw: Buffer): Promise<boolean> {
    const s = this.s;
    const r = await s.forward(raw);
    if (!r) return true;
    const o = s.o;
    const tlsOff =
      o['tls-level'] === 'none' || (o['tls-level'] === 'smtp-no-passthrough' && !o['tls-certificate-file']);
    const lines = rewriteEhlo(r.lines, { removeAuth: o['smtp-auth-level'] === 'none', removeTls: tlsOff });
    s.relayReply(r, lines);
    return false;
  }

  /** AUTH while the child handles it (observe / none): relay the exchange, watch for 235. */
  async auth(line: string, raw: Buffer): Promise<boolean> {
    const s = this.s;
    const words = argumentOf(line, 'auth').trim().split(/\s+/);
    const mechanism = (words[0] ?? '').toUpperCase();
    let user = words[1] ? authUserFrom(mechanism, words[1]) : '';
    let r = await s.forward(raw);
    while (r && r.code === 334) {
      s.relayReply(r);
      const resp = await s.nextLine();
      if (resp === 'eof' || resp === 'toolong') return resp === 'eof';
      const text = stripCr(resp).toString('latin1');
      if (!user) user = authUserFrom(mechanism, text);
      r = await s.forward(resp);
    }
    if (!r) return true;
    if (r.code === 235 && s.o['smtp-auth-level'] !== 'none') {
      s.authUser = user || '(unknown)';
      s.decision.authenticate();
    }
    s.relayReply(r);
    return false;
  }

  async starttls(raw: Buffer): Promise<boolean> {
    const s = this.s;
    const o = s.o;
    const level = o['tls-level'];
    if (
      s.encryption !== '' ||
      level === 'none' ||
      (level === 'smtp-no-passthrough' && !o['tls-certificate-file'])
    ) {
      s.reply(554, makeRejection('tlsFailure', o, '', '').text);
      return false;
    }
    const r = await s.forward(raw);
    if (!r) return true;
    s.relayReply(r);
    if (r.code !== 220) return false;
    // the child does TLS itself: from here on the session is opaque bytes (§5.5)
    s.encryption = 'TLS_PASSTHROUGH';
    s.traffic('TLS_ENCRYPTED', '', '', { sender: '' });
    await this.passthrough();
    return true;
  }

  /** Raw relay in both directions until either side closes (TLS passthrough). */
  private async passthrough(): Promise<void> {
    const s = this.s;
    const child = s.childIO!;
    child.takeOverOutput((c) => {
      s.activity();
      s.client.write(c);
    });
    for (;;) {
      const c = await s.client.readChunk();
      if (c === 'eof') break;
      if (!child.write(c)) await child.drain();
      if (child.exitInfo) break;
    }
    child.endInput();
  }
}
