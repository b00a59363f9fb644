// The network-free half of the AggSign benchmark: wire sizes, the broker's CPU
// per cashed coin against the fraud rate for AggSign and PPay layered coins
// over one seeded workload, and the limits measured in the same run.
import { cpus } from 'node:os'
import { aggWorld } from './aggsign-agg-world.ts'
import { fraudChart, writeChart } from './aggsign-chart.ts'
import { FRAUD_RATES, crossing, fit, fittedCrossing, fraudCurves, type FraudPoint } from './aggsign-fraud.ts'
import { measureLimits, type Limits } from './aggsign-limits.ts'
import { makePeers } from './aggsign-peers.ts'
import { makePlan } from './aggsign-plan.ts'
import { ppayWorld } from './aggsign-ppay-world.ts'
import { wireSizes, type SizeRow } from './aggsign-size.ts'

export interface PureOptions {
  coins: number
  seed: number
  reps: number
  quick: boolean
  /** where the SVG goes; none written when undefined */
  chart?: string
}

export interface PureResult {
  machine: { cpus: number; node: string }
  workload: { seed: number; coins: number; depths: string; peers: number; altPeers: number; reps: number }
  limits: Limits
  wireBytes: SizeRow[]
  fraud: {
    rates: number[]
    aggsign: FraudPoint[]
    ppayLayered: FraudPoint[]
    /** fraud % where the curves cross; null when one stays above the other */
    crossoverPct: number | null
    /** least-squares lines: CPU per coin at no fraud, and what each double-spent coin adds (µs) */
    fitted: Record<'aggsign' | 'ppayLayered', { baseUs: number; perDoubleSpendUs: number }>
    /** where the fitted lines meet, if within 0..100 % */
    fittedCrossoverPct: number | null
    /** AggSign's CPU per coin over PPay's, at each rate */
    ratio: number[]
    /** at 0 % fraud: AggSign's CPU per coin in aggregate verifications of 8, PPay's in Ed25519 verifications */
    inLimits: { aggsignPerCoinInAggregateVerify8: number; ppayPerCoinInEd25519Verify: number }
  }
  chart?: string
  ms: number
}

export async function aggsignPure(o: PureOptions): Promise<PureResult> {
  const t0 = performance.now()
  const plan = makePlan(o.seed, o.coins)
  const peers = await makePeers(plan.peers + plan.altPeers)
  const [main, alts] = [peers.slice(0, plan.peers), peers.slice(plan.peers)]
  const agg = await aggWorld(plan, main, alts)
  const ppay = await ppayWorld(plan, main, alts)
  const limits = measureLimits(o.quick)
  const wireBytes = wireSizes(agg.samples, ppay.samples, agg.envelopes)
  const curves = fraudCurves([agg, ppay], plan, o.reps)
  const [a, p] = [curves.aggsign, curves['ppay-layered']]
  const cross = crossing(a, p)
  const fitted = { aggsign: fit(a), ppayLayered: fit(p) }
  let chart: string | undefined
  if (o.chart != null) {
    const svg = fraudChart(
      [
        {
          label: 'AggSign (BLS aggregate)',
          colour: '#c0392b',
          points: a.map(x => ({ x: x.fraudPct, y: x.cpuUsPerCoin }))
        },
        {
          label: 'PPay layered coins (Ed25519)',
          colour: '#2471a3',
          points: p.map(x => ({ x: x.fraudPct, y: x.cpuUsPerCoin }))
        }
      ],
      `Broker CPU per cashed coin, ${plan.coins.length} coins of 1-${plan.maxDepth} payments (seed ${plan.seed})`,
      'coins double spent (%)',
      'broker CPU per coin (µs)'
    )
    writeChart(o.chart, svg)
    chart = o.chart
  }
  const r2 = (x: number): number => Math.round(x * 100) / 100
  return {
    machine: { cpus: cpus().length, node: process.version },
    workload: {
      seed: plan.seed,
      coins: plan.coins.length,
      depths: `1..${plan.maxDepth} payments, uniform`,
      peers: plan.peers,
      altPeers: plan.altPeers,
      reps: o.reps
    },
    limits,
    wireBytes,
    fraud: {
      rates: FRAUD_RATES.map(r => r * 100),
      aggsign: a,
      ppayLayered: p,
      crossoverPct: cross ?? null,
      fitted,
      fittedCrossoverPct: fittedCrossing(fitted.aggsign, fitted.ppayLayered) ?? null,
      ratio: a.map((x, i) => r2(x.cpuUsPerCoin / p[i].cpuUsPerCoin)),
      inLimits: {
        aggsignPerCoinInAggregateVerify8: r2((a[0].cpuUsPerCoin * limits.blsAggregateVerify8PerSecond) / 1e6),
        ppayPerCoinInEd25519Verify: r2((p[0].cpuUsPerCoin * limits.ed25519VerifyPerSecond) / 1e6)
      }
    },
    ...(chart != null ? { chart } : {}),
    ms: Math.round(performance.now() - t0)
  }
}
