// The paper's claim measured: the broker's CPU per cashed coin as the fraud
// rate grows, for AggSign and PPay layered coins over one generated workload.
// CPU is process.cpuUsage() (user + system) around the broker's cash calls on
// a fresh pure ledger. The rates are run in turns, `reps` times; each figure
// is the least of its turns (other processes on a shared machine only ever
// add to a run's CPU time), the median is kept beside it.
import type { SchemeWorkload } from './aggsign-broker.ts'
import { doubleSpent, type Plan } from './aggsign-plan.ts'

export const FRAUD_RATES = [0, 0.01, 0.02, 0.05, 0.1, 0.2]

export interface FraudPoint {
  /** percent of coins double spent */
  fraudPct: number
  coins: number
  /** chains cashed: every coin's, then every double spend's */
  cashings: number
  /** CPU per coin of the workload, µs (the least of `reps` runs) */
  cpuUsPerCoin: number
  /** the median of the runs */
  cpuUsPerCoinMedian: number
  /** CPU per cash call, µs (the least run) */
  cpuUsPerCashing: number
  /** signature verifications per coin (an aggregate verification counts as one) */
  verifiedPerCoin: number
  outcomes: Record<string, number>
  frauds: number
  conservation: boolean
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d

/** One run of the workload at `rate` on a fresh broker: CPU µs of the cash calls and what they did. */
function runOnce(
  s: SchemeWorkload,
  plan: Plan,
  rate: number
): Omit<FraudPoint, 'cpuUsPerCoin' | 'cpuUsPerCoinMedian' | 'cpuUsPerCashing'> & { cpuUs: number } {
  const broker = s.fresh()
  const frauds = plan.coins.flatMap((c, i) => (doubleSpent(plan, c, rate) ? [i] : []))
  const outcomes: Record<string, number> = {}
  const seen = (o: string): void => {
    outcomes[o] = (outcomes[o] ?? 0) + 1
  }
  const v0 = broker.verified()
  const t0 = process.cpuUsage()
  for (let i = 0; i < plan.coins.length; i++) seen(broker.cash(i, false))
  for (const i of frauds) seen(broker.cash(i, true))
  const t = process.cpuUsage(t0)
  return {
    fraudPct: round(rate * 100),
    coins: plan.coins.length,
    cashings: plan.coins.length + frauds.length,
    cpuUs: t.user + t.system,
    verifiedPerCoin: round((broker.verified() - v0) / plan.coins.length, 2),
    outcomes,
    frauds: broker.frauds(),
    conservation: broker.holds()
  }
}

/** Every rate for every scheme: two warm-up runs of each scheme first, then `reps` turns over the rates. */
export function fraudCurves(
  schemes: SchemeWorkload[],
  plan: Plan,
  reps: number,
  rates = FRAUD_RATES
): Record<string, FraudPoint[]> {
  for (let w = 0; w < 2; w++) for (const s of schemes) runOnce(s, plan, rates[rates.length - 1])
  const cpu = new Map<string, number[]>()
  const last = new Map<string, ReturnType<typeof runOnce>>()
  for (let r = 0; r < reps; r++)
    for (const rate of rates)
      for (const s of schemes) {
        const one = runOnce(s, plan, rate)
        const k = `${s.name}|${rate}`
        cpu.set(k, [...(cpu.get(k) ?? []), one.cpuUs])
        last.set(k, one)
      }
  const out: Record<string, FraudPoint[]> = {}
  for (const s of schemes)
    out[s.name] = rates.map(rate => {
      const { fraudPct, coins, cashings, verifiedPerCoin, outcomes, frauds, conservation } = last.get(
        `${s.name}|${rate}`
      )!
      const runs = cpu.get(`${s.name}|${rate}`)!
      const least = Math.min(...runs)
      return {
        fraudPct,
        coins,
        cashings,
        cpuUsPerCoin: round(least / coins),
        cpuUsPerCoinMedian: round(median(runs) / coins),
        cpuUsPerCashing: round(least / cashings),
        verifiedPerCoin,
        outcomes,
        frauds,
        conservation
      }
    })
  return out
}

/**
 * Where curve a crosses curve b (fraud %, linear between measured rates), or
 * undefined when one stays above the other over the whole range.
 */
export function crossing(a: FraudPoint[], b: FraudPoint[]): number | undefined {
  const d = a.map((p, i) => p.cpuUsPerCoin - b[i].cpuUsPerCoin)
  for (let i = 1; i < d.length; i++) {
    if (d[i - 1] === 0) return a[i - 1].fraudPct
    if (Math.sign(d[i - 1]) !== Math.sign(d[i]) && d[i] !== 0) {
      const x0 = a[i - 1].fraudPct
      const x1 = a[i].fraudPct
      return round(x0 + ((x1 - x0) * d[i - 1]) / (d[i - 1] - d[i]), 2)
    }
  }
  return d[d.length - 1] === 0 ? a[a.length - 1].fraudPct : undefined
}

/** The least-squares line through a curve: CPU per coin with no fraud, and what each double-spent coin adds. */
export function fit(points: FraudPoint[]): { baseUs: number; perDoubleSpendUs: number } {
  const xs = points.map(p => p.fraudPct / 100)
  const ys = points.map(p => p.cpuUsPerCoin)
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  const sxy = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0)
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0)
  const b = sxx === 0 ? 0 : sxy / sxx
  return { baseUs: round(my - b * mx), perDoubleSpendUs: round(b) }
}

/** Where two fitted lines meet (fraud %), if at a rate between 0 and 100 %. */
export function fittedCrossing(
  a: { baseUs: number; perDoubleSpendUs: number },
  b: { baseUs: number; perDoubleSpendUs: number }
): number | undefined {
  if (a.perDoubleSpendUs === b.perDoubleSpendUs) return undefined
  const f = (b.baseUs - a.baseUs) / (a.perDoubleSpendUs - b.perDoubleSpendUs)
  return f >= 0 && f <= 1 ? round(f * 100, 2) : undefined
}
