import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadOptions } from '../../src/options/parse';
import { Report, formatCheckLine } from '../../src/config-test/report';
import { checkSyslog } from '../../src/config-test/service-checks';

const REPO = join(__dirname, '..', '..');

test('config.example is a configuration levee accepts, with the values it documents', () => {
  const { options: o, warnings } = loadOptions([
    '-f',
    join(REPO, 'config.example'),
    '/var/qmail/bin/qmail-smtpd',
  ]);
  assert.deepEqual(warnings ?? [], []);
  assert.deepEqual(o['log-target'], ['stderr']);
  assert.equal(o['log-level'], 'info');
  assert.deepEqual(o['qmail-rcpthosts-file'], ['/var/qmail/control/rcpthosts']);
  assert.deepEqual(o['dns-blacklist-entry'], ['zen.spamhaus.org=127.0.0.[2..11]']);
  assert.equal(o['reject-empty-rdns'], true);
  assert.deepEqual(o['reject-sender'], ['no-mx']);
  assert.equal(o['graylist-level'], 'none', 'graylisting stays off until its directory exists');
});

test('syslog without a /dev/log socket is a warning; stderr logging is not checked', () => {
  const syslog = loadOptions(['/bin/true']).options;
  const r = new Report();
  checkSyslog(r, syslog, '/nonexistent/dev-log');
  assert.deepEqual(r.lines.map(formatCheckLine), [
    'WARNING(log-target): No syslog socket at /nonexistent/dev-log: log lines will be lost. Is a syslog daemon running?',
  ]);
  const stderr = new Report();
  checkSyslog(stderr, loadOptions(['--log-target', 'stderr', '/bin/true']).options, '/nonexistent');
  assert.equal(stderr.lines.length, 0);
});
