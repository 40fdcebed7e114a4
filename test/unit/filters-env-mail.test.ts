// MAIL FROM stage: order and precedence of the sender filters and the reject-sender group, run
// through the real pipeline with a scripted resolver (spec §2.4 MAIL FROM, §5.3).
import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { options, recordingLog, facts } from './filters-connect-helpers';
import type { Dns, DnsAnswer } from '../../src/dns';
import type { FilterInput } from '../../src/filters/types';
import { runStage } from '../../src/filters/pipeline';
import { Action, Decision } from '../../src/session/decision';
import { MAIL_FILTERS } from '../../src/filters/mail-stage';

function rcpthosts(t: TestContext, lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'levee-mail-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'rcpthosts');
  writeFileSync(file, lines.map((l) => l + '\n').join(''));
  return file;
}

/** MX answers per domain; every call is counted. */
function mxDns(answers: Record<string, DnsAnswer<boolean>>, calls: string[]): Dns {
  return {
    mxCheck: (d: string) => {
      calls.push(d);
      return Promise.resolve(answers[d] ?? { ok: false, failure: 'nxdomain', message: 'no such domain' });
    },
  } as unknown as Dns;
}

async function mailStage(
  argv: string[],
  sender: string,
  opts: { authUser?: string; decision?: Decision; mx?: Record<string, DnsAnswer<boolean>> } = {},
) {
  const log = recordingLog();
  const decision = opts.decision ?? new Decision();
  const calls: string[] = [];
  const memos = new Map<string, Promise<unknown>>();
  const input: FilterInput = {
    o: options(argv),
    facts: facts('192.0.2.1'),
    log: log.logger,
    sender,
    authUser: opts.authUser ?? '',
    dns: () => mxDns(opts.mx ?? {}, calls),
    memo<T>(key: string, make: () => Promise<T>): Promise<T> {
      if (!memos.has(key)) memos.set(key, make());
      return memos.get(key) as Promise<T>;
    },
  };
  await runStage('mail', input, decision);
  return { decision, lines: log.lines, calls };
}

const hosts = (t: TestContext) => ['--qmail-rcpthosts-file', rcpthosts(t, ['example.org', '.example.org'])];

describe('MAIL stage order', () => {
  test('is spamdyke’s: whitelist, rhs-whitelist, blacklist, rhs-blacklist, reject-sender group', () => {
    assert.deepEqual(
      MAIL_FILTERS.map((f) => f.name),
      [
        'sender-whitelist',
        'rhs-whitelist',
        'sender-blacklist',
        'rhs-blacklist',
        'sender-not-local',
        'sender-authentication-mismatch',
        'sender-no-mx',
      ],
    );
  });

  test('the sender blacklist beats reject-sender (first blacklist hit wins)', async (t) => {
    const r = await mailStage(
      [...hosts(t), '--sender-blacklist-entry', 'bad@remote.test', '--reject-sender', 'not-local'],
      'bad@remote.test',
    );
    assert.equal(r.decision.rejection?.logCode, 'DENIED_SENDER_BLACKLISTED');
    assert.ok(!r.lines.some((l) => l.includes('FILTER_SENDER_NOT_LOCAL')));
  });

  test('a sender whitelist hit skips the reject-sender group', async (t) => {
    const r = await mailStage(
      [...hosts(t), '--sender-whitelist-entry', '@remote.test', '--reject-sender', 'not-local'],
      'a@remote.test',
    );
    assert.equal(r.decision.action, Action.Whitelisted);
    assert.equal(r.decision.rejection, undefined);
  });

  test('a sender without a local part runs no MAIL filter at all', async (t) => {
    const r = await mailStage(
      [...hosts(t), '--sender-blacklist-entry', '@remote.test', '--reject-sender', 'not-local'],
      '@remote.test',
    );
    assert.equal(r.decision.action, Action.Undecided);
    assert.deepEqual(r.lines, []);
  });
});

describe('reject-sender not-local', () => {
  test('refuses a sender domain not in rcpthosts, with its FILTER line', async (t) => {
    const r = await mailStage([...hosts(t), '--reject-sender', 'not-local'], 'a@remote.test');
    assert.equal(r.decision.rejection?.logCode, 'DENIED_SENDER_NOT_LOCAL');
    assert.equal(r.decision.rejection?.text, 'Refused. Mail for your sender domain is not hosted here.');
    assert.equal(r.decision.rejection?.code, 554);
    assert.ok(r.lines.includes('verbose FILTER_SENDER_NOT_LOCAL domain: remote.test'), r.lines.join('\n'));
  });

  test('accepts local domains and their subdomains (.example.org line)', async (t) => {
    for (const s of ['a@example.org', 'a@mail.example.org']) {
      const r = await mailStage([...hosts(t), '--reject-sender', 'not-local'], s);
      assert.equal(r.decision.rejection, undefined, s);
    }
  });

  test('never fires without an rcpthosts source (every sender counts as local)', async () => {
    const r = await mailStage(['--reject-sender', 'not-local'], 'a@remote.test');
    // only when /var/qmail/control/rcpthosts does not exist on this machine
    assert.equal(r.decision.rejection, undefined);
  });

  test('skipped for the null sender, a sender without domain, and authenticated sessions', async (t) => {
    for (const s of ['', 'user']) {
      const r = await mailStage([...hosts(t), '--reject-sender', 'not-local'], s);
      assert.equal(r.decision.rejection, undefined, JSON.stringify(s));
    }
    const d = new Decision();
    d.authenticate();
    const r = await mailStage([...hosts(t), '--reject-sender', 'not-local'], 'a@remote.test', {
      authUser: 'a@remote.test',
      decision: d,
    });
    assert.equal(r.decision.action, Action.Authenticated);
  });
});

describe('reject-sender authentication-mismatch / authentication-domain-mismatch', () => {
  async function authMail(argv: string[], sender: string, login: string) {
    const d = new Decision();
    d.authenticate();
    return mailStage(argv, sender, { authUser: login, decision: d });
  }

  test('a login with a domain must equal the whole sender (case-insensitive)', async () => {
    const argv = ['--reject-sender', 'authentication-mismatch'];
    assert.equal(
      (await authMail(argv, 'fred@example.org', 'Fred@Example.ORG')).decision.rejection,
      undefined,
    );
    const r = await authMail(argv, 'joe@example.org', 'fred@example.org');
    assert.equal(r.decision.rejection?.logCode, 'DENIED_SENDER_NOT_AUTH');
    assert.equal(
      r.decision.rejection?.text,
      'Refused. Your sender address does not match your authentication username.',
    );
    assert.ok(
      r.lines.includes('verbose FILTER_SENDER_NOT_AUTH sender: joe@example.org username: fred@example.org'),
    );
  });

  test('a login without @ must equal the sender’s local part', async () => {
    const argv = ['--reject-sender', 'authentication-mismatch'];
    assert.equal((await authMail(argv, 'fred@anywhere.test', 'fred')).decision.rejection, undefined);
    assert.equal(
      (await authMail(argv, 'joe@anywhere.test', 'fred')).decision.rejection?.logCode,
      'DENIED_SENDER_NOT_AUTH',
    );
  });

  test('domain-mismatch compares domains only, and does nothing for a login without @', async () => {
    const argv = ['--reject-sender', 'authentication-domain-mismatch'];
    assert.equal((await authMail(argv, 'joe@example.org', 'fred@EXAMPLE.org')).decision.rejection, undefined);
    assert.equal((await authMail(argv, 'joe@other.test', 'fred')).decision.rejection, undefined);
    const r = await authMail(argv, 'joe@other.test', 'fred@example.org');
    assert.equal(r.decision.rejection?.logCode, 'DENIED_SENDER_NOT_AUTH');
    assert.ok(
      r.lines.includes('verbose FILTER_SENDER_NOT_AUTH_DOMAIN domain: other.test username: fred@example.org'),
    );
  });

  test('does nothing for unauthenticated sessions', async () => {
    const r = await mailStage(['--reject-sender', 'authentication-mismatch'], 'joe@example.org');
    assert.equal(r.decision.rejection, undefined);
  });
});

describe('reject-sender no-mx', () => {
  test('refuses a non-local sender domain without a usable MX (421)', async (t) => {
    const r = await mailStage([...hosts(t), '--reject-sender', 'no-mx'], 'a@nomx.test', {
      mx: { 'nomx.test': { ok: true, value: false } },
    });
    assert.equal(r.decision.rejection?.logCode, 'DENIED_SENDER_NO_MX');
    assert.equal(r.decision.rejection?.code, 421);
    assert.ok(r.lines.includes('verbose FILTER_SENDER_NO_MX domain: nomx.test'));
  });

  test('NXDOMAIN counts as no MX; a domain with MX passes; one query per domain', async (t) => {
    const r1 = await mailStage([...hosts(t), '--reject-sender', 'no-mx'], 'a@gone.test');
    assert.equal(r1.decision.rejection?.logCode, 'DENIED_SENDER_NO_MX');
    const r2 = await mailStage([...hosts(t), '--reject-sender', 'no-mx'], 'a@mx.test', {
      mx: { 'mx.test': { ok: true, value: true } },
    });
    assert.equal(r2.decision.rejection, undefined);
    assert.deepEqual(r2.calls, ['mx.test']);
  });

  test('a temporary DNS failure is not proof: no rejection, a verbose note', async (t) => {
    const r = await mailStage([...hosts(t), '--reject-sender', 'no-mx'], 'a@slow.test', {
      mx: { 'slow.test': { ok: false, failure: 'timeout', message: 'timed out' } },
    });
    assert.equal(r.decision.rejection, undefined);
    assert.ok(r.lines.some((l) => l.startsWith('verbose reject-sender no-mx: not applied to slow.test')));
  });

  test('local senders and authenticated sessions are not looked up', async (t) => {
    const r = await mailStage([...hosts(t), '--reject-sender', 'no-mx'], 'a@example.org');
    assert.equal(r.decision.rejection, undefined);
    assert.deepEqual(r.calls, []);
    const d = new Decision();
    d.authenticate();
    const r2 = await mailStage([...hosts(t), '--reject-sender', 'no-mx'], 'a@nomx.test', {
      authUser: 'a',
      decision: d,
    });
    assert.equal(r2.decision.rejection, undefined);
    assert.deepEqual(r2.calls, []);
  });

  test('not-local fires before no-mx', async (t) => {
    const r = await mailStage(
      [...hosts(t), '--reject-sender', 'no-mx', '--reject-sender', 'not-local'],
      'a@x.test',
    );
    assert.equal(r.decision.rejection?.logCode, 'DENIED_SENDER_NOT_LOCAL');
  });
});
