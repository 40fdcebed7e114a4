// npm's install hook: builds the optional native spawn helper (native/spawn.c) with node-gyp.
// levee runs without it (libuv's spawn, ~4 ms more per connection), so a machine without a C
// compiler still installs: the failure is reported, `levee --config-test` says so, and
// `npm rebuild levee` builds it later. LEVEE_REQUIRE_NATIVE=1 (CI) makes a failed build fatal.
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const r = spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit', shell: false });
if (r.status !== 0) {
  const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
  console.error(
    `levee: the native spawn helper was not built (node-gyp: ${why}); levee works without it, ` +
      'starting each child about 4 ms slower. Install a C compiler, make and python3, then run ' +
      '"npm rebuild levee".',
  );
  if (process.env.LEVEE_REQUIRE_NATIVE === '1') process.exit(1);
}
