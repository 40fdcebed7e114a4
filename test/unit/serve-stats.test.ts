// `levee stats`: traffic lines in every log shape levee writes, windows, grouping and rendering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseTrafficLine, reasonGroup, summarize } from '../../src/stats/summary';
import { escapeHtml, renderHtml, renderText } from '../../src/stats/render';

const tail =
  'from: a@b.test to: u@example.org origin_ip: 192.0.2.1 origin_rdns: (unknown) auth: (unknown) encryption: (none)';
const now = new Date(2026, 10, 22, 12, 0, 0);

test('traffic lines from stderr, syslog and JSON; other lines are ignored', () => {
  assert.deepEqual(parseTrafficLine(`levee[12]: ALLOWED ${tail} reason: ok_1700_qp_12`, now), {
    time: undefined,
    code: 'ALLOWED',
    reason: 'ok_1700_qp_12',
  });
  const sys = parseTrafficLine(
    `Nov 22 11:30:00 mx levee[12]: DENIED_BLACKLIST_IP ${tail} reason: 192.0.2`,
    now,
  );
  assert.equal(sys?.code, 'DENIED_BLACKLIST_IP');
  assert.equal(sys?.time?.getTime(), new Date(2026, 10, 22, 11, 30, 0).getTime());
  // a December stamp read in November is last year's
  assert.equal(
    parseTrafficLine(
      `Dec 31 23:00:00 mx levee[1]: TIMEOUT ${tail} reason: (empty)`,
      now,
    )?.time?.getFullYear(),
    2025,
  );
  const json =
    '{"ts":"2026-11-22T10:00:00.000Z","pid":3,"event":"traffic","level":"info","code":"DENIED_RBL_MATCH","from":"a@b","to":"u@x","reason":"zen"}';
  assert.equal(parseTrafficLine(json, now)?.time?.toISOString(), '2026-11-22T10:00:00.000Z');
  assert.equal(parseTrafficLine('levee[12]: FILTER_RBL_MATCH ip: 1.2.3.4', now), null);
  assert.equal(parseTrafficLine('{"broken', now), null);
});

test('durations and reason grouping', () => {
  assert.equal(parseDuration('30m'), 1_800_000);
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration('7w'), null);
  assert.equal(reasonGroup('ok_1700000000_qp_28550'), 'ok_#_qp_#');
});

test('summary counts by outcome and reason within the window', () => {
  const at = (h: number) => new Date(2026, 10, 22, h);
  const entries = [
    { time: at(9), code: 'ALLOWED', reason: 'ok_1_qp_1' },
    { time: at(10), code: 'ALLOWED', reason: 'ok_2_qp_2' },
    { time: at(10), code: 'DENIED_RDNS_MISSING', reason: '(empty)' },
    { time: at(3), code: 'DENIED_RDNS_MISSING', reason: '(empty)' },
    { time: undefined, code: 'TIMEOUT', reason: '(empty)' },
  ];
  const all = summarize(entries);
  assert.equal(all.total, 5);
  const s = summarize(entries, { since: at(8), until: now, bucketCount: 4 });
  assert.equal(s.total, 3);
  assert.equal(s.untimed, 1);
  assert.deepEqual(s.byCode, [
    ['ALLOWED', 2],
    ['DENIED_RDNS_MISSING', 1],
  ]);
  assert.deepEqual(s.reasons.get('ALLOWED'), [['ok_#_qp_#', 2]]);
  assert.equal(s.buckets.length, 4);
  assert.equal(
    s.buckets.reduce((n, b) => n + [...b.counts.values()].reduce((a, c) => a + c, 0), 0),
    3,
  );
  const text = renderText(s);
  assert.match(text, /^ALLOWED\s+2\s+66\.7$/m);
  assert.match(text, /^TOTAL\s+3$/m);
});

test('HTML escapes reasons from the wire and carries an inline SVG chart', () => {
  const s = summarize([{ time: now, code: 'DENIED_OTHER', reason: '<script>alert(1)</script>' }]);
  const html = renderHtml(s, 'levee');
  assert.ok(!html.includes('<script>'));
  assert.match(html, /<svg [^>]*>.*<rect /s);
  assert.equal(escapeHtml(`<a href="x">'&`), '&#60;a href=&#34;x&#34;&#62;&#39;&#38;');
});
