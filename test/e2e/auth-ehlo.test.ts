// EHLO rewriting end to end (spec §5.2, §5.3, §5.5, errata 6): every combination of the child's
// AUTH / STARTTLS advertisement × smtp-auth-level × certificate, read as a client sees it, in both
// modes (tcpserver → levee → qmail stand-in, and levee serve --exec stand-in). The expected reply
// is built here from the spec's rules, independently of src/session/ehlo.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { LEVEE_MODES, needTools, tmpDirFor, wrapperStarter, REPO } from '../harness';

const CHECKPASSWORD = resolve(REPO, 'test', 'fixtures', 'checkpassword.mjs');
const LEVELS = ['none', 'observe', 'ondemand', 'ondemand-encrypted', 'always', 'always-encrypted'] as const;
type Level = (typeof LEVELS)[number];

function expectedEhlo(childAuth: boolean, childTls: boolean, level: Level, cert: boolean): string[] {
  const mechs = level.endsWith('-encrypted') ? 'LOGIN PLAIN CRAM-MD5' : 'LOGIN PLAIN';
  const leveeAuth = level.startsWith('always') || (level.startsWith('ondemand') && !childAuth);
  const words = ['standin.test', 'PIPELINING'];
  // the child's AUTH line stays unless hidden (none) or replaced (always*)
  if (childAuth && level !== 'none' && !level.startsWith('always')) words.push('AUTH LOGIN PLAIN');
  if (childTls) words.push('STARTTLS');
  words.push('8BITMIME');
  if (leveeAuth) words.push(`AUTH ${mechs}`);
  // levee's STARTTLS is a continuation line ended by the filler; the child's own line is kept
  if (cert && !childTls) words.push('STARTTLS', 'X-NOTHING');
  return words.map((w, i) => (i === words.length - 1 ? '250 ' : '250-') + w);
}

for (const mode of LEVEE_MODES) {
  describe(`${mode} mode`, () => {
    const start = wrapperStarter(mode);

    describe('EHLO as the client sees it: child AUTH/STARTTLS × smtp-auth-level × certificate', () => {
      for (const childAuth of [false, true])
        for (const childTls of [false, true])
          test(`child AUTH=${childAuth} STARTTLS=${childTls}`, { timeout: 60_000 }, async (t) => {
            if (!needTools(t, ['openssl'])) return;
            const dir = tmpDirFor(t, 'levee-ehlo-certs-');
            const cert = join(dir, 'cert.pem');
            const key = join(dir, 'key.pem');
            execFileSync(
              'openssl',
              [
                ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
                ...['-keyout', key, '-out', cert, '-days', '30', '-subj', '/CN=mx.test'],
              ],
              { stdio: 'ignore' },
            );
            const env: Record<string, string> = {};
            if (childAuth) env.STANDIN_AUTH = '1';
            if (childTls) env.STANDIN_STARTTLS = '1';
            for (const level of LEVELS)
              for (const withCert of [false, true]) {
                const args = [
                  '--smtp-auth-level',
                  level,
                  '--smtp-auth-command',
                  `${CHECKPASSWORD} alice s3cret`,
                ];
                if (withCert) args.push('--tls-certificate-file', cert, '--tls-privatekey-file', key);
                await t.test(`level ${level}, certificate ${withCert}`, async (st) => {
                  const w = await start(st, args, { env });
                  if (!w) return;
                  const c = await w.connect();
                  await c.readReply();
                  const ehlo = await c.command('EHLO client.test');
                  assert.deepEqual(ehlo.lines, expectedEhlo(childAuth, childTls, level, withCert));
                  assert.equal((await c.command('QUIT')).code, 221);
                  await w.ts.stop();
                });
              }
          });
    });
  });
}
