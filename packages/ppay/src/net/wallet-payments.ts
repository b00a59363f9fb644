// Paying: owned coins are assigned to the payee, held coins are reassigned via
// their owner (or the broker's downtime path when the owner is unreachable or
// refuses) or, when asked, layered. Every coin of a payment is reserved and
// signed in one batch before any message leaves.
import { ErrorCode, P2payError, checkPeerId, fail } from '@p2pay/core'
import { extendProof } from '../core/verify.ts'
import { pickExact, type Holding } from '../core/wallet-records.ts'
import type { CoinProof } from '../core/types.ts'
import { PPayErrorCode } from '../errors.ts'
import { deliverQueued, queueDelivery } from './wallet-deliveries.ts'
import { addrsOf, callBroker, withLookup, type WalletContext } from './wallet-context.ts'

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
        const proof = w.wallet.ownerPay(p.sn, to)
        const outbox = queueDelivery(w, to, addrs, proof, p.sn, p.value)
        return { sn: p.sn, value: p.value, via: 'assign' as PayVia, key: '', outbox }
      }
      if (opts.layered === true) {
        const proof = w.wallet.layer(p.h.key, to)
        const outbox = queueDelivery(w, to, addrs, proof, p.h.sn, p.value)
        return { sn: p.h.sn, value: p.value, via: 'layer' as PayVia, key: p.h.key, outbox }
      }
      w.wallet.beginSpend(p.h.key, to)
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

/**
 * `count` payments of `value` each to one payee (metered services pay like
 * this), `concurrency` in flight at once. Returns what went through and how long it took.
 */
export async function payMany(
  w: WalletContext,
  to: string,
  value: number,
  count: number,
  opts: PayOptions & { concurrency?: number } = {}
): Promise<PayManyResult> {
  if (!Number.isSafeInteger(count) || count < 1 || count > 1_000_000)
    fail(ErrorCode.BAD_REQUEST, 'count must be 1..1000000')
  // refused once here, not once per payment
  checkPayment(w, to, value, 'value')
  const concurrency = Math.max(1, Math.min(opts.concurrency ?? 64, 1024))
  let next = 0
  let payments = 0
  let failed = 0
  const via: Record<string, number> = {}
  const errors: Record<string, number> = {}
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        next++
        try {
          const r = await pay(w, to, value, opts)
          payments++
          for (const c of r.coins) via[c.via] = (via[c.via] ?? 0) + 1
        } catch (err) {
          failed++
          const code = err instanceof P2payError ? err.code : 'INTERNAL'
          errors[code] = (errors[code] ?? 0) + 1
          // out of coins, or the node is stopping: no use going on
          if (code === PPayErrorCode.NO_EXACT_AMOUNT || code === ErrorCode.ABORTED) next = count
        }
      }
    })
  )
  return { payments, failed, ms: Math.round(performance.now() - t0), via, errors }
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
