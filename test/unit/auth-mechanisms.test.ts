// levee's own AUTH dialogue (spec §5.3, §3.1): mechanisms per level, prompts, decoding of answers.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  mechanismsFor,
  decodeBase64,
  parsePlain,
  parseCramResponse,
  cramChallenge,
  parseAuthCommand,
  LOGIN_USER_PROMPT,
  LOGIN_PASSWORD_PROMPT,
} from '../../src/auth/mechanisms';
import { runExchange, type AuthDialog, type ExchangeResult } from '../../src/auth/exchange';

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');

/** A client that answers the prompts in order and records them. */
function scripted(answers: (string | null)[], challenge = '<1.2@mx.test>') {
  const prompts: string[] = [];
  const dialog: AuthDialog = {
    prompt: async (text) => {
      prompts.push(text);
      return answers.length ? answers.shift()! : null;
    },
    challenge: async () => challenge,
  };
  return { dialog, prompts };
}

function creds(r: ExchangeResult): { user: string; password: string; timestamp: string } {
  assert.equal(r.kind, 'credentials');
  if (r.kind !== 'credentials') throw new Error('unreachable');
  const c = r.credentials;
  return { user: c.user.toString(), password: c.password.toString(), timestamp: c.timestamp.toString() };
}

const ALL = mechanismsFor('always-encrypted');

describe('mechanismsFor', () => {
  test('LOGIN PLAIN, plus CRAM-MD5 for the *-encrypted levels, none for observe/none', () => {
    assert.deepEqual(mechanismsFor('ondemand'), ['LOGIN', 'PLAIN']);
    assert.deepEqual(mechanismsFor('always'), ['LOGIN', 'PLAIN']);
    assert.deepEqual(mechanismsFor('ondemand-encrypted'), ['LOGIN', 'PLAIN', 'CRAM-MD5']);
    assert.deepEqual(mechanismsFor('always-encrypted'), ['LOGIN', 'PLAIN', 'CRAM-MD5']);
    assert.deepEqual(mechanismsFor('observe'), []);
    assert.deepEqual(mechanismsFor('none'), []);
  });
});

describe('decoding', () => {
  test('base64 with and without padding; garbage and the cancel "*" are null', () => {
    assert.equal(decodeBase64('dXNlcg==')?.toString(), 'user');
    assert.equal(decodeBase64('dXNlcg')?.toString(), 'user');
    assert.equal(decodeBase64('*'), null);
    assert.equal(decodeBase64('not base64!'), null);
    assert.equal(decodeBase64('a'), null);
  });

  test('property: decodeBase64 inverts base64 encoding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const b = Buffer.from(bytes);
        assert.deepEqual(decodeBase64(b.toString('base64')), b);
      }),
    );
  });

  test('PLAIN: authzid NUL authcid NUL password; the user is the authcid', () => {
    const p = parsePlain(Buffer.from('admin\0alice\0s3 cret'));
    assert.equal(p?.user.toString(), 'alice');
    assert.equal(p?.password.toString(), 's3 cret');
    assert.equal(parsePlain(Buffer.from('\0bob\0pw'))?.user.toString(), 'bob');
    assert.equal(parsePlain(Buffer.from('alice\0pw')), null);
    assert.equal(parsePlain(Buffer.from('\0\0pw')), null);
    assert.equal(parsePlain(Buffer.from('a\0b\0c\0d')), null);
  });

  test('CRAM-MD5 response: user SP 32 hex digits (lower-cased)', () => {
    const r = parseCramResponse(Buffer.from('alice smith 0123456789ABCDEF0123456789abcdef'));
    assert.equal(r?.user.toString(), 'alice smith');
    assert.equal(r?.digest.toString(), '0123456789abcdef0123456789abcdef');
    assert.equal(parseCramResponse(Buffer.from('alice 1234')), null);
    assert.equal(parseCramResponse(Buffer.from('0123456789abcdef0123456789abcdef')), null);
  });

  test("challenge has spamdyke's <random.unixtime@hostname> form", () => {
    assert.equal(cramChallenge(12345, 1700000000, 'mx.example.org'), '<12345.1700000000@mx.example.org>');
    assert.equal(cramChallenge(1, 2, ''), '<1.2@unknown.server.unknown.domain>');
    assert.equal(cramChallenge(1, 2, 'a b\r\n'), '<1.2@ab>');
  });

  test('AUTH command arguments', () => {
    assert.deepEqual(parseAuthCommand(' plain  dGVzdA== '), { mechanism: 'PLAIN', initial: 'dGVzdA==' });
    assert.deepEqual(parseAuthCommand(' LOGIN'), { mechanism: 'LOGIN', initial: undefined });
  });
});

describe('runExchange', () => {
  test('PLAIN with an initial response needs no prompt', async () => {
    const { dialog, prompts } = scripted([]);
    const r = await runExchange('PLAIN', b64('\0alice\0pw'), ALL, dialog);
    assert.deepEqual(creds(r), { user: 'alice', password: 'pw', timestamp: '' });
    assert.deepEqual(prompts, []);
  });

  test('PLAIN without one prompts with an empty 334', async () => {
    const { dialog, prompts } = scripted([b64('\0alice\0pw')]);
    assert.deepEqual(creds(await runExchange('PLAIN', undefined, ALL, dialog)).user, 'alice');
    assert.deepEqual(prompts, ['']);
  });

  test('PLAIN with "=" (empty initial response) also prompts', async () => {
    const { dialog, prompts } = scripted([b64('\0alice\0pw')]);
    assert.equal(creds(await runExchange('PLAIN', '=', ALL, dialog)).user, 'alice');
    assert.deepEqual(prompts, ['']);
  });

  test('LOGIN asks Username: then Password:', async () => {
    const { dialog, prompts } = scripted([b64('alice'), b64('pw')]);
    assert.deepEqual(creds(await runExchange('LOGIN', undefined, ALL, dialog)), {
      user: 'alice',
      password: 'pw',
      timestamp: '',
    });
    assert.deepEqual(prompts, [LOGIN_USER_PROMPT, LOGIN_PASSWORD_PROMPT]);
  });

  test('LOGIN with the user name inline asks only for the password', async () => {
    const { dialog, prompts } = scripted([b64('pw')]);
    assert.equal(creds(await runExchange('LOGIN', b64('alice'), ALL, dialog)).password, 'pw');
    assert.deepEqual(prompts, [LOGIN_PASSWORD_PROMPT]);
  });

  test('CRAM-MD5: the challenge goes out base64; digest and challenge go to checkpassword', async () => {
    const digest = 'b913a602c7eda7a495b4e6e7334d3890';
    const { dialog, prompts } = scripted([b64(`alice ${digest}`)], '<99.1700000000@mx.test>');
    assert.deepEqual(creds(await runExchange('CRAM-MD5', undefined, ALL, dialog)), {
      user: 'alice',
      password: digest,
      timestamp: '<99.1700000000@mx.test>',
    });
    assert.deepEqual(prompts, [b64('<99.1700000000@mx.test>')]);
  });

  test('a mechanism that is not offered is unknown (504), CRAM-MD5 too below *-encrypted', async () => {
    const { dialog, prompts } = scripted([]);
    assert.deepEqual(await runExchange('DIGEST-MD5', undefined, ALL, dialog), { kind: 'unknown' });
    assert.deepEqual(await runExchange('CRAM-MD5', undefined, mechanismsFor('always'), dialog), {
      kind: 'unknown',
    });
    assert.deepEqual(await runExchange('', undefined, ALL, dialog), { kind: 'unknown' });
    assert.deepEqual(prompts, []);
  });

  test('cancel ("*"), bad base64 and malformed content fail (535)', async () => {
    assert.deepEqual(await runExchange('LOGIN', undefined, ALL, scripted(['*']).dialog), { kind: 'failed' });
    assert.deepEqual(await runExchange('PLAIN', '!!!', ALL, scripted([]).dialog), { kind: 'failed' });
    assert.deepEqual(await runExchange('PLAIN', b64('nonul'), ALL, scripted([]).dialog), { kind: 'failed' });
    assert.deepEqual(await runExchange('CRAM-MD5', undefined, ALL, scripted([b64('alice')]).dialog), {
      kind: 'failed',
    });
    assert.deepEqual(await runExchange('CRAM-MD5', b64('x'), ALL, scripted([]).dialog), { kind: 'failed' });
  });

  test('EOF in the middle of the dialogue is reported as such', async () => {
    assert.deepEqual(await runExchange('LOGIN', undefined, ALL, scripted([b64('alice')]).dialog), {
      kind: 'eof',
    });
    assert.deepEqual(await runExchange('PLAIN', undefined, ALL, scripted([]).dialog), { kind: 'eof' });
  });
});
