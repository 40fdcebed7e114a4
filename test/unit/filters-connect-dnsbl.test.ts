// The DNS list filters (spec §2.4 steps 15–18, MAIL FROM 3/5; §3.1 rows 15–16; §3.4) against a
// scripted resolver: which zone decides, what is said and logged, and that nothing waits in series.
import { after, test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStage } from '../../src/filters/pipeline';
import { rhsBlacklistSender, rhsWhitelistSender, senderDomainOf } from '../../src/filters/dnsbl';
import { CONNECT_FILTERS } from '../../src/filters/connect-stage';
import { Decision } from '../../src/session/decision';
import {
  connectStage,
  facts,
  filterInput,
  options,
  recordingLog,
  ScriptedDns,
} from './filters-connect-helpers';

const dir = mkdtempSync(join(tmpdir(), 'levee-dnsbl-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const client = facts('192.0.2.7', 'mail.spammer.example');
const DQS_KEY = 'abcdefghijklmnopqrstuvwxyz0123';

describe('dns-blacklist (RBL)', () => {
  test('listed with TXT: 554, zone and TXT in the reply, zone as reason, FILTER line', async () => {
    const dns = new ScriptedDns({
      'bl.test': { listed: true, answers: ['127.0.0.2'], txt: 'Listed\r\nbecause' },
    });
    const { decision, lines } = await connectStage(['--dns-blacklist-entry', 'bl.test'], client, dns);
    assert.equal(decision.rejection?.code, 554);
    assert.equal(
      decision.rejection?.text,
      'Refused. Your IP address is listed in the RBL at bl.test: Listed because',
    );
    assert.equal(decision.rejection?.logCode, 'DENIED_RBL_MATCH');
    assert.equal(decision.rejection?.reason, 'bl.test');
    assert.ok(lines.includes('verbose FILTER_RBL_MATCH ip: 192.0.2.7 rbl: bl.test'));
  });
  test('custom text keeps the zone suffix; without TXT the suffix is the zone', async () => {
    const dns = new ScriptedDns({ 'bl.test': { listed: true, answers: ['127.0.0.2'] } });
    const { decision } = await connectStage(
      ['--dns-blacklist-entry', 'bl.test', '--rejection-text-dns-blacklist', 'Blocked by '],
      client,
      dns,
    );
    assert.equal(decision.rejection?.text, 'Blocked by bl.test');
  });
  test('first listed zone in configured order wins, all zones asked before any answer is read', async () => {
    const dns = new ScriptedDns({
      'a.test': { listed: false, failure: 'nxdomain' },
      'b.test': { listed: true, answers: ['127.0.0.2'] },
      'c.test': { listed: true, answers: ['127.0.0.3'] },
    });
    const zones = join(dir, 'zones');
    writeFileSync(zones, '# zones\nb.test\nc.test\n');
    const { decision } = await connectStage(
      ['--dns-blacklist-entry', 'a.test', '--dns-blacklist-file', zones],
      client,
      dns,
    );
    assert.equal(decision.rejection?.reason, 'b.test');
    assert.deepEqual(dns.calls, ['rbl 192.0.2.7 a.test', 'rbl 192.0.2.7 b.test', 'rbl 192.0.2.7 c.test']);
  });
  test('prefetch starts every DNS query of the stage at once', () => {
    const dns = new ScriptedDns();
    const o = options([
      ...['--dns-whitelist-entry', 'wl.test', '--rhs-whitelist-entry', 'whl.test'],
      ...[
        '--dns-blacklist-entry',
        'bl.test',
        '--rhs-blacklist-entry',
        'dbl.test',
        '--reject-unresolvable-rdns',
      ],
    ]);
    const input = filterInput(o, client, recordingLog(), dns);
    for (const f of CONNECT_FILTERS) if (f.enabled(o)) f.prefetch?.(input);
    return new Promise<void>((done) =>
      setImmediate(() => {
        assert.deepEqual([...dns.calls].sort(), [
          'a mail.spammer.example',
          'rbl 192.0.2.7 bl.test',
          'rbl 192.0.2.7 wl.test',
          'rhsbl mail.spammer.example dbl.test',
          'rhsbl mail.spammer.example whl.test',
        ]);
        done();
      }),
    );
  });
  test('skipped for 0.0.0.0, 127.0.0.1 and ::1', async () => {
    for (const ip of ['0.0.0.0', '127.0.0.1', '::1']) {
      const dns = new ScriptedDns({ 'bl.test': { listed: true, answers: ['127.0.0.2'] } });
      const { decision } = await connectStage(['--dns-blacklist-entry', 'bl.test'], facts(ip), dns);
      assert.equal(decision.rejection, undefined, ip);
      assert.deepEqual(dns.calls, []);
    }
  });
  test('a zone error never rejects and is logged as an error once per connection', async () => {
    const zoneError = 'refuse.test answered 127.255.255.254, an error code: x; not treated as a listing';
    const dns = new ScriptedDns({ 'refuse.test': { listed: false, zoneError } });
    const log = recordingLog();
    const input = filterInput(options(['--dns-blacklist-entry', 'refuse.test']), client, log, dns);
    const decision = new Decision();
    await runStage('connect', input, decision);
    await runStage('connect', input, decision); // config-dir re-runs connection filters per RCPT
    assert.equal(decision.rejection, undefined);
    assert.deepEqual(log.lines, [`error dns-blacklist ${zoneError}`]);
  });
  test('a zone that does not answer lets the client through, with one error line', async () => {
    const dns = new ScriptedDns({ 'slow.test': { listed: false, failure: 'timeout' } });
    const { decision, lines } = await connectStage(['--dns-blacklist-entry', 'slow.test'], client, dns);
    assert.equal(decision.rejection, undefined);
    assert.deepEqual(lines, [
      'error dns-blacklist: no answer from slow.test for 192.0.2.7 (timeout); not treated as a listing',
    ]);
  });
  test('a DQS key is neither in the reply nor in a log line', async () => {
    const zone = `${DQS_KEY}.zen.dq.spamhaus.net`;
    const dns = new ScriptedDns({ [zone]: { listed: true, answers: ['127.0.0.2'] } });
    const { decision, lines } = await connectStage(['--dns-blacklist-entry', zone], client, dns);
    assert.equal(
      decision.rejection?.text,
      'Refused. Your IP address is listed in the RBL at zen.dq.spamhaus.net',
    );
    assert.equal(decision.rejection?.reason, 'zen.dq.spamhaus.net');
    assert.ok(lines.every((l) => !l.includes(DQS_KEY)));
    assert.ok(dns.calls[0].includes(DQS_KEY), 'the key is still used for the query');
  });
  test('a malformed zone line is logged and skipped', async () => {
    const zones = join(dir, 'bad-zones');
    writeFileSync(zones, 'bad zone!\nbl.test=127.0.0.[2..11]\n');
    const dns = new ScriptedDns({ 'bl.test': { listed: true, answers: ['127.0.0.2'] } });
    const { decision, lines } = await connectStage(['--dns-blacklist-file', zones], client, dns);
    assert.equal(decision.rejection?.reason, 'bl.test');
    assert.ok(lines.includes(`error invalid dns-blacklist zone "bad zone!" in ${zones}(1): ignored`));
  });
  test('a missing zone file is logged like any list file', async () => {
    const missing = join(dir, 'no-such-zones');
    const { decision, lines } = await connectStage(['--dns-blacklist-file', missing], client);
    assert.equal(decision.rejection, undefined);
    assert.ok(
      lines.includes(`error unable to open file for searching ${missing}: No such file or directory`),
    );
  });
});

describe('dns-whitelist, rhs-whitelist, rhs-blacklist at connect', () => {
  test('RWL beats an earlier and a later blacklist', async () => {
    const dns = new ScriptedDns({
      'wl.test': { listed: true, answers: ['127.0.0.2'] },
      'bl.test': { listed: true, answers: ['127.0.0.2'] },
    });
    const { decision, lines } = await connectStage(
      [
        '--ip-blacklist-entry',
        '192.0.2',
        '--dns-whitelist-entry',
        'wl.test',
        '--dns-blacklist-entry',
        'bl.test',
      ],
      client,
      dns,
    );
    assert.equal(decision.rejection, undefined);
    assert.ok(decision.trusted);
    assert.ok(lines.includes('verbose FILTER_RWL_MATCH ip: 192.0.2.7 rwl: wl.test'));
    assert.ok(!lines.some((l) => l.includes('FILTER_RBL_MATCH')));
  });
  test('RHSBL on the rDNS name: 554 with the RHSBL text; FILTER domain is the rDNS name', async () => {
    const dns = new ScriptedDns({
      'dbl.test': { listed: true, answers: ['127.0.1.2'], txt: 'Domain listed' },
    });
    const { decision, lines } = await connectStage(['--rhs-blacklist-entry', 'dbl.test'], client, dns);
    assert.equal(
      decision.rejection?.text,
      'Refused. Your domain name is listed in the RHSBL at dbl.test: Domain listed',
    );
    assert.equal(decision.rejection?.logCode, 'DENIED_RHSBL_MATCH');
    assert.equal(decision.rejection?.reason, 'dbl.test');
    assert.ok(lines.includes('verbose FILTER_RHSBL_MATCH domain: mail.spammer.example rhsbl: dbl.test'));
  });
  test('RHSWL: FILTER_RHSWL_MATCH, whitelists', async () => {
    const dns = new ScriptedDns({ 'whl.test': { listed: true, answers: ['127.0.0.2'] } });
    const { decision, lines } = await connectStage(
      ['--rhs-whitelist-entry', 'whl.test', '--reject-empty-rdns'],
      client,
      dns,
    );
    assert.ok(decision.trusted);
    assert.ok(lines.includes('verbose FILTER_RHSWL_MATCH domain: mail.spammer.example rhswl: whl.test'));
  });
  test('rhs lists at connect are skipped without rDNS and for 127.0.0.1', async () => {
    for (const f of [facts('192.0.2.7'), facts('127.0.0.1', 'localhost')]) {
      const dns = new ScriptedDns({ 'dbl.test': { listed: true } });
      const { decision } = await connectStage(['--rhs-blacklist-entry', 'dbl.test'], f, dns);
      assert.equal(decision.rejection, undefined);
      assert.deepEqual(dns.calls, []);
    }
  });
  test('IPv6 clients are looked up too (the resolver builds the nibble name)', async () => {
    const dns = new ScriptedDns({ 'bl.test': { listed: true, answers: ['127.0.0.3'] } });
    const { decision } = await connectStage(['--dns-blacklist-entry', 'bl.test'], facts('2001:db8::5'), dns);
    assert.equal(decision.rejection?.logCode, 'DENIED_RBL_MATCH');
    assert.deepEqual(dns.calls, ['rbl 2001:db8::5 bl.test']);
  });
});

describe('rhs lists at MAIL FROM (sender domain)', () => {
  test('the sender domain is looked up; the null sender is not', async () => {
    assert.equal(senderDomainOf('user@Spam.example'), 'Spam.example');
    assert.equal(senderDomainOf(''), '');
    assert.equal(senderDomainOf('nodomain'), '');
    const dns = new ScriptedDns({ 'dbl.test': { listed: true, answers: ['127.0.1.2'] } });
    const o = options(['--rhs-blacklist-entry', 'dbl.test']);
    const log = recordingLog();
    const v = await rhsBlacklistSender.run(filterInput(o, facts('127.0.0.1'), log, dns, 'a@spammer.example'));
    assert.equal(v.kind, 'reject');
    assert.ok(log.lines.includes('verbose FILTER_RHSBL_MATCH domain: spammer.example rhsbl: dbl.test'));
    const none = await rhsBlacklistSender.run(filterInput(o, client, recordingLog(), dns, ''));
    assert.equal(none.kind, 'continue');
    assert.deepEqual(dns.calls, ['rhsbl spammer.example dbl.test']);
    assert.equal(rhsWhitelistSender.stage, 'mail');
    assert.equal(rhsBlacklistSender.stage, 'mail');
  });
});
