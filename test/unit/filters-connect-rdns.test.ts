// The rDNS and IP-in-name connect filters (spec §2.4 steps 2–9, 12–14; §3.1 rows 4–7, 9; §3.4).
import { after, test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONNECT_FILTERS } from '../../src/filters/connect-stage';
import { LOG_ONLY_FILTERS } from '../../src/options/table';
import { resolvableWithoutDns } from '../../src/filters/rdns';
import { connectStage, facts, ScriptedDns } from './filters-connect-helpers';

const dir = mkdtempSync(join(tmpdir(), 'levee-connect-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, lines: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.map((l) => `${l}\n`).join(''));
  return p;
}

describe('stage order', () => {
  test('spamdyke order, ip lists keep their place, blacklist names are log-only names', () => {
    assert.deepEqual(
      CONNECT_FILTERS.map((f) => f.name),
      [
        'rdns-missing',
        'ip-in-cc-rdns',
        'rdns-whitelist',
        'rdns-blacklist',
        'ip-whitelist',
        'ip-blacklist',
        'ip-in-rdns-keyword-whitelist',
        'ip-in-rdns-keyword-blacklist',
        'unresolvable-rdns',
        'dns-whitelist',
        'rhs-whitelist',
        'dns-blacklist',
        'rhs-blacklist',
      ],
    );
    for (const f of CONNECT_FILTERS.filter((x) => x.kind === 'blacklist'))
      assert.ok((LOG_ONLY_FILTERS as readonly string[]).includes(f.name), f.name);
    assert.ok(CONNECT_FILTERS.every((f) => f.stage === 'connect'));
  });
});

describe('reject-empty-rdns', () => {
  test('no rDNS: 421 text, FILTER line, empty reason', async () => {
    const { decision, lines } = await connectStage(['--reject-empty-rdns'], facts('11.22.33.44'));
    assert.equal(decision.rejection?.code, 421);
    assert.equal(decision.rejection?.text, 'Refused. You have no reverse DNS entry.');
    assert.equal(decision.rejection?.logCode, 'DENIED_RDNS_MISSING');
    assert.equal(decision.rejection?.reason, '');
    assert.ok(lines.includes('verbose FILTER_RDNS_MISSING ip: 11.22.33.44'));
  });
  test('custom text and policy URL', async () => {
    const { decision } = await connectStage(
      ['--reject-empty-rdns', '--rejection-text-empty-rdns', 'No PTR', '--policy-url', 'http://x/p.html'],
      facts('11.22.33.44'),
    );
    assert.equal(decision.rejection?.text, 'No PTR See: http://x/p.html#DENIED_RDNS_MISSING');
  });
  test('skipped for 0.0.0.0 and for a client with a name', async () => {
    for (const f of [facts('0.0.0.0'), facts('11.22.33.44', 'mail.example.com')]) {
      const { decision } = await connectStage(['--reject-empty-rdns'], f);
      assert.equal(decision.rejection, undefined);
    }
  });
  test('a PTR lookup that failed temporarily is not "no rDNS": passes with a note', async () => {
    const { decision, lines } = await connectStage(['--reject-empty-rdns'], facts('11.22.33.44', '', true));
    assert.equal(decision.rejection, undefined);
    assert.ok(
      lines.some((l) => /^verbose reject-empty-rdns: not applied to 11\.22\.33\.44: .*temporarily/.test(l)),
    );
  });
});

describe('reject-ip-in-cc-rdns', () => {
  test('IP in name and a two-letter TLD: 554', async () => {
    const { decision, lines } = await connectStage(
      ['--reject-ip-in-cc-rdns'],
      facts('11.22.33.44', '44-33-22-11.dsl.example.de'),
    );
    assert.equal(decision.rejection?.code, 554);
    assert.equal(decision.rejection?.logCode, 'DENIED_IP_IN_CC_RDNS');
    assert.equal(
      decision.rejection?.text,
      'Refused. Your reverse DNS entry contains your IP address and a country code.',
    );
    assert.ok(
      lines.includes('verbose FILTER_IP_IN_CC_RDNS ip: 11.22.33.44 rdns: 44-33-22-11.dsl.example.de'),
    );
  });
  test('not for .com, nor without the IP, nor for IPv6', async () => {
    for (const f of [
      facts('11.22.33.44', '44-33-22-11.dsl.example.com'),
      facts('11.22.33.44', 'mail.example.de'),
      facts('2001:db8::5', '2001-db8--5.example.de'),
    ]) {
      const { decision } = await connectStage(['--reject-ip-in-cc-rdns'], f);
      assert.equal(decision.rejection, undefined, f.rdns);
    }
  });
});

describe('rdns-whitelist / rdns-blacklist', () => {
  const client = facts('11.22.33.44', 'mail.spam.example.com');
  test('entry: 554 name blacklisted, reason = entry', async () => {
    const { decision, lines } = await connectStage(['--rdns-blacklist-entry', '.example.com'], client);
    assert.equal(decision.rejection?.text, 'Refused. Your domain name is blacklisted.');
    assert.equal(decision.rejection?.logCode, 'DENIED_BLACKLIST_NAME');
    assert.equal(decision.rejection?.reason, '.example.com');
    assert.ok(
      lines.includes(
        'verbose FILTER_BLACKLIST_NAME ip: 11.22.33.44 rdns: mail.spam.example.com entry: .example.com',
      ),
    );
  });
  test('file: reason file:line, FILTER file: F(N)', async () => {
    const f = file('rdns-bl', ['# comment', 'other.example.net', 'mail.spam.example.com']);
    const { decision, lines } = await connectStage(['--rdns-blacklist-file', f], client);
    assert.equal(decision.rejection?.reason, `${f}:3`);
    assert.ok(lines.some((l) => l.endsWith(`rdns: mail.spam.example.com file: ${f}(3)`)));
  });
  test('dir: FILTER path: is the directory, reason the file found', async () => {
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'com/e/example'), { recursive: true });
    writeFileSync(join(tree, 'com/e/example/spam.example.com'), '');
    const { decision, lines } = await connectStage(['--rdns-blacklist-dir', tree], client);
    assert.equal(decision.rejection?.reason, `${tree}/com/e/example/spam.example.com`);
    assert.ok(lines.some((l) => l.endsWith(`rdns: mail.spam.example.com path: ${tree}`)));
  });
  test('an exact entry does not match a subdomain; no rDNS never matches', async () => {
    for (const [argv, f] of [
      [['--rdns-blacklist-entry', 'example.com'], client],
      [['--rdns-blacklist-entry', '.example.com'], facts('11.22.33.44')],
    ] as const) {
      const { decision } = await connectStage([...argv], f);
      assert.equal(decision.rejection, undefined);
    }
  });
  test('whitelist beats a blacklist that comes before or after it', async () => {
    const { decision, lines } = await connectStage(
      [
        '--rdns-whitelist-entry',
        'mail.spam.example.com',
        '--ip-blacklist-entry',
        '11.22',
        '--reject-empty-rdns',
      ],
      client,
    );
    assert.equal(decision.rejection, undefined);
    assert.ok(decision.trusted);
    assert.ok(lines.some((l) => l.startsWith('verbose FILTER_WHITELIST_NAME ip: 11.22.33.44')));
    const late = await connectStage(
      ['--ip-in-rdns-keyword-whitelist-entry', 'dsl', '--reject-ip-in-cc-rdns'],
      facts('11.22.33.44', '11-22-33-44.dsl.example.de'),
    );
    assert.equal(late.decision.rejection, undefined);
    assert.ok(late.decision.trusted);
  });
  test('first blacklist hit wins', async () => {
    const { decision, lines } = await connectStage(
      ['--rdns-blacklist-entry', '.example.com', '--ip-blacklist-entry', '11.22.33.44'],
      client,
    );
    assert.equal(decision.rejection?.logCode, 'DENIED_BLACKLIST_NAME');
    assert.ok(!lines.some((l) => l.includes('FILTER_BLACKLIST_IP')));
  });
});

describe('ip-in-rdns-keyword lists', () => {
  const client = facts('11.22.33.44', '11.22.33.44.cable.modem.dynamic.customer.example.com');
  test('entry: all keywords, FILTER keyword: K file: (none)', async () => {
    const { decision, lines } = await connectStage(
      ['--ip-in-rdns-keyword-blacklist-entry', 'cable dynamic .example.com'],
      client,
    );
    assert.equal(decision.rejection?.logCode, 'DENIED_IP_IN_RDNS');
    assert.equal(
      decision.rejection?.text,
      'Refused. Your reverse DNS entry contains your IP address and a banned keyword.',
    );
    assert.equal(decision.rejection?.reason, 'cable dynamic .example.com');
    assert.ok(
      lines.includes(
        `verbose FILTER_IP_IN_RDNS_BLACKLIST ip: 11.22.33.44 rdns: ${client.rdns} keyword: cable dynamic .example.com file: (none)`,
      ),
    );
  });
  test('file: keyword line and F(N)', async () => {
    const f = file('keywords', ['static', 'dynamic']);
    const { decision, lines } = await connectStage(['--ip-in-rdns-keyword-blacklist-file', f], client);
    assert.equal(decision.rejection?.reason, `${f}:2`);
    assert.ok(lines.some((l) => l.endsWith(`keyword: dynamic file: ${f}(2)`)));
  });
  test('a missing file is logged with the keywords-file message', async () => {
    const missing = join(dir, 'no-such-keywords');
    const { decision, lines } = await connectStage(['--ip-in-rdns-keyword-blacklist-file', missing], client);
    assert.equal(decision.rejection, undefined);
    assert.ok(lines.includes(`error unable to open keywords file ${missing}: No such file or directory`));
  });
  test('the IP test comes first: without the IP in the name no file is opened', async () => {
    const missing = join(dir, 'no-such-keywords');
    const { decision, lines } = await connectStage(
      ['--ip-in-rdns-keyword-blacklist-file', missing, '--ip-in-rdns-keyword-blacklist-entry', 'cable'],
      facts('11.22.33.45', client.rdns),
    );
    assert.equal(decision.rejection, undefined);
    assert.deepEqual(lines, []);
  });
});

describe('reject-unresolvable-rdns', () => {
  const argv = ['--reject-unresolvable-rdns'];
  test('a name without an A record: 421, FILTER_RDNS_RESOLVE', async () => {
    const dns = new ScriptedDns();
    const { decision, lines } = await connectStage(argv, facts('11.22.33.44', 'forged.example.com'), dns);
    assert.equal(decision.rejection?.code, 421);
    assert.equal(decision.rejection?.text, 'Refused. Your reverse DNS entry does not resolve.');
    assert.equal(decision.rejection?.logCode, 'DENIED_RDNS_RESOLVE');
    assert.ok(lines.includes('verbose FILTER_RDNS_RESOLVE ip: 11.22.33.44 rdns: forged.example.com'));
    assert.deepEqual(dns.calls, ['a forged.example.com']);
  });
  test('any A record passes', async () => {
    const dns = new ScriptedDns({}, { 'good.example.com': { ok: true, value: ['192.0.2.9'] } });
    const { decision } = await connectStage(argv, facts('11.22.33.44', 'good.example.com'), dns);
    assert.equal(decision.rejection, undefined);
  });
  test('a temporary failure passes with a log line', async () => {
    const dns = new ScriptedDns({}, { 'slow.example.com': { ok: false, failure: 'timeout', message: 't' } });
    const { decision, lines } = await connectStage(argv, facts('11.22.33.44', 'slow.example.com'), dns);
    assert.equal(decision.rejection, undefined);
    assert.ok(lines.some((l) => l.includes('slow.example.com failed temporarily (timeout)')));
  });
  test('localhost passes only for 127.0.0.1, without a query', async () => {
    const dns = new ScriptedDns();
    assert.equal(
      (await connectStage(argv, facts('127.0.0.1', 'localhost'), dns)).decision.rejection,
      undefined,
    );
    const other = await connectStage(argv, facts('11.22.33.44', 'localhost.localdomain'), dns);
    assert.equal(other.decision.rejection?.logCode, 'DENIED_RDNS_RESOLVE');
    assert.deepEqual(dns.calls, []);
    assert.equal(resolvableWithoutDns('11.22.33.44', 'mail.example.com'), 'ask');
  });
  test('no rDNS is not this filter’s business; IPv6 clients are not checked (A only)', async () => {
    const dns = new ScriptedDns();
    assert.equal((await connectStage(argv, facts('11.22.33.44'), dns)).decision.rejection, undefined);
    assert.equal(
      (await connectStage(argv, facts('2001:db8::5', 'v6.example.com'), dns)).decision.rejection,
      undefined,
    );
    assert.deepEqual(dns.calls, []);
  });
});
