// ClientIO over a real pipe on fd 0, as wrapper-mode levee reads it: one reused read buffer, on a
// libuv handle (handles.ts) and on the net.Socket fallback (LEVEE_NODE_STREAMS=1). The message body reaches the consumer byte for byte even when the consumer
// waits before using a chunk (the buffer must not be refilled meanwhile), and the commands
// pipelined after the end of data are still read. test/fixtures/pump-reader.ts is the reader.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';

const READER = join(resolve(__dirname, '..'), 'fixtures', 'pump-reader.ts');

interface Summary {
  io: string;
  reusedInput: boolean;
  first: string;
  end: string;
  bytes: number;
  sha256: string;
  chunks: number;
  reusedChunks: number;
  asyncSteps: number;
  after: string[];
}

/** A body of CRLF lines of random printable bytes (no line starts with a dot). */
function body(bytes: number): Buffer {
  const lines: Buffer[] = [];
  let n = 0;
  while (n < bytes) {
    const len = 1 + (randomBytes(1)[0] % 200);
    const line = Buffer.from(randomBytes(len).map((x) => 0x41 + (x % 26)));
    lines.push(line, Buffer.from('\r\n'));
    n += len + 2;
  }
  return Buffer.concat(lines);
}

const IO_PATHS: { io: string; env: Record<string, string> }[] = [
  { io: 'handles', env: {} },
  { io: 'socket', env: { LEVEE_NODE_STREAMS: '1' } },
];

/** Runs the reader with `parts` written to its stdin pipe one after another. */
function runReader(
  parts: Buffer[],
  pauseEveryMs = 0,
  extraEnv: Record<string, string> = {},
): Promise<Summary> {
  return new Promise((resolvePromise, reject) => {
    const env = { ...process.env, ...extraEnv };
    delete env.NODE_OPTIONS;
    if (!extraEnv.LEVEE_NODE_STREAMS) delete env.LEVEE_NODE_STREAMS;
    const p = spawn(process.execPath, ['--import', 'tsx', READER], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env,
    });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error('the reader did not finish in 60 s'));
    }, 60_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`reader exited ${code}: ${out}`));
      resolvePromise(JSON.parse(out) as Summary);
    });
    void (async () => {
      for (const part of parts) {
        if (!p.stdin.write(part)) await new Promise((r) => p.stdin.once('drain', r));
        if (pauseEveryMs) await new Promise((r) => setTimeout(r, pauseEveryMs));
      }
      p.stdin.end();
    })();
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

for (const { io, env } of IO_PATHS) {
  describe(io, () => {
    test(`${io}: a 6 MiB body through the reused read buffer arrives byte for byte despite slow steps`, async () => {
      const msg = body(6 * 1024 * 1024);
      const r = await runReader([Buffer.from('DATA\r\n'), msg, Buffer.from('.\r\nRSET\r\nQUIT\r\n')], 0, env);
      assert.equal(r.io, io, 'the I/O path under test');
      assert.equal(r.reusedInput, true, 'a pipe on fd 0 is read into one reused buffer');
      assert.equal(r.first, 'DATA\r');
      assert.equal(r.end, 'ended');
      assert.equal(r.bytes, msg.length);
      assert.equal(r.sha256, sha(msg));
      assert.ok(
        r.reusedChunks > 10,
        `most chunks are views of the read buffer (${r.reusedChunks}/${r.chunks})`,
      );
      assert.ok(r.asyncSteps > 3, 'some steps waited');
      assert.deepEqual(r.after, ['RSET\r', 'QUIT\r']);
    });

    test(`${io}: DATA, body, end and commands in one write: the queued part first, then the rest`, async () => {
      const msg = body(300 * 1024);
      const r = await runReader(
        [Buffer.concat([Buffer.from('DATA\r\n'), msg, Buffer.from('.\r\nNOOP\r\nQUIT\r\n')])],
        0,
        env,
      );
      assert.equal(r.end, 'ended');
      assert.equal(r.sha256, sha(msg));
      assert.deepEqual(r.after, ['NOOP\r', 'QUIT\r']);
    });

    test(`${io}: small pieces with pauses between them (a slow client)`, async () => {
      const msg = body(20 * 1024);
      const all = Buffer.concat([Buffer.from('DATA\r\n'), msg, Buffer.from('.\r\nQUIT\r\n')]);
      const parts: Buffer[] = [];
      for (let i = 0; i < all.length; i += 997) parts.push(all.subarray(i, i + 997));
      const r = await runReader(parts, 1, env);
      assert.equal(r.end, 'ended');
      assert.equal(r.sha256, sha(msg));
      assert.deepEqual(r.after, ['QUIT\r']);
    });

    test(`${io}: the client goes away mid-body: the pump ends with eof`, async () => {
      const msg = body(200 * 1024);
      const r = await runReader([Buffer.from('DATA\r\n'), msg], 0, env);
      assert.equal(r.end, 'eof');
      assert.equal(r.sha256, sha(msg));
      assert.deepEqual(r.after, []);
    });
  });
}
