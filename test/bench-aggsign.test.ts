// The AggSign benchmark's network-free part on a tiny workload: its JSON has
// every figure, both brokers cash every coin of the seeded plan once and every
// double spend from the cheater, conservation holds, and the chart is written.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { aggsignPure } from '../scripts/bench/aggsign-pure.ts'
import { doubleSpent, makePlan } from '../scripts/bench/aggsign-plan.ts'

const COINS = 16
const SEED = 7

test('the pure AggSign benchmark: wire sizes, fraud curves of both schemes, limits and chart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'p2pay-bench-aggsign-'))
  try {
    const chart = join(dir, 'fraud.svg')
    const r = await aggsignPure({ coins: COINS, seed: SEED, reps: 1, quick: true, chart })
    const back = JSON.parse(JSON.stringify(r)) as typeof r

    for (const k of ['ed25519VerifyPerSecond', 'blsVerifyPerSecond', 'blsAggregateVerify8PerSecond'] as const)
      assert.ok(back.limits[k] > 0, k)

    assert.deepEqual(
      back.wireBytes.map(s => s.payments),
      [1, 2, 3, 4, 5, 6, 7, 8]
    )
    back.wireBytes.forEach((s, i) => {
      assert.ok(s.aggsignWithCertificates > s.aggsignCoin)
      if (i > 0) {
        // one more layer each: AggSign's signature stays one, PPay adds an envelope
        const agg = s.aggsignCoin - back.wireBytes[i - 1].aggsignCoin
        const ppay = s.ppayLayered - back.wireBytes[i - 1].ppayLayered
        assert.ok(agg > 0 && ppay > agg, `payment ${s.payments}: AggSign +${agg}, PPay +${ppay}`)
      }
    })

    const plan = makePlan(SEED, COINS)
    assert.deepEqual(back.fraud.rates, [0, 1, 2, 5, 10, 20])
    for (const curve of [back.fraud.aggsign, back.fraud.ppayLayered]) {
      assert.equal(curve.length, back.fraud.rates.length)
      curve.forEach((p, i) => {
        const frauds = plan.coins.filter(c => doubleSpent(plan, c, back.fraud.rates[i] / 100)).length
        assert.equal(p.coins, COINS)
        assert.equal(p.cashings, COINS + frauds)
        // each first chain paid from its coin, each second chain from the one who signed twice
        assert.deepEqual(p.outcomes, { coin: COINS, ...(frauds > 0 ? { compensation: frauds } : {}) })
        assert.equal(p.frauds, frauds)
        assert.equal(p.conservation, true)
        assert.ok(p.cpuUsPerCoin > 0 && p.cpuUsPerCoinMedian >= p.cpuUsPerCoin)
      })
    }
    // one aggregate verification per chain cashed
    back.fraud.aggsign.forEach(p => assert.equal(p.verifiedPerCoin, Math.round((p.cashings / COINS) * 100) / 100))
    const depthPlusCash = plan.coins.reduce((n, c) => n + c.depth + 1, 0) / COINS
    assert.equal(back.fraud.ppayLayered[0].verifiedPerCoin, Math.round(depthPlusCash * 100) / 100)
    assert.equal(back.fraud.ratio.length, back.fraud.rates.length)
    assert.ok(back.fraud.crossoverPct === null || typeof back.fraud.crossoverPct === 'number')

    assert.equal(back.chart, chart)
    const svg = readFileSync(chart, 'utf8')
    assert.match(svg, /^<svg /)
    assert.equal((svg.match(/<polyline /g) ?? []).length, 2)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
