// tcpserver's rule lookup order and rule data, on cdb files built here the way cdbmake does.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { bufferReader, cdbHash } from '../../src/cdb/lookup';
import { lookupRules, parseRuleData, ruleKeys } from '../../src/tcprules/rules';

/** cdbmake's layout: records, then 256 hash tables with twice as many slots as entries. */
function buildCdb(records: Array<[Buffer, Buffer]>): Buffer {
  const parts: Buffer[] = [Buffer.alloc(2048)];
  let pos = 2048;
  const buckets: Array<Array<[number, number]>> = Array.from({ length: 256 }, () => []);
  for (const [k, v] of records) {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(k.length, 0);
    head.writeUInt32LE(v.length, 4);
    parts.push(head, k, v);
    const h = cdbHash(k);
    buckets[h & 255]!.push([h, pos]);
    pos += 8 + k.length + v.length;
  }
  const header = parts[0]!;
  buckets.forEach((entries, i) => {
    const slots = entries.length * 2;
    header.writeUInt32LE(pos, i * 8);
    header.writeUInt32LE(slots, i * 8 + 4);
    const table = Buffer.alloc(slots * 8);
    for (const [h, p] of entries) {
      let slot = (h >>> 8) % slots;
      while (table.readUInt32LE(slot * 8 + 4) !== 0) slot = (slot + 1) % slots;
      table.writeUInt32LE(h, slot * 8);
      table.writeUInt32LE(p, slot * 8 + 4);
    }
    parts.push(table);
    pos += table.length;
  });
  return Buffer.concat(parts);
}

const b = (s: string) => Buffer.from(s, 'latin1');

describe('tcprules lookup', () => {
  test('keys in tcpserver order: ip, =host, ip prefixes, host suffixes, =, empty', () => {
    assert.deepEqual(ruleKeys('10.1.2.3', 'mx.example.org'), [
      '10.1.2.3',
      '=mx.example.org',
      '10.1.2.',
      '10.1.',
      '10.',
      '=.example.org',
      '=.org',
      '=',
      '',
    ]);
    assert.deepEqual(ruleKeys('10.1.2.3', undefined), ['10.1.2.3', '10.1.2.', '10.1.', '10.', '']);
  });

  test('data: D denies, +VAR=value assigns (values may hold = and spaces), others ignored', () => {
    assert.deepEqual(parseRuleData(b('D\0')), { deny: true, env: [] });
    assert.deepEqual(parseRuleData(b('+RELAYCLIENT=\0+GREETING=a = b\0xjunk\0')), {
      deny: false,
      env: [
        ['RELAYCLIENT', ''],
        ['GREETING', 'a = b'],
      ],
    });
  });

  test('the most specific key wins; no match is allow', () => {
    const src = bufferReader(
      buildCdb([
        [b('10.1.'), b('+WHO=net\0')],
        [b('10.1.2.3'), b('D\0')],
        [b('=.example.org'), b('+WHO=domain\0')],
        [b(''), b('D\0')],
      ]),
    );
    assert.equal(lookupRules(src, '10.1.2.3', undefined).deny, true);
    assert.deepEqual(lookupRules(src, '10.1.9.9', 'mx.example.org').env, [['WHO', 'net']]);
    assert.deepEqual(lookupRules(src, '10.7.9.9', 'mx.example.org').env, [['WHO', 'domain']]);
    assert.equal(lookupRules(src, '192.0.2.1', undefined).key, '');
    assert.equal(lookupRules(src, '192.0.2.1', undefined).deny, true);
    const empty = bufferReader(buildCdb([]));
    assert.deepEqual(lookupRules(empty, '192.0.2.1', undefined), {
      matched: false,
      key: '',
      deny: false,
      env: [],
    });
  });
});
