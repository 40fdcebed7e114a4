import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadOptions } from '../../src/options/parse';
import { Report, formatCheckLine } from '../../src/config-test/report';
import { checkOptionValues, countLines, commandProgram } from '../../src/config-test/option-checks';
import {
  checkConfigDir,
  checkGraylistTree,
  checkRdnsDir,
  configDirPathProblem,
  rdnsDirFileProblem,
} from '../../src/config-test/tree-checks';
import { capabilitiesFromEhlo, judgeCapabilities } from '../../src/config-test/child-probe';
import { cdbHash, checkCdb } from '../../src/config-test/cdb-check';
import { checkGraylist, checkTls, V6_TEST_LABELS } from '../../src/config-test/service-checks';
import { domain2path } from '../../src/match/rdns';

const options = (...args: string[]) => loadOptions([...args, '/bin/true']).options;
const lines = (r: Report) => r.lines.map(formatCheckLine);

function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'levee-ct-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A cdb file as cdbmake writes it (djb's layout), for the checker. */
function makeCdb(keys: string[]): Buffer {
  const records: Buffer[] = [];
  const slots: { hash: number; pos: number }[][] = Array.from({ length: 256 }, () => []);
  let pos = 2048;
  for (const k of keys) {
    const key = Buffer.from(k);
    const head = Buffer.alloc(8);
    head.writeUInt32LE(key.length, 0);
    head.writeUInt32LE(0, 4);
    records.push(head, key);
    slots[cdbHash(key) & 255].push({ hash: cdbHash(key), pos });
    pos += 8 + key.length;
  }
  const header = Buffer.alloc(2048);
  const tables: Buffer[] = [];
  for (let i = 0; i < 256; i++) {
    const n = slots[i].length * 2;
    header.writeUInt32LE(pos, i * 8);
    header.writeUInt32LE(n, i * 8 + 4);
    const table = Buffer.alloc(n * 8);
    for (const s of slots[i]) {
      let at = (s.hash >>> 8) % n;
      while (table.readUInt32LE(at * 8 + 4) !== 0) at = (at + 1) % n;
      table.writeUInt32LE(s.hash, at * 8);
      table.writeUInt32LE(s.pos, at * 8 + 4);
    }
    tables.push(table);
    pos += n * 8;
  }
  return Buffer.concat([header, ...records, ...tables]);
}

describe('per-option checks from the option table', () => {
  test('files are opened, missing ones are errors with the reason', (t) => {
    const dir = scratch(t);
    writeFileSync(join(dir, 'ips'), '1.2.3.4\n');
    const r = new Report();
    checkOptionValues(
      r,
      options('--ip-blacklist-file', join(dir, 'ips'), '--ip-whitelist-file', join(dir, 'nope')),
    );
    const out = lines(r);
    assert.ok(out.includes(`SUCCESS(ip-blacklist-file): Opened for reading: ${join(dir, 'ips')}`));
    assert.ok(
      out.includes(
        `ERROR(ip-whitelist-file): Failed to open for reading: ${join(dir, 'nope')}: No such file or directory`,
      ),
    );
  });

  test('more than 25 entries suggest a file; 25 do not', () => {
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) => ['--ip-blacklist-entry', `10.0.0.${i}`]).flat();
    const r25 = new Report();
    checkOptionValues(r25, options(...many(25)));
    assert.equal(r25.lines.length, 0);
    const r26 = new Report();
    checkOptionValues(r26, options(...many(26)));
    assert.deepEqual(lines(r26), [
      'WARNING: ip-blacklist-entry is used 26 times; to increase efficiency, consider moving those values to a file instead.',
    ]);
  });

  test('rDNS files past 100 lines suggest the directory form; IP files do not', (t) => {
    const dir = scratch(t);
    const big = Array.from({ length: 101 }, (_, i) => `host${i}.example.com`).join('\n') + '\n';
    writeFileSync(join(dir, 'rdns'), big);
    writeFileSync(join(dir, 'ips'), big);
    const r = new Report();
    checkOptionValues(
      r,
      options('--rdns-blacklist-file', join(dir, 'rdns'), '--ip-blacklist-file', join(dir, 'ips')),
    );
    const warnings = lines(r).filter((l) => l.startsWith('WARNING'));
    assert.deepEqual(warnings, [
      `WARNING(rdns-blacklist-file): File length is inefficient; consider using a directory structure instead: ${join(dir, 'rdns')}`,
    ]);
  });

  test('directories levee writes into get a create-and-delete test; commands must be executable', (t) => {
    const dir = scratch(t);
    writeFileSync(join(dir, 'notexec'), '#!/bin/sh\n');
    chmodSync(join(dir, 'notexec'), 0o644);
    const r = new Report();
    checkOptionValues(
      r,
      options('--full-log-dir', dir, '--smtp-auth-command', `${join(dir, 'notexec')},/bin/true`),
    );
    const out = lines(r);
    assert.ok(out.includes(`SUCCESS(full-log-dir): Created and deleted file in directory: ${dir}`));
    assert.ok(
      out.some((l) =>
        l.startsWith(`ERROR(smtp-auth-command): File is not executable: ${join(dir, 'notexec')}`),
      ),
    );
  });

  test('defaults are not checked (dns-resolv-conf is /etc/resolv.conf unless set)', () => {
    const r = new Report();
    checkOptionValues(r, options());
    assert.equal(r.lines.length, 0);
  });

  test('countLines counts a last line without LF', () => {
    assert.equal(countLines(''), 0);
    assert.equal(countLines('a'), 1);
    assert.equal(countLines('a\nb\n'), 2);
    assert.equal(countLines('a\nb'), 2);
  });

  test('commandProgram searches PATH for a bare name', () => {
    assert.equal(commandProgram('/x/y arg', '/bin'), '/x/y');
    assert.equal(commandProgram('sh -c', '/nonexistent:/bin'), '/bin/sh');
  });
});

describe('config-dir tree validation', () => {
  test('well-formed paths pass', () => {
    for (const p of [
      '_ip_/11/22/33/44',
      '_ip_/11/22',
      '_rdns_/com/example/mail',
      '_sender_/com/example/_at_/mom',
      '_sender_/com/example',
      '_ip_/11/22/33/44/_sender_/com/example/home/_at_/mom',
      '_recipient_/org/example/_at_/bob',
    ]) {
      assert.equal(configDirPathProblem(p.split('/'), false), null, p);
    }
    assert.equal(configDirPathProblem(['_sender_', 'com', '_at_'], true), null);
  });

  test('bad octets, depth, misplaced _at_ and unknown roots are reported', () => {
    assert.match(configDirPathProblem(['_ip_', '300'], false) ?? '', /not an IP octet/);
    assert.match(configDirPathProblem('_ip_/1/2/3/4/5'.split('/'), false) ?? '', /four octets/);
    assert.match(configDirPathProblem(['_rdns_', 'com', '_at_', 'x'], false) ?? '', /only used under/);
    assert.match(configDirPathProblem(['_sender_', 'com', '_at_'], false) ?? '', /never read/);
    assert.match(configDirPathProblem(['stuff'], false) ?? '', /unknown name/);
    assert.match(configDirPathProblem(['_ip_', '1', '_ip_', '2'], false) ?? '', /twice/);
  });

  test('a real tree: errors for bad entries, success for a clean one', (t) => {
    const dir = scratch(t);
    mkdirSync(join(dir, 'good/_ip_/11/22/33'), { recursive: true });
    writeFileSync(join(dir, 'good/_ip_/11/22/33/44'), 'reject-empty-rdns\n');
    mkdirSync(join(dir, 'bad/_ip_/999'), { recursive: true });
    symlinkSync('/etc', join(dir, 'good2'));
    const good = new Report();
    checkConfigDir(good, 'config-dir', join(dir, 'good'));
    assert.deepEqual(lines(good), [
      `SUCCESS(config-dir): Configuration directory is valid: ${join(dir, 'good')}`,
    ]);
    const bad = new Report();
    checkConfigDir(bad, 'config-dir', join(dir, 'bad'));
    assert.equal(bad.errorCount, 1);
    assert.match(
      lines(bad)[0],
      /ERROR\(config-dir\): Bad configuration directory entry: .*_ip_\/999: "999" is not an IP octet/,
    );
  });
});

describe('rDNS directory validation', () => {
  test('a file is in the right place exactly when domain2path puts it there', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 1, maxLength: 5 }),
        (labels) => {
          const name = labels.join('.');
          assert.equal(rdnsDirFileProblem(domain2path(name, false)), null);
        },
      ),
    );
    assert.match(
      rdnsDirFileProblem('com/e/example/mail.example.org') ?? '',
      /belongs at org\/e\/example\/mail.example.org/,
    );
  });

  test('a real tree with a misplaced file and a long letter directory', (t) => {
    const dir = scratch(t);
    mkdirSync(join(dir, 'com/e/example'), { recursive: true });
    writeFileSync(join(dir, 'com/e/example/mail.example.com'), '');
    writeFileSync(join(dir, 'com/e/example/other.test'), '');
    mkdirSync(join(dir, 'org/ex'), { recursive: true });
    const r = new Report();
    checkRdnsDir(r, 'rdns-blacklist-dir', dir);
    assert.equal(r.errorCount, 2);
    assert.ok(lines(r).some((l) => l.includes('Second-level directory must be one letter')));
    assert.ok(lines(r).some((l) => l.includes('other.test: file name does not match')));
  });
});

describe('graylist checks', () => {
  test('graylist-level none with other graylist options is an error', () => {
    const r = new Report();
    checkGraylist(r, options('--graylist-dir', '/tmp', '--graylist-min-secs', '300'));
    assert.equal(r.errorCount, 1);
    assert.match(
      lines(r)[0],
      /graylist-level is none but other graylist options are set \(graylist-dir, graylist-min-secs\)/,
    );
  });

  test('domain directories: non-directories, foreign and missing local domains', (t) => {
    const dir = scratch(t);
    mkdirSync(join(dir, 'example.org'));
    mkdirSync(join(dir, 'foreign.test'));
    writeFileSync(join(dir, 'stray'), '');
    const r = new Report();
    checkGraylistTree(r, { level: 'always', dirs: [dir], localDomains: ['example.org', 'example.net'] });
    const out = lines(r);
    assert.ok(
      out.includes(
        `ERROR(graylist-level): Not a directory, graylisting cannot use it: ${join(dir, 'stray')}`,
      ),
    );
    assert.ok(
      out.some((l) =>
        l.startsWith('INFO(graylist-level): Graylist domain directory for a domain that is not local'),
      ),
    );
    assert.ok(
      out.includes(
        'INFO(graylist-level): Local domain example.net has no graylist directory; no graylisting will take place for it.',
      ),
    );
    const creating = new Report();
    checkGraylistTree(creating, { level: 'always-create-dir', dirs: [dir], localDomains: ['example.net'] });
    assert.ok(lines(creating).some((l) => l.endsWith('levee will create it.')));
  });
});

describe('child capability probe', () => {
  test('STARTTLS and AUTH keywords are found in the EHLO reply', () => {
    assert.deepEqual(capabilitiesFromEhlo(['250-x', '250-STARTTLS', '250 AUTH LOGIN PLAIN']), {
      tls: true,
      auth: true,
    });
    assert.deepEqual(capabilitiesFromEhlo(['250-x', '250-AUTH=LOGIN', '250 8BITMIME']), {
      tls: false,
      auth: true,
    });
    assert.deepEqual(capabilitiesFromEhlo(['250-x', '250 PIPELINING']), { tls: false, auth: false });
    assert.deepEqual(capabilitiesFromEhlo(['250-x', '250 STARTTLSX']), { tls: false, auth: false });
  });

  const caps = (tls: boolean, auth: boolean) => ({ answered: true, greeted: true, tls, auth });

  test('no output is an error naming the command', () => {
    const r = new Report();
    judgeCapabilities(r, options(), 'qmail-smtpd', {
      answered: false,
      greeted: false,
      tls: false,
      auth: false,
    });
    assert.deepEqual(lines(r), ['ERROR: Command returned no output: qmail-smtpd']);
  });

  test('no TLS anywhere is a warning; a certificate makes it a success', () => {
    const r = new Report();
    judgeCapabilities(r, options(), 'q', caps(false, false));
    assert.match(lines(r)[0], /^WARNING: q does not appear to offer TLS support\. Please use/);
    const withCert = new Report();
    judgeCapabilities(withCert, options('--tls-certificate-file', '/c.pem'), 'q', caps(true, false));
    assert.match(
      lines(withCert)[0],
      /^SUCCESS: q appears to offer TLS support\. levee will answer STARTTLS itself/,
    );
  });

  test('AUTH levels that offer AUTH need a command; commands without such a level warn', () => {
    const r = new Report();
    judgeCapabilities(r, options('--smtp-auth-level', 'always'), 'q', caps(false, false));
    assert.ok(
      lines(r).some((l) => l.startsWith('ERROR: smtp-auth-level is always but no "smtp-auth-command"')),
    );
    const unused = new Report();
    judgeCapabilities(unused, options('--smtp-auth-command', '/bin/true'), 'q', caps(false, true));
    assert.ok(
      lines(unused).some((l) => l.startsWith('WARNING(smtp-auth-level): smtp-auth-command is given but')),
    );
    assert.ok(
      lines(unused).includes(
        'SUCCESS: q appears to offer SMTP AUTH support. levee will observe any authentication and trust its results.',
      ),
    );
  });
});

describe('CDB structure', () => {
  test('a cdbmake file with keys is valid; an empty one has no records', () => {
    assert.deepEqual(checkCdb(makeCdb(['example.org', 'example.net', 'a.test'])), { records: 3 });
    assert.deepEqual(checkCdb(makeCdb([])), { records: 0 });
  });

  test('truncation and corrupted hashes are found', () => {
    const good = makeCdb(['example.org', 'example.net']);
    assert.match(checkCdb(good.subarray(0, 100)).problem ?? '', /shorter than the 2048-byte header/);
    assert.match(checkCdb(good.subarray(0, good.length - 8)).problem ?? '', /outside the file/);
    const corrupt = Buffer.from(good);
    corrupt[2048 + 8] ^= 0x20; // first key's first byte: its stored hash no longer matches
    assert.match(checkCdb(corrupt).problem ?? '', /hash mismatch/);
  });
});

describe('TLS and DNS test points', () => {
  test('a missing certificate file is an error; tls-level smtps without one too', () => {
    const r = new Report();
    checkTls(r, options('--tls-certificate-file', '/nonexistent/cert.pem'));
    assert.match(
      lines(r)[0],
      /^ERROR\(tls-certificate-file\): Unable to load the certificate or key: No such file/,
    );
    const smtps = new Report();
    checkTls(smtps, options('--tls-level', 'smtps'));
    assert.equal(smtps.errorCount, 1);
  });

  test('the IPv6 test point labels spell ::FFFF:7F00:2 as 32 reversed nibbles', () => {
    const nibbles = '00000000000000000000ffff7f000002'.split('').reverse().join('.');
    assert.equal(V6_TEST_LABELS, nibbles);
  });
});
