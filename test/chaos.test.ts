// A short chaos run (scripts/lib/chaos.ts, the code of `npm run chaos`) with a
// fixed seed: daemons of a swarm with the file market, PPay and Karma are
// killed with SIGKILL at seeded random moments under traffic and restarted,
// then every invariant is checked. The long runs are `npm run chaos`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { runChaos, schedule } from '../scripts/lib/chaos.ts'

const SEED = 7
/** the first faults of seed 7: the broker, the payer, the buyer, then the payee and a Karma node at once */
const FAULTS = 4

test('a seed replays the same kill schedule, bounded by the time given', () => {
  const a = schedule(SEED, 60_000, 9)
  assert.deepEqual(schedule(SEED, 60_000, 9), a)
  assert.notDeepEqual(schedule(SEED + 1, 60_000, 9), a)
  assert.ok(a.length > 0)
  assert.ok(a.reduce((t, f) => t + f.gapMs + f.downMs, 0) <= 60_000)
  for (const f of a) assert.ok(f.victims.every(v => v >= 0 && v < 9) && new Set(f.victims).size === f.victims.length)
})

test(
  `daemons killed with -9 at random moments (seed ${SEED}) lose no acknowledged payment, purchase or transfer, ` +
    'create or lose no value, convict nobody and still stop in order',
  { timeout: 600_000 },
  async t => {
    const r = await runChaos({ seed: SEED, ms: 0, faults: FAULTS, log: line => t.diagnostic(line) })
    if (r.dir !== undefined && process.env.P2PAY_KEEP_TEST_DIRS == null) rmSync(r.dir, { recursive: true, force: true })
    const keep = 'P2PAY_KEEP_TEST_DIRS=1 keeps the daemon logs'
    assert.deepEqual(r.violations, [], `seed ${SEED} (${keep})`)
    assert.equal(r.faults, FAULTS)
    assert.ok(r.acked.payments > 0 && r.acked.transfers > 0, 'some traffic was acknowledged')
  }
)
