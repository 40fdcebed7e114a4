// SMTP AUTH done by levee itself (spec §5.3, §5.4, §3.1 rows 17/18, quirks 1, 14, 15): swaks through
// tcpserver → levee → qmail stand-in and through levee serve --exec stand-in, checkpassword as the
// Node fixture and as Debian's checkpw with a real Unix user.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LEVEE_MODES, needTools, tmpDirFor, wrapperStarter, runSwaks, REPO } from '../harness';

const CHECKPASSWORD = resolve(REPO, 'test', 'fixtures', 'checkpassword.mjs');
const authCommand = (extra = '') => ['--smtp-auth-command', `${CHECKPASSWORD} alice s3cret${extra}`];

function swaksArgs(port: number, more: string[]): string[] {
  return ['--server', `127.0.0.1:${port}`, '--from', 'alice@example.org', '--to', 'b@example.org', ...more];
}

for (const mode of LEVEE_MODES) {
  describe(`${mode} mode`, () => {
    const start = wrapperStarter(mode);

    describe('levee answers AUTH (smtp-auth-level always-encrypted, checkpassword fixture)', () => {
      for (const mech of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
        test(`swaks --auth ${mech}: 235 Proceed., relaying allowed, auth: alice logged`, async (t) => {
          if (!needTools(t, ['swaks'])) return;
          const w = await start(t, ['--smtp-auth-level', 'always-encrypted', ...authCommand()]);
          if (!w) return;
          // elsewhere.example is not in rcpthosts: only an authenticated client may relay there
          const r = await runSwaks([
            '--server',
            `127.0.0.1:${w.port}`,
            '--from',
            'alice@example.org',
            '--to',
            'x@elsewhere.example',
            '--auth',
            mech,
            '--auth-user',
            'alice',
            '--auth-password',
            's3cret',
          ]);
          w.noteConnection();
          assert.equal(r.code, 0, r.stdout + r.stderr + w.logLines().join('\n'));
          assert.match(r.stdout, /<- {2}250 AUTH LOGIN PLAIN CRAM-MD5\r?\n/);
          assert.match(r.stdout, /<- {2}235 Proceed\./);
          await w.ts.waitForIdle(1);
          const [s] = w.sessions();
          // the child never sees the AUTH exchange
          assert.doesNotMatch(s.input.toString('latin1'), /AUTH/i);
          assert.equal(s.messages.length, 1);
          assert.ok(
            w
              .logLines()
              .some((l) =>
                /^ALLOWED from: alice@example\.org to: x@elsewhere\.example .* auth: alice encryption: \(none\) /.test(
                  l,
                ),
              ),
            w.logLines().join('\n'),
          );
        });
      }

      test('a wrong password: 535 Refused. Authentication failed., relaying still denied', async (t) => {
        if (!needTools(t, ['swaks'])) return;
        const w = await start(t, ['--smtp-auth-level', 'always', ...authCommand()]);
        if (!w) return;
        const r = await runSwaks(
          swaksArgs(w.port, ['--auth', 'LOGIN', '--auth-user', 'alice', '--auth-password', 'wrong']),
        );
        assert.equal(r.code, 28, r.stdout);
        assert.match(r.stdout, /<\*\* 535 Refused\. Authentication failed\./);
        const c = await w.connect();
        await c.readReply();
        await c.command('EHLO client.test');
        const plain = Buffer.from('\0alice\0nope').toString('base64');
        assert.equal((await c.command(`AUTH PLAIN ${plain}`)).raw, '535 Refused. Authentication failed.\r\n');
        await c.command('MAIL FROM:<alice@example.org>');
        assert.equal(
          (await c.command('RCPT TO:<x@elsewhere.example>')).raw,
          '554 Refused. Sending to remote addresses (relaying) is not allowed.\r\n',
        );
        await c.command('QUIT');
      });

      test('custom texts for failure and unknown mechanism; 504 for an unknown mechanism', async (t) => {
        const w = await start(t, [
          '--smtp-auth-level',
          'always',
          ...authCommand(),
          '--rejection-text-auth-failure',
          'Nope.',
          '--rejection-text-auth-unknown',
          'What?',
        ]);
        if (!w) return;
        const c = await w.connect();
        await c.readReply();
        const ehlo = await c.command('EHLO client.test');
        assert.ok(ehlo.lines.includes('250 AUTH LOGIN PLAIN'), ehlo.raw);
        assert.equal(
          (await c.command('AUTH CRAM-MD5')).raw,
          '504 What?\r\n',
          'CRAM-MD5 is not offered at always',
        );
        assert.equal((await c.command('AUTH DIGEST-MD5')).raw, '504 What?\r\n');
        assert.equal((await c.command('AUTH LOGIN')).raw, '334 VXNlcm5hbWU6\r\n');
        assert.equal((await c.command(Buffer.from('alice').toString('base64'))).raw, '334 UGFzc3dvcmQ6\r\n');
        assert.equal((await c.command(Buffer.from('bad').toString('base64'))).raw, '535 Nope.\r\n');
        assert.equal((await c.command('AUTH PLAIN')).raw, '334 \r\n');
        assert.equal(
          (await c.command(Buffer.from('\0alice\0s3cret').toString('base64'))).raw,
          '235 Proceed.\r\n',
        );
        assert.match((await c.command('AUTH PLAIN')).raw, /^503 /);
        await c.command('QUIT');
      });

      test('the checkpassword programs are tried in order and get user\\0password\\0\\0 on fd 3', async (t) => {
        const dir = tmpDirFor(t, 'levee-cplog-');
        const log = join(dir, 'log');
        const w = await start(
          t,
          [
            '--smtp-auth-level',
            'always',
            '--smtp-auth-command',
            `${CHECKPASSWORD} bob other`,
            ...authCommand(),
          ],
          { env: { CHECKPW_LOG: log } },
        );
        if (!w) return;
        const c = await w.connect();
        await c.readReply();
        await c.command('EHLO client.test');
        const plain = Buffer.from('admin\0alice\0s3cret').toString('base64');
        assert.equal((await c.command(`AUTH PLAIN ${plain}`)).raw, '235 Proceed.\r\n');
        await c.command('QUIT');
        const calls = readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        assert.deepEqual(calls, [
          { user: 'alice', password: 's3cret', timestamp: '' },
          { user: 'alice', password: 's3cret', timestamp: '' },
        ]);
      });

      test('CRAM-MD5 challenge is <random.unixtime@hostname> with the hostname option', async (t) => {
        const w = await start(t, [
          '--smtp-auth-level',
          'ondemand-encrypted',
          '--hostname',
          'mx.levee.test',
          ...authCommand(),
        ]);
        if (!w) return;
        const c = await w.connect();
        await c.readReply();
        await c.command('EHLO client.test');
        const r = await c.command('AUTH CRAM-MD5');
        assert.equal(r.code, 334);
        const challenge = Buffer.from(r.lines[0].slice(4), 'base64').toString('latin1');
        assert.match(challenge, /^<\d+\.(\d+)@mx\.levee\.test>$/);
        const stamp = Number(/\.(\d+)@/.exec(challenge)![1]);
        assert.ok(Math.abs(stamp - Date.now() / 1000) < 60);
        assert.equal((await c.command('*')).code, 535);
        await c.command('QUIT');
      });
    });

    describe('who answers AUTH at which level', () => {
      test('ondemand: the child advertises AUTH, so AUTH goes to the child (observe)', async (t) => {
        const w = await start(t, ['--smtp-auth-level', 'ondemand', ...authCommand()], {
          env: { STANDIN_AUTH: '1' },
        });
        if (!w) return;
        const c = await w.connect();
        await c.readReply();
        const ehlo = await c.command('EHLO client.test');
        assert.deepEqual(ehlo.lines, [
          '250-standin.test',
          '250-PIPELINING',
          '250-AUTH LOGIN PLAIN',
          '250 8BITMIME',
        ]);
        assert.match((await c.command('AUTH LOGIN')).raw, /^502 /);
        await c.command('QUIT');
        await w.ts.waitForIdle(1);
        assert.match(w.sessions()[0].input.toString('latin1'), /\r\nAUTH LOGIN\r\n/);
      });

      test('ondemand: the child does not advertise AUTH, so levee offers and answers it', async (t) => {
        const w = await start(t, ['--smtp-auth-level', 'ondemand', ...authCommand()]);
        if (!w) return;
        const c = await w.connect();
        await c.readReply();
        const ehlo = await c.command('EHLO client.test');
        assert.deepEqual(ehlo.lines, [
          '250-standin.test',
          '250-PIPELINING',
          '250-8BITMIME',
          '250 AUTH LOGIN PLAIN',
        ]);
        const plain = Buffer.from('\0alice\0s3cret').toString('base64');
        assert.equal((await c.command(`AUTH PLAIN ${plain}`)).raw, '235 Proceed.\r\n');
        await c.command('QUIT');
        await w.ts.waitForIdle(1);
        assert.doesNotMatch(w.sessions()[0].input.toString('latin1'), /AUTH/);
      });

      test('quirk 1: smtp-auth-command without smtp-auth-level stays observe (no AUTH line added)', async (t) => {
        const w = await start(t, authCommand());
        if (!w) return;
        const c = await w.connect();
        await c.readReply();
        assert.deepEqual((await c.command('EHLO client.test')).lines, [
          '250-standin.test',
          '250-PIPELINING',
          '250 8BITMIME',
        ]);
        assert.match((await c.command('AUTH PLAIN')).raw, /^502 /);
        await c.command('QUIT');
      });

      test('ondemand without smtp-auth-command does nothing (observe)', async (t) => {
        const w = await start(t, ['--smtp-auth-level', 'always']);
        if (!w) return;
        const c = await w.connect();
        await c.readReply();
        assert.deepEqual((await c.command('EHLO client.test')).lines, [
          '250-standin.test',
          '250-PIPELINING',
          '250 8BITMIME',
        ]);
        await c.command('QUIT');
      });

      test("quirk 15: level none hides the child's AUTH but still forwards an AUTH command", async (t) => {
        const w = await start(t, ['--smtp-auth-level', 'none'], { env: { STANDIN_AUTH: '1' } });
        if (!w) return;
        const c = await w.connect();
        await c.readReply();
        assert.deepEqual((await c.command('EHLO client.test')).lines, [
          '250-standin.test',
          '250-PIPELINING',
          '250 8BITMIME',
        ]);
        assert.match((await c.command('AUTH LOGIN')).raw, /^502 /);
        await c.command('QUIT');
      });

      test('quirk 14 fixed: after a delivered rejection AUTH gets the 554 rejection, not silence', async (t) => {
        const w = await start(t, [
          '--smtp-auth-level',
          'always',
          ...authCommand(),
          '--ip-blacklist-entry',
          '127.0.0.1',
        ]);
        if (!w) return;
        const c = await w.connect();
        await c.readReply();
        await c.command('EHLO client.test');
        await c.command('MAIL FROM:<alice@example.org>');
        assert.equal((await c.command('RCPT TO:<b@example.org>')).code, 554);
        const plain = Buffer.from('\0alice\0s3cret').toString('base64');
        assert.equal(
          (await c.command(`AUTH PLAIN ${plain}`)).raw,
          '554 Refused. Your IP address is blacklisted.\r\n',
        );
        await c.command('QUIT');
      });

      test('relay-level block-all refuses remote recipients even after AUTH', async (t) => {
        const w = await start(t, [
          '--smtp-auth-level',
          'always',
          '--relay-level',
          'block-all',
          ...authCommand(),
        ]);
        if (!w) return;
        const c = await w.connect();
        await c.readReply();
        await c.command('EHLO client.test');
        const plain = Buffer.from('\0alice\0s3cret').toString('base64');
        assert.equal((await c.command(`AUTH PLAIN ${plain}`)).code, 235);
        await c.command('MAIL FROM:<alice@example.org>');
        assert.equal((await c.command('RCPT TO:<x@elsewhere.example>')).code, 554);
        assert.equal((await c.command('RCPT TO:<b@example.org>')).code, 250);
        await c.command('QUIT');
      });
    });

    describe('Debian checkpw with a real Unix user', () => {
      test('PLAIN and LOGIN succeed with the right password, 535 with a wrong one', async (t) => {
        if (!needTools(t, ['checkpw', 'swaks', 'useradd'], { root: true })) return;
        const home = tmpDirFor(t, 'levee-checkpw-');
        const user = `leveeauth${process.pid % 100000}`;
        execFileSync('useradd', ['-M', '-d', home, '-s', '/usr/sbin/nologin', user]);
        t.after(() => {
          try {
            execFileSync('userdel', [user]);
          } catch {
            // already gone
          }
        });
        mkdirSync(join(home, 'Maildir'));
        writeFileSync(join(home, 'Maildir', '.password'), 'secret');
        const uid = Number(execFileSync('id', ['-u', user]).toString());
        const gid = Number(execFileSync('id', ['-g', user]).toString());
        for (const p of [home, join(home, 'Maildir'), join(home, 'Maildir', '.password')])
          chownSync(p, uid, gid);
        chmodSync(join(home, 'Maildir'), 0o700);
        chmodSync(join(home, 'Maildir', '.password'), 0o600);
        const w = await start(t, [
          '--smtp-auth-level',
          'always',
          '--smtp-auth-command',
          '/usr/bin/checkpw /bin/true',
        ]);
        if (!w) return;
        for (const mech of ['PLAIN', 'LOGIN']) {
          const r = await runSwaks(
            swaksArgs(w.port, ['--auth', mech, '--auth-user', user, '--auth-password', 'secret']),
          );
          w.noteConnection();
          assert.equal(r.code, 0, r.stdout + w.logLines().join('\n'));
          assert.match(r.stdout, /<- {2}235 Proceed\./);
        }
        const bad = await runSwaks(
          swaksArgs(w.port, ['--auth', 'PLAIN', '--auth-user', user, '--auth-password', 'nope']),
        );
        w.noteConnection();
        assert.equal(bad.code, 28);
        await w.ts.waitForIdle(3);
        assert.ok(
          w.logLines().some((l) => l.includes(`auth: ${user} `)),
          w.logLines().join('\n'),
        );
      });
    });
  });
}
