// The broker-work benchmark's drivers, one per scheme: coins bought (minted) by
// their owner O, passed through t payments (O -> B, then B -> C, C -> B, ...:
// every payment past the first a holder's, through the owner or as a layer,
// never through the broker), then cashed or deposited by whoever holds them
// last. What the broker did meanwhile is read from its own process: CPU from
// /proc/<pid>/stat, messages and signatures from its Table I counters.
import { readFileSync } from 'node:fs'
import { counts, type Counts } from '../lib/metrics.ts'
import { waitFor, type Daemon } from '../lib/swarm.ts'
import { payMany as payManyVia, type PayMany } from './whopay-net.ts'

/** The broker's work over one stretch of a run. */
export interface Work extends Counts {
  /** CPU time of the broker's process, ms (user + system, 10 ms ticks) */
  cpuMs: number
}

/** The broker's counters by transaction kind (the kinds that moved). */
export type Kinds = Record<string, Counts>

export interface Phase {
  /** payments (coin transfers) made in the stretch measured */
  payments: number
  failed: number
  ms: number
  broker: Work
  perPayment: Work
  /** per payment, by kind: which of the broker's roles the work was (e.g. WhoPay's coin-state keeper) */
  kinds: Kinds
  errors?: Record<string, number>
}

export interface Nodes {
  broker: Daemon
  /** the coins' owner (PPay, WhoPay) or minter (AggSign) */
  O: Daemon
  B: Daemon
  C: Daemon
}

/** CPU ms (user + system) a process used so far; USER_HZ is 100 on Linux. */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) * 10
}

/** The broker's counters (in all and by kind) and CPU now. */
export async function workOf(broker: Daemon): Promise<Work & { kinds: Kinds }> {
  const text: string = await broker.api('GET', '/metrics')
  const kinds: Kinds = {}
  for (const line of text.split('\n')) {
    const m = /^p2pay_(messages_sent|signatures_generated|signatures_verified)_total\{kind="([^"]+)"\} (\d+)$/.exec(
      line
    )
    if (m == null) continue
    const c = (kinds[m[2]] ??= { messages: 0, generated: 0, verified: 0 })
    const v = Number(m[3])
    if (m[1] === 'messages_sent') c.messages += v
    else if (m[1] === 'signatures_generated') c.generated += v
    else c.verified += v
  }
  return { ...(await counts([broker])), cpuMs: cpuMsOf(broker.pid), kinds }
}

const r2 = (x: number): number => Math.round(x * 100) / 100

export function perPayment(
  a: Work & { kinds: Kinds },
  b: Work & { kinds: Kinds },
  n: number
): { broker: Work; perPayment: Work; kinds: Kinds } {
  const d = {
    messages: b.messages - a.messages,
    generated: b.generated - a.generated,
    verified: b.verified - a.verified,
    cpuMs: b.cpuMs - a.cpuMs
  }
  const per = (x: number): number => (n > 0 ? r2(x / n) : 0)
  const kinds: Kinds = {}
  for (const [k, y] of Object.entries(b.kinds)) {
    const x = a.kinds[k] ?? { messages: 0, generated: 0, verified: 0 }
    const c = {
      messages: per(y.messages - x.messages),
      generated: per(y.generated - x.generated),
      verified: per(y.verified - x.verified)
    }
    if (c.messages !== 0 || c.generated !== 0 || c.verified !== 0) kinds[k] = c
  }
  return {
    kinds,
    broker: d,
    perPayment: {
      messages: per(d.messages),
      generated: per(d.generated),
      verified: per(d.verified),
      cpuMs: per(d.cpuMs)
    }
  }
}

/** `count` payments of value 1 from one node to another through its scheme's pay-many route. */
export async function payMany(scheme: Scheme, from: Daemon, to: Daemon, count: number, concurrency: number) {
  return await payManyVia(from, `/v1/${scheme}/pay-many`, to, count, concurrency)
}

export type Scheme = 'ppay' | 'aggsign' | 'whopay'

/** O gets `n` coins of value 1 of the scheme: bought at the broker, or minted under its certificate. */
export async function getCoins(scheme: Scheme, O: Daemon, n: number): Promise<void> {
  for (let left = n; left > 0; left -= 1000) {
    const count = Math.min(left, 1000)
    if (scheme === 'ppay') await O.api('POST', '/v1/ppay/buy', { count, value: 1 })
    else if (scheme === 'aggsign') await O.api('POST', '/v1/aggsign/mint', { count, value: 1 })
    else await O.api('POST', '/v1/whopay/buy', { count, value: 1 })
  }
}

/** WhoPay deposits refused, by code, over the run (a refused coin shows as not cashed). */
export const refusals: Record<string, number> = {}

/** Cashes (deposits) every coin a node holds; the coins the broker paid. */
export async function cashAll(scheme: Scheme, d: Daemon, concurrency: number): Promise<number> {
  if (scheme === 'ppay') return (await d.api('POST', '/v1/ppay/cash')).paid
  if (scheme === 'aggsign') return (await d.api('POST', '/v1/aggsign/cash', { concurrency })).cashed
  // WhoPay deposits all it may spend, a few at a time, each coin under an identity of its own
  const r = await d.api('POST', '/v1/whopay/deposit', {})
  for (const x of r.refused as Array<{ code: string }>) refusals[x.code] = (refusals[x.code] ?? 0) + 1
  return r.deposited
}

/** Coins a node holds (not owns) of the scheme now. */
export async function heldBy(scheme: Scheme, d: Daemon): Promise<number> {
  const c = await d.api('GET', `/v1/${scheme}/coins`)
  return Array.isArray(c.held) ? c.held.length : 0
}

const addErrors = (into: Phase, r: PayMany): void => {
  for (const [k, v] of Object.entries(r.errors ?? {})) (into.errors ??= {})[k] = (into.errors[k] ?? 0) + v
}

/**
 * One lifecycle: O gets `coins` coins, pays them to B (payment 1), the holders pay them on t - 1 times
 * (B -> C, C -> B, ...), the last holder cashes them. The broker's work over all of it, per payment made.
 */
export async function lifecycle(
  scheme: Scheme,
  n: Nodes,
  coins: number,
  t: number,
  concurrency: number
): Promise<Phase & { cashed: number; conservation: boolean }> {
  const t0 = performance.now()
  const w0 = await workOf(n.broker)
  await getCoins(scheme, n.O, coins)
  const out: Phase & { cashed: number; conservation: boolean } = {
    payments: 0,
    failed: 0,
    ms: 0,
    broker: w0,
    perPayment: w0,
    kinds: {},
    cashed: 0,
    conservation: false
  }
  let from = n.O
  let to = n.B
  for (let hop = 1; hop <= t; hop++) {
    const r = await payMany(scheme, from, to, coins, concurrency)
    out.payments += r.payments
    out.failed += r.failed
    addErrors(out, r)
    // the payee lists every coin it acknowledged before it pays them on (bounded: a missing one shows as failed)
    const payee = to
    await waitFor('the payee holds the coins', async () => (await heldBy(scheme, payee)) >= r.payments, 15_000).catch(
      () => undefined
    )
    ;[from, to] = [to, from === n.O ? n.C : from]
  }
  out.cashed = (await cashAll(scheme, n.B, concurrency)) + (await cashAll(scheme, n.C, concurrency))
  const w1 = await workOf(n.broker)
  out.ms = Math.round(performance.now() - t0)
  out.conservation = (await n.broker.api('GET', '/v1/audit')).holds === true
  return { ...out, ...perPayment(w0, w1, out.payments) }
}

/**
 * The online broker: the same holder payments made through the broker, because the owner is stopped (PPay's and
 * WhoPay's downtime path). O pays `coins` coins to B, O stops, B pays them to C; the broker's work over B's payments
 * only, per payment. O is left stopped; the caller restarts it.
 */
export async function downtime(
  scheme: 'ppay' | 'whopay',
  n: Nodes,
  coins: number,
  concurrency: number
): Promise<Phase & { cashed: number; conservation: boolean }> {
  await getCoins(scheme, n.O, coins)
  const first = await payMany(scheme, n.O, n.B, coins, concurrency)
  await waitFor('B holds the coins', async () => (await heldBy(scheme, n.B)) >= first.payments, 15_000).catch(
    () => undefined
  )
  await n.O.stop()
  const t0 = performance.now()
  const w0 = await workOf(n.broker)
  const r = await payMany(scheme, n.B, n.C, coins, concurrency)
  const w1 = await workOf(n.broker)
  const ms = Math.round(performance.now() - t0)
  await waitFor('C holds the coins', async () => (await heldBy(scheme, n.C)) >= r.payments, 15_000).catch(
    () => undefined
  )
  const cashed = (await cashAll(scheme, n.B, concurrency)) + (await cashAll(scheme, n.C, concurrency))
  const conservation = (await n.broker.api('GET', '/v1/audit')).holds === true
  const out: Phase & { cashed: number; conservation: boolean } = {
    payments: r.payments,
    failed: r.failed,
    ms,
    ...perPayment(w0, w1, r.payments),
    cashed,
    conservation
  }
  addErrors(out, r)
  return out
}
