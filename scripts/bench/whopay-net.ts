// The WhoPay benchmark's network part: a judge, a broker and nodes O, A, B, C
// as separate processes (real libp2p, synced LevelDB). O buys coins and issues
// them to A; A pays them to B, each transfer signed over by O (the survey's
// transfer: the holder's request with coin-key and group signature, the
// owner's binding, the delivery to the payee); B deposits them all. The same
// run's PPay reassignments over the same daemons (O's coins paid to A, A pays
// B, O reassigns) are the baseline. Table I per transaction from the counters.
import { counts, perOp, type Counts } from '../lib/metrics.ts'
import { startWhopay } from '../lib/whopay-swarm.ts'
import { readFileSync } from 'node:fs'
import { waitFor, type Daemon } from '../lib/swarm.ts'
import { buy, kindCounts } from './common.ts'

export interface Phase {
  count: number
  failed: number
  ms: number
  perSecond: number
  errors?: Record<string, number>
  /** CPU time of all the daemons together per transaction (Linux /proc), ms */
  cpuMsEach?: number
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

export interface PayMany {
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

/** CPU milliseconds (user + system) the daemons' processes used so far, from /proc; undefined where there is none. */
function cpuMs(daemons: Daemon[]): number | undefined {
  try {
    let ticks = 0
    for (const d of daemons) {
      // fields after the command's closing parenthesis: utime and stime are the 12th and 13th
      const stat = readFileSync(`/proc/${d.pid}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(f[11]) + Number(f[12])
    }
    // the kernel's USER_HZ is 100 on every Linux this runs on
    return ticks * 10
  } catch {
    return undefined
  }
}

const cpuEach = (a: number | undefined, b: number | undefined, n: number): { cpuMsEach?: number } =>
  a != null && b != null && n > 0 ? { cpuMsEach: Math.round(((b - a) / n) * 10) / 10 } : {}

/** the kinds one WhoPay transfer is made of, as the contract counts it */
const TRANSFER_KINDS = ['whopay-transfer', 'whopay-deliver']

/** payments per pay-many call: each call is one control-API request, which must answer within its timeout */
const CHUNK = 50

/**
 * `count` payments through a node's pay-many route, in calls of CHUNK; the figures summed over the calls. WhoPay's
 * payee is given by its address (PPay's route takes a peer id).
 */
export async function payMany(
  from: Daemon,
  route: string,
  to: Daemon,
  count: number,
  concurrency: number
): Promise<PayMany> {
  const out: PayMany = { payments: 0, failed: 0, ms: 0 }
  for (let left = count; left > 0;) {
    const n = Math.min(CHUNK, left)
    const r: PayMany = await from.api('POST', route, {
      to: route.startsWith('/v1/whopay/') ? to.addr : to.peerId,
      value: 1,
      count: n,
      concurrency
    })
    out.payments += r.payments
    out.failed += r.failed
    out.ms += r.ms
    for (const [k, v] of Object.entries(r.errors ?? {})) (out.errors ??= {})[k] = (out.errors[k] ?? 0) + v
    left -= n
  }
  return out
}

/** Deposits every coin `node` holds, `concurrency` deposit calls (one coin each) at a time. */
async function depositAll(
  node: Daemon,
  concurrency: number
): Promise<{ deposited: number; ms: number; errors: Record<string, number> }> {
  const held: string[] = (await node.api('GET', '/v1/whopay/coins')).held.map((c: { coin: string }) => c.coin)
  let next = 0
  let deposited = 0
  const errors: Record<string, number> = {}
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < held.length) {
        const coin = held[next++]
        const r = await node.api('POST', '/v1/whopay/deposit', { coin })
        deposited += r.deposited
        for (const x of r.refused as Array<{ code: string }>) errors[x.code] = (errors[x.code] ?? 0) + 1
      }
    })
  )
  return { deposited, ms: Math.round(performance.now() - t0), errors }
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
    const u0 = cpuMs(all)
    const issued = await payMany(O, route, A, o.transfers, o.concurrency)
    const c1 = await counts(all)
    const k1 = await kindCounts(all, TRANSFER_KINDS)
    const b1 = await byKind(all)
    const u1 = cpuMs(all)
    const transferred = await payMany(A, route, B, o.transfers, o.concurrency)
    const u2 = cpuMs(all)
    const c2 = await counts(all)
    const k2 = await kindCounts(all, TRANSFER_KINDS)
    const b2 = await byKind(all)

    // every coin B acknowledged is listed as held before the deposits start (bounded: a missing one shows as failed)
    await waitFor(
      'the payee lists every coin it took',
      async () => (await B.api('GET', '/v1/whopay/coins')).held.length >= transferred.payments,
      30_000
    ).catch(() => undefined)
    const u3 = cpuMs(all)
    const deposits = await depositAll(B, o.concurrency)
    const u4 = cpuMs(all)
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
      issues: { ...phase(issued), ...cpuEach(u0, u1, issued.payments) },
      transfers: { ...phase(transferred), ...cpuEach(u1, u2, transferred.payments) },
      deposits: {
        count: deposits.deposited,
        failed: left,
        ms: deposits.ms,
        perSecond: rate(deposits.deposited, deposits.ms),
        ...cpuEach(u3, u4, deposits.deposited),
        ...(Object.keys(deposits.errors).length > 0 ? { errors: deposits.errors } : {}),
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
