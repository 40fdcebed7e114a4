#!/usr/bin/env node
// The demo's mail server: a tiny qmail-smtpd stand-in that speaks SMTP on stdin/stdout and
// "delivers" each message by appending it to the mailbox file named by DEMO_MAILBOX.
import { appendFileSync } from 'node:fs';

const mailbox = process.env.DEMO_MAILBOX;
let buf = '';
let inData = false;
let message = '';
const say = (l) => process.stdout.write(l + '\r\n');
say('220 sink.demo ESMTP');
process.stdin.setEncoding('latin1');
process.stdin.on('data', (c) => {
  buf += c;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i).replace(/\r$/, '');
    buf = buf.slice(i + 1);
    if (inData) {
      if (line === '.') {
        inData = false;
        if (mailbox) appendFileSync(mailbox, message + '\n');
        message = '';
        say('250 ok: delivered to the demo mailbox');
      } else message += (line.startsWith('.') ? line.slice(1) : line) + '\n';
      continue;
    }
    const verb = line.slice(0, 4).toUpperCase();
    if (verb === 'EHLO') ['250-sink.demo', '250-PIPELINING', '250 8BITMIME'].forEach(say);
    else if (verb === 'HELO') say('250 sink.demo');
    else if (verb === 'DATA') {
      inData = true;
      say('354 go ahead');
    } else if (verb === 'QUIT') {
      say('221 sink.demo');
      process.exit(0);
    } else say('250 ok');
  }
});
process.stdin.on('end', () => process.exit(0));
