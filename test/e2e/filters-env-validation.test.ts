// recipient-validation-command as a process: levee runs it without a shell and never waits past its
// timeout (a hung command is killed with everything it started and counts as undecided).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { REPO } from '../harness';
import { loadOptions } from '../../src/options/parse';
import type { Logger } from '../../src/log';
import type { FilterInput } from '../../src/filters/types';
import { runValidationCommand, validateRecipient } from '../../src/filters/recipient-checks';

const VALIDATOR = join(REPO, 'test', 'fixtures', 'recipient-validator.mjs');

function input(argv: string[], lines: string[]): FilterInput {
  const at = (level: string) => (text: string) => lines.push(`${level} ${text}`);
  const log = {
    error: at('error'),
    verbose: at('verbose'),
    filter: (k: string) => lines.push(`filter ${k}`),
  };
  return {
    o: loadOptions([...argv, '/bin/true']).options,
    facts: { ip: '127.0.0.1', rdns: '', rdnsTemporaryFailure: false, remoteInfo: '', relayClient: undefined },
    log: log as unknown as Logger,
    sender: 'a@remote.test',
    recipient: 'hang@example.org',
    authUser: '',
    dns: () => assert.fail('no DNS'),
    memo: () => assert.fail('no memo'),
  };
}

describe('validation command process', () => {
  test('exit codes come back as they are', async () => {
    for (const [user, code] of [
      ['valid', 1],
      ['invalid', 2],
      ['unavailable', 3],
      ['undecided', 0],
      ['odd', 7],
    ] as const) {
      assert.deepEqual(
        await runValidationCommand([process.execPath, VALIDATOR, 'example.org', user], 10_000),
        { code },
        user,
      );
    }
  });

  test('arguments are not shell words', async () => {
    // a shell would run the `;` part; as one argument it is just a strange user name (exit 1 = valid)
    const r = await runValidationCommand([process.execPath, VALIDATOR, 'example.org', 'x;exit 3'], 10_000);
    assert.deepEqual(r, { code: 1 });
  });

  test('a missing command is a failure, not a crash', async () => {
    const r = await runValidationCommand(['/nonexistent/validator', 'example.org', 'u'], 10_000);
    assert.ok('failed' in r && /ENOENT/.test(r.failed), JSON.stringify(r));
  });

  test('a command that hangs (and ignores SIGTERM) is killed at the timeout', async () => {
    const started = Date.now();
    const r = await runValidationCommand([process.execPath, VALIDATOR, 'example.org', 'hang'], 700);
    const ms = Date.now() - started;
    assert.ok('failed' in r && /killed/.test(r.failed), JSON.stringify(r));
    assert.ok(ms >= 650 && ms < 5000, `took ${ms} ms`);
  });

  test('in the filter a timeout counts as undecided, with an error line', async () => {
    const lines: string[] = [];
    const i = input(
      ['--reject-recipient', 'invalid', '--recipient-validation-command', `${process.execPath},${VALIDATOR}`],
      lines,
    );
    const v = await validateRecipient(i, 'example.org', 'hang', 700);
    assert.equal(v.kind, 'continue');
    assert.ok(
      lines.some((l) => l.startsWith('error unable to run validation command ') && l.includes('killed')),
      lines.join('\n'),
    );
  });

  test('several commands: asked in order until one decides', async () => {
    const lines: string[] = [];
    const i = input(
      [
        '--reject-recipient',
        'invalid',
        '--recipient-validation-command',
        '/nonexistent/validator',
        '--recipient-validation-command',
        `${process.execPath},${VALIDATOR}`,
      ],
      lines,
    );
    const v = await validateRecipient(i, 'example.org', 'invalid');
    assert.equal(v.kind, 'reject');
    assert.ok(lines.includes('filter FILTER_INVALID_RECIPIENT'), lines.join('\n'));
  });
});
