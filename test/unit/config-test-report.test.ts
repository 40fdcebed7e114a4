import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Report, formatCheckLine, FINAL_ERROR, FINAL_SUCCESS } from '../../src/config-test/report';

describe('config-test report lines', () => {
  test('lines look like spamdyke: VERDICT(option): message', () => {
    assert.equal(
      formatCheckLine({ verdict: 'SUCCESS', option: 'ip-blacklist-file', message: 'Opened for reading: /x' }),
      'SUCCESS(ip-blacklist-file): Opened for reading: /x',
    );
    assert.equal(formatCheckLine({ verdict: 'WARNING', message: 'w' }), 'WARNING: w');
  });

  test('control characters from file names or DNS cannot start a new line', () => {
    const line = formatCheckLine({ verdict: 'ERROR', message: 'bad\nSUCCESS: fake\r' });
    assert.equal(line.includes('\n'), false);
    assert.equal(line.includes('\r'), false);
  });

  test('final line and counts follow the errors', () => {
    const printed: string[] = [];
    const r = new Report((l) => printed.push(formatCheckLine(l)));
    r.success('ok');
    r.warning('hmm', 'graylist-dir');
    assert.equal(r.finalLine(), FINAL_SUCCESS);
    assert.equal(FINAL_SUCCESS, 'SUCCESS: Tests complete. No errors detected.');
    r.error('broken', 'tls-certificate-file');
    assert.equal(r.finalLine(), FINAL_ERROR);
    assert.equal(FINAL_ERROR, 'ERROR: Tests complete. Errors detected.');
    assert.deepEqual(printed, [
      'SUCCESS: ok',
      'WARNING(graylist-dir): hmm',
      'ERROR(tls-certificate-file): broken',
    ]);
  });

  test('JSON document carries every result and the verdict', () => {
    const r = new Report();
    r.info('x', 'tls-certificate-file');
    r.error('y');
    const doc = JSON.parse(r.toJson('9.9.9'));
    assert.deepEqual(doc, {
      version: '9.9.9',
      ok: false,
      errors: 1,
      warnings: 0,
      results: [
        { verdict: 'INFO', option: 'tls-certificate-file', message: 'x' },
        { verdict: 'ERROR', option: null, message: 'y' },
      ],
    });
  });
});
