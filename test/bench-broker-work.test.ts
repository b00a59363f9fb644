// The broker-work benchmark run tiny as its own process (`npm run bench --
// broker-work --json`): for each scheme and t every coin is paid t times and
// cashed once, nothing is lost (the broker's audit holds), the figures per
// payment are the broker's counters and CPU over the run divided by the
// payments made, each ratio is the figure over the baseline's, and the
// baselines went through the broker: PPay's and WhoPay's downtime kinds count
// at the broker, which the owner's path never reaches.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const BENCH = join(import.meta.dirname, '..', 'scripts', 'bench.ts')
const COINS = 2
const TS = [1, 3]

const r2 = (x: number): number => Math.round(x * 100) / 100

test('npm run bench -- broker-work --json: coins paid t times and cashed once, figures from the broker', async () => {
  const { stdout } = await run(
    process.execPath,
    [BENCH, 'broker-work', '--json', '--quick', '--coins', String(COINS), '--t', TS.join(',')],
    { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 }
  )
  const r = JSON.parse(stdout)
  assert.equal(r.bench, 'broker-work')
  assert.deepEqual(r.ts, TS)
  assert.deepEqual(Object.keys(r.schemes).sort(), ['aggsign', 'ppay', 'whopay'])
  for (const [scheme, s] of Object.entries<any>(r.schemes)) {
    assert.deepEqual(
      s.runs.map((x: any) => x.t),
      TS,
      scheme
    )
    for (const x of s.runs) {
      const what = `${scheme} t = ${x.t}`
      assert.equal(x.payments, COINS * x.t, `${what}: every coin paid t times`)
      assert.equal(x.failed, 0, what)
      assert.equal(x.cashed, COINS, `${what}: every coin cashed once`)
      assert.equal(x.conservation, true, `${what}: the audit holds`)
      assert.equal(x.target, r2(1 / x.t))
      // the figure per payment is the broker's total over the payments made, and its ratio the one to the baseline
      for (const k of ['messages', 'verified', 'cpuMs'] as const) {
        assert.equal(x.perPayment[k], r2(x.broker[k] / x.payments), `${what}: ${k}`)
        const b = s.baseline.perPayment[k]
        assert.equal(x.ratio[k], b > 0 ? r2(x.perPayment[k] / b) : null, `${what}: ${k} ratio`)
      }
      // coins were bought (minted) and cashed: the broker answered at least that
      assert.ok(x.broker.messages > 0, `${what}: the broker sent something`)
    }
    assert.equal(s.baseline.conservation, true, `${scheme} baseline`)
  }
  for (const scheme of ['ppay', 'whopay']) {
    const b = r.schemes[scheme].baseline
    assert.equal(b.payments, COINS, `${scheme}: every baseline payment made with the owner stopped`)
    assert.equal(b.failed, 0)
    assert.equal(b.cashed, COINS)
  }
  // the downtime path is the broker's: its kind counts at the broker in the baseline, never in the runs via the owner
  assert.ok(r.schemes.ppay.baseline.kinds.downtime != null, JSON.stringify(r.schemes.ppay.baseline.kinds))
  for (const x of r.schemes.ppay.runs) assert.equal(x.kinds.downtime, undefined)
})
