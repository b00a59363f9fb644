// The AggSign benchmark's network half: a broker and three nodes as separate
// processes (real libp2p, synced LevelDB). Payments A -> B (the coin's first
// layer), B -> C (its second), then B and C cash everything at once; the same
// run's PPay layered payments over the same hops are the baseline (A's
// payment is its owner's assignment, B's a layer on top). Table I per payment
// from the daemons' counters.
import { Swarm, type Daemon } from '../lib/swarm.ts'
import { counts } from '../lib/metrics.ts'
import { buy, kindCounts } from './common.ts'

type Counts = { messages: number; generated: number; verified: number }

export interface HopFigures {
  count: number
  failed: number
  ms: number
  perSecond: number
}

export interface SchemeRun {
  /** A -> B: the first hop (AggSign: layer 1; PPay: the owner's assignment) */
  firstHop: HopFigures
  /** B -> C: a layer on a paid coin */
  secondHop: HopFigures
  cashings: HopFigures & { refused: number; conservation: boolean }
  /**
   * Table I per payment of each hop, every kind of every daemon counted; `acks` is the part of it that is the
   * payee's answer, which AggSign counts under a kind of its own
   */
  perPayment: { firstHop: Counts; secondHop: Counts; acks?: { firstHop: Counts; secondHop: Counts } }
  /** failed payments by error code */
  errors?: Record<string, number>
  /** how PPay's payments went (assignment, layer), as its pay-many reports them */
  via?: { firstHop: unknown; secondHop: unknown }
}

export interface NetOptions {
  payments: number
  secondHop: number
  warmup: number
  concurrency: number
}

const rate = (n: number, ms: number): number => Math.round(n / (ms / 1000))
const per = (a: Counts, b: Counts, n: number): Counts => {
  const r = (x: number): number => Math.round((x / n) * 100) / 100
  return {
    messages: r(b.messages - a.messages),
    generated: r(b.generated - a.generated),
    verified: r(b.verified - a.verified)
  }
}
const hop = (r: { payments: number; failed: number; ms: number }): HopFigures => ({
  count: r.payments,
  failed: r.failed,
  ms: r.ms,
  perSecond: rate(r.payments, r.ms)
})

interface PayMany {
  payments: number
  failed: number
  ms: number
  errors?: Record<string, number>
  via?: Record<string, number>
}

/** value A may mint past the coins it mints ahead */
const MINT_MARGIN = 100

/** Tries of a pay-many for the payments a failure cut short (pay-many stops at an error it will not retry). */
const PAY_TRIES = 3

/** `count` payments through a node's pay-many route; the payments a failure left out are asked for again. */
async function payMany(from: Daemon, route: string, body: { count: number; [k: string]: unknown }): Promise<PayMany> {
  const out: PayMany = { payments: 0, failed: 0, ms: 0 }
  const add = (into: Record<string, number>, from: Record<string, number> = {}): Record<string, number> => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v
    return into
  }
  for (let i = 0; i < PAY_TRIES && out.payments < body.count; i++) {
    const r: PayMany = await from.api('POST', route, { ...body, count: body.count - out.payments })
    out.payments += r.payments
    out.failed += r.failed
    out.ms += r.ms
    if (r.errors != null && Object.keys(r.errors).length > 0) out.errors = add(out.errors ?? {}, r.errors)
    if (r.via != null) out.via = add(out.via ?? {}, r.via)
    if (r.payments === 0) break
  }
  return out
}

async function mint(node: Daemon, n: number): Promise<void> {
  for (let left = n; left > 0; left -= 1000)
    await node.api('POST', '/v1/aggsign/mint', { value: 1, count: Math.min(left, 1000) })
}

async function aggsignRun(all: Daemon[], o: NetOptions): Promise<SchemeRun> {
  const [broker, A, B, C] = all
  const total = o.warmup + o.payments
  // room past the coins minted ahead: a payment whose coin is gone is made again with a coin minted for it
  await A.api('POST', '/v1/aggsign/certify', { limit: total + MINT_MARGIN })
  // a payee needs a certificate too: its key is what layers pay to
  await B.api('POST', '/v1/aggsign/certify', { limit: 1 })
  await C.api('POST', '/v1/aggsign/certify', { limit: 1 })
  await mint(A, total)
  const acks = ['aggsign-pay-ack']
  const pay = async (from: Daemon, to: Daemon, count: number, concurrency: number): Promise<PayMany> =>
    await payMany(from, '/v1/aggsign/pay-many', { to: to.peerId, value: 1, count, concurrency })
  // warm-up: open streams, cache certificates (one payment alone first, so they are asked for once), let the JIT
  // settle; then one payment B -> C for the same
  await pay(A, B, 1, 1)
  await pay(A, B, o.warmup - 1, 64)
  await pay(B, C, 1, 1)

  const c0 = await counts(all)
  const k0 = await kindCounts(all, acks)
  const first = await pay(A, B, o.payments, o.concurrency)
  const c1 = await counts(all)
  const k1 = await kindCounts(all, acks)
  const second = await pay(B, C, o.secondHop, o.concurrency)
  const c2 = await counts(all)
  const k2 = await kindCounts(all, acks)

  const t0 = performance.now()
  const [cb, cc] = await Promise.all([
    B.api('POST', '/v1/aggsign/cash', { concurrency: 64 }),
    C.api('POST', '/v1/aggsign/cash', { concurrency: 64 })
  ])
  const ms = Math.round(performance.now() - t0)
  const audit = await broker.api('GET', '/v1/audit')
  const errors = { ...first.errors }
  for (const [k, v] of Object.entries(second.errors ?? {})) errors[k] = (errors[k] ?? 0) + v
  return {
    firstHop: hop(first),
    secondHop: hop(second),
    cashings: {
      count: cb.cashed + cc.cashed,
      failed: cb.refused.length + cc.refused.length,
      refused: cb.refused.length + cc.refused.length,
      ms,
      perSecond: rate(cb.cashed + cc.cashed, ms),
      conservation: audit.holds === true
    },
    perPayment: {
      firstHop: per(c0, c1, first.payments),
      secondHop: per(c1, c2, second.payments),
      acks: { firstHop: per(k0, k1, first.payments), secondHop: per(k1, k2, second.payments) }
    },
    ...(Object.keys(errors).length > 0 ? { errors } : {})
  }
}

async function ppayRun(all: Daemon[], o: NetOptions): Promise<SchemeRun> {
  const [broker, A, B, C] = all
  await buy(A, o.warmup + o.payments)
  const pay = async (from: Daemon, to: Daemon, count: number, concurrency: number): Promise<PayMany> =>
    await payMany(from, '/v1/ppay/pay-many', { to: to.peerId, value: 1, count, concurrency, layered: true })
  await pay(A, B, 1, 1)
  await pay(A, B, o.warmup - 1, 64)
  await pay(B, C, 1, 1)
  const c0 = await counts(all)
  const first = await pay(A, B, o.payments, o.concurrency)
  const c1 = await counts(all)
  const second = await pay(B, C, o.secondHop, o.concurrency)
  const c2 = await counts(all)
  const t0 = performance.now()
  const [cb, cc] = await Promise.all([B.api('POST', '/v1/ppay/cash'), C.api('POST', '/v1/ppay/cash')])
  const ms = Math.round(performance.now() - t0)
  const audit = await broker.api('GET', '/v1/audit')
  return {
    firstHop: hop(first),
    secondHop: hop(second),
    cashings: {
      count: cb.paid + cc.paid,
      failed: cb.refused.length + cc.refused.length,
      refused: cb.refused.length + cc.refused.length,
      ms,
      perSecond: rate(cb.paid + cc.paid, ms),
      conservation: audit.holds === true
    },
    perPayment: { firstHop: per(c0, c1, first.payments), secondHop: per(c1, c2, second.payments) },
    ...(first.via != null ? { via: { firstHop: first.via, secondHop: second.via } } : {})
  }
}

/** One swarm: AggSign first, then PPay on the same daemons (their accounts topped up for both). */
export async function aggsignNet(o: NetOptions): Promise<{ aggsign: SchemeRun; ppayLayered: SchemeRun }> {
  const swarm = new Swarm('bench-aggsign')
  try {
    const broker = await swarm.startBroker()
    const nodes = await swarm.startNodes(3)
    const all = [broker, ...nodes]
    for (const d of nodes)
      await broker.api('POST', '/v1/topup', {
        account: d.peerId,
        amount: 2 * (o.warmup + o.payments) + 1000 + MINT_MARGIN
      })
    const aggsign = await aggsignRun(all, o)
    const ppayLayered = await ppayRun(all, o)
    return { aggsign, ppayLayered }
  } finally {
    await swarm.stopAll()
  }
}
