// Graylisting through levee (spec §4.8): tcpserver → levee → qmail stand-in, and the same against
// levee serve --exec stand-in. Entry ages are set with utimes, never waited for.
// Run with `TEST_FILTER=graylist node test/run.mjs e2e`.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LEVEE_MODES, wrapperStarter, trafficLine, type SmtpClient, type Wrapper } from '../harness';

const GRAYLISTED = 'Your address has been graylisted. Try again later.';

async function expectReply(c: SmtpClient, line: string | null, expected: string | RegExp): Promise<void> {
  const r = line === null ? await c.readReply() : await c.command(line);
  const text = r.lines.join('\n');
  if (typeof expected === 'string') assert.equal(text, expected, `reply to ${line}`);
  else assert.match(text, expected, `reply to ${line}`);
}

/** One connection: MAIL FROM `from`, then each RCPT with its expected reply, then QUIT. */
async function session(w: Wrapper, from: string, rcpts: [string, string | RegExp][], ip = '127.0.0.1') {
  const c = await w.connect(ip);
  await expectReply(c, null, '220 standin.test ESMTP');
  await expectReply(c, 'HELO client.test', /^250 /);
  await expectReply(c, `MAIL FROM:${from}`, '250 ok');
  for (const [rcpt, expected] of rcpts) await expectReply(c, `RCPT TO:${rcpt}`, expected);
  await expectReply(c, 'QUIT', /^221 /);
  await c.expectClosed();
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

function graylistRoot(w: Wrapper): string {
  const root = join(w.dir, 'graylist');
  mkdirSync(join(root, 'example.org'), { recursive: true });
  return root;
}

for (const mode of LEVEE_MODES) {
  describe(`${mode} mode`, () => {
    const start = wrapperStarter(mode);

    describe('graylisting through levee', () => {
      test('first try 421 + DENIED_GRAYLISTED; after min-secs the same tuple passes and is recorded', async (t) => {
        const w = await start(t, (dir) => [
          ...[
            '--graylist-level',
            'always',
            '--graylist-dir',
            join(dir, 'graylist'),
            '--graylist-min-secs',
            '300',
          ],
        ]);
        if (!w) return;
        const root = graylistRoot(w);
        const entry = join(root, 'example.org/bob/example.com/alice');
        await session(w, '<Alice@Example.com>', [
          ['<bob@example.org>', `421 ${GRAYLISTED}`],
          ['<carol@elsewhere.example.org>', '250 ok'], // no domain directory: not graylisted
        ]);
        assert.equal(readFileSync(entry, 'utf8'), '');
        await w.ts.waitForIdle(1);
        assert.ok(
          w
            .logLines()
            .includes(
              trafficLine('DENIED_GRAYLISTED', 'alice@example.com', 'bob@example.org', '127.0.0.1', entry),
            ),
          w.logLines().join('\n'),
        );
        assert.ok(
          w
            .logLines()
            .some(
              (l) =>
                l === `FILTER_GRAYLISTED sender: alice@example.com recipient: bob@example.org path: ${entry}`,
            ),
        );

        // retry too soon: still graylisted
        await session(w, '<alice@example.com>', [['<bob@example.org>', `421 ${GRAYLISTED}`]]);
        const old = Date.now() / 1000 - 301;
        utimesSync(entry, old, old);
        await session(w, '<alice@example.com>', [['<bob@example.org>', '250 ok']]);
        assert.equal(readFileSync(entry, 'utf8'), '127.0.0.1\n');
        // the child saw only the recipient that passed
        const inputs = w.sessions().map((s) => s.input.toString());
        assert.equal(inputs.filter((i) => i.includes('RCPT TO:<bob@example.org>')).length, 1);
      });

      test('null sender and exceptions: always graylists `_none/_none`, an exception IP is let through', async (t) => {
        const w = await start(t, (dir) => [
          ...['--graylist-level', 'always', '--graylist-dir', join(dir, 'graylist')],
          ...['--graylist-exception-ip-entry', '127.0.0.2'],
        ]);
        if (!w) return;
        const root = graylistRoot(w);
        await session(w, '<>', [['<bob@example.org>', `421 ${GRAYLISTED}`]]);
        assert.ok(existsSync(join(root, 'example.org/bob/_none/_none')));
        await session(w, '<x@example.com>', [['<bob@example.org>', '250 ok']], '127.0.0.2');
        assert.equal(existsSync(join(root, 'example.org/bob/example.com')), false);
      });

      test('a whitelisted client is not graylisted', async (t) => {
        const w = await start(t, (dir) => [
          ...[
            '--graylist-level',
            'always',
            '--graylist-dir',
            join(dir, 'graylist'),
            '--ip-whitelist-entry',
            '127.0.0.3',
          ],
        ]);
        if (!w) return;
        graylistRoot(w);
        await session(w, '<a@example.com>', [['<bob@example.org>', '250 ok']], '127.0.0.3');
      });

      test('hostile addresses create nothing outside the graylist root', async (t) => {
        const w = await start(t, (dir) => [
          '--graylist-level',
          'always',
          '--graylist-dir',
          join(dir, 'graylist'),
        ]);
        if (!w) return;
        const root = graylistRoot(w);
        const before = readdirSync(w.dir).sort();
        await session(w, '<"../../../../tmp/x"@..example.com>', [
          ['<"../../escape"@example.org>', `421 ${GRAYLISTED}`],
          ['<"/etc/passwd"@example.org>', `421 ${GRAYLISTED}`],
          [`<${'a'.repeat(400)}@example.org>`, `421 ${GRAYLISTED}`],
        ]);
        await session(w, `<${'s'.repeat(500)}@${'d'.repeat(60)}.example.com>`, [
          ['<bob@example.org>', `421 ${GRAYLISTED}`],
        ]);
        assert.deepEqual(readdirSync(w.dir).sort(), before);
        const created = files(root).map((f) => relative(root, f));
        assert.equal(created.length, 4, created.join('\n'));
        for (const f of created) {
          const parts = f.split('/');
          assert.equal(parts.length, 4, f);
          assert.equal(parts[0], 'example.org');
          for (const p of parts) assert.ok(p !== '..' && p !== '.' && p.length < 255, f);
        }
      });
    });
  });
}
