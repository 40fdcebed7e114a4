// RCPT TO stage: max-recipients, same-as-sender, recipient blacklist, relay control and their
// precedence quirk, run through the real pipeline (spec §2.4 RCPT, §5.1, quirks 4 and 10).
import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { options, recordingLog } from './filters-connect-helpers';
import type { ConnectionFacts, FilterInput } from '../../src/filters/types';
import { runStage } from '../../src/filters/pipeline';
import { Decision } from '../../src/session/decision';
import { RCPT_FILTERS } from '../../src/filters/rcpt-stage';
import { effectiveRelayLevel, relayGranted } from '../../src/filters/relay';

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'levee-rcpt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function file(dir: string, name: string, lines: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.map((l) => l + '\n').join(''));
  return p;
}

interface RcptCase {
  sender?: string;
  authUser?: string;
  accepted?: number;
  relayClient?: string;
  onlyAlways?: boolean;
  ip?: string;
}

async function rcptStage(argv: string[], recipient: string, c: RcptCase = {}) {
  const log = recordingLog();
  const f: ConnectionFacts = {
    ip: c.ip ?? '192.0.2.1',
    rdns: '',
    rdnsTemporaryFailure: false,
    remoteInfo: '',
    relayClient: c.relayClient,
  };
  const input: FilterInput = {
    o: options(argv),
    facts: f,
    log: log.logger,
    sender: c.sender ?? 'from@remote.test',
    recipient,
    authUser: c.authUser ?? '',
    acceptedRecipients: c.accepted ?? 0,
    dns: () => assert.fail('no DNS at RCPT'),
    memo: () => assert.fail('no memo at RCPT'),
  };
  const r = await runStage('rcpt', input, new Decision(), { onlyAlways: c.onlyAlways });
  return { rejection: r.recipientRejection, lines: log.lines };
}

const LOCAL = (t: TestContext) => [
  '--qmail-rcpthosts-file',
  file(scratch(t), 'rcpthosts', ['example.org', '.example.org']),
];

describe('RCPT stage order', () => {
  test('recipient whitelist, max-recipients, same-as-sender, blacklist, relay control', () => {
    const names = RCPT_FILTERS.map((f) => f.name);
    assert.deepEqual(names.slice(0, 5), [
      'recipient-whitelist',
      'max-recipients',
      'recipient-same-as-sender',
      'recipient-blacklist',
      'relay',
    ]);
  });
});

describe('max-recipients', () => {
  test('refuses once the accepted count reaches the limit (421, FILTER line)', async (t) => {
    const argv = [...LOCAL(t), '--max-recipients', '2'];
    assert.equal((await rcptStage(argv, 'a@example.org', { accepted: 1 })).rejection, undefined);
    const r = await rcptStage(argv, 'a@example.org', { accepted: 2 });
    assert.equal(r.rejection?.logCode, 'DENIED_TOO_MANY_RECIPIENTS');
    assert.equal(r.rejection?.code, 421);
    assert.equal(r.rejection?.text, 'Too many recipients. Try the remaining addresses again later.');
    assert.equal(r.rejection?.reason, '');
    assert.ok(r.lines.includes('verbose FILTER_TOO_MANY_RECIPIENTS maximum: 2'));
  });

  test('0 means no limit', async (t) => {
    assert.equal((await rcptStage(LOCAL(t), 'a@example.org', { accepted: 5000 })).rejection, undefined);
  });
});

describe('same-as-sender', () => {
  const argv = (t: TestContext) => [...LOCAL(t), '--reject-recipient', 'same-as-sender'];

  test('refuses a recipient equal to the sender', async (t) => {
    const r = await rcptStage(argv(t), 'me@example.org', { sender: 'me@example.org' });
    assert.equal(r.rejection?.logCode, 'DENIED_IDENTICAL_SENDER_RECIPIENT');
    assert.equal(r.rejection?.text, 'Refused. Identical sender and recipient addresses are not allowed.');
    assert.ok(
      r.lines.includes(
        'verbose FILTER_IDENTICAL_SENDER_RECIPIENT sender: me@example.org recipient: me@example.org',
      ),
    );
  });

  test('a different address or the null sender passes', async (t) => {
    assert.equal(
      (await rcptStage(argv(t), 'you@example.org', { sender: 'me@example.org' })).rejection,
      undefined,
    );
    assert.equal((await rcptStage(argv(t), 'me@example.org', { sender: '' })).rejection, undefined);
  });

  test('overrides an earlier max-recipients rejection (precedence quirk)', async (t) => {
    const r = await rcptStage([...argv(t), '--max-recipients', '1'], 'me@example.org', {
      sender: 'me@example.org',
      accepted: 1,
    });
    assert.equal(r.rejection?.logCode, 'DENIED_IDENTICAL_SENDER_RECIPIENT');
  });
});

describe('recipient blacklist', () => {
  test('entry and file hits, with the reason spamdyke logs', async (t) => {
    const dir = scratch(t);
    const list = file(dir, 'rcpt-bl', ['# spam traps', '@trap.example.org']);
    const argv = [...LOCAL(t), '--recipient-blacklist-entry', 'abuse@', '--recipient-blacklist-file', list];
    const e = await rcptStage(argv, 'abuse@example.org');
    assert.equal(e.rejection?.logCode, 'DENIED_RECIPIENT_BLACKLISTED');
    assert.equal(e.rejection?.text, 'Refused. Mail is not being accepted at this address.');
    assert.equal(e.rejection?.reason, 'abuse@');
    assert.ok(
      e.lines.includes('verbose FILTER_RECIPIENT_BLACKLIST recipient: abuse@example.org entry: abuse@'),
    );
    const f = await rcptStage(argv, 'x@trap.example.org');
    assert.equal(f.rejection?.reason, `${list}:2`);
    assert.ok(
      f.lines.includes(`verbose FILTER_RECIPIENT_BLACKLIST recipient: x@trap.example.org file: ${list}(2)`),
    );
    // the sender-blacklist-entry quirk does not apply here
    assert.equal((await rcptStage(argv, 'abuse.team@example.org')).rejection, undefined);
  });

  test('does not replace an earlier rejection (max-recipients stays)', async (t) => {
    const r = await rcptStage(
      [...LOCAL(t), '--max-recipients', '1', '--recipient-blacklist-entry', 'a@example.org'],
      'a@example.org',
      {
        accepted: 1,
      },
    );
    assert.equal(r.rejection?.logCode, 'DENIED_TOO_MANY_RECIPIENTS');
    assert.ok(!r.lines.some((l) => l.includes('FILTER_RECIPIENT_BLACKLIST')));
  });
});

describe('relay control', () => {
  test('unqualified recipient: 554, keyword printed without argument; allowed when authenticated', async (t) => {
    const r = await rcptStage(LOCAL(t), 'postmaster');
    assert.equal(r.rejection?.logCode, 'DENIED_UNQUALIFIED_RECIPIENT');
    assert.equal(r.rejection?.text, 'Improper recipient address. Try supplying a domain name.');
    assert.ok(r.lines.includes('verbose FILTER_UNQUALIFIED_RECIPIENT'), r.lines.join('\n'));
    assert.equal((await rcptStage(LOCAL(t), 'postmaster', { authUser: 'fred' })).rejection, undefined);
  });

  test('non-local recipient: DENIED_RELAYING unless RELAYCLIENT, auth or a relay option allows it', async (t) => {
    const r = await rcptStage(LOCAL(t), 'x@remote.test');
    assert.equal(r.rejection?.logCode, 'DENIED_RELAYING');
    assert.equal(r.rejection?.text, 'Refused. Sending to remote addresses (relaying) is not allowed.');
    assert.ok(r.lines.includes('verbose FILTER_RELAYING'));
    assert.equal((await rcptStage(LOCAL(t), 'x@remote.test', { relayClient: '' })).rejection, undefined);
    assert.equal((await rcptStage(LOCAL(t), 'x@remote.test', { authUser: 'fred' })).rejection, undefined);
    const ipRelay = [...LOCAL(t), '--ip-relay-entry', '192.0.2.'];
    const granted = await rcptStage(ipRelay, 'x@remote.test');
    assert.equal(granted.rejection, undefined);
    assert.ok(granted.lines.includes('verbose FILTER_RELAY_IP ip: 192.0.2.1 entry: 192.0.2.'));
    assert.equal(
      (await rcptStage([...LOCAL(t), '--relay-level', 'allow-all'], 'x@remote.test')).rejection,
      undefined,
    );
  });

  test('quirk 4: without an rcpthosts source every recipient is relaying', async () => {
    const r = await rcptStage([], 'x@example.org');
    assert.equal(r.rejection?.logCode, 'DENIED_RELAYING');
  });

  test('relay-level block-all refuses even authenticated clients; a RELAYCLIENT value skips the check', async (t) => {
    const argv = [...LOCAL(t), '--relay-level', 'block-all'];
    assert.equal(
      (await rcptStage(argv, 'x@remote.test', { authUser: 'fred' })).rejection?.logCode,
      'DENIED_RELAYING',
    );
    assert.equal((await rcptStage(argv, 'x@example.org', { authUser: 'fred' })).rejection, undefined);
    // spamdyke goes straight to recipient validation when RELAYCLIENT has a value
    assert.equal((await rcptStage(argv, 'x@remote.test', { relayClient: '.relay' })).rejection, undefined);
    // but an unqualified recipient is still refused
    assert.equal(
      (await rcptStage(argv, 'x', { relayClient: '.relay' })).rejection?.logCode,
      'DENIED_UNQUALIFIED_RECIPIENT',
    );
  });

  test('runs for trusted sessions too (onlyAlways): other checks do not', async (t) => {
    const argv = [...LOCAL(t), '--max-recipients', '1'];
    assert.equal(
      (await rcptStage(argv, 'x@example.org', { accepted: 3, onlyAlways: true })).rejection,
      undefined,
    );
    assert.equal(
      (await rcptStage(argv, 'x@remote.test', { onlyAlways: true })).rejection?.logCode,
      'DENIED_RELAYING',
    );
  });

  test('relaying overrides an earlier rejection (precedence quirk)', async (t) => {
    const r = await rcptStage([...LOCAL(t), '--max-recipients', '1'], 'x@remote.test', { accepted: 1 });
    assert.equal(r.rejection?.logCode, 'DENIED_RELAYING');
  });

  test('relayGranted decides once per connection (one FILTER line)', () => {
    const log = recordingLog();
    const f: ConnectionFacts = {
      ip: '192.0.2.7',
      rdns: '',
      rdnsTemporaryFailure: false,
      remoteInfo: '',
      relayClient: undefined,
    };
    const o = options(['--ip-relay-entry', '192.0.2.7']);
    assert.ok(relayGranted(o, f, log.logger));
    assert.ok(relayGranted(o, f, log.logger));
    assert.equal(log.lines.filter((l) => l.includes('FILTER_RELAY_IP')).length, 1);
  });

  test('relay-level unset is normal once an rcpthosts source exists', (t) => {
    assert.equal(effectiveRelayLevel(options(LOCAL(t))), 'normal');
    assert.equal(effectiveRelayLevel(options([...LOCAL(t), '--relay-level', 'block-all'])), 'block-all');
  });
});

describe('morercpthosts.cdb', () => {
  function haveTinycdb(t: TestContext): boolean {
    if (spawnSync('cdb', ['-h'], { stdio: 'ignore' }).error === undefined) return true;
    if (process.env.CI) assert.fail('the cdb command (Debian package tinycdb) is required in CI');
    t.skip('cdb (Debian package tinycdb) is not installed');
    return false;
  }

  test('domains in the CDB are local; .parent keys cover subdomains (as qmail does)', async (t) => {
    if (!haveTinycdb(t)) return;
    const dir = scratch(t);
    const cdb = join(dir, 'more.cdb');
    const made = spawnSync('cdb', ['-c', '-m', cdb], { input: 'more.example\n.sub.example\n' });
    assert.equal(made.status, 0);
    const argv = ['--qmail-morercpthosts-cdb', cdb];
    assert.equal((await rcptStage(argv, 'a@more.example')).rejection, undefined);
    assert.equal((await rcptStage(argv, 'a@x.sub.example')).rejection, undefined);
    assert.equal((await rcptStage(argv, 'a@sub.example')).rejection?.logCode, 'DENIED_RELAYING');
    assert.equal((await rcptStage(argv, 'a@x.more.example')).rejection?.logCode, 'DENIED_RELAYING');
  });

  test('a missing or broken CDB is logged and matches nothing', async (t) => {
    const dir = scratch(t);
    const broken = file(dir, 'broken.cdb', ['not a cdb']);
    for (const cdb of [join(dir, 'missing.cdb'), broken]) {
      const r = await rcptStage(['--qmail-morercpthosts-cdb', cdb], 'a@more.example');
      assert.equal(r.rejection?.logCode, 'DENIED_RELAYING');
      assert.ok(
        r.lines.some((l) => l.startsWith(`error unable to search CDB file ${cdb}: `)),
        r.lines.join('\n'),
      );
    }
  });
});
