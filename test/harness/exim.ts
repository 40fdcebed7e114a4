// A real downstream MTA for end-to-end tests: exim 4 in `-bs` mode (SMTP on stdin/stdout, one process
// per connection, like qmail-smtpd) delivering into a Maildir. Needs root: exim refuses -oMa and
// delivery set-up otherwise. Verified recipe: shared/docs/test-harness.md §2.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { tmpDir } from './tools';

export const EXIM_BIN = '/usr/sbin/exim4';
const EXIM_USER = 'Debian-exim';

export interface EximOptions {
  /** Advertise AUTH PLAIN, LOGIN and CRAM-MD5 for user `user@example.org`, password `secret`. */
  auth?: boolean;
  /** Advertise STARTTLS with this certificate and key (PEM files; copied into the scratch dir). */
  tls?: { cert: string; key: string };
}

export interface Exim {
  dir: string;
  maildir: string;
  /**
   * What levee (or tcpserver) should exec: `/bin/sh <dir>/exim-child.sh`, which runs
   * `exim4 -C <conf> -bs -odi [-oMa $TCPREMOTEIP]` with exim's stderr appended to <dir>/exim.stderr.
   */
  childArgv: string[];
  /** Delivered messages (Maildir new/ files, sorted by name), exactly as stored: LF line ends. */
  messages(): Buffer[];
  /** Polls until at least `count` messages are delivered; rejects after `ms` (default 5000). */
  waitForMessages(count: number, ms?: number): Promise<Buffer[]>;
  /**
   * A stored message minus the one `Received:` header (with its continuation lines) that exim puts
   * first. Nothing else is added (suppress_local_fixups), so for a message sent as headers + body this
   * is what the client sent after 354, dot-unstuffed, CRLF turned into LF, without the final ".". If
   * the sent data did not start with a header line, exim inserts one empty line ("\n") in front.
   */
  bodyOf(msg: Buffer): Buffer;
  /** exim's mainlog, rejectlog and stderr (for failure messages). */
  logs(): string;
  cleanup(): void;
}

function eximConfig(dir: string, opts: EximOptions): string {
  const lines = [
    'primary_hostname = downstream.test',
    `exim_user = ${EXIM_USER}`,
    `exim_group = ${EXIM_USER}`,
    `spool_directory = ${dir}/spool`,
    `log_file_path = ${dir}/log/%slog`,
    'domainlist local_domains = *',
    'acl_smtp_rcpt = acl_rcpt',
    'host_lookup =',
    'rfc1413_hosts =',
    'keep_environment =',
    // the message size limit must not get in the way of large-body tests
    'message_size_limit = 0',
  ];
  if (opts.tls) {
    lines.push(
      'tls_advertise_hosts = *',
      `tls_certificate = ${dir}/cert.pem`,
      `tls_privatekey = ${dir}/key.pem`,
    );
  } else {
    // levee does TLS itself; the child must not offer it
    lines.push('tls_advertise_hosts =');
  }
  if (opts.auth) lines.push('auth_advertise_hosts = *');
  lines.push(
    'begin acl',
    'acl_rcpt:',
    // without this, exim adds Message-Id/Date/From to "local" input and bodies stop being comparable
    '  accept control = suppress_local_fixups',
    'begin routers',
    'catchall:',
    '  driver = accept',
    '  transport = to_maildir',
    'begin transports',
    'to_maildir:',
    '  driver = appendfile',
    `  directory = ${dir}/Maildir`,
    '  maildir_format',
    `  user = ${EXIM_USER}`,
    '  mode = 0644',
  );
  if (opts.auth) {
    lines.push(
      'begin authenticators',
      'plain:',
      '  driver = plaintext',
      '  public_name = PLAIN',
      '  server_prompts = :',
      '  server_condition = ${if and {{eq{$auth2}{user@example.org}}{eq{$auth3}{secret}}}}',
      '  server_set_id = $auth2',
      'login:',
      '  driver = plaintext',
      '  public_name = LOGIN',
      '  server_prompts = "Username:: : Password::"',
      '  server_condition = ${if and {{eq{$auth1}{user@example.org}}{eq{$auth2}{secret}}}}',
      '  server_set_id = $auth1',
      'cram:',
      '  driver = cram_md5',
      '  public_name = CRAM-MD5',
      '  server_secret = ${if eq{$auth1}{user@example.org}{secret}fail}',
      '  server_set_id = $auth1',
    );
  }
  return lines.join('\n') + '\n';
}

/** Call only after needTools(t, ['exim4'], { root: true }). */
export async function setupExim(opts: EximOptions = {}): Promise<Exim> {
  const scratch = tmpDir('exim');
  const { dir } = scratch;
  const maildir = join(dir, 'Maildir');
  for (const sub of ['spool', 'log', 'Maildir']) mkdirSync(join(dir, sub));
  execFileSync('chown', [`${EXIM_USER}:`, join(dir, 'spool'), join(dir, 'log'), maildir]);
  if (opts.tls) {
    // exim reads them after dropping privileges
    copyFileSync(opts.tls.cert, join(dir, 'cert.pem'));
    copyFileSync(opts.tls.key, join(dir, 'key.pem'));
    chmodSync(join(dir, 'cert.pem'), 0o644);
    chmodSync(join(dir, 'key.pem'), 0o644);
  }
  const conf = join(dir, 'exim.conf');
  writeFileSync(conf, eximConfig(dir, opts), { mode: 0o644 });
  // exec without a shell cannot expand $TCPREMOTEIP; this script does, and keeps exim's harmless
  // "lost privilege for using -C option" line out of the stderr that tests inspect.
  const script = join(dir, 'exim-child.sh');
  writeFileSync(
    script,
    '#!/bin/sh\n' +
      `exec ${EXIM_BIN} -C '${conf}' -bs -odi \${TCPREMOTEIP:+-oMa "$TCPREMOTEIP"} 2>>'${dir}/exim.stderr'\n`,
    { mode: 0o755 },
  );

  const newDir = join(maildir, 'new');
  const messages = (): Buffer[] =>
    existsSync(newDir)
      ? readdirSync(newDir)
          .sort()
          .map((name) => readFileSync(join(newDir, name)))
      : [];
  const readIfThere = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');
  const logs = () =>
    ['log/mainlog', 'log/rejectlog', 'log/paniclog', 'exim.stderr']
      .map((name) => `--- ${name}\n${readIfThere(join(dir, name))}`)
      .join('\n');

  return {
    dir,
    maildir,
    childArgv: ['/bin/sh', script],
    messages,
    async waitForMessages(count, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = messages();
        if (found.length >= count) return found;
        if (Date.now() > deadline) {
          throw new Error(`expected ${count} message(s) in ${maildir}, found ${found.length}\n${logs()}`);
        }
        await new Promise((done) => setTimeout(done, 25));
      }
    },
    bodyOf: stripFirstReceived,
    logs,
    cleanup: () => scratch.cleanup(),
  };
}

/** The message without its first header if that is `Received:` (plus its folded continuation lines). */
export function stripFirstReceived(msg: Buffer): Buffer {
  if (!/^Received:/i.test(msg.subarray(0, 9).toString('latin1'))) {
    throw new Error(
      `message does not start with a Received header: ${msg.subarray(0, 80).toString('latin1')}`,
    );
  }
  let end = msg.indexOf(0x0a);
  // continuation lines start with a space or a tab
  while (end >= 0 && (msg[end + 1] === 0x20 || msg[end + 1] === 0x09)) end = msg.indexOf(0x0a, end + 1);
  return end < 0 ? Buffer.alloc(0) : msg.subarray(end + 1);
}
