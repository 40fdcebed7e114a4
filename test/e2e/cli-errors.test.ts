// Configuration errors as an admin meets them: spamdyke's message naming the file and line, a
// non-zero exit status (spamdyke exited 0), and no child started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LEVEE_BIN, QMAIL_STANDIN, childEnv, tmpDirFor } from '../harness';

function runLevee(args: string[], standin: string) {
  return spawnSync(process.execPath, [LEVEE_BIN, ...args], {
    env: childEnv({ STANDIN_DIR: standin, TCPREMOTEIP: '127.0.0.1' }),
    input: 'QUIT\r\n',
    encoding: 'latin1',
    timeout: 10_000,
  });
}

test('a bad line in a config file: file and line named, exit 111, no child started', (t) => {
  const dir = tmpDirFor(t, 'levee-badconf-');
  const conf = join(dir, 'levee.conf');
  writeFileSync(conf, '# comment\nlog-level=info\nmax-recipients=lots\n');
  const r = runLevee(['-f', conf, process.execPath, QMAIL_STANDIN], dir);
  assert.equal(r.status, 111);
  assert.match(
    r.stderr,
    new RegExp(`Bad or unparsable value for option max-recipients: lots \\(file ${conf}, line 3\\)`),
  );
  assert.equal(r.stdout, '', 'nothing is said to the client');
  assert.deepEqual(
    readdirSync(dir).filter((f) => f !== 'levee.conf'),
    [],
    'the child was never started',
  );
});

test('an unknown option and a missing child command: spamdyke texts, exit 111', (t) => {
  const dir = tmpDirFor(t, 'levee-badopt-');
  const unknown = runLevee(['--no-such-option', process.execPath, QMAIL_STANDIN], dir);
  assert.equal(unknown.status, 111);
  assert.match(unknown.stderr, /Unknown or incomplete option: --no-such-option/);
  const missing = runLevee(['--log-level=info'], dir);
  assert.equal(missing.status, 111);
  assert.match(missing.stderr, /Missing qmail-smtpd command/);
  assert.deepEqual(readdirSync(dir), []);
});
