// Writes one whole line to a file descriptor with a single write(2), so that multilog (or anything
// else reading the pipe) never sees half a line from two processes interleaved (spec §9.1, 4.0.8).
// A pipe write of at most PIPE_BUF (4096) bytes is atomic; lines are capped below that.
import { writeSync } from 'node:fs';

/** How long one line may wait for a full pipe (node makes stderr pipes non-blocking: EAGAIN). */
export const STDERR_WAIT_MS = 2000;
const MAX_SLEEP_MS = 25;

let sleeper: Int32Array | undefined;
function sleepMs(ms: number): void {
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleeper, 0, 0, ms);
}

export type WriteResult = 'ok' | 'full' | 'broken';

/**
 * Writes all of `data` to `fd`, retrying on EAGAIN with a growing pause for up to `waitMs`.
 * Never throws: 'full' when the reader did not drain the pipe in time (the line is dropped),
 * 'broken' when the descriptor cannot be written at all (EPIPE, EBADF, ...).
 */
export function writeLineSync(fd: number, data: Buffer, waitMs: number = STDERR_WAIT_MS): WriteResult {
  let offset = 0;
  let pause = 1;
  let deadline = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset, data.length - offset);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EINTR') continue;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') return 'broken';
      const now = Date.now();
      if (deadline === 0) deadline = now + waitMs;
      else if (now >= deadline) return 'full';
      sleepMs(Math.min(pause, deadline - now));
      pause = Math.min(pause * 2, MAX_SLEEP_MS);
    }
  }
  return 'ok';
}
