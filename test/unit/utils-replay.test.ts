import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { clientUnits, fakeDownstream, fakeReply, parseTranscript } from '../../utils/replay-script';
import { parseReplayArgs } from '../../utils/replay';

describe('levee-replay script parsing', () => {
  test('commands are units; the message after DATA is one unit up to the dot', () => {
    const units = clientUnits(Buffer.from('EHLO a\nMAIL FROM:<x@y>\r\nDATA\nSubject: s\n\nbody\n.\nQUIT\n'));
    assert.deepEqual(
      units.map((u) => [u.kind, u.bytes.toString()]),
      [
        ['command', 'EHLO a\r\n'],
        ['command', 'MAIL FROM:<x@y>\r\n'],
        ['command', 'DATA\r\n'],
        ['message', 'Subject: s\r\n\r\nbody\r\n.\r\n'],
        ['command', 'QUIT\r\n'],
      ],
    );
  });

  test('a transcript gives the FROM REMOTE bytes (exact counts) and the client facts', () => {
    const file = Buffer.from(
      '10/22/2026 21:00:00 STARTED: VERSION = 0.1.0, PID = 7\n' +
        '\n10/22/2026 21:00:00 CURRENT ENVIRONMENT\nTCPREMOTEIP=192.0.2.7\n' +
        '\n10/22/2026 21:00:00 - Remote IP = 192.0.2.7\n' +
        '\n10/22/2026 21:00:00 - Remote rDNS = mail.example.net\n' +
        '\n10/22/2026 21:00:00 FROM CHILD TO REMOTE: 13 bytes\n220 x ESMTP\r\n' +
        '\n10/22/2026 21:00:01 FROM REMOTE TO CHILD: 8 bytes\nEHLO a\r\n' +
        '\n10/22/2026 21:00:01 FROM REMOTE TO CHILD: 20 bytes TLS\nFROM REMOTE TO X\r\n\r\n' +
        '\n10/22/2026 21:00:02 CLOSED\n',
      'latin1',
    );
    const t = parseTranscript(file);
    assert.equal(t.client.toString(), 'EHLO a\r\nFROM REMOTE TO X\r\n\r\n');
    assert.equal(t.ip, '192.0.2.7');
    assert.equal(t.rdns, 'mail.example.net');
  });

  test('arguments: exactly one input, checked IP and rDNS, levee options after', () => {
    const a = parseReplayArgs([
      '--ip',
      '192.0.2.1',
      '--script',
      's',
      '--',
      '--log-level=info',
      'qmail-smtpd',
    ]);
    assert.deepEqual(a, {
      ip: '192.0.2.1',
      env: {},
      script: 's',
      levee: ['--log-level=info', 'qmail-smtpd'],
    });
    const b = parseReplayArgs(['--transcript', 't', '--env', 'RELAYCLIENT=', '--dns-level', 'none']);
    assert.deepEqual(b, { env: { RELAYCLIENT: '' }, transcript: 't', levee: ['--dns-level', 'none'] });
    assert.match(String(parseReplayArgs(['--ip', 'evil;rm', '--script', 's'])), /not an IP address/);
    assert.match(String(parseReplayArgs(['--rdns', 'a/b', '--script', 's'])), /not a host name/);
    assert.match(String(parseReplayArgs(['--script', 's', '--transcript', 't'])), /exactly one/);
    assert.match(String(parseReplayArgs(['--ip'])), /needs a value/);
  });
});

describe('levee-replay stand-in child', () => {
  test('answers like a permissive MTA', () => {
    assert.match(fakeReply('EHLO x'), /^250-/);
    assert.equal(fakeReply('DATA'), '354 go ahead\r\n');
    assert.equal(fakeReply('RCPT TO:<a@b>'), '250 ok\r\n');
    assert.match(fakeReply('QUIT'), /^221 /);
  });

  test('greets, swallows the message until the dot, ends after QUIT', async () => {
    const d = fakeDownstream();
    const chunks: Buffer[] = [];
    d.output.on('data', (c: Buffer) => chunks.push(c));
    d.input.write(Buffer.from('HELO a\r\nDATA\r\nRCPT looks like a command\r\n.\r\nQUIT\r\n'));
    const exit = await Promise.race([d.exited, new Promise((r) => setTimeout(() => r('timeout'), 2000))]);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.equal(
      Buffer.concat(chunks).toString(),
      '220 replay.invalid ESMTP levee-replay\r\n250 replay.invalid\r\n354 go ahead\r\n250 ok: message accepted (replay)\r\n221 replay.invalid\r\n',
    );
  });
});
