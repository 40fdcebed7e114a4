// The start-up guard (not a timing test): levee starts once per SMTP connection, and every module it
// loads or every 100 KB of bundle costs each connection time and memory (shared/research/perf.md:
// yargs +80 ms, ~5-7 ms per 100 KB of JS). So the bundle has a size budget, and a plain configuration
// must not load what only other configurations need. Modules are recorded by a `node -r` preload that
// wraps Module._load and diffs process.moduleLoadList, while levee runs a real session against a
// tiny shell child that answers 220/250/221.
import { test, describe, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(__dirname, '..', '..');
const BUNDLE = join(REPO, 'dist', 'levee.cjs');
const LEVEE_BIN = join(REPO, 'bin', 'levee');
/** 171,362 bytes when the bundle lost its whitespace and comments (2026-12-05), plus ~15 % headroom */
const BUNDLE_LIMIT_BYTES = 197_000;

const RECORDER = `'use strict';
const Module = require('node:module');
const fs = require('node:fs');
const before = new Set(process.moduleLoadList);
const requested = new Set();
const load = Module._load;
Module._load = function (request) {
  requested.add(String(request));
  return load.apply(this, arguments);
};
process.on('exit', () => {
  fs.writeFileSync(process.env.LEVEE_MODULE_RECORD, JSON.stringify({
    requested: [...requested],
    builtins: process.moduleLoadList.filter((m) => !before.has(m)),
    files: Object.keys(require.cache),
  }));
});
`;

/** answers like qmail-smtpd would, as far as levee's lock-step relay needs */
const CHILD_SCRIPT =
  'printf "220 child ESMTP\\r\\n"; while read -r line; do case "$line" in ' +
  'QUIT*) printf "221 child bye\\r\\n"; exit 0;; *) printf "250 ok\\r\\n";; esac; done';

interface Recording {
  requested: string[];
  builtins: string[];
  files: string[];
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'levee-startup-'));
  writeFileSync(join(dir, 'recorder.cjs'), RECORDER);
  writeFileSync(join(dir, 'ip-blacklist'), '192.0.2.1\n10.0.0.0/8\n');
  writeFileSync(join(dir, 'sender-blacklist'), 'spam@spammer.example\n');
  writeFileSync(join(dir, 'rcpthosts'), 'example.org\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function bundlePresent(t: TestContext): boolean {
  if (existsSync(BUNDLE)) return true;
  if (process.env.CI) assert.fail(`${BUNDLE} is missing: CI must build before the unit tests`);
  t.skip('dist/levee.cjs is missing: run `npm run build` first');
  return false;
}

/** a plain configuration file: lists, logging, relay control; no TLS, no AUTH, no help */
function plainConfig(extraLines: string[]): string {
  const p = join(dir, `plain-${extraLines.length}.conf`);
  writeFileSync(
    p,
    [
      'log-level=info',
      'log-target=stderr',
      `ip-blacklist-file=${join(dir, 'ip-blacklist')}`,
      `sender-blacklist-file=${join(dir, 'sender-blacklist')}`,
      `qmail-rcpthosts-file=${join(dir, 'rcpthosts')}`,
      'max-recipients=5',
      ...extraLines,
    ].join('\n') + '\n',
  );
  return p;
}

/** Runs one session through levee under the recorder and returns what was loaded. */
function recordSession(config: string, extraEnv: Record<string, string> = {}): Recording {
  const record = join(dir, `record-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LEVEE_MODULE_RECORD: record,
    TCPREMOTEIP: '127.0.0.5',
    ...extraEnv,
  };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.RELAYCLIENT;
  if (!('LEVEE_NODE_STREAMS' in extraEnv)) delete env.LEVEE_NODE_STREAMS;
  const r = spawnSync(
    process.execPath,
    ['-r', join(dir, 'recorder.cjs'), LEVEE_BIN, '--config-file', config, 'sh', '-c', CHILD_SCRIPT],
    {
      input: 'EHLO client.example\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<b@example.org>\r\nQUIT\r\n',
      env,
      encoding: 'latin1',
      timeout: 20000,
    },
  );
  assert.equal(r.status, 0, `levee failed: ${r.error?.message ?? ''} ${r.stderr}`);
  assert.match(r.stdout, /^220 /, 'the greeting comes from the child');
  assert.match(r.stdout, /221 child bye/, 'the session ran to QUIT');
  return JSON.parse(readFileSync(record, 'utf8')) as Recording;
}

/** The heavy or rarely needed modules found in a recording, by name. */
function heavyModulesLoaded(rec: Recording): string[] {
  const found = new Set<string>();
  const builtin = (name: string) =>
    rec.builtins.includes(`NativeModule ${name}`) ||
    rec.requested.includes(name) ||
    rec.requested.includes(`node:${name}`);
  for (const name of ['tls', 'crypto', 'dns', 'dns/promises']) if (builtin(name)) found.add(`node:${name}`);
  for (const pkg of ['yargs', 'ini', 'unix-dgram']) {
    const inNodeModules = new RegExp(`[/\\\\]node_modules[/\\\\]${pkg}[/\\\\]`);
    if (
      rec.requested.some((q) => q === pkg || q.startsWith(`${pkg}/`)) ||
      rec.files.some((f) => inNodeModules.test(f))
    ) {
      found.add(pkg);
    }
  }
  for (const lazy of ['help', 'config-test', 'serve']) {
    const file = new RegExp(`(^|[/\\\\])${lazy}\\.cjs$`);
    if (rec.requested.some((q) => file.test(q)) || rec.files.some((f) => file.test(f)))
      found.add(`dist/${lazy}.cjs`);
  }
  return [...found].sort();
}

/** Which of node:child_process, node:net and node:stream a recording loaded. */
function streamModulesLoaded(rec: Recording): string[] {
  return ['child_process', 'net', 'stream'].filter((m) => rec.builtins.includes(`NativeModule ${m}`));
}

/** a loopback UDP port with nobody listening: DNS queries fail at once with "connection refused" */
async function closedUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', () => res()));
  const { port } = s.address();
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

describe('start-up guard', () => {
  test(`dist/levee.cjs stays below ${BUNDLE_LIMIT_BYTES} bytes`, (t) => {
    if (!bundlePresent(t)) return;
    const size = statSync(BUNDLE).size;
    t.diagnostic(`dist/levee.cjs is ${size} bytes (limit ${BUNDLE_LIMIT_BYTES})`);
    assert.ok(
      size <= BUNDLE_LIMIT_BYTES,
      `dist/levee.cjs is ${size} bytes, over the ${BUNDLE_LIMIT_BYTES}-byte budget: move rarely used code into ` +
        'a lazily required bundle (build.mjs LAZY) instead of raising the limit',
    );
  });

  test('a plain configuration with dns-level none loads no heavy module, and no stream module', (t) => {
    if (!bundlePresent(t)) return;
    const rec = recordSession(plainConfig(['dns-level=none']));
    assert.deepEqual(heavyModulesLoaded(rec), []);
    // the client and the child run on libuv handles (src/relay/handles.ts): node:net, node:stream
    // and node:child_process are ~10 ms of every connection's start-up
    assert.deepEqual(streamModulesLoaded(rec), []);
  });

  test("with LEVEE_NODE_STREAMS=1 the same session runs on node's public stream modules", (t) => {
    if (!bundlePresent(t)) return;
    const rec = recordSession(plainConfig(['dns-level=none']), { LEVEE_NODE_STREAMS: '1' });
    // also proves the recorder sees these modules when they are loaded
    assert.deepEqual(streamModulesLoaded(rec), ['child_process', 'net', 'stream']);
    assert.deepEqual(heavyModulesLoaded(rec), []);
  });

  test('a run that ends before the session (configuration error, --version) loads no I/O module', (t) => {
    if (!bundlePresent(t)) return;
    const config = plainConfig(['no-such-option=1']);
    for (const args of [['--config-file', config, 'true'], ['--version']]) {
      const record = join(dir, `record-early-${args.length}.json`);
      const env: NodeJS.ProcessEnv = { ...process.env, LEVEE_MODULE_RECORD: record };
      delete env.NODE_OPTIONS;
      delete env.NODE_EXTRA_CA_CERTS;
      const r = spawnSync(process.execPath, ['-r', join(dir, 'recorder.cjs'), LEVEE_BIN, ...args], {
        env,
        encoding: 'latin1',
        timeout: 20000,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      if (args[0] === '--version') assert.equal(r.status, 0, r.stderr);
      else assert.match(r.stderr, /Unknown configuration file option .* no-such-option/);
      const rec = JSON.parse(readFileSync(record, 'utf8')) as Recording;
      const loaded = ['child_process', 'net', 'stream', 'dns', 'tls', 'crypto'].filter((m) =>
        rec.builtins.includes(`NativeModule ${m}`),
      );
      assert.deepEqual(loaded, [], `levee ${args.join(' ')} loaded ${loaded.join(', ')}`);
    }
  });

  test('with DNS filters on, nothing is added: c-ares runs on its binding, node:dns only on the fallback', async (t) => {
    if (!bundlePresent(t)) return;
    const port = await closedUdpPort();
    const config = plainConfig([
      `dns-server-ip=127.0.0.1:${port}`,
      'dns-blacklist-entry=zen.test',
      'reject-unresolvable-rdns',
    ]);
    // src/dns/channel.ts: ChannelWrap straight from cares_wrap (node:dns costs ~1.2 ms and ~100 KB)
    assert.deepEqual(heavyModulesLoaded(recordSession(config)), []);
    // the same session on node's public modules loads node:dns: proves the session reaches the
    // lookups, and that the recorder sees a lazily required builtin
    const fallback = recordSession(config, { LEVEE_NODE_STREAMS: '1' });
    assert.deepEqual(heavyModulesLoaded(fallback), ['node:dns']);
  });
});
