import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger, Transcript } from '../../src/log';

let root = '';
let n = 0;
const freshDir = (): string => mkdtempSync(join(root, `t${n++}-`));
const TS = String.raw`\d\d/\d\d/\d{4} \d\d:\d\d:\d\d`;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'levee-transcript-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('full-log-dir transcript (spec §3.6)', () => {
  test('file name, mode 0600 and STARTED line', () => {
    const dir = freshDir();
    const t = Transcript.open(dir, '0.1.0', 4321, undefined, new Date(2024, 2, 7, 9, 5, 3));
    assert.ok(t);
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^20240307_090503_4321_\d+$/);
    assert.equal(statSync(join(dir, files[0]!)).mode & 0o777, 0o600);
    t.close();
    const text = readFileSync(join(dir, files[0]!), 'utf8');
    assert.match(
      text,
      new RegExp(`^03/07/2024 09:05:03 STARTED: VERSION = 0\\.1\\.0, PID = 4321\\n\\n${TS} CLOSED\\n$`),
    );
  });

  test('chunks, events, sections and log output in spamdyke layout', () => {
    const dir = freshDir();
    const t = Transcript.open(dir, '0.1.0', 1, undefined)!;
    const log = new Logger({ level: 'error', targets: [], format: 'text' });
    log.attachTranscript(t);
    t.eventLine('Remote IP = 11.22.33.44');
    t.eventLine('- Remote rDNS = (unknown)');
    t.section('CURRENT CONFIG', ['log-level=error', 'full-log-dir=/tmp/x']);
    t.chunk('FROM CHILD TO REMOTE', Buffer.from('220 mx ESMTP\r\n'));
    t.chunk('FROM REMOTE TO CHILD', Buffer.from('EHLO a\r\n'));
    log.info('an info line, below the configured level');
    log.filter('FILTER_BLACKLIST_IP', [
      ['ip', '11.22.33.44'],
      ['entry', '11.22.33'],
    ]);
    log.debug('evil\r\ninjected');
    t.chunk('FROM LEVEE TO REMOTE', Buffer.from('250 Refused.\r\n'), { tls: true, authUser: 'bob smith' });
    t.eventLine('Authentication successful');
    t.chunk('FROM CHILD, FILTERED', Buffer.from('250-AUTH LOGIN\r\n'));
    t.chunk('FROM REMOTE TO CHILD', Buffer.from([0x16, 0x03, 0x01, 0xff]), { passthrough: true });
    log.excessive('not recorded: excessive is off');
    void log.close(); // closes the transcript too
    const text = readFileSync(t.path, 'utf8');
    const expected = [
      `${TS} STARTED: VERSION = 0\\.1\\.0, PID = 1`,
      '',
      `${TS} - Remote IP = 11\\.22\\.33\\.44`,
      '',
      `${TS} - Remote rDNS = \\(unknown\\)`,
      '',
      `${TS} CURRENT CONFIG`,
      'log-level=error',
      'full-log-dir=/tmp/x',
      '',
      `${TS} FROM CHILD TO REMOTE: 14 bytes`,
      '220 mx ESMTP\r',
      '',
      `${TS} FROM REMOTE TO CHILD: 8 bytes`,
      'EHLO a\r',
      '',
      `${TS} LOG OUTPUT`,
      'an info line, below the configured level',
      'FILTER_BLACKLIST_IP ip: 11\\.22\\.33\\.44 entry: 11\\.22\\.33',
      'DEBUG: evil\\\\x0d\\\\x0ainjected',
      '',
      `${TS} FROM LEVEE TO REMOTE: 14 bytes TLS AUTH:bob\\\\x20smith`,
      '250 Refused\\.\r',
      '',
      `${TS} TLS AUTH:bob\\\\x20smith - Authentication successful`,
      '',
      `${TS} FROM CHILD, FILTERED: 16 bytes TLS AUTH:bob\\\\x20smith`,
      '250-AUTH LOGIN\r',
      '',
      `${TS} FROM REMOTE TO CHILD: 4 bytes TLS_PASSTHROUGH`,
      '16 03 01 ff ',
      `${TS} CLOSED`,
      '',
    ];
    const lines = text.split('\n');
    assert.equal(lines.length, expected.length, text);
    expected.forEach((re, i) => assert.match(lines[i]!, new RegExp(`^${re}$`), `line ${i + 1}: ${lines[i]}`));
  });

  test('a log dir that is not a directory reports spamdyke-style text and returns null', () => {
    const file = join(freshDir(), 'plain-file');
    writeFileSync(file, '');
    const errors: string[] = [];
    assert.equal(
      Transcript.open(file, 'v', 1, (m) => errors.push(m)),
      null,
    );
    assert.equal(errors.length, 1);
    assert.match(
      errors[0]!,
      /^unable to open traffic log file .*plain-file\/\d{8}_\d{6}_1_\d+: Not a directory$/,
    );
  });

  test('a missing directory reports ENOENT text', () => {
    const errors: string[] = [];
    assert.equal(
      Transcript.open(join(root, 'nope'), 'v', 1, (m) => errors.push(m)),
      null,
    );
    assert.match(errors[0]!, /: No such file or directory$/);
  });

  test('close is idempotent and later writes are ignored', () => {
    const t = Transcript.open(freshDir(), 'v', 1)!;
    t.close();
    const before = readFileSync(t.path, 'utf8');
    t.close();
    t.logOutput('after close');
    t.chunk('FROM REMOTE TO CHILD', Buffer.from('x'));
    assert.equal(readFileSync(t.path, 'utf8'), before);
    assert.equal(t.isOpen, false);
  });

  test('a logger with a transcript reports debug as enabled even at level error', () => {
    const log = new Logger({ level: 'error', targets: [], format: 'text' });
    assert.equal(log.enabled('debug'), false);
    log.attachTranscript(Transcript.open(freshDir(), 'v', 1)!);
    assert.equal(log.enabled('debug'), true);
    assert.equal(log.enabled('excessive'), false);
    assert.equal(log.enabled('none'), false);
    void log.close();
  });
});
