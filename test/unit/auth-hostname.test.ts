// The host name in CRAM-MD5 challenges: hostname, hostname-file, hostname-command, TCPLOCALHOST,
// HOSTNAME, then unknown.server.unknown.domain (spec §1.3, §5.1).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { challengeHostname, firstLine } from '../../src/auth/hostname';
import { Logger } from '../../src/log';

const log = new Logger({ level: 'none', targets: [], format: 'text' });
const none = { hostname: undefined, 'hostname-file': undefined, 'hostname-command': undefined };

describe('challengeHostname', () => {
  test('sources in order of precedence', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-host-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'me');
    writeFileSync(file, 'file.example.org\nsecond.line\n');
    const env = { TCPLOCALHOST: 'tcp.example.org', HOSTNAME: 'env.example.org' };
    assert.equal(
      await challengeHostname({ ...none, hostname: 'opt.example.org', 'hostname-file': file }, env, log),
      'opt.example.org',
    );
    assert.equal(
      await challengeHostname(
        { ...none, 'hostname-file': file, 'hostname-command': '/bin/echo cmd' },
        env,
        log,
      ),
      'file.example.org',
    );
    assert.equal(
      await challengeHostname({ ...none, 'hostname-command': '/bin/echo cmd.example.org' }, env, log),
      'cmd.example.org',
    );
    assert.equal(await challengeHostname(none, env, log), 'tcp.example.org');
    assert.equal(await challengeHostname(none, { HOSTNAME: 'env.example.org' }, log), 'env.example.org');
    assert.equal(await challengeHostname(none, {}, log), 'unknown.server.unknown.domain');
  });

  test('an unreadable file or failing command falls through to the next source', async () => {
    const env = { HOSTNAME: 'env.example.org' };
    assert.equal(
      await challengeHostname({ ...none, 'hostname-file': '/nonexistent/me' }, env, log),
      'env.example.org',
    );
    assert.equal(
      await challengeHostname({ ...none, 'hostname-command': '/bin/false' }, env, log),
      'env.example.org',
    );
  });

  test('firstLine', () => {
    assert.equal(firstLine('a.b\r\nc'), 'a.b');
    assert.equal(firstLine('x'), 'x');
  });
});
