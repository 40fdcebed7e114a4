// The package as users get it: `npm pack`, install the tarball into a scratch prefix (dependencies
// from npm's cache where it has them, else the registry: `npm ci` does not cache packuments), then run
// the installed commands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childEnv, needTools, REPO, tmpDirFor } from '../harness';

function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
) {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: childEnv(opts.env),
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

test(
  'npm pack + npm install -g: levee and its utilities run from the install prefix',
  { timeout: 200_000 },
  (t) => {
    if (!needTools(t, ['npm'])) return;
    assert.ok(existsSync(join(REPO, 'dist', 'levee.cjs')), 'run `npm run build` before the e2e tests');
    const dir = tmpDirFor(t, 'levee-pack-');
    const pack = run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: REPO });
    assert.equal(pack.status, 0, pack.stderr);
    const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    const files = info.files.map((f) => f.path);
    for (const f of [
      'bin/levee',
      'dist/levee.cjs',
      'dist/config-test.cjs',
      'dist/utils/levee-replay.cjs',
      'docs/levee.8',
      'binding.gyp',
      'native/spawn.c',
      'native/install.mjs',
      'config.example',
      'UPGRADING.md',
    ]) {
      assert.ok(files.includes(f), `${f} is in the package`);
    }
    assert.equal(
      files.some((f) => f.startsWith('src/') || f.startsWith('test/')),
      false,
      'no sources or tests in the package',
    );

    const prefix = join(dir, 'prefix');
    const install = run(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(dir, info.filename),
      ],
      // A cold npm cache fetches ~20 packuments; one slow registry answer must not fail the suite.
      { timeoutMs: 180_000, env: { npm_config_update_notifier: 'false' } },
    );
    assert.equal(install.status, 0, install.stderr);
    const bin = join(prefix, 'bin');

    const version = run(join(bin, 'levee'), ['--version']);
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stderr, /^levee \d+\.\d+\.\d+/);

    const rcpthosts = join(dir, 'rcpthosts');
    writeFileSync(rcpthosts, 'example.org\n');
    const ct = run(join(bin, 'levee'), ['--config-test', '--qmail-rcpthosts-file', rcpthosts, '/bin/true']);
    assert.match(ct.stderr, /SUCCESS\(qmail-rcpthosts-file\): Opened for reading: /);
    assert.match(ct.stderr, /ERROR: Command returned no output: \/bin\/true/);
    // npm install built the native spawn helper (native/install.mjs): no warning about it
    assert.doesNotMatch(ct.stderr, /native spawn helper cannot be loaded/);
    assert.equal(ct.status, 1);

    const d2p = run(join(bin, 'levee-domain2path'), ['mail.example.com']);
    assert.equal(d2p.stdout, 'com/e/example/mail.example.com\n');
    const split = run(join(bin, 'levee-domainsplit'), ['a.b.example.co.uk']);
    assert.equal(split.stdout, 'example.co.uk\n');
  },
);
