import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { main as domain2path } from '../../utils/domain2path';
import { main as domainsplit } from '../../utils/domainsplit';
import { main as timefilter, leadingTimestamp, filterByTime, parseSecsAgo } from '../../utils/timefilter';
import type { UtilIO } from '../../utils/common';

function io(stdin = '') {
  const out: string[] = [];
  const err: string[] = [];
  const sink: UtilIO = {
    out: (t) => out.push(typeof t === 'string' ? t : t.toString('latin1')),
    err: (t) => err.push(t),
    readStdin: async () => Buffer.from(stdin, 'latin1'),
  };
  return { sink, out: () => out.join(''), err: () => err.join('') };
}

describe('levee-domain2path', () => {
  test('prints the rDNS tree path, -d only the directory', () => {
    const a = io();
    assert.equal(domain2path(['mail.example.com'], a.sink), 0);
    assert.equal(a.out(), 'com/e/example/mail.example.com\n');
    const b = io();
    assert.equal(domain2path(['-d', 'a.b.c.d.example.co.uk'], b.sink), 0);
    assert.equal(b.out(), 'uk/c/co/example\n');
  });

  test('no argument, bad names and unknown options fail with status 2', () => {
    const none = io();
    assert.equal(domain2path([], none.sink), 2);
    assert.match(none.err(), /Usage: levee-domain2path/);
    const bad = io();
    assert.equal(domain2path(['../../etc/passwd'], bad.sink), 2);
    assert.equal(bad.out(), '');
    assert.match(bad.err(), /not a host name/);
    assert.equal(domain2path(['-x', 'a.b'], io().sink), 2);
  });

  test('--help goes to stdout with status 0', () => {
    const h = io();
    assert.equal(domain2path(['--help'], h.sink), 0);
    assert.match(h.out(), /Usage: levee-domain2path \[ -d \] NAME/);
  });
});

describe('levee-domainsplit', () => {
  test('arguments and standard input give the base domain', async () => {
    const a = io();
    assert.equal(await domainsplit(['foo.bar.example.com', 'foo.example.com.us', 'Example'], a.sink), 0);
    assert.equal(a.out(), 'example.com\nexample.com.us\nexample\n');
    const b = io('mail.example.org\n\nx.y.example.co.uk\n');
    assert.equal(await domainsplit([], b.sink), 0);
    assert.equal(b.out(), 'example.org\nexample.co.uk\n');
  });

  test('a name with control characters is refused', async () => {
    const a = io();
    assert.equal(await domainsplit(['a\x1b.example.com'], a.sink), 2);
    assert.equal(a.out(), '');
  });
});

describe('levee-timefilter', () => {
  const now = new Date(2026, 9, 22, 21, 30, 0); // Oct 22 21:30:00 local time
  const epoch = (d: Date) => Math.floor(d.getTime() / 1000);

  test('reads TAI64N, syslog, Apache and ISO timestamps', () => {
    const t = epoch(new Date(2026, 9, 22, 21, 17, 11));
    assert.equal(leadingTimestamp('Oct 22 21:17:11 host levee[1]: x', now), t);
    assert.equal(leadingTimestamp('[22/Oct/2026:21:17:11] GET /', now), t);
    assert.equal(
      leadingTimestamp('[22/Oct/2026:21:17:11 +0000] GET /', now),
      Date.UTC(2026, 9, 22, 21, 17, 11) / 1000,
    );
    assert.equal(
      leadingTimestamp('2026-10-22T21:17:11Z {"x":1}', now),
      Date.UTC(2026, 9, 22, 21, 17, 11) / 1000,
    );
    // TAI64N: 2^62 + 10 + unix seconds, as multilog writes it
    const label = (2n ** 62n + 10n + BigInt(t)).toString(16).padStart(16, '0');
    assert.equal(leadingTimestamp(`@${label}0000abcd levee[1]: x`, now), t);
    assert.equal(leadingTimestamp('no stamp here', now), null);
  });

  test('syslog dates without a year are never in the future', () => {
    const jan = new Date(2027, 0, 1, 0, 5, 0);
    assert.equal(leadingTimestamp('Dec 31 23:59:00 x', jan), epoch(new Date(2026, 11, 31, 23, 59, 0)));
  });

  test('keeps exactly the lines inside the window', () => {
    const lines = ['Oct 22 20:00:00 old', 'Oct 22 21:00:00 in', 'Oct 22 21:29:59 recent', 'garbage'];
    assert.deepEqual(filterByTime(lines, 3600, 60, now), ['Oct 22 21:00:00 in']);
  });

  test('a + adds an hour; bad values and START < END fail', async () => {
    assert.equal(parseSecsAgo('+10'), 3610);
    assert.equal(parseSecsAgo('-1'), null);
    const a = io('Oct 22 21:00:00 in\nOct 22 20:00:00 old\n');
    assert.equal(await timefilter(['3600', '0'], a.sink, now), 0);
    assert.equal(a.out(), 'Oct 22 21:00:00 in\n');
    assert.equal(await timefilter(['10', '20'], io().sink, now), 2);
    assert.equal(await timefilter(['ten', '0'], io().sink, now), 2);
    assert.equal(await timefilter([], io().sink, now), 2);
  });

  test('bytes of the log lines pass unchanged', async () => {
    const a = io('Oct 22 21:00:00 caf\xe9\n');
    await timefilter(['3600', '0'], a.sink, now);
    assert.equal(a.out(), 'Oct 22 21:00:00 caf\xe9\n');
  });
});
