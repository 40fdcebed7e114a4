// The soak run (test/soak/soak.ts) at a CI-sized count: conversations through tcpserver → levee →
// exim, accepted, blacklisted and faulty ones mixed; every 250 must be in the Maildir byte for byte,
// no process left, peak RSS flat. `npm run soak -- --count 10000` runs the long version.
// SOAK_COUNT overrides the count here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needTools } from '../harness';
import { runSoak } from '../soak/soak';

const COUNT = Number(process.env.SOAK_COUNT) || 300;

test(`soak: ${COUNT} conversations through tcpserver → levee → exim`, { timeout: 300_000 }, async (t) => {
  if (!needTools(t, ['tcpserver', 'exim4'], { root: true })) return;
  const r = await runSoak({ count: COUNT, deadlineMs: 240_000 });
  t.diagnostic('\n' + r.table);
  assert.deepEqual(r.problems, []);
  assert.equal(r.counts.accepted + r.counts.blacklisted + r.counts.vanished + r.counts.smuggling, COUNT);
  assert.equal(r.delivered, r.counts.accepted + r.counts.smuggling);
  assert.ok(r.peakRssKb.sampled >= COUNT / 2, `only ${r.peakRssKb.sampled} levee processes sampled`);
});
