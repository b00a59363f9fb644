// The churn phase of the Karma scale benchmark: transfers one at a time, paced
// over a window of M minutes, while nodes leave (an orderly stop: their peers
// see the disconnects) and as many new nodes join, 1 % of N a minute (at least
// a few events a run: the clock is then scaled, and the JSON says by how much).
// After each transfer a random live node other than the payer reads the payee
// and the payer by majority; each read is compared with the ledger of
// acknowledged transfers.
import type { ScaleSwarm, SwarmStats } from '../lib/karma-scale-swarm.ts'
import { sleep } from '../lib/karma-scale-swarm.ts'
import type { SwarmNode } from '../lib/karma-hosts.ts'
import type { Ledger } from './karma-scale-ledger.ts'

/** a transfer that takes longer is named in the progress lines */
const SLOW_MS = 5000

export interface ChurnInput {
  n: number
  transfers: number
  minutes: number
  minChurn: number
  ledger: Ledger
  pair: () => [SwarmNode, SwarmNode]
  idleCpuMsPerS: number
  perTransfer: (a: SwarmStats, b: SwarmStats, n: number, idleCpuMsPerS: number, ms: number) => any
  say: (s: string) => void
}

export interface ChurnResult {
  transfers: number
  failed: number
  ms: number
  events: number
  leaves: number
  joins: number
  /** churn events (one leave and one join each) per minute, in % of N */
  ratePerMinute: number
  /** how much faster than 1 % of N a minute churn ran (1 when the window held enough events) */
  clockScale: number
  reads: {
    count: number
    agree: number
    agreement: number
    unanimous: number
    unanimity: number
    bankViewTrue: number
    disagreements: string[]
  }
  cost: any
}

interface Read {
  balance: number
  bank: string[]
  agreed: string[]
}

export async function churnPhase(swarm: ScaleSwarm, c: ChurnInput): Promise<ChurnResult> {
  const windowMs = c.minutes * 60_000
  const atRate = 0.01 * c.n * c.minutes
  const events = Math.max(c.minChurn, Math.round(atRate))
  const clockScale = Math.round((events / atRate) * 100) / 100
  const churnAt = Array.from({ length: events }, (_, i) => ((i + 0.5) * windowMs) / events)
  let leaves = 0
  let joins = 0
  let failed = 0
  const reads = { count: 0, agree: 0, unanimous: 0, bankTrue: 0, disagreements: [] as string[] }
  const k = swarm.opts.k

  const churnOnce = async (): Promise<void> => {
    // node 0 stays: it is the bootstrap of the nodes started first
    const leaver = swarm.pick(swarm.live.filter(x => x.index !== 0))
    await swarm.leave(leaver)
    leaves++
    const fresh = await swarm.add()
    joins++
    c.say(`    churn: node ${leaver.index} left, node ${fresh.index} joined (${(elapsed() / 1000).toFixed(0)} s)`)
  }
  const check = async (reader: SwarmNode, account: string): Promise<void> => {
    reads.count++
    try {
      const r = await reader.host.call<Read>('read', { index: reader.index, account })
      if (r.balance === c.ledger.get(account)) reads.agree++
      else if (reads.disagreements.length < 10)
        reads.disagreements.push(`${account}: read ${r.balance}, ledger ${c.ledger.get(account)}`)
      if (r.agreed.length === k) reads.unanimous++
      if (JSON.stringify([...r.bank].sort()) === JSON.stringify([...swarm.trueBank(account)].sort())) reads.bankTrue++
    } catch (err) {
      if (reads.disagreements.length < 10) reads.disagreements.push(`${account}: ${(err as Error).message}`)
    }
  }

  const c0 = await swarm.stats()
  const t0 = performance.now()
  const elapsed = (): number => performance.now() - t0
  let next = 0
  for (let j = 0; j < c.transfers; j++) {
    const due = (j * windowMs) / c.transfers
    if (elapsed() < due) await sleep(due - elapsed())
    while (next < events && elapsed() >= churnAt[next]) {
      await churnOnce()
      next++
    }
    const [a, b] = c.pair()
    const tt = performance.now()
    if (await c.ledger.pay(a, b, 'churn')) {
      const took = performance.now() - tt
      if (took > SLOW_MS) c.say(`    churn: transfer ${j + 1} took ${(took / 1000).toFixed(1)} s`)
    } else {
      failed++
      c.say(`    churn: transfer ${j + 1} failed: ${c.ledger.failures.at(-1)}`)
    }
    const reader = swarm.pick(swarm.live.filter(x => x !== a))
    await check(reader, b.id)
    await check(reader, a.id)
    if ((j + 1) % 20 === 0) c.say(`    churn: ${j + 1}/${c.transfers} transfers (${(elapsed() / 1000).toFixed(0)} s)`)
  }
  while (next < events) {
    if (elapsed() < churnAt[next]) await sleep(churnAt[next] - elapsed())
    await churnOnce()
    next++
  }
  const ms = elapsed()
  const c1 = await swarm.stats()
  const share = (x: number): number => (reads.count > 0 ? Math.round((x / reads.count) * 10000) / 10000 : 0)
  return {
    transfers: c.transfers,
    failed,
    ms: Math.round(ms),
    events,
    leaves,
    joins,
    ratePerMinute: Math.round((events / c.minutes / c.n) * 100 * 100) / 100,
    clockScale,
    reads: {
      count: reads.count,
      agree: reads.agree,
      agreement: share(reads.agree),
      unanimous: reads.unanimous,
      unanimity: share(reads.unanimous),
      bankViewTrue: share(reads.bankTrue),
      disagreements: reads.disagreements
    },
    cost: c.perTransfer(c0, c1, c.transfers, c.idleCpuMsPerS, ms)
  }
}
