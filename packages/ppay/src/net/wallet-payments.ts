// Paying: owned coins are assigned to the payee, held coins are reassigned via
// their owner (or the broker's downtime path when the owner is unreachable or
// refuses) or, when asked, layered. Every coin of a payment is reserved and
// signed in one batch before any message leaves.
import { ErrorCode, P2payError, checkPeerId, fail } from '@p2pay/core'
import { extendProof } from '../core/verify.ts'
import { pickExact, type Holding } from '../core/wallet-records.ts'
import type { CoinProof } from '../core/types.ts'
import { PPayErrorCode } from '../errors.ts'
import { deliverManyQueued, deliverQueued, MAX_DELIVER_BATCH, queueDelivery } from './wallet-deliveries.ts'
import { addrsOf, callBroker, withLookup, type WalletContext } from './wallet-context.ts'
import type { ReassignResult } from './wallet-owner.ts'
import { chunkBySize, proofBytes } from './frame-size.ts'

export type PayVia = 'assign' | 'reassign' | 'downtime' | 'layer'
export interface PaidCoin {
  sn: string
  value: number
  via: PayVia
  delivered: boolean
}
export interface PayOptions {
  layered?: boolean
  addrs?: string[]
  /** the journaled payment's id: written on the rows its coins are signed in, which settle it after a crash */
  payment?: string
}

type Plan = { kind: 'owned'; sn: string; value: number } | { kind: 'held'; h: Holding; value: number }

/** Coins whose values add up to `amount` exactly: one coin of that value if there is one, else a set. */
function choose(w: WalletContext, amount: number, maxDepth: number): Plan[] {
  const one = w.wallet.ownedOfValue(amount)
  if (one != null) return [{ kind: 'owned', sn: one.sn, value: one.value }]
  const h = w.wallet.heldOfValue(amount, maxDepth)
  if (h != null) return [{ kind: 'held', h, value: h.value }]
  const candidates: Plan[] = [
    ...w.wallet.spendableOwned().map(c => ({ kind: 'owned' as const, sn: c.sn, value: c.value })),
    ...w.wallet
      .spendableHeld()
      .filter(h => h.depth <= maxDepth)
      .map(h => ({ kind: 'held' as const, h, value: h.value }))
  ]
  const picked = pickExact(candidates, amount)
  if (picked == null) fail(PPayErrorCode.NO_EXACT_AMOUNT, `no set of spendable coins adds up to ${amount}`)
  return picked
}

/** A payee and an amount from outside: BAD_REQUEST before any coin is touched. */
function checkPayment(w: WalletContext, to: unknown, amount: unknown, what: string): void {
  if (!Number.isSafeInteger(amount) || (amount as number) < 1)
    fail(ErrorCode.BAD_REQUEST, `${what} must be a positive integer`)
  if (checkPeerId(to, 'to') === w.wallet.me) fail(ErrorCode.BAD_REQUEST, 'cannot pay yourself')
}

/**
 * Pays `amount` to `to` with coins whose values add up exactly: owned coins
 * first (one assignment each), then held coins (reassigned via their owner,
 * or layered when `layered` is set).
 */
export async function pay(
  w: WalletContext,
  to: string,
  amount: number,
  opts: PayOptions = {}
): Promise<{ to: string; amount: number; coins: PaidCoin[] }> {
  checkPayment(w, to, amount, 'amount')
  w.life.check()
  const addrs = opts.addrs ?? []
  const maxDepth = opts.layered === true ? w.init.maxLayers - 1 : 0
  const steps = await w.store.apply(() =>
    choose(w, amount, maxDepth).map(p => {
      if (p.kind === 'owned') {
        const proof = w.wallet.ownerPay(p.sn, to, opts.payment)
        const outbox = queueDelivery(w, to, addrs, proof, p.sn, p.value)
        return { sn: p.sn, value: p.value, via: 'assign' as PayVia, key: '', outbox }
      }
      if (opts.layered === true) {
        const proof = w.wallet.layer(p.h.key, to, opts.payment)
        const outbox = queueDelivery(w, to, addrs, proof, p.h.sn, p.value)
        return { sn: p.h.sn, value: p.value, via: 'layer' as PayVia, key: p.h.key, outbox }
      }
      w.wallet.beginSpend(p.h.key, to, opts.payment)
      return { sn: p.h.sn, value: p.value, via: 'reassign' as PayVia, key: p.h.key, outbox: '' }
    })
  )
  const settled = await Promise.allSettled(
    steps.map(async (s): Promise<PaidCoin> => {
      if (s.via === 'reassign') return await spendHeld(w, s.key, to, addrs)
      return { sn: s.sn, value: s.value, via: s.via, ...(await deliverQueued(w, s.outbox, 'pay')) }
    })
  )
  const coins = settled.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []))
  if (coins.length < steps.length) {
    const failed = settled.flatMap((r, i) => {
      if (r.status !== 'rejected') return []
      const error =
        r.reason instanceof P2payError ? r.reason.toJSON() : { code: ErrorCode.INTERNAL, message: String(r.reason) }
      return [{ sn: steps[i].sn, value: steps[i].value, error }]
    })
    if (coins.length === 0 && failed.length === 1 && failed[0].error.code !== ErrorCode.INTERNAL) {
      throw settled.find(r => r.status === 'rejected')!.reason
    }
    // some coins went through and some did not: say exactly which
    const paid = coins.reduce((n, c) => n + c.value, 0)
    throw new P2payError(PPayErrorCode.PARTIAL_PAYMENT, `paid ${paid} of ${amount}`, { paid: coins, failed })
  }
  return { to, amount, coins }
}

export interface PayManyResult {
  payments: number
  failed: number
  ms: number
  via: Record<string, number>
  errors: Record<string, number>
}

/** Payments of one `payMany` put into one frame to the payee (and one signature, one batch on disk) by default. */
const DEFAULT_PAY_BATCH = 64

/**
 * `count` payments of `value` each to one payee (metered services pay like
 * this), `concurrency` in flight at once. Payments with one coin each go out
 * in batches of `batch`: owned coins are assigned under one signature and
 * delivered in one frame; held coins' requests are signed as one batch and
 * each goes to its coin's owner. Returns what went through and how long it took.
 */
export async function payMany(
  w: WalletContext,
  to: string,
  value: number,
  count: number,
  opts: PayOptions & { concurrency?: number; batch?: number } = {}
): Promise<PayManyResult> {
  if (!Number.isSafeInteger(count) || count < 1 || count > 1_000_000)
    fail(ErrorCode.BAD_REQUEST, 'count must be 1..1000000')
  // refused once here, not once per payment
  checkPayment(w, to, value, 'value')
  const concurrency = Math.max(1, Math.min(opts.concurrency ?? 64, 1024))
  const batch = Number.isSafeInteger(opts.batch) ? Math.max(1, Math.min(opts.batch!, MAX_DELIVER_BATCH)) : undefined
  const size = Math.min(batch ?? DEFAULT_PAY_BATCH, concurrency)
  let next = 0
  let payments = 0
  let failed = 0
  const via: Record<string, number> = {}
  const errors: Record<string, number> = {}
  const t0 = performance.now()
  const count1 = (coins: PaidCoin[]): void => {
    payments++
    for (const c of coins) via[c.via] = (via[c.via] ?? 0) + 1
  }
  const failed1 = (err: unknown): void => {
    failed++
    const code = err instanceof P2payError ? err.code : 'INTERNAL'
    errors[code] = (errors[code] ?? 0) + 1
    // out of coins, or the node is stopping: no use going on
    if (code === PPayErrorCode.NO_EXACT_AMOUNT || code === ErrorCode.ABORTED) next = count
  }
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(Math.ceil(concurrency / size), Math.ceil(count / size))) }, async () => {
      while (next < count) {
        const n = Math.min(size, count - next)
        next += n
        // one coin per payment where the wallet has them; the rest one by one through pay()
        const done = opts.layered === true || n === 1 ? [] : await payBatch(w, to, value, n, opts.addrs ?? [])
        for (const r of done) {
          if (r.status === 'fulfilled') count1([r.value])
          else failed1(r.reason)
        }
        for (let i = done.length; i < n; i++) {
          try {
            count1((await pay(w, to, value, opts)).coins)
          } catch (err) {
            failed1(err)
          }
        }
      }
    })
  )
  return { payments, failed, ms: Math.round(performance.now() - t0), via, errors }
}

/**
 * Up to `n` one-coin payments of `value` to `to`, signed in one change: owned
 * coins (assigned under one signature, delivered in one frame), else held
 * coins (requests signed as one batch, each spent via its owner). Returns
 * one outcome per payment it took on; fewer than `n` when the wallet has
 * fewer coins of exactly that value.
 */
async function payBatch(
  w: WalletContext,
  to: string,
  value: number,
  n: number,
  addrs: string[]
): Promise<Array<PromiseSettledResult<PaidCoin>>> {
  w.life.check()
  const plan = await w.store.apply(() => {
    const owned = w.wallet.ownedManyOfValue(value, n)
    if (owned.length > 0) {
      const proofs = w.wallet.ownerPayMany(
        owned.map(c => c.sn),
        to
      )
      const ids = proofs.map((proof, i) => queueDelivery(w, to, addrs, proof, owned[i].sn, value))
      return { kind: 'owned' as const, sns: owned.map(c => c.sn), ids }
    }
    const held = w.wallet.heldManyOfValue(value, n)
    w.wallet.beginSpendMany(
      held.map(h => h.key),
      to
    )
    return { kind: 'held' as const, keys: held.map(h => h.key) }
  })
  if (plan.kind === 'held') return await spendHeldMany(w, plan.keys, to, addrs)
  const delivered = (
    await Promise.all(
      chunkBySize(plan.ids, id => proofBytes(w.wallet.t.outbox.get(id)?.proof)).map(
        async ids => await deliverManyQueued(w, to, addrs, ids, 'pay')
      )
    )
  ).flat()
  return delivered.map((d, i) => ({
    status: 'fulfilled',
    value: { sn: plan.sns[i], value, via: 'assign', ...d }
  }))
}

/**
 * Resumes (or starts) spending a held coin whose request is signed: the owner
 * first; the broker's downtime path if the owner is unreachable or refuses
 * (the broker checks the holding itself, so a lying owner cannot freeze it).
 * Cut short by a stop, it stays 'spending' and the retry loop resumes it.
 */
export async function spendHeld(w: WalletContext, key: string, to: string, addrs: string[]): Promise<PaidCoin> {
  const h = w.wallet.t.held.get(key)!
  const request = h.request!.bytes
  let proof: CoinProof
  let via: PayVia = 'reassign'
  let delivered = false
  try {
    const args = { proof: h.proof, request, toAddrs: addrs.length > 0 ? addrs : addrsOf(w, to) }
    const res = await withLookup(
      w,
      h.owner,
      async () =>
        await w.owners.call<{ proof: CoinProof; delivered: boolean }>(h.owner, 'reassign', args, {
          timeoutMs: w.init.ownerTimeoutMs,
          kind: 'reassign'
        })
    )
    proof = res.proof
    delivered = res.delivered
  } catch (err) {
    if (w.life.stopped) throw err
    w.log.child('payments').info('owner did not reassign, taking the downtime path', { sn: h.sn, owner: h.owner, err })
    const res = await callBroker<{ assign: string; request: string }>(
      w,
      'downtime',
      { proof: h.proof, request },
      'downtime'
    )
    proof = extendProof(h.proof, { link: { assign: res.assign, request: res.request } })
    via = 'downtime'
  }
  const outbox = await w.store.apply(() => {
    w.wallet.finishSpend(key, proof)
    return delivered ? '' : queueDelivery(w, to, addrs, proof, h.sn, h.value)
  })
  const result = delivered ? { delivered } : await deliverQueued(w, outbox, via)
  return { sn: h.sn, value: h.value, via, ...result }
}

/**
 * Spends many held coins whose requests are signed, all to `to`: one
 * `reassignMany` per owner. What an owner does not answer, or refuses, goes
 * coin by coin through `spendHeld` (the owner once more, then the broker's
 * downtime path), as a single spend would.
 */
export async function spendHeldMany(
  w: WalletContext,
  keys: string[],
  to: string,
  addrs: string[]
): Promise<Array<PromiseSettledResult<PaidCoin>>> {
  const byOwner = new Map<string, number[]>()
  keys.forEach((k, i) => {
    const owner = w.wallet.t.held.get(k)!.owner
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), i])
  })
  const out: Array<PromiseSettledResult<PaidCoin>> = []
  const toAddrs = addrs.length > 0 ? addrs : addrsOf(w, to)
  const size = (i: number): number => {
    const h = w.wallet.t.held.get(keys[i])!
    return proofBytes(h.proof) + (h.request?.bytes.length ?? 0) + 32
  }
  const calls = [...byOwner].flatMap(([owner, idx]) => chunkBySize(idx, size).map(part => [owner, part] as const))
  await Promise.all(
    calls.map(async ([owner, idx]) => {
      const held = idx.map(i => w.wallet.t.held.get(keys[i])!)
      let results: ReassignResult[] = []
      try {
        const items = held.map(h => ({ proof: h.proof, request: h.request!.bytes }))
        const res = await withLookup(
          w,
          owner,
          async () =>
            await w.owners.call<{ results: ReassignResult[] }>(
              owner,
              'reassignMany',
              { items, toAddrs },
              { timeoutMs: w.init.ownerTimeoutMs, kind: 'reassign' }
            )
        )
        if (Array.isArray(res?.results) && res.results.length === held.length) results = res.results
      } catch (err) {
        if (w.life.stopped) throw err
      }
      // the owner's answers, each checked against its request, in one change
      const answered = await w.store.apply(() =>
        held.map((h, j) => {
          const r = results[j]
          if (r == null || typeof r !== 'object' || 'error' in r) return undefined
          try {
            w.wallet.finishSpend(h.key, r.proof)
          } catch (err) {
            if (err instanceof P2payError) return undefined
            throw err
          }
          const outbox = r.delivered === true ? '' : queueDelivery(w, to, addrs, r.proof, h.sn, h.value)
          return { outbox }
        })
      )
      await Promise.all(
        held.map(async (h, j) => {
          const a = answered[j]
          try {
            const paid: PaidCoin =
              a == null
                ? await spendHeld(w, h.key, to, addrs)
                : {
                    sn: h.sn,
                    value: h.value,
                    via: 'reassign',
                    ...(a.outbox === '' ? { delivered: true } : await deliverQueued(w, a.outbox, 'reassign'))
                  }
            out[idx[j]] = { status: 'fulfilled', value: paid }
          } catch (err) {
            out[idx[j]] = { status: 'rejected', reason: err }
          }
        })
      )
    })
  )
  return out
}
