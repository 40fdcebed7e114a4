// levee --config-test as an administrator runs it: the production command line plus --config-test,
// the real qmail stand-in as the child, real files, a real certificate and real DNS list servers.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  childEnv,
  DNS_ZONES,
  dnsServersMissing,
  LEVEE_BIN,
  needTools,
  QMAIL_STANDIN,
  REPO,
  startDnsServers,
  tmpDirFor,
} from '../harness';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  lines: string[];
}

/** Runs levee with a time limit; stderr split into lines. */
function runLevee(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(LEVEE_BIN, args, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`levee --config-test did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    p.on('close', (status) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      resolve({
        status,
        stdout: Buffer.concat(out).toString(),
        stderr,
        lines: stderr.split('\n').filter(Boolean),
      });
    });
  });
}

function setup(t: Parameters<typeof tmpDirFor>[0]) {
  const dir = tmpDirFor(t, 'levee-ct-');
  const standin = join(dir, 'standin');
  mkdirSync(standin);
  const rcpthosts = join(dir, 'rcpthosts');
  writeFileSync(rcpthosts, 'example.org\n');
  return { dir, rcpthosts, env: { STANDIN_DIR: standin }, child: [process.execPath, QMAIL_STANDIN] };
}

describe('levee --config-test', () => {
  test('a clean configuration: verdict lines in order, SUCCESS final line, exit 0', async (t) => {
    const s = setup(t);
    const r = await runLevee(
      ['--config-test', '--qmail-rcpthosts-file', s.rcpthosts, '--log-level=verbose', ...s.child],
      s.env,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.lines[r.lines.length - 1], 'SUCCESS: Tests complete. No errors detected.');
    assert.ok(r.lines.includes('INFO: Testing configuration...'));
    assert.ok(
      r.lines.some((l) =>
        /^SUCCESS: levee binary \(.*\) is not owned by root and\/or is not marked setuid\.$/.test(l),
      ),
    );
    assert.ok(r.lines.some((l) => /does not appear to offer TLS support\. Please use/.test(l)));
    assert.ok(r.lines.includes(`SUCCESS(qmail-rcpthosts-file): Opened for reading: ${s.rcpthosts}`));
    assert.equal(r.stderr.includes('levee['), false, 'config-test output has no levee[pid]: prefix');
    // order: identity and binary, then the child, then the options (spec §6)
    const child = r.lines.findIndex((l) => l.includes('TLS support'));
    const file = r.lines.findIndex((l) => l.startsWith('SUCCESS(qmail-rcpthosts-file)'));
    assert.ok(child > 0 && file > child);
  });

  test('the native spawn helper that npm install built is found next to the bundle', async (t) => {
    const file = join(REPO, 'build', 'Release', 'levee_spawn.node');
    if (!existsSync(file)) {
      if (process.env.CI) throw new Error(`CI must build the native spawn helper (${file})`);
      t.skip(`native spawn helper not built (npm install builds it): ${file}`);
      return;
    }
    const s = setup(t);
    const args = ['--config-test', '--qmail-rcpthosts-file', s.rcpthosts, '--log-level=verbose', ...s.child];
    const r = await runLevee(args, s.env);
    assert.ok(
      r.lines.includes(
        `SUCCESS: Native spawn helper loaded (children start with posix_spawn; the bundle is mapped, shared between connections): ${file}`,
      ),
      r.stderr,
    );
    const off = await runLevee(args, { ...s.env, LEVEE_NATIVE_SPAWN: '0' });
    assert.ok(
      off.lines.includes(
        "INFO: LEVEE_NATIVE_SPAWN=0: children start with libuv's fork-based spawn and each connection reads the bundle.",
      ),
      off.stderr,
    );
  });

  test('the child is really asked: STARTTLS and AUTH in its EHLO reply are seen', async (t) => {
    const s = setup(t);
    const r = await runLevee(['--config-test', '--qmail-rcpthosts-file', s.rcpthosts, ...s.child], {
      ...s.env,
      STANDIN_AUTH: '1',
      STANDIN_STARTTLS: '1',
    });
    assert.ok(
      r.lines.some((l) => /^WARNING: .* appears to offer TLS support but levee has no certificate/.test(l)),
      r.stderr,
    );
    assert.ok(
      r.lines.some((l) => /^SUCCESS: .* appears to offer SMTP AUTH support\. levee will observe/.test(l)),
    );
  });

  test('errors make the final line ERROR and the exit status 1', async (t) => {
    const s = setup(t);
    const missing = join(s.dir, 'no-such-list');
    const r = await runLevee(
      [
        '--config-test',
        '--qmail-rcpthosts-file',
        s.rcpthosts,
        '--ip-blacklist-file',
        missing,
        '--smtp-auth-level',
        'always',
        ...s.child,
      ],
      s.env,
    );
    assert.equal(r.status, 1);
    assert.ok(
      r.lines.includes(
        `ERROR(ip-blacklist-file): Failed to open for reading: ${missing}: No such file or directory`,
      ),
    );
    assert.ok(
      r.lines.some((l) => l.startsWith('ERROR: smtp-auth-level is always but no "smtp-auth-command"')),
    );
    assert.equal(r.lines[r.lines.length - 1], 'ERROR: Tests complete. Errors detected.');
  });

  test('a child that says nothing is reported', async (t) => {
    const s = setup(t);
    const r = await runLevee(['--config-test', '--qmail-rcpthosts-file', s.rcpthosts, '/bin/true'], s.env);
    assert.equal(r.status, 1);
    assert.ok(r.lines.some((l) => l.startsWith('ERROR: Command returned no output: /bin/true')));
  });

  test('--log-format json prints one JSON document on stdout', async (t) => {
    const s = setup(t);
    const r = await runLevee(
      [
        '--config-test',
        '--log-format',
        'json',
        '--qmail-rcpthosts-file',
        s.rcpthosts,
        '--ip-whitelist-file',
        '/nonexistent',
        ...s.child,
      ],
      s.env,
    );
    assert.equal(r.status, 1);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.ok, false);
    assert.equal(doc.errors, 1);
    assert.deepEqual(
      doc.results.find((x: { option: string | null }) => x.option === 'ip-whitelist-file'),
      {
        verdict: 'ERROR',
        option: 'ip-whitelist-file',
        message: 'Failed to open for reading: /nonexistent: No such file or directory',
      },
    );
  });

  test('TLS: a matching certificate loads; one about to expire warns; a wrong key is an error', async (t) => {
    if (!needTools(t, ['openssl'])) return;
    const s = setup(t);
    const make = (name: string, days: number) => {
      const r = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-subj',
          '/CN=mx.example.org',
          '-days',
          String(days),
          '-keyout',
          join(s.dir, `${name}.key`),
          '-out',
          join(s.dir, `${name}.pem`),
        ],
        { stdio: 'ignore', timeout: 20_000 },
      );
      assert.equal(r.status, 0, 'openssl req');
    };
    make('good', 365);
    make('soon', 5);
    const base = ['--config-test', '--qmail-rcpthosts-file', s.rcpthosts];
    const good = await runLevee(
      [
        ...base,
        '--tls-certificate-file',
        join(s.dir, 'good.pem'),
        '--tls-privatekey-file',
        join(s.dir, 'good.key'),
        ...s.child,
      ],
      s.env,
    );
    assert.ok(
      good.lines.includes(
        'SUCCESS(tls-certificate-file): Certificate and key loaded; SSL/TLS library successfully initialized',
      ),
      good.stderr,
    );
    assert.ok(good.lines.some((l) => /^SUCCESS: .* levee will offer TLS using its certificate\./.test(l)));
    const soon = await runLevee(
      [
        ...base,
        '--tls-certificate-file',
        join(s.dir, 'soon.pem'),
        '--tls-privatekey-file',
        join(s.dir, 'soon.key'),
        ...s.child,
      ],
      s.env,
    );
    assert.ok(
      soon.lines.some((l) => /^WARNING\(tls-certificate-file\): Certificate expires in [45] days/.test(l)),
      soon.stderr,
    );
    const wrong = await runLevee(
      [
        ...base,
        '--tls-certificate-file',
        join(s.dir, 'good.pem'),
        '--tls-privatekey-file',
        join(s.dir, 'soon.key'),
        ...s.child,
      ],
      s.env,
    );
    assert.equal(wrong.status, 1);
    assert.ok(
      wrong.lines.some((l) =>
        l.startsWith('ERROR(tls-certificate-file): Unable to load the certificate or key'),
      ),
    );
  });

  test('DNS lists: RFC 5782 test points, a refusing list and a domain list without test points', async (t) => {
    if (dnsServersMissing() && !needTools(t, ['rbldnsd', 'dnsmasq'], { root: true })) return;
    const dns = await startDnsServers();
    t.after(() => dns.stop());
    const s = setup(t);
    const r = await runLevee(
      [
        '--config-test',
        '--qmail-rcpthosts-file',
        s.rcpthosts,
        `--dns-server-ip=127.0.0.1:${dns.port}`,
        '--dns-timeout-secs',
        '5',
        '--dns-blacklist-entry',
        DNS_ZONES.zen,
        '--dns-blacklist-entry',
        DNS_ZONES.refuse,
        '--rhs-blacklist-entry',
        DNS_ZONES.dbl,
        ...s.child,
      ],
      s.env,
    );
    assert.ok(
      r.lines.includes(
        `SUCCESS(dns-blacklist-entry): ${DNS_ZONES.zen} lists 127.0.0.2 and not 127.0.0.1 (RFC 5782 test points).`,
      ),
      r.stderr,
    );
    assert.ok(
      r.lines.some(
        (l) =>
          l.startsWith(`ERROR(dns-blacklist-entry): ${DNS_ZONES.refuse}: `) && l.includes('refuses queries'),
      ),
    );
    assert.ok(
      r.lines.some((l) =>
        l.startsWith(
          `WARNING(rhs-blacklist-entry): ${DNS_ZONES.dbl} does not list the RFC 5782 test point test`,
        ),
      ),
    );
    assert.equal(r.status, 1);
  });
});
