// The WhoPay benchmark's network part: a judge, a broker and nodes O, A, B, C
// as separate processes (real libp2p, synced LevelDB). O buys coins and issues
// them to A; A pays them to B, each transfer signed over by O (the survey's
// transfer: the holder's request with coin-key and group signature, the
// owner's binding, the delivery to the payee); B deposits them all. The same
// run's PPay reassignments over the same daemons (O's coins paid to A, A pays
// B, O reassigns) are the baseline. Table I per transaction from the counters.
import { counts, perOp, type Counts } from '../lib/metrics.ts'
import { startWhopay } from '../lib/whopay-swarm.ts'
import type { Daemon } from '../lib/swarm.ts'
import { buy, kindCounts } from './common.ts'

export interface Phase {
  count: number
  failed: number
  ms: number
  perSecond: number
  errors?: Record<string, number>
}

/** A Table I row from counters: per transaction, and the raw reads it comes from so a reader can check it. */
export interface TableRow extends Counts {
  from: { before: Counts; after: Counts; transactions: number }
}

export interface NetOptions {
  transfers: number
  warmup: number
  concurrency: number
  realtime: boolean
}

export interface NetFigures {
  realtime: boolean
  concurrency: number
  issues: Phase
  transfers: Phase
  deposits: Phase & { conservation: boolean }
  ppayReassignments: Phase
  tableI: {
    whopayTransfer: TableRow
    whopayIssue: TableRow
    /** the transfer's own kinds alone (no DHT, no invoice): what the paper's row counts */
    whopayTransferKinds: TableRow & { kinds: string[] }
    ppayReassignment: TableRow
    /** per transfer, each kind that counted anything during the transfers */
    transferByKind: Record<string, Counts>
  }
}

const rate = (n: number, ms: number): number => (ms > 0 ? Math.round(n / (ms / 1000)) : 0)

const row = (before: Counts, after: Counts, n: number): TableRow => ({
  ...perOp(before, after, n),
  from: { before, after, transactions: n }
})

interface PayMany {
  payments: number
  failed: number
  ms: number
  errors?: Record<string, number>
}

const phase = (r: PayMany): Phase => ({
  count: r.payments,
  failed: r.failed,
  ms: r.ms,
  perSecond: rate(r.payments, r.ms),
  ...(r.errors != null && Object.keys(r.errors).length > 0 ? { errors: r.errors } : {})
})

/** Per-kind counter sums of every daemon, each line of /metrics read once. */
async function byKind(daemons: Daemon[]): Promise<Record<string, Counts>> {
  const out: Record<string, Counts> = {}
  for (const d of daemons) {
    const text: string = await d.api('GET', '/metrics')
    for (const line of text.split('\n')) {
      const m = /^p2pay_(messages_sent|signatures_generated|signatures_verified)_total\{kind="([^"]+)"\} (\d+)$/.exec(
        line
      )
      if (m == null) continue
      const c = (out[m[2]] ??= { messages: 0, generated: 0, verified: 0 })
      const n = Number(m[3])
      if (m[1] === 'messages_sent') c.messages += n
      else if (m[1] === 'signatures_generated') c.generated += n
      else c.verified += n
    }
  }
  return out
}

/** Per transaction of each kind that moved between two reads. */
function kindsPer(a: Record<string, Counts>, b: Record<string, Counts>, n: number): Record<string, Counts> {
  const zero = { messages: 0, generated: 0, verified: 0 }
  const out: Record<string, Counts> = {}
  for (const k of Object.keys(b).sort()) {
    const p = perOp(a[k] ?? zero, b[k], n)
    if (p.messages !== 0 || p.generated !== 0 || p.verified !== 0) out[k] = p
  }
  return out
}

/** the kinds one WhoPay transfer is made of, as the contract counts it */
const TRANSFER_KINDS = ['whopay-transfer', 'whopay-deliver']

async function payMany(from: Daemon, route: string, to: Daemon, count: number, concurrency: number): Promise<PayMany> {
  return await from.api('POST', route, { to: to.peerId, value: 1, count, concurrency })
}

export async function whopayNet(o: NetOptions): Promise<NetFigures> {
  const total = o.warmup + o.transfers
  const s = await startWhopay('bench-whopay', { nodes: 4, topup: 4 * total + 1000, realtime: o.realtime })
  try {
    const [O, A, B, C] = s.nodes
    const all = [s.broker, s.judge, ...s.nodes]
    const route = '/v1/whopay/pay-many'
    await O.api('POST', '/v1/whopay/buy', { value: 1, count: total })
    // warm-up: streams open, the owner's and payee's caches filled, the JIT settled
    await payMany(O, route, A, o.warmup, o.concurrency)
    await payMany(A, route, C, o.warmup, o.concurrency)

    const c0 = await counts(all)
    const issued = await payMany(O, route, A, o.transfers, o.concurrency)
    const c1 = await counts(all)
    const k1 = await kindCounts(all, TRANSFER_KINDS)
    const b1 = await byKind(all)
    const transferred = await payMany(A, route, B, o.transfers, o.concurrency)
    const c2 = await counts(all)
    const k2 = await kindCounts(all, TRANSFER_KINDS)
    const b2 = await byKind(all)

    const held = (await B.api('GET', '/v1/whopay/coins')).held.length
    const t0 = performance.now()
    await B.api('POST', '/v1/whopay/deposit', {})
    const depositMs = Math.round(performance.now() - t0)
    const left = (await B.api('GET', '/v1/whopay/coins')).held.length
    const audit = await s.broker.api('GET', '/v1/audit')

    // PPay on the same daemons: O pays A (direct), A pays B (O reassigns the coin to B)
    await buy(O, o.warmup + o.transfers)
    const ppay = '/v1/ppay/pay-many'
    await payMany(O, ppay, A, o.warmup + o.transfers, o.concurrency)
    await payMany(A, ppay, C, o.warmup, o.concurrency)
    const p0 = await counts(all)
    const reassigned = await payMany(A, ppay, B, o.transfers, o.concurrency)
    const p1 = await counts(all)

    return {
      realtime: o.realtime,
      concurrency: o.concurrency,
      issues: phase(issued),
      transfers: phase(transferred),
      deposits: {
        count: held - left,
        failed: left,
        ms: depositMs,
        perSecond: rate(held - left, depositMs),
        conservation: audit.holds === true
      },
      ppayReassignments: phase(reassigned),
      tableI: {
        whopayTransfer: row(c1, c2, transferred.payments),
        whopayIssue: row(c0, c1, issued.payments),
        whopayTransferKinds: { ...row(k1, k2, transferred.payments), kinds: TRANSFER_KINDS },
        ppayReassignment: row(p0, p1, reassigned.payments),
        transferByKind: kindsPer(b1, b2, transferred.payments)
      }
    }
  } finally {
    await s.swarm.stopAll()
  }
}
