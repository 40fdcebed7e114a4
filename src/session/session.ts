// One SMTP session in wrapper mode: the client on one side (fd 0/1), the child (qmail-smtpd) on the
// other, and spamdyke's decision model in between (spec §2). levee works in lock-step, as spamdyke
// does: one client command at a time, and the next is read only when the child has answered, so
// replies can never be lost or reordered; pipelined commands simply wait in the input queue. The
// DATA section is streamed through the end-of-data scanner with backpressure.
import type { OptionValues } from '../options/table';
import type { Logger, TrafficRecord } from '../log';
import type { Dns } from '../dns';
import {
  ChildIO,
  ClientIO,
  Interrupted,
  PUMP_MORE,
  PUMP_STOP,
  replyText,
  replyToBuffer,
  spawnDownstream,
  type ByteSink,
  type ByteSource,
  type Downstream,
  type Reply,
} from '../relay/io';
import { DataScanner } from '../relay/data';
import { parseAddress, formatAddress } from '../match/address';
import { Action, Decision, Grace, graceFor } from './decision';
import { makeRejection, replyLine, substitutedCode, type Moment, type Rejection } from './rejections';
import { argumentOf, recognise, stripCr, type Command } from './commands';
import { Security } from './security';
import { logOnly, prefetchStage, runStage } from '../filters/pipeline';
import { HeaderGate, accumulateHeaderPatterns, headerFilterEnabled } from '../filters/header-blacklist';
import { configDirOptions } from '../config-dir';
import type { OptionState } from '../options/parse';
import type { ConnectionFacts, FilterInput } from '../filters/types';

/** How long levee waits for a child reply, or for a client after cutting the child off, when no
 * idle-timeout-secs is configured (spamdyke forces 1200 s once qmail is cut off). */
const DEFAULT_WAIT_SECS = 1200;
/** A child that does not exit after its input was closed is killed after this long. */
const CHILD_REAP_MS = 10_000;

export type Encryption = '' | 'TLS' | 'SSL' | 'TLS_PASSTHROUGH';

export interface SessionDeps {
  o: OptionValues;
  /** child command (qmail-smtpd and its arguments) */
  child: readonly string[];
  /** the parser state behind `o` (config-dir files are applied to copies of it) */
  optionState?: OptionState;
  /** connects the downstream some other way (proxy mode); default: spawn `child` on pipes */
  downstream?: (env: NodeJS.ProcessEnv) => Downstream;
  /** the child, when the caller has already started it (wrapper mode, `childStartsAtOnce`) */
  started?: Downstream;
  /** the child's environment (fixed up, §5.1); called once the connection facts are known */
  childEnv: () => NodeJS.ProcessEnv;
  /** true when the child's environment depends on the rDNS name (rdns-relay-*) */
  childEnvNeedsFacts: boolean;
  facts: ConnectionFacts;
  /**
   * Completes the facts (the rDNS lookup); resolves when they are. Started by the session when it
   * needs them: with the banner relayed first, only once it is out (setting up the DNS channel and
   * sending the queries would otherwise hold it back; the answers are back before the first command
   * is read).
   */
  factsReady: () => Promise<void>;
  log: Logger;
  input: ByteSource;
  output: ByteSink;
  dns: () => Dns;
  /** called with every byte that crosses levee, for full-log-dir transcripts */
  trace?: (direction: TraceDirection, data: Buffer) => void;
}

/**
 * The child starts with the session unless a connection rejection could mean it never starts
 * (grace NONE, §2.3) or its environment waits for the rDNS name; its start-up then overlaps with
 * levee's own and with the connection filters' DNS queries.
 */
export function childStartsAtOnce(o: OptionValues, childEnvNeedsFacts: boolean): boolean {
  return graceFor(o) !== Grace.None && !childEnvNeedsFacts;
}

export type TraceDirection =
  | 'FROM REMOTE TO CHILD'
  | 'FROM CHILD TO REMOTE'
  | 'FROM CHILD, FILTERED'
  | 'FROM LEVEE TO REMOTE'
  | 'FROM LEVEE TO CHILD';

export class Session {
  readonly o: OptionValues;
  readonly log: Logger;
  readonly facts: ConnectionFacts;
  readonly decision = new Decision();
  private readonly security: Security;
  private readonly grace: Grace;
  readonly client: ClientIO;
  private child: ChildIO | undefined;
  private sender = '';
  private accepted: string[] = [];
  authUser = '';
  encryption: Encryption = '';
  private timedOut = false;
  private idleTimer: NodeJS.Timeout | undefined;
  /** when the armed idle timer fires (ms since the epoch) */
  private idleTimerDue = 0;
  /** when the session times out if nothing happens before (0: no idle timeout now) */
  private idleDeadline = 0;
  private connTimer: NodeJS.Timeout | undefined;
  private idleSecs: number;
  private readonly memos = new Map<string, Promise<unknown>>();
  /** config-dir: the options the current message's header check uses (patterns accumulate) */
  private messageOptions: OptionValues | undefined;
  /** config-dir: the decision of the global options, reused while no recipient has files */
  private globalDecision: Decision | undefined;

  constructor(private readonly deps: SessionDeps) {
    this.o = deps.o;
    this.log = deps.log;
    this.facts = deps.facts;
    this.grace = graceFor(this.o);
    this.idleSecs = this.o['idle-timeout-secs'];
    this.client = new ClientIO(deps.input, deps.output, (c) => {
      this.touch();
      deps.trace?.('FROM REMOTE TO CHILD', c);
    });
    this.security = new Security(this);
  }

  /** the child, once started (SessionPort) */
  get childIO(): ChildIO | undefined {
    return this.child;
  }

  /** keeps the idle timer alive from outside (TLS handshakes, AUTH commands) */
  activity(): void {
    this.touch();
  }

  // ---------------------------------------------------------------- timers

  private finished = false;

  /**
   * Something happened: the idle timeout starts again. Called for every chunk of a message body, so
   * it only moves a deadline; the one armed timer re-arms itself for what is left when it fires
   * early (a timer per chunk was ~1.5 % of the relay's time).
   */
  private touch(): void {
    if (this.timedOut || this.finished) return;
    const secs = this.idleSecs || (this.decision.delivered || this.child ? DEFAULT_WAIT_SECS : 0);
    if (secs <= 0) {
      this.idleDeadline = 0;
      return;
    }
    this.idleDeadline = Date.now() + secs * 1000;
    if (this.idleTimer && this.idleTimerDue <= this.idleDeadline) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.armIdleTimer();
  }

  private armIdleTimer(): void {
    this.idleTimerDue = this.idleDeadline;
    this.idleTimer = setTimeout(
      () => {
        this.idleTimer = undefined;
        if (this.timedOut || this.finished || this.idleDeadline === 0) return;
        if (Date.now() < this.idleDeadline) this.armIdleTimer();
        else this.onTimeout();
      },
      Math.max(0, this.idleDeadline - Date.now()),
    );
  }

  private onTimeout(): void {
    if (this.timedOut) return;
    this.timedOut = true;
    const e = new Interrupted('timeout');
    this.client.interrupt(e);
    this.child?.interrupt(e);
  }

  private stopTimers(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.connTimer) clearTimeout(this.connTimer);
  }

  // ---------------------------------------------------------------- output helpers

  send(b: Buffer): void {
    this.deps.trace?.('FROM LEVEE TO REMOTE', b);
    this.client.write(b);
  }

  reply(code: number, text: string): void {
    this.send(replyLine(code, text));
  }

  relayReply(r: Reply, lines?: readonly string[]): void {
    const b = lines ? replyToBuffer(lines) : r.raw;
    this.deps.trace?.('FROM CHILD TO REMOTE', b);
    this.client.write(b);
  }

  traffic(code: string, recipient: string, reason: string, extra: Partial<TrafficRecord> = {}): void {
    this.log.traffic({
      code,
      sender: this.sender,
      recipient,
      ip: this.facts.ip,
      rdns: this.facts.rdns,
      auth: this.authUser,
      encryption: this.encryption,
      reason,
      ...extra,
    });
  }

  private logRejection(r: Rejection, recipient: string, at: Moment): void {
    this.traffic(r.logCode, recipient, r.reason, { filter: r.filter, replyCode: substitutedCode(r, at) });
  }

  private filterInput(extra: { recipient?: string; o?: OptionValues } = {}): FilterInput {
    return {
      o: extra.o ?? this.o,
      facts: this.facts,
      log: this.log,
      sender: this.sender,
      recipient: extra.recipient,
      authUser: this.authUser,
      acceptedRecipients: this.accepted.length,
      dns: this.deps.dns,
      memo: <T>(key: string, make: () => Promise<T>): Promise<T> => {
        let p = this.memos.get(key) as Promise<T> | undefined;
        if (!p) {
          p = make();
          this.memos.set(key, p);
        }
        return p;
      },
    };
  }

  // ---------------------------------------------------------------- filter-level

  /** filter-level (§2.4 step 1), evaluated at connect, at MAIL and after each RCPT. */
  private applyFilterLevel(d: Decision = this.decision, o: OptionValues = this.o): void {
    const level = o['filter-level'];
    if (d.locked) return;
    if (level === 'reject-all') {
      this.log.filter('FILTER_REJECT_ALL', []);
      d.rejectAndLock(makeRejection('rejectAll', o, '', 'filter-level'));
    } else if (level === 'require-auth' && d.action !== Action.Authenticated) {
      this.log.filter('FILTER_AUTH_REQUIRED', []);
      d.forceReject(makeRejection('authRequired', o, '', 'filter-level'));
    } else if (level === 'allow-all' && d.whitelistMayRun()) {
      this.log.filter('FILTER_ALLOW_ALL', []);
      d.whitelist();
    }
  }

  // ---------------------------------------------------------------- the session

  /** Runs the whole session; resolves with levee's exit status. */
  async run(): Promise<number> {
    const o = this.o;
    if (o['connection-timeout-secs'] > 0)
      this.connTimer = setTimeout(() => this.onTimeout(), o['connection-timeout-secs'] * 1000);
    this.touch();
    const configDir = o['config-dir'].length > 0;
    if (childStartsAtOnce(o, this.deps.childEnvNeedsFacts)) this.startChild();
    // Nothing the connection filters decide can change the banner when the child is already
    // running (grace is not NONE) and there is no earlytalker delay: the banner then goes out as
    // soon as the child sends it, and the rDNS and DNSBL answers arrive while the client reads it
    // and writes its first command, which waits for them.
    const bannerFirst = this.child !== undefined && o['greeting-delay-secs'] <= 0;
    const connectChecks = async () => {
      // what needs only the client's address (the IP DNSBLs and DNSWLs) is asked together with its
      // rDNS name, not a round trip after it
      if (!configDir) prefetchStage('connect', this.filterInput());
      await this.deps.factsReady();
      this.applyFilterLevel();
      if (!configDir) await runStage('connect', this.filterInput(), this.decision);
    };
    try {
      if (!(await this.security.beforeGreeting())) return await this.finish();
      if (!bannerFirst) {
        await connectChecks();
        await this.earlytalker();
      }
      if (this.decision.rejecting && this.grace === Grace.None) {
        // qmail is never started; levee answers everything itself (§2.3)
        this.deliver('greeting');
      } else {
        if (!this.child) this.startChild();
        const ok = await this.greeting();
        if (!ok) return await this.finish();
      }
      // with the banner first, the connection filters start once it is out
      if (bannerFirst) await connectChecks();
      await this.commandLoop();
    } catch (e) {
      if (!(e instanceof Interrupted)) throw e;
    }
    if (this.timedOut) this.timeoutReply();
    return await this.finish();
  }

  private startChild(): void {
    const down =
      this.deps.started ??
      (this.deps.downstream
        ? this.deps.downstream(this.deps.childEnv())
        : spawnDownstream(this.deps.child, this.deps.childEnv()));
    this.child = new ChildIO(down, (c, filtered) => {
      this.touch();
      this.deps.trace?.(filtered ? 'FROM CHILD, FILTERED' : 'FROM CHILD TO REMOTE', c);
    });
  }

  /** earlytalker (§2.4 step 19, errata 10): any client byte before the banner is let through. */
  private async earlytalker(): Promise<void> {
    const secs = this.o['greeting-delay-secs'];
    if (secs <= 0 || !this.decision.blacklistMayRun()) return;
    let timer: NodeJS.Timeout | undefined;
    const spoke = await Promise.race([
      this.client.waitInput().then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), secs * 1000))),
    ]);
    clearTimeout(timer);
    if (spoke && !this.client.atEof) {
      this.log.filter('FILTER_EARLYTALKER', [['delay', String(secs)]]);
      const r = makeRejection('earlytalker', this.o, '', 'earlytalker');
      if (this.o['log-only'].includes('earlytalker')) {
        this.log.info(`LOG_ONLY would be ${r.logCode} origin_ip: ${this.facts.ip} reason: (empty)`);
      } else this.decision.reject(r);
    }
  }

  /** Relays the child's banner. False when the child could not start or died. */
  private async greeting(): Promise<boolean> {
    const child = this.child!;
    const banner = await child.readReply();
    if (!banner) {
      await this.childFailed('before its greeting');
      return false;
    }
    this.relayReply(banner);
    return true;
  }

  private async childFailed(when: string): Promise<void> {
    const child = this.child;
    // its output ends a moment before its exit status is known; the status belongs in the log
    if (child && !child.exitInfo && !child.startError)
      await Promise.race([child.exited, new Promise((r) => setTimeout(r, 1000).unref())]);
    if (child?.startError) {
      this.log.error(`unable to start child process ${this.deps.child[0]}: ${child.startError.message}`);
    } else {
      const x = child?.exitInfo;
      this.log.error(
        `child process ${this.deps.child[0]} ended ${when}` +
          (x ? (x.signal ? ` (signal ${x.signal})` : x.code !== null ? ` (status ${x.code})` : '') : ''),
      );
    }
    this.reply(421, 'Service temporarily unavailable. Try again later.');
  }

  /** Delivers the connection's rejection now: the child is cut off and levee answers from here on. */
  private deliver(at: Moment, recipient?: string): void {
    const r = this.decision.rejection!;
    this.decision.delivered = true;
    this.child?.cut();
    this.reply(substitutedCode(r, at), r.text);
    if (recipient !== undefined) this.logRejection(r, recipient, at);
    this.touch();
  }

  /** Reads the next client line; meanwhile relays anything the child says on its own. */
  async nextLine(): Promise<Buffer | 'eof' | 'toolong'> {
    for (;;) {
      if (this.client.hasInput) return this.client.readLine();
      const child = this.child;
      if (child && !child.cutOff) {
        const r = child.takeReply();
        if (r) {
          // e.g. qmail-smtpd's own timeout message before it exits
          this.relayReply(r);
          continue;
        }
        if (child.gone) return 'eof';
      }
      await new Promise<void>((resolve, reject) => {
        const offC = this.client.onReadable(done);
        const offK = child && !child.cutOff ? child.onReadable(done) : () => {};
        function done() {
          offC();
          offK();
          resolve();
        }
        this.client.waitInput().catch((e) => {
          offC();
          offK();
          reject(e);
        });
      });
    }
  }

  private async commandLoop(): Promise<void> {
    for (;;) {
      const got = await this.nextLine();
      if (got === 'eof') return;
      if (got === 'toolong') {
        this.log.verbose(
          `client sent a command line over 16384 bytes; discarded origin_ip: ${this.facts.ip}`,
        );
        this.reply(500, 'Line too long.');
        continue;
      }
      const line = stripCr(got).toString('latin1');
      const cmd = recognise(line);
      this.decision.clearTransient();
      if (this.decision.delivered) {
        if (this.fabricated(cmd, line)) return;
        continue;
      }
      const done = await this.command(cmd, line, got);
      if (done) return;
    }
  }

  /** After a delivered rejection levee answers everything itself (§3.2). True when the session ends. */
  private fabricated(cmd: Command, line: string): boolean {
    const r = this.decision.rejection!;
    switch (cmd) {
      case 'helo':
      case 'ehlo':
        this.reply(250, r.text);
        return false;
      case 'mail': {
        const a = parseAddress(argumentOf(line, 'mail'));
        this.sender = a ? formatAddress(a) : '';
        this.reply(250, r.text);
        return false;
      }
      case 'rcpt': {
        const a = parseAddress(argumentOf(line, 'rcpt'));
        if (!a || a.local === '') {
          this.reply(554, makeRejection('unparseable', this.o, '', '').text);
          return false;
        }
        this.reply(r.code, r.text);
        this.logRejection(r, formatAddress(a), 'rcpt');
        return false;
      }
      case 'data':
      case 'starttls':
        this.reply(r.code, r.text);
        return false;
      case 'quit':
        this.reply(221, r.text);
        return true;
      case 'rset':
        this.sender = '';
        this.reply(554, r.text);
        return false;
      default:
        // includes AUTH: spamdyke sent nothing here (quirk 14); a client deserves an answer
        this.reply(554, r.text);
        return false;
    }
  }

  /** Forwards a command line to the child and returns its reply (null: the child is gone). */
  async forward(raw: Buffer): Promise<Reply | null> {
    const child = this.child!;
    const line = raw.length && raw[raw.length - 1] === 13 ? raw : Buffer.concat([raw, Buffer.from('\r')]);
    child.write(Buffer.concat([line, Buffer.from('\n')]));
    const r = await child.readReply();
    if (!r) await this.childFailed('in the middle of the session');
    return r;
  }

  /** One command in normal mode. True when the session ends. */
  private async command(cmd: Command, line: string, raw: Buffer): Promise<boolean> {
    switch (cmd) {
      case 'ehlo':
        return this.security.ehlo(raw);
      case 'auth':
        return this.security.auth(line, raw);
      case 'starttls':
        return this.security.starttls(raw);
      case 'mail':
        return this.mail(line, raw);
      case 'rcpt':
        return this.rcpt(line, raw);
      case 'data':
        return this.data(raw);
      case 'quit': {
        const r = await this.forward(raw);
        if (r) this.relayReply(r);
        return true;
      }
      case 'rset': {
        const r = await this.forward(raw);
        if (!r) return true;
        this.resetTransaction();
        this.relayReply(r);
        return false;
      }
      default: {
        const r = await this.forward(raw);
        if (!r) return true;
        this.relayReply(r);
        return false;
      }
    }
  }

  resetTransaction(): void {
    this.messageOptions = undefined;
    this.sender = '';
    this.accepted = [];
  }

  private async mail(line: string, raw: Buffer): Promise<boolean> {
    const a = parseAddress(argumentOf(line, 'mail'));
    if (!a) {
      this.reply(554, makeRejection('unparseable', this.o, '', '').text);
      return false;
    }
    this.sender = formatAddress(a);
    this.applyFilterLevel();
    if (!this.o['config-dir'].length) await runStage('mail', this.filterInput(), this.decision);
    if (this.decision.rejecting && this.grace <= Grace.AfterFrom) {
      this.deliver('mail');
      return false;
    }
    const r = await this.forward(raw);
    if (!r) return true;
    if (r.code !== 250) this.resetTransaction();
    else this.accepted = [];
    this.relayReply(r);
    return false;
  }

  private async rcpt(line: string, raw: Buffer): Promise<boolean> {
    const a = parseAddress(argumentOf(line, 'rcpt'));
    if (!a || a.local === '') {
      this.reply(554, makeRejection('unparseable', this.o, '', '').text);
      return false;
    }
    const recipient = formatAddress(a);
    let o = this.o;
    let d = this.decision;
    if (o['config-dir'].length) {
      // §2.4 RCPT step 1: this recipient's options, then every connection and MAIL filter again
      const r = await this.configDirDecision(recipient);
      o = r.o;
      d = r.d;
      if (d.rejecting) {
        if (!r.fromFiles) {
          // the global options reject: a connection rejection, delivered now (errata 5)
          this.decision.rejection = d.rejection;
          this.decision.action = Action.Reject;
          this.decision.locked = d.locked;
          this.deliver('rcpt', recipient);
        } else {
          // options from this recipient's files: this recipient only; the child keeps running
          this.reply(d.rejection!.code, d.rejection!.text);
          this.logRejection(d.rejection!, recipient, 'rcpt');
        }
        return false;
      }
    }
    const input = this.filterInput({ recipient, o });
    await runStage('rcpt-allow', input, d);
    let refusal: Rejection | undefined;
    if (!d.transientAllow && d.action <= Action.Reject) {
      if (d.rejecting) {
        this.deliver('rcpt', recipient);
        return false;
      }
      refusal = (await runStage('rcpt', input, d)).recipientRejection;
    } else {
      refusal = (await runStage('rcpt', input, d, { onlyAlways: true })).recipientRejection;
    }
    this.applyFilterLevel();
    if (refusal) {
      this.reply(refusal.code, refusal.text);
      this.logRejection(refusal, recipient, 'rcpt');
      return false;
    }
    const r = await this.forward(raw);
    if (!r) return true;
    if (r.code >= 200 && r.code < 300) {
      this.accepted.push(recipient);
      // header patterns from config-dir files accumulate for the whole message (§4.6)
      if (o !== this.o) this.messageOptions = accumulateHeaderPatterns(this.messageOptions ?? this.o, o);
    } else {
      const text = replyText(r);
      this.log.filter('FILTER_OTHER', [['response', `"${r.lines.join(' ')}"`]]);
      this.traffic('DENIED_OTHER', recipient, text, { replyCode: r.code });
    }
    this.relayReply(r);
    return false;
  }

  /**
   * config-dir mode: a copy of the options with this recipient's files applied, and the decision of
   * the connection and MAIL filters run with them (spec §2.4 RCPT step 1, §4.7). Without matching
   * files the result only depends on the global options, so it is computed once and reused.
   */
  private async configDirDecision(
    recipient: string,
  ): Promise<{ o: OptionValues; d: Decision; fromFiles: boolean }> {
    const o0 = this.o;
    const { options, files } = configDirOptions(
      this.deps.optionState!,
      o0['config-dir'],
      { ip: this.facts.ip, rdns: this.facts.rdns, sender: this.sender, recipient },
      o0['config-dir-search'],
      this.log,
    );
    const fromFiles = files.length > 0;
    if (!fromFiles && this.globalDecision) return { o: o0, d: this.globalDecision.clone(), fromFiles };
    const o = fromFiles ? options : o0;
    const d = this.decision.clone();
    const input = this.filterInput({ o });
    this.applyFilterLevel(d, o);
    await runStage('connect', input, d);
    await runStage('mail', input, d);
    if (!fromFiles) this.globalDecision = d.clone();
    return { o, d, fromFiles };
  }

  private async data(raw: Buffer): Promise<boolean> {
    if (this.accepted.length === 0) {
      if (this.decision.rejecting) {
        this.deliver('data');
        return false;
      }
      const z = makeRejection('zeroRecipients', this.o, '', '');
      this.reply(z.code, z.text);
      return false;
    }
    // a recipient was accepted (e.g. whitelisted): a pending connection rejection no longer applies
    if (!this.decision.locked && this.decision.action === Action.Reject) {
      this.decision.action = Action.Undecided;
      this.decision.rejection = undefined;
    }
    const mo = this.messageOptions ?? this.o;
    if (headerFilterEnabled(mo)) {
      // levee answers DATA itself and holds DATA and the headers back from the child until the
      // headers are checked (§2.4 DATA, quirk 13: the child's own 354 is swallowed later)
      this.reply(354, 'Proceed.');
      return this.relayBody(new HeaderGate(mo, this.log), raw);
    }
    const r = await this.forward(raw);
    if (!r) return true;
    this.relayReply(r);
    if (r.code !== 354) return false;
    return this.relayBody();
  }

  /**
   * Streams the message to the child; true when the session ends. With a header gate, the DATA
   * command (`heldData`) is sent to the child only when the gate releases the first bytes.
   */
  private async relayBody(gate?: HeaderGate, heldData?: Buffer): Promise<boolean> {
    const child = this.child!;
    const scanner = new DataScanner();
    let sinceGc = 0;
    let dataSent = heldData === undefined;
    /** the child refused the held-back DATA: its reply answers the message */
    let childRefusal: Reply | undefined;
    let headerRejection: Rejection | undefined;
    /** sends the held-back DATA command first; false when the session ends */
    const sendHeldData = async (): Promise<boolean> => {
      dataSent = true;
      const r = await this.forward(heldData!);
      if (!r) return false;
      this.deps.trace?.('FROM CHILD, FILTERED', r.raw);
      if (r.code !== 354) childRefusal = r;
      return true;
    };
    /**
     * Content bytes to the child. `reused` bytes are a view of the client read buffer: they must be
     * written before the next read (no copy, no garbage: the common case); other bytes may queue.
     * Returns undefined when done at once, else a promise of false when the session ends.
     */
    const toChild = (b: Buffer, reused: boolean): Promise<boolean> | undefined => {
      if (childRefusal || !b.length) return undefined;
      if (!dataSent) return sendHeldData().then((ok) => ok && (toChild(b, reused) ?? true));
      if (reused) return child.writeFlushed(b)?.then(() => true);
      sinceGc += b.length;
      if (sinceGc > GC_EVERY) {
        // fresh Buffers per read (TLS, a file on stdin): a minor GC every ~1 MiB keeps RSS flat
        sinceGc = 0;
        minorGc();
      }
      if (!child.write(b)) return child.drain().then(() => true);
      return undefined;
    };
    const consume = (c: Buffer, reused: boolean): number | Promise<number> => {
      const res = scanner.push(c);
      const next = res.ended ? c.length - res.rest.length : PUMP_MORE;
      let out = res.out;
      if (!out.length) return next;
      if (gate && !headerRejection) {
        // the gate keeps what it holds: give it bytes it may keep
        const g = gate.push(reused && !gate.inBody ? Buffer.from(out) : out);
        headerRejection = g.rejection;
        out = g.release;
      } else if (headerRejection) return next;
      // bytes the gate handed back are its own copy, no longer a view of the read buffer
      const w = toChild(out, reused && out === res.out);
      return w ? w.then((ok) => (ok ? next : PUMP_STOP)) : next;
    };
    const end = await this.client.pump(consume);
    if (end.kind === 'stopped') return true;
    if (end.kind === 'eof') {
      // the message is incomplete: closing the child's input without the terminator discards it
      child.cut();
      this.log.info(
        `client disconnected during DATA after ${scanner.bytesIn} bytes; message discarded ` +
          `origin_ip: ${this.facts.ip} from: ${this.sender || '(unknown)'}`,
      );
      return true;
    }
    if (gate && !headerRejection) {
      const g = gate.end();
      headerRejection = g.rejection;
      const w = headerRejection ? undefined : toChild(g.release, false);
      if (w && !(await w)) return true;
    }
    let rejection = headerRejection;
    if (!rejection && this.o['bare-lf'] === 'reject' && (scanner.sawBareLf || scanner.sawBadDotLine)) {
      rejection = makeRejection(
        'bareLf',
        this.o,
        scanner.sawBadDotLine ? 'bad_end_of_data' : 'bare_LF',
        'bare-lf',
      );
    }
    if (rejection) {
      if (this.o['log-only'].includes(rejection.filter as never)) {
        logOnly(this.filterInput(), rejection);
      } else {
        // the child never gets the end of this message, so it discards it; the rejection then
        // stands for the rest of the connection (errata 11)
        this.decision.reject(rejection);
        this.deliver('dot');
        for (const rcpt of this.accepted) this.logRejection(rejection, rcpt, 'dot');
        this.accepted = [];
        this.messageOptions = undefined;
        return false;
      }
    }
    if (!dataSent && !childRefusal && !(await sendHeldData())) return true;
    let r: Reply | null | undefined = childRefusal;
    if (!r) {
      const end = Buffer.from('.\r\n');
      this.deps.trace?.('FROM LEVEE TO CHILD', end);
      child.write(end);
      r = await child.readReply();
    }
    if (!r) {
      await this.childFailed('before accepting the message');
      return true;
    }
    const text = replyText(r);
    for (const rcpt of this.accepted)
      this.traffic(r.code === 250 ? 'ALLOWED' : 'DENIED_OTHER', rcpt, text, { replyCode: r.code });
    this.relayReply(r);
    this.resetTransaction();
    return false;
  }

  /** TIMEOUT (§5.2): cut the child off, tell the client, log once. */
  private timeoutReply(): void {
    this.child?.cut();
    const r = makeRejection('timeout', this.o, 'TIMEOUT', 'timeout');
    this.reply(r.code, r.text);
    this.traffic('TIMEOUT', this.accepted[0] ?? '', 'TIMEOUT');
  }

  /** Ends the session: the child is reaped (never left behind), the client connection closed. */
  private async finish(): Promise<number> {
    this.finished = true;
    this.stopTimers();
    if (this.child) {
      this.child.cut();
      await this.child.reap(CHILD_REAP_MS);
    }
    await this.client.end();
    return 0;
  }
}

/** A minor GC every ~1 MiB of body keeps peak RSS flat (shared/research/perf.md §3). */
const GC_EVERY = 1024 * 1024;
type GcFunction = (options: { type: 'minor' | 'major' }) => void;
let gcFn: GcFunction | null | undefined;
function minorGc(): void {
  if (gcFn === undefined) {
    try {
      // loaded on the first large body only; the flag makes `gc` available to contexts created
      // afterwards, hence the new context
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require('node:v8') as typeof import('node:v8')).setFlagsFromString('--expose-gc');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      gcFn = (require('node:vm') as typeof import('node:vm')).runInNewContext('gc') as GcFunction;
    } catch {
      gcFn = null;
    }
  }
  gcFn?.({ type: 'minor' });
}
