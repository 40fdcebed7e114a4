// The checkpassword interface (spec §5.4): fd 3 payload, exit codes incl. vchkpw's, commands tried in
// order, the time limit. Runs the Node checkpassword fixture (no Debian package needed).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHmac } from 'node:crypto';
import { Logger } from '../../src/log';
import {
  describeCheckpasswordExit,
  splitCommand,
  checkpasswordInput,
  runCheckpassword,
  verifyCredentials,
  printable,
} from '../../src/auth/checkpassword';

const FIXTURE = resolve(__dirname, '..', 'fixtures', 'checkpassword.mjs');

class CaptureLogger extends Logger {
  lines: string[] = [];
  constructor() {
    super({ level: 'debug', targets: [], format: 'text' });
  }
  override verbose(t: string): void {
    this.lines.push(t);
  }
  override debug(t: string): void {
    this.lines.push(t);
  }
}

const creds = (user: string, password: string, timestamp = '') => ({
  user: Buffer.from(user),
  password: Buffer.from(password),
  timestamp: Buffer.from(timestamp),
});

describe('checkpassword helpers', () => {
  test('exit codes: 0 ok, 1/2/111, vchkpw codes explained, others unknown', () => {
    assert.equal(describeCheckpasswordExit(0), null);
    assert.match(describeCheckpasswordExit(1)!, /^authentication failure \(bad username\/password/);
    assert.match(describeCheckpasswordExit(2)!, /^authentication misuse/);
    assert.match(describeCheckpasswordExit(111)!, /^authentication error \(likely due to missing/);
    assert.match(describeCheckpasswordExit(3)!, /^authentication error 3 \(vchkpw .* unknown username/);
    for (const c of [7, 8, 9, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23])
      assert.match(
        describeCheckpasswordExit(c)!,
        new RegExp(`^authentication error ${c} \\(vchkpw uses this`),
      );
    assert.equal(describeCheckpasswordExit(42), 'unknown authentication error code (42)');
    assert.equal(describeCheckpasswordExit(16), 'unknown authentication error code (16)');
  });

  test('commands split on single spaces; two spaces make an empty argument', () => {
    assert.deepEqual(splitCommand('/bin/checkpassword /bin/true'), ['/bin/checkpassword', '/bin/true']);
    assert.deepEqual(splitCommand('a  b'), ['a', '', 'b']);
  });

  test('fd-3 payload is user NUL password NUL timestamp NUL; a NUL inside a field is refused', () => {
    assert.deepEqual(
      checkpasswordInput(Buffer.from('u'), Buffer.from('p'), Buffer.from('')),
      Buffer.from('u\0p\0\0'),
    );
    assert.equal(checkpasswordInput(Buffer.from('u\0x'), Buffer.from('p'), Buffer.from('')), null);
  });

  test('user names are made printable for the log', () => {
    assert.equal(printable(Buffer.from('al ice\r\n\x1b[31m')), 'alice[31m');
    assert.equal(printable(Buffer.alloc(300, 0x61)).length, 255);
  });
});

describe('running checkpassword programs', () => {
  test('the program receives exactly the three fields on fd 3', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-cp-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const logFile = join(dir, 'log');
    process.env.CHECKPW_LOG = logFile;
    t.after(() => delete process.env.CHECKPW_LOG);
    const input = checkpasswordInput(Buffer.from('alice'), Buffer.from('s3cret'), Buffer.from(''))!;
    const r = await runCheckpassword([FIXTURE, 'alice', 's3cret'], input);
    assert.equal(r.status, 0);
    assert.deepEqual(JSON.parse(readFileSync(logFile, 'utf8')), {
      user: 'alice',
      password: 's3cret',
      timestamp: '',
    });
    const bad = await runCheckpassword([FIXTURE, 'alice', 's3cret'], Buffer.from('alice\0wrong\0\0'));
    assert.equal(bad.status, 1);
  });

  test('a program that does not finish is killed at the time limit', async () => {
    const started = Date.now();
    const r = await runCheckpassword(['/bin/sleep', '5'], Buffer.from('u\0p\0\0'), 300);
    assert.equal(r.status, null);
    assert.match(r.error!, /timed out/);
    assert.ok(Date.now() - started < 3000);
  });

  test('a missing program is an error, not a success', async () => {
    const r = await runCheckpassword(['/nonexistent/checkpassword'], Buffer.from('u\0p\0\0'));
    assert.equal(r.status, null);
  });

  test('commands are tried in order until one accepts; failures are logged at verbose', async () => {
    const log = new CaptureLogger();
    const ok = await verifyCredentials(
      [`${FIXTURE} bob other`, '/nonexistent/cp', `${FIXTURE} alice s3cret /bin/true`],
      creds('alice', 's3cret'),
      log,
    );
    assert.equal(ok, true);
    assert.ok(log.lines.some((l) => /^authentication failure \(bad username\/password.*: alice$/.test(l)));
    assert.ok(log.lines.some((l) => /^authentication aborted abnormally .*: alice$/.test(l)));
    assert.ok(log.lines.includes('authentication successful: alice'));
  });

  test('wrong password, temporary failure and vchkpw codes all refuse', async () => {
    const log = new CaptureLogger();
    assert.equal(await verifyCredentials([`${FIXTURE} alice s3cret`], creds('alice', 'nope'), log), false);
    assert.equal(await verifyCredentials([`${FIXTURE} alice s3cret`], creds('tempfail', 'x'), log), false);
    assert.equal(await verifyCredentials([`${FIXTURE} alice s3cret`], creds('exit-13', 'x'), log), false);
    assert.ok(log.lines.some((l) => l.startsWith('authentication error (likely due to missing')));
    assert.ok(
      log.lines.some((l) =>
        l.startsWith('authentication error 13 (vchkpw uses this to indicate an empty password)'),
      ),
    );
  });

  test('CRAM-MD5: digest as password, challenge as timestamp', async () => {
    const challenge = '<4711.1700000000@mx.test>';
    const digest = createHmac('md5', 's3cret').update(challenge).digest('hex');
    const log = new CaptureLogger();
    assert.equal(
      await verifyCredentials([`${FIXTURE} alice s3cret`], creds('alice', digest, challenge), log),
      true,
    );
    assert.equal(
      await verifyCredentials([`${FIXTURE} alice s3cret`], creds('alice', digest, '<other@mx.test>'), log),
      false,
    );
  });

  test('no command accepts when none is configured', async () => {
    assert.equal(await verifyCredentials([], creds('alice', 's3cret'), new CaptureLogger()), false);
  });
});
