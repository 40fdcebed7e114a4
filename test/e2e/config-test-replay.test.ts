// levee-replay against a live run: the same configuration, the conversation taken from the live
// run's full-log-dir transcript, must give the same filter decisions (FILTER_* and traffic lines).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childEnv, REPO, startWrapper, tmpDirFor } from '../harness';

const REPLAY_BIN = join(REPO, 'bin', 'levee-replay');

function run(
  argv: string[],
  timeoutMs = 20_000,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(REPLAY_BIN, argv, { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error('levee-replay did not finish'));
    }, timeoutMs);
    p.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Decision lines; the ALLOWED reason is the child's own reply text, which differs by design. */
function decisions(lines: string[]): string[] {
  return lines
    .filter((l) => /^(FILTER_\w+|ALLOWED|DENIED_\w+|TIMEOUT)( |$)/.test(l))
    .map((l) => (l.startsWith('ALLOWED ') ? l.replace(/ reason: .*$/, ' reason: <child reply>') : l));
}

describe('levee-replay', () => {
  test('replaying a transcript gives the decisions the live run logged', async (t) => {
    const logDir = tmpDirFor(t, 'levee-replay-log-');
    const filters = [
      '--sender-blacklist-entry',
      'spam@bad.test',
      '--recipient-blacklist-entry',
      'blocked@example.org',
      '--ip-whitelist-entry',
      '127.0.0.9',
    ];
    const w = await startWrapper(t, [...filters, '--full-log-dir', logDir]);
    if (!w) return;
    const c = await w.connect('127.0.0.1');
    assert.equal((await c.readReply()).code, 220);
    await c.command('EHLO client.test');
    await c.command('MAIL FROM:<good@sender.test>');
    assert.equal((await c.command('RCPT TO:<ok@example.org>')).code, 250);
    assert.equal((await c.command('RCPT TO:<x@elsewhere.test>')).code, 554);
    assert.equal((await c.command('RCPT TO:<blocked@example.org>')).code, 554);
    assert.equal((await c.command('DATA')).code, 354);
    await c.write('Subject: hello\r\n\r\nbody\r\n.\r\n');
    assert.equal((await c.readReply()).code, 250);
    await c.command('MAIL FROM:<spam@bad.test>');
    assert.equal((await c.command('RCPT TO:<ok@example.org>')).code, 554);
    await c.command('QUIT');
    await w.ts.waitForIdle(1, 15_000);
    const live = decisions(w.logLines());
    assert.ok(live.length >= 4, `the live run logged decisions:\n${w.logLines().join('\n')}`);

    const [file] = readdirSync(logDir);
    const replay = await run([
      '--transcript',
      join(logDir, file),
      '--',
      '--log-target',
      'stderr',
      '--log-level=verbose',
      '--dns-level',
      'none',
      '--qmail-rcpthosts-file',
      join(w.dir, 'rcpthosts'),
      ...filters,
    ]);
    assert.equal(replay.status, 0, replay.stderr);
    const replayed = decisions(replay.stderr.split('\n').map((l) => l.replace(/^levee\[\d+\]: /, '')));
    assert.deepEqual(replayed, live);
    assert.match(replay.stdout, /^S: 220 /);
    assert.match(replay.stdout, /\nC: RCPT TO:<blocked@example\.org>\nS: 554 /);
  });

  test('a plain script with --ip: the IP decides, nothing is delivered anywhere', async (t) => {
    const dir = tmpDirFor(t, 'levee-replay-script-');
    writeFileSync(
      join(dir, 'script'),
      'HELO x\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nSubject: s\n\nbody\n.\nQUIT\n',
    );
    writeFileSync(join(dir, 'rcpthosts'), 'example.org\n');
    const args = (ip: string) => [
      '--ip',
      ip,
      '--script',
      join(dir, 'script'),
      '--',
      '--dns-level',
      'none',
      '--qmail-rcpthosts-file',
      join(dir, 'rcpthosts'),
      '--ip-blacklist-entry',
      '192.0.2.66',
    ];
    const bad = await run(args('192.0.2.66'));
    assert.match(bad.stderr, /FILTER_BLACKLIST_IP ip: 192\.0\.2\.66/);
    assert.match(
      bad.stderr,
      /DENIED_BLACKLIST_IP from: a@b\.test to: u@example\.org origin_ip: 192\.0\.2\.66/,
    );
    const good = await run(args('192.0.2.67'));
    assert.match(good.stderr, /ALLOWED from: a@b\.test to: u@example\.org origin_ip: 192\.0\.2\.67/);
    const usage = await run(['--script']);
    assert.equal(usage.status, 2);
  });
});
