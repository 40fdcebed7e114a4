import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatFilterLine, formatTrafficLine, MAX_LINE_BYTES, safeLine } from '../../src/log';
import type { TrafficRecord } from '../../src/log';
import {
  formatJsonLine,
  formatLevelLine,
  jsonRecord,
  syslogDatagram,
  syslogTimestamp,
  transcriptFileStamp,
  transcriptTimestamp,
} from '../../src/log/format';

const base: TrafficRecord = {
  code: 'DENIED_BLACKLIST_IP',
  sender: 'a@example.com',
  recipient: 'b@example.org',
  ip: '11.22.33.44',
  rdns: '',
  auth: '',
  encryption: '',
  reason: '11.22.33',
};

describe('traffic line (spec §3.3)', () => {
  test('verified spamdyke examples, verbatim', () => {
    assert.equal(
      formatTrafficLine(base),
      'DENIED_BLACKLIST_IP from: a@example.com to: b@example.org origin_ip: 11.22.33.44 origin_rdns: (unknown) auth: (unknown) encryption: (none) reason: 11.22.33',
    );
    assert.equal(
      formatTrafficLine({ ...base, code: 'ALLOWED', reason: '250 DATA END received' }),
      'ALLOWED from: a@example.com to: b@example.org origin_ip: 11.22.33.44 origin_rdns: (unknown) auth: (unknown) encryption: (none) reason: 250_DATA_END_received',
    );
  });

  test('empty sender and recipient are (unknown), empty reason is (empty)', () => {
    assert.equal(
      formatTrafficLine({
        ...base,
        code: 'TLS_ENCRYPTED',
        sender: '',
        recipient: '',
        reason: '',
        encryption: 'TLS_PASSTHROUGH',
      }),
      'TLS_ENCRYPTED from: (unknown) to: (unknown) origin_ip: 11.22.33.44 origin_rdns: (unknown) auth: (unknown) encryption: TLS_PASSTHROUGH reason: (empty)',
    );
  });

  test('rdns, auth and encryption are printed when known', () => {
    const line = formatTrafficLine({
      ...base,
      code: 'ALLOWED',
      rdns: 'mail.example.com',
      auth: 'alice',
      encryption: 'TLS',
      reason: '250 ok 1430000000 qp 1234',
    });
    assert.equal(
      line,
      'ALLOWED from: a@example.com to: b@example.org origin_ip: 11.22.33.44 origin_rdns: mail.example.com auth: alice encryption: TLS reason: 250_ok_1430000000_qp_1234',
    );
    for (const enc of ['SSL', 'TLS_PASSTHROUGH'] as const) {
      assert.match(
        formatTrafficLine({ ...base, encryption: enc }),
        new RegExp(` encryption: ${enc} reason: `),
      );
    }
  });

  test('a domain-less recipient and a file reason are printed as given', () => {
    assert.equal(
      formatTrafficLine({
        ...base,
        code: 'DENIED_RECIPIENT_BLACKLISTED',
        recipient: 'nodomain',
        reason: '/etc/bl:3',
      }),
      'DENIED_RECIPIENT_BLACKLISTED from: a@example.com to: nodomain origin_ip: 11.22.33.44 origin_rdns: (unknown) auth: (unknown) encryption: (none) reason: /etc/bl:3',
    );
  });

  test('TIMEOUT line', () => {
    assert.equal(
      formatTrafficLine({ ...base, code: 'TIMEOUT', sender: '', recipient: '', reason: 'TIMEOUT' }),
      'TIMEOUT from: (unknown) to: (unknown) origin_ip: 11.22.33.44 origin_rdns: (unknown) auth: (unknown) encryption: (none) reason: TIMEOUT',
    );
  });

  test('hostile values cannot add lines or forge fields', () => {
    const line = formatTrafficLine({
      ...base,
      sender: '"x to: victim@example.org origin_ip: 1.1.1.1"@evil.test',
      rdns: 'a\r\nALLOWED from: b',
      auth: 'u\x00',
      reason: 'qmail said\r\n250 ok',
    });
    assert.doesNotMatch(line, /[\r\n\x00]/);
    assert.equal(line.split(' to: ').length, 2, 'exactly one to: field');
    assert.equal(line.split(' origin_ip: ').length, 2, 'exactly one origin_ip: field');
    assert.match(line, / reason: qmail_said\\x0d\\x0a250_ok$/);
    assert.match(line, / auth: u\\x00 /);
  });
});

describe('FILTER lines (spec §3.4)', () => {
  test('keyword with fields', () => {
    assert.equal(
      formatFilterLine('FILTER_BLACKLIST_IP', [
        ['ip', '1.2.3.4'],
        ['entry', '1.2.3'],
      ]),
      'FILTER_BLACKLIST_IP ip: 1.2.3.4 entry: 1.2.3',
    );
    assert.equal(
      formatFilterLine('FILTER_BLACKLIST_IP', [
        ['ip', '1.2.3.4'],
        ['file', '/etc/levee/bl(7)'],
      ]),
      'FILTER_BLACKLIST_IP ip: 1.2.3.4 file: /etc/levee/bl(7)',
    );
    assert.equal(
      formatFilterLine('FILTER_OTHER', [['response', '"550 no such user"']]),
      'FILTER_OTHER response: "550 no such user"',
    );
  });

  test('keyword without fields', () => {
    assert.equal(formatFilterLine('FILTER_RELAYING', []), 'FILTER_RELAYING');
    assert.equal(formatFilterLine('FILTER_AUTH_REQUIRED', []), 'FILTER_AUTH_REQUIRED');
  });

  test('control bytes in field values are escaped', () => {
    assert.equal(
      formatFilterLine('FILTER_SENDER_BLACKLIST', [
        ['sender', 'a\nb@x'],
        ['entry', 'a'],
      ]),
      'FILTER_SENDER_BLACKLIST sender: a\\x0ab@x entry: a',
    );
  });
});

describe('level lines', () => {
  test('prefixes without C locations', () => {
    assert.equal(formatLevelLine('error', 'unable to open file x'), 'ERROR: unable to open file x');
    assert.equal(formatLevelLine('debug', 'x'), 'DEBUG: x');
    assert.equal(formatLevelLine('excessive', 'x'), 'EXCESSIVE: x');
    assert.equal(formatLevelLine('info', 'x'), 'x');
    assert.equal(formatLevelLine('verbose', 'x'), 'x');
  });
});

describe('escaping and the length cap', () => {
  test('escapes', () => {
    assert.equal(
      safeLine('a\rb\nc\x00d\te\x7f\x85\u2028\u202e'),
      'a\\x0db\\x0ac\\x00d\\x09e\\x7f\\x85\\u2028\\u202e',
    );
    assert.equal(safeLine('lone \ud800 surrogate'), 'lone \\ud800 surrogate');
    assert.equal(safeLine('ünïcødé 😀 stays'), 'ünïcødé 😀 stays');
  });

  test('every unsafe character is escaped and its neighbours are not', () => {
    const unsafe = [
      ...Array.from({ length: 0x20 }, (_, i) => i),
      ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i),
      0x200e,
      0x200f,
      0x2028,
      0x2029,
      0x202a,
      0x202c,
      0x202e,
      0x2066,
      0x2069,
      0xfeff,
      0xd800,
      0xdbff,
      0xdc00,
      0xdfff,
    ];
    for (const c of unsafe) {
      const ch = String.fromCharCode(c);
      const hex =
        c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
      assert.equal(safeLine(`a${ch}b`), `a${hex}b`, `U+${c.toString(16)}`);
    }
    const safe = [
      0x20, 0x7e, 0xa0, 0xff, 0x1fff, 0x2000, 0x200d, 0x2010, 0x2027, 0x202f, 0x2065, 0x206a, 0xfefe, 0xff00,
    ];
    for (const c of safe)
      assert.equal(safeLine(`a${String.fromCharCode(c)}b`), `a${String.fromCharCode(c)}b`);
    assert.equal(safeLine('pair \ud83d\ude00 ok'), 'pair \ud83d\ude00 ok');
  });

  test('long lines are capped at MAX_LINE_BYTES and marked', () => {
    const line = safeLine('é'.repeat(5000));
    assert.ok(Buffer.byteLength(line) <= MAX_LINE_BYTES);
    assert.ok(line.endsWith('...[truncated]'));
    assert.ok(!line.includes('\ufffd'), 'no character cut in half');
  });

  test('a cut never leaves half an escape', () => {
    for (let pad = 0; pad < 8; pad++) {
      const line = safeLine('a'.repeat(3980 + pad) + '\r'.repeat(20));
      assert.ok(/^a+(\\x0d)*\.\.\.\[truncated\]$/.test(line), line.slice(-40));
    }
  });

  test('property: any input gives one printable line within the cap', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 6000 }), (s) => {
        const line = safeLine(s);
        assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
        assert.ok(Buffer.byteLength(line, 'utf8') <= MAX_LINE_BYTES);
        assert.doesNotMatch(
          line,
          /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/,
          'no lone surrogate',
        );
      }),
      { numRuns: 300 },
    );
  });

  test('property: text without unsafe characters passes unchanged when short', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        fc.pre(!/[\u0000-\u001f\u007f]/.test(s));
        assert.equal(safeLine(s), s);
      }),
    );
  });
});

describe('JSON lines', () => {
  test('schema of a traffic-like record', () => {
    const rec = jsonRecord(
      'traffic',
      'info',
      42,
      { code: 'ALLOWED', from: 'a@b', reply_code: 250, log_only: false },
      new Date(0),
    );
    assert.deepEqual(JSON.parse(formatJsonLine(rec)), {
      ts: '1970-01-01T00:00:00.000Z',
      pid: 42,
      event: 'traffic',
      level: 'info',
      code: 'ALLOWED',
      from: 'a@b',
      reply_code: 250,
      log_only: false,
    });
  });

  test('data keys cannot overwrite the header fields', () => {
    const rec = jsonRecord('connect', 'info', 7, { event: 'x', pid: 1, ip: '1.2.3.4' });
    assert.equal(rec.event, 'connect');
    assert.equal(rec.pid, 7);
    assert.equal(rec.data_event, 'x');
    assert.equal(rec.data_pid, 1);
  });

  test('property: always one valid JSON line within the cap', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 3000 }), {
          maxKeys: 6,
        }),
        (data) => {
          const line = formatJsonLine(jsonRecord('info', 'info', 1, data));
          assert.doesNotMatch(line, /[\r\n\u2028\u2029\u0085]/);
          assert.ok(Buffer.byteLength(line, 'utf8') <= MAX_LINE_BYTES, `${Buffer.byteLength(line)} bytes`);
          const parsed = JSON.parse(line) as Record<string, unknown>;
          assert.equal(parsed.event, 'info');
        },
      ),
      { numRuns: 200 },
    );
  });

  test('quotes and backslashes are counted when cutting', () => {
    const line = formatJsonLine(jsonRecord('info', 'info', 1, { msg: '"\\'.repeat(3000) }));
    assert.ok(Buffer.byteLength(line) <= MAX_LINE_BYTES);
    assert.ok((JSON.parse(line) as { msg: string }).msg.endsWith('...[truncated]'));
  });
});

describe('timestamps and syslog datagrams', () => {
  const d = new Date(2024, 0, 5, 7, 8, 9); // local time, as syslog and transcripts use
  test('syslog timestamp pads the day with a space', () => {
    assert.equal(syslogTimestamp(d), 'Jan  5 07:08:09');
    assert.equal(syslogTimestamp(new Date(2024, 11, 25, 23, 59, 0)), 'Dec 25 23:59:00');
  });
  test('RFC 3164 datagram with facility mail', () => {
    assert.equal(syslogDatagram(6, 'levee', 123, 'hello', d), '<22>Jan  5 07:08:09 levee[123]: hello');
    assert.equal(syslogDatagram(3, 'levee', 123, 'ERROR: x', d), '<19>Jan  5 07:08:09 levee[123]: ERROR: x');
  });
  test('transcript stamps', () => {
    assert.equal(transcriptTimestamp(d), '01/05/2024 07:08:09');
    assert.equal(transcriptFileStamp(d), '20240105_070809');
  });
});
