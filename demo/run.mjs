// `npm run demo`: levee's main job on this machine, no root and no mail server needed.
// Two SMTP conversations go through levee exactly as tcpserver would run it (one levee process per
// connection, the client on stdin/stdout, TCPREMOTEIP in the environment); behind levee is a tiny
// stand-in for qmail-smtpd (demo/sink.mjs) that stores what it receives in a mailbox file.
// One client is on levee's IP blacklist and is refused; the other one's message is delivered.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const levee = join(root, 'bin', 'levee');
const sink = join(root, 'demo', 'sink.mjs');
const dir = mkdtempSync(join(tmpdir(), 'levee-demo-'));
const mailbox = join(dir, 'mailbox');

function converse(ip, lines) {
  return new Promise((resolve) => {
    const env = { ...process.env, TCPREMOTEIP: ip, RELAYCLIENT: '', DEMO_MAILBOX: mailbox };
    delete env.NODE_EXTRA_CA_CERTS;
    const args = [
      '--log-target',
      'stderr',
      '--log-level=verbose',
      '--dns-level',
      'none',
      '--smtp-auth-level',
      'none',
      '--ip-blacklist-entry',
      '203.0.113.',
      process.execPath,
      sink,
    ];
    console.log(`\n$ TCPREMOTEIP=${ip} levee ${args.slice(0, -2).join(' ')} node demo/sink.mjs`);
    const p = spawn(levee, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let pending = [...lines];
    let out = '';
    p.stdout.setEncoding('latin1');
    p.stdout.on('data', (c) => {
      out += c;
      let i;
      while ((i = out.indexOf('\r\n')) >= 0) {
        const line = out.slice(0, i);
        out = out.slice(i + 2);
        console.log(`  S: ${line}`);
        if (/^\d{3} /.test(line) && pending.length) {
          const next = pending.shift();
          for (const l of next.split('\r\n')) console.log(`  C: ${l}`);
          p.stdin.write(next + '\r\n');
        }
      }
    });
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (c) => process.stdout.write(c.replace(/^/gm, '  log: ').replace(/  log: $/, '')));
    p.on('exit', resolve);
  });
}

const message = ['DATA', 'Subject: hello from the demo\r\n\r\nThis message was let through by levee.\r\n.'];
await converse('192.0.2.10', [
  'EHLO client.example',
  'MAIL FROM:<alice@example.org>',
  'RCPT TO:<bob@example.net>',
  ...message,
  'QUIT',
]);
await converse('203.0.113.66', [
  'EHLO spammer.example',
  'MAIL FROM:<spam@example.com>',
  'RCPT TO:<bob@example.net>',
  'DATA',
  'QUIT',
]);
console.log(`\nThe demo mailbox (${mailbox}) holds what the mail server received:`);
console.log(existsSync(mailbox) ? readFileSync(mailbox, 'utf8').replace(/^/gm, '  | ') : '  (nothing)');
