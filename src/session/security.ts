// The commands that concern security: EHLO advertisement rewriting, AUTH and STARTTLS (spec §5.2,
// §5.3, §5.5), and SMTPS before the greeting. They talk to the session only through SessionPort,
// so the state machine does not know how AUTH or TLS work.
import type { OptionValues } from '../options/table';
import type { Logger, TrafficRecord } from '../log';
import type { ChildIO, ClientIO, Reply } from '../relay/io';
import type { Decision } from './decision';
import type { Encryption } from './session';
import { argumentOf, authUserFrom, stripCr } from './commands';
import { advertisesAuth, rewriteEhlo } from './ehlo';
import { makeRejection } from './rejections';
import { mechanismsFor, parseAuthCommand, cramChallenge, type Mechanism } from '../auth/mechanisms';
import { runExchange, type AuthDialog } from '../auth/exchange';
// node:tls and node:crypto are required inside these modules only when used
import { describeTls, ownTlsConfigured, serverContext, startServerTls } from '../relay/tls';
import { printable, verifyCredentials } from '../auth/checkpassword';
import { challengeHostname } from '../auth/hostname';

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
  /** levee answers AUTH itself in this session (always*, or ondemand* after advertising it) */
  private ownAuth: boolean;

  constructor(private readonly s: SessionPort) {
    this.ownAuth = this.authCommandSet && s.o['smtp-auth-level'].startsWith('always');
  }

  /** levels ondemand..always-encrypted only act with an smtp-auth-command (spec §5.3) */
  private get authCommandSet(): boolean {
    return this.s.o['smtp-auth-command'].length > 0;
  }

  private get offered(): Mechanism[] {
    return this.authCommandSet ? mechanismsFor(this.s.o['smtp-auth-level']) : [];
  }

  /** levee can terminate STARTTLS itself right now (certificate loaded, not yet encrypted) */
  private ownTlsUsable(): boolean {
    const o = this.s.o;
    if (this.s.encryption !== '' || !ownTlsConfigured(o) || o['tls-level'] === 'smtps') return false;
    return serverContext(o, this.s.log) !== null;
  }

  /**
   * tls-level=smtps: the handshake before the child's banner is relayed (spec §5.5). False when
   * the connection must be closed (logged). The session calls this before relaying the greeting.
   */
  async beforeGreeting(): Promise<boolean> {
    const s = this.s;
    if (s.o['tls-level'] !== 'smtps') return true;
    const ctx = ownTlsConfigured(s.o) ? serverContext(s.o, s.log) : null;
    if (!ctx) {
      s.log.error('unable to start SMTPS: no usable certificate (tls-certificate-file); closing connection');
      return false;
    }
    s.activity();
    const r = await startServerTls(s.client, ctx);
    if ('error' in r) {
      s.log.error(`unable to start SMTPS due to a protocol failure; closing connection: ${r.error.message}`);
      return false;
    }
    s.encryption = 'SSL';
    s.log.debug(`SMTPS started: ${describeTls(r.socket)}`);
    return true;
  }

  /** The child's EHLO reply, with AUTH/STARTTLS lines as the configured levels want them (§5.2). */
  async ehlo(raw: Buffer): Promise<boolean> {
    const s = this.s;
    const r = await s.forward(raw);
    if (!r) return true;
    const o = s.o;
    const level = o['smtp-auth-level'];
    let addAuth: string | undefined;
    const offered = this.offered;
    if (offered.length > 0) {
      if (level.startsWith('always')) addAuth = offered.join(' ');
      else {
        // ondemand*: levee offers AUTH only when the child does not; then it also answers it
        this.ownAuth = !advertisesAuth(r.lines);
        if (this.ownAuth) addAuth = offered.join(' ');
      }
    }
    const ownTls = this.ownTlsUsable();
    const tlsLevel = o['tls-level'];
    const removeTls =
      s.encryption !== '' ||
      tlsLevel === 'none' ||
      tlsLevel === 'smtps' ||
      (tlsLevel === 'smtp-no-passthrough' && !ownTls);
    const lines = rewriteEhlo(r.lines, { removeAuth: level === 'none', removeTls, addAuth, addTls: ownTls });
    s.relayReply(r, lines);
    return false;
  }

  /** AUTH: levee's own dialogue (ondemand/always with an smtp-auth-command), else observed (§5.3). */
  async auth(line: string, raw: Buffer): Promise<boolean> {
    if (this.ownAuth) return this.ownAuthCommand(line);
    return this.observedAuth(line, raw);
  }

  /** AUTH while the child handles it (observe / none): relay the exchange, watch for 235. */
  private async observedAuth(line: string, raw: Buffer): Promise<boolean> {
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

  /** levee's own AUTH: prompts, checkpassword, `235 Proceed.` / 535 / 504. */
  private async ownAuthCommand(line: string): Promise<boolean> {
    const s = this.s;
    const o = s.o;
    if (s.authUser !== '' && s.decision.trusted) {
      // RFC 4954 §4: a second AUTH after success is refused
      s.reply(503, 'Refused. You are already authenticated.');
      return false;
    }
    const { mechanism, initial } = parseAuthCommand(argumentOf(line, 'auth'));
    let ended = false;
    const dialog: AuthDialog = {
      prompt: async (text) => {
        s.send(Buffer.from(`334 ${text}\r\n`, 'latin1'));
        const got = await s.nextLine();
        s.activity();
        if (got === 'eof') {
          ended = true;
          return null;
        }
        // an over-long answer is no valid base64 answer: the exchange fails
        return got === 'toolong' ? '' : stripCr(got).toString('latin1');
      },
      challenge: async () => {
        const host = await challengeHostname(o, process.env, s.log);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { randomInt } = require('node:crypto') as typeof import('node:crypto');
        return cramChallenge(randomInt(1, 2 ** 31 - 1), Math.floor(Date.now() / 1000), host);
      },
    };
    const result = await runExchange(mechanism, initial, this.offered, dialog);
    if (result.kind === 'eof' || ended) return true;
    if (result.kind === 'unknown') {
      s.reply(504, makeRejection('authUnknown', o, '', '').text);
      return false;
    }
    const ok =
      result.kind === 'credentials' &&
      (await verifyCredentials(o['smtp-auth-command'], result.credentials, s.log));
    s.activity();
    if (!ok || result.kind !== 'credentials') {
      s.reply(535, makeRejection('authFailure', o, '', '').text);
      return false;
    }
    s.authUser = printable(result.credentials.user) || '(unknown)';
    s.decision.authenticate();
    s.reply(235, 'Proceed.');
    return false;
  }

  async starttls(raw: Buffer): Promise<boolean> {
    const s = this.s;
    const o = s.o;
    const level = o['tls-level'];
    if (this.ownTlsUsable()) return this.ownStarttls();
    if (
      s.encryption !== '' ||
      level === 'none' ||
      level === 'smtps' ||
      (level === 'smtp-no-passthrough' && !this.ownTlsUsable())
    ) {
      s.reply(554, makeRejection('tlsFailure', o, '', '').text);
      return false;
    }
    const r = await s.forward(raw);
    if (!r) return true;
    // whatever the client sent behind STARTTLS before it saw the 220 is plaintext injected into
    // the TLS session to come (CVE-2011-0411): it never reaches the child
    if (r.code === 220) s.client.discardQueued();
    s.relayReply(r);
    if (r.code !== 220) return false;
    // the child does TLS itself: from here on the session is opaque bytes (§5.5)
    s.encryption = 'TLS_PASSTHROUGH';
    s.traffic('TLS_ENCRYPTED', '', '', { sender: '' });
    await this.passthrough();
    return true;
  }

  /**
   * STARTTLS terminated by levee: `220 Proceed.`, the handshake, then the SMTP state starts afresh
   * (RFC 3207 §4.2). The child never sees STARTTLS; it gets an RSET (its reply is not relayed) so
   * that a transaction begun in plaintext cannot continue inside TLS.
   */
  private async ownStarttls(): Promise<boolean> {
    const s = this.s;
    const ctx = serverContext(s.o, s.log)!;
    // commands pipelined behind STARTTLS were sent in plaintext: they are dropped unread
    s.client.discardQueued();
    s.reply(220, 'Proceed.');
    s.activity();
    const r = await startServerTls(s.client, ctx);
    if ('error' in r) {
      // the plaintext channel is gone too (the client's bytes went into the TLS layer): say why, end
      const text = makeRejection('tlsFailure', s.o, '', '').text;
      r.rawOutput.write(Buffer.from(`454 ${text}\r\n`, 'latin1'));
      r.rawOutput.end();
      s.log.error(`TLS negotiation failed: ${r.error.message}`);
      return true;
    }
    s.encryption = 'TLS';
    s.log.debug(`TLS started: ${describeTls(r.socket)}`);
    s.resetTransaction();
    const child = s.childIO;
    if (child && !child.cutOff) {
      const rset = await s.forward(Buffer.from('RSET\r'));
      if (!rset) return true;
    }
    return false;
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
