// Builds dist/levee.cjs: one CommonJS bundle, because a connection should load one file
// (shared/research/perf.md: many files +10 ms, ESM +15..80 ms). Code that only some configurations
// need lives in separate entry points that the main bundle require()s lazily (LAZY in
// build-options.mjs).
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { startDnsResponder } from './bench/dns-responder.mjs';

import { LAZY, UTILS, common, mainBundle } from './build-options.mjs';

rmSync('dist', { recursive: true, force: true });
await build(mainBundle);
const bundleText = readFileSync('dist/levee.cjs', 'latin1');
if (/[^\x00-\x7f]/.test(bundleText)) throw new Error('dist/levee.cjs must be ASCII (see build.mjs)');
await build({ ...common, entryPoints: LAZY, outdir: 'dist', outExtension: { '.js': '.cjs' } });
await build({ ...common, entryPoints: UTILS, outdir: 'dist/utils', outExtension: { '.js': '.cjs' } });

// V8 code cache for the per-connection bundle (bin/levee loads it): made by running one session
// through levee with the filters a typical configuration uses (list files, rDNS checks, three
// DNSBLs answered by bench/dns-responder.mjs on loopback, info logging), so the functions such a
// session compiles are in the cache too. A function missing from the cache is compiled lazily at
// every connection (~2 ms for the filters); one in it costs only its share of the cache to load.
const cacheFile = resolve('dist/levee.cjs.cache');
await writeCodeCache(cacheFile);

async function writeCodeCache(cacheFile) {
  const client = { ip: '127.0.0.5', name: 'client.build.test' };
  const zones = ['zen.build.test', 'dbl.build.test', 'wl.build.test'];
  const dns = await startDnsResponder({
    clients: { [client.ip]: client.name },
    zones,
    listedIp: '127.0.0.2',
  });
  const dir = mkdtempSync(join(tmpdir(), 'levee-build-'));
  try {
    const file = (name, text) => (writeFileSync(join(dir, name), text), join(dir, name));
    const config = [
      'log-level=info',
      'log-target=stderr',
      `dns-server-ip=127.0.0.1:${dns.port}`,
      ...zones.map((z) => `dns-blacklist-entry=${z}`),
      'reject-empty-rdns',
      'reject-unresolvable-rdns',
      `ip-blacklist-file=${file('ip-blacklist', '192.0.2.1\n10.0.0.0/8\n# comment\n')}`,
      `rdns-blacklist-file=${file('rdns-blacklist', '.dyn.isp.example\n')}`,
      `sender-blacklist-file=${file('sender-blacklist', 'spam@spammer.example\n@spammer.example\n')}`,
      `recipient-blacklist-file=${file('recipient-blacklist', 'nobody@example.org\n')}`,
      `qmail-rcpthosts-file=${file('rcpthosts', 'example.org\n.example.org\n')}`,
      'greeting-delay-secs=0',
    ];
    const session =
      'EHLO build.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n' +
      'Subject: x\r\n\r\nx\r\n.\r\nRSET\r\nQUIT\r\n';
    const env = { ...process.env, LEVEE_WRITE_CODE_CACHE: cacheFile, TCPREMOTEIP: client.ip };
    delete env.NODE_OPTIONS;
    delete env.NODE_EXTRA_CA_CERTS;
    delete env.RELAYCLIENT;
    // asynchronous: the DNS responder answers from this process meanwhile
    const child = spawn(
      process.execPath,
      [
        'bin/levee',
        '--config-file',
        file('levee.conf', config.join('\n') + '\n'),
        process.execPath,
        'demo/sink.mjs',
      ],
      { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: 20_000 },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.stdin.end(session);
    const code = await new Promise((res) => child.on('close', res));
    if (code !== 0 || !/^221 /m.test(out) || !/ALLOWED from: a@example.org/.test(err)) {
      throw new Error(`building the code cache failed (exit ${code}):\n${out}\n${err}`);
    }
    if (!readFileSync(cacheFile).length) throw new Error('building the code cache failed: empty cache');
  } finally {
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
