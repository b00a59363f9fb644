// Paying: each coin goes to its payee with one new layer (one message, one
// signature). The layer and the outbox entry are written in one batch before
// the message leaves; the coin leaves the outbox only on the payee's answer,
// which it gives after it verified and stored the coin. A payer that lost the
// answer sends the same bytes again and the payee answers the same.
import { ErrorCode, P2payError, dialAddrs, fail, party, textOf, type Party } from '@p2pay/core'
import { AggsignErrorCode } from '../errors.ts'
import { certHashOf } from '../core/certificate.ts'
import type { HeldCoin } from '../core/wallet-records.ts'
import { count, type WalletContext } from './wallet-context.ts'
import { pickExact } from './pick.ts'
import type { Delivery } from './tables.ts'

export interface PaidCoin {
  coin: string
  value: number
  /** the coin's layers now */
  layers: number
}

/** Answers a payer may get again by retrying: the payee may not have acted, or acted and the answer was lost. */
const RETRYABLE = new Set<string>([
  ErrorCode.UNREACHABLE,
  ErrorCode.TIMEOUT,
  ErrorCode.ABORTED,
  ErrorCode.BUSY,
  ErrorCode.STORE_FAILED,
  ErrorCode.NO_SPACE,
  ErrorCode.INTERNAL,
  ErrorCode.UNKNOWN_OP
])

/** The hash of `to`'s certificate: cached, or asked of the payee once and verified. */
export async function payeeCert(w: WalletContext, to: Party): Promise<string> {
  const known = certOfPeer(w, to.id)
  if (known != null) return known
  const r = await w.payees.call<{ certificate: string }>(to, 'cert', {}, { kind: 'aggsign-certify' })
  const verified = await w.store.apply(() => w.wallet.learnCertificates([r.certificate]))
  count(w, 'aggsign-certify', { messages: 0, signed: 0, verified })
  const c = w.wallet.lookup(certHashOf(r.certificate))
  if (c?.peer !== to.id) fail(ErrorCode.WRONG_OWNER, "the payee's certificate is not its own")
  if (c.expiry <= w.wallet.cfg.now()) fail(ErrorCode.EXPIRED, "the payee's certificate expired")
  return c.hash
}

function certOfPeer(w: WalletContext, peer: string): string | undefined {
  const now = w.wallet.cfg.now()
  for (const k of w.wallet.t.certs.values()) if (k.info.peer === peer && k.info.expiry > now) return k.info.hash
  return undefined
}

function spendable(w: WalletContext): HeldCoin[] {
  const now = w.wallet.cfg.now()
  return w.wallet.holdings().filter(h => h.depth < w.init.maxLayers && h.expiry > now)
}

/**
 * Pays `amount` to `to` (a peer id or a multiaddr ending in /p2p/<id>): held
 * coins that add up to it exactly, else one coin minted for it; with `coin`,
 * that one coin. Everything is signed and recorded in one batch first, so a
 * refusal leaves the state as it was.
 */
export async function pay(
  w: WalletContext,
  toIn: unknown,
  amount: unknown,
  coin?: unknown
): Promise<{ to: string; paid: PaidCoin[] }> {
  const to = party(toIn, 'to')
  if (to.id === w.wallet.peer) fail(ErrorCode.BAD_REQUEST, 'cannot pay yourself')
  if (coin == null && (!Number.isSafeInteger(amount) || (amount as number) < 1))
    fail(ErrorCode.BAD_REQUEST, 'amount must be a positive integer')
  w.life.check()
  // the payee dialled at the address given; its peer id travels apart
  const addrs = dialAddrs(to)
  w.payees.learn(to.id, addrs)
  const toCert = await payeeCert(w, to)
  const ids = await w.store.apply(() => {
    let picked: string[]
    if (coin != null) {
      const h = w.wallet.t.held.get(textOf(coin))
      if (h == null) fail(AggsignErrorCode.NO_SUCH_COIN, 'no such coin')
      if (amount != null && h.value !== amount) fail(ErrorCode.BAD_REQUEST, `coin is worth ${h.value}, not ${amount}`)
      picked = [h.id]
    } else {
      const set = pickExact(spendable(w), amount as number)
      picked = set?.map(h => h.id) ?? [mintFor(w, amount as number)]
    }
    return picked.map(id => layer(w, id, to.id, addrs, toCert))
  })
  const queued = ids.map(id => w.outbox.get(id)!)
  const settled = await Promise.allSettled(ids.map(async (id, i) => await deliver(w, id, queued[i])))
  const paid = settled.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []))
  if (paid.length < ids.length) {
    const failed = settled.flatMap((r, i) =>
      r.status === 'rejected' ? [{ coin: ids[i], error: errorOf(r.reason) }] : []
    )
    if (paid.length === 0 && failed.length === 1) throw settled.find(r => r.status === 'rejected')!.reason
    throw new P2payError(ErrorCode.UNREACHABLE, `${failed.length} of ${ids.length} coins are not acknowledged yet`, {
      paid,
      failed
    })
  }
  return { to: to.id, paid }
}

/** A fresh coin of `value` for a payment no held coins add up to (inside the payment's batch). */
function mintFor(w: WalletContext, value: number): string {
  try {
    const r = w.wallet.mint(value)
    count(w, 'aggsign-mint', r.counts)
    return r.id
  } catch (err) {
    if (!(err instanceof P2payError)) throw err
    throw new P2payError(err.code, `no held coins add up to ${value}, and no coin can be minted: ${err.message}`)
  }
}

/** Signs the coin's layer to `to` and queues it (inside the payment's batch). */
function layer(w: WalletContext, id: string, to: string, toAddrs: string[], toCert: string): string {
  const before = w.wallet.t.held.get(id)?.coin
  const r = w.wallet.pay(id, toCert)
  count(w, 'aggsign-pay', r.counts)
  if (w.before != null && before != null) w.before.set(id, before)
  const d: Delivery = {
    id,
    to,
    toAddrs,
    coin: r.coin,
    certs: w.wallet.certificatesOf(r.coin),
    value: r.coin.mint.value,
    at: Date.now(),
    attempts: 0
  }
  w.outbox.set(id, d)
  return id
}

const errorOf = (err: unknown): { code: string; message: string } =>
  err instanceof P2payError
    ? { code: err.code, message: err.message }
    : { code: ErrorCode.INTERNAL, message: String(err) }

/** A peer's refusal, kept with its request and not retried; undefined for a failure worth sending the same again. */
export function refusalOf(err: unknown): { code: string; message: string } | undefined {
  const e = errorOf(err)
  return RETRYABLE.has(e.code) ? undefined : e
}

/**
 * Sends a queued coin to its payee; it leaves the outbox on the payee's
 * answer. A payee's refusal is kept (not retried); anything else is retried.
 */
export async function deliver(w: WalletContext, id: string, queued?: Delivery): Promise<PaidCoin> {
  const d = w.outbox.get(id)
  if (d == null) {
    // a coin leaves the outbox only on its payee's answer: the retry loop got that answer first
    if (queued != null) return { coin: id, value: queued.value, layers: queued.coin.layers.length }
    fail(AggsignErrorCode.NO_SUCH_COIN, 'no coin of that id waits for its payee')
  }
  const paid = { coin: id, value: d.value, layers: d.coin.layers.length }
  w.payees.learn(d.to, d.toAddrs)
  try {
    await w.payees.call(
      d.to,
      'deliver',
      { coin: d.coin, certs: d.certs },
      {
        kind: 'aggsign-pay',
        timeoutMs: w.init.payTimeoutMs
      }
    )
  } catch (err) {
    const refused = refusalOf(err)
    if (!w.life.stopped)
      await w.store.apply(() => {
        const now = w.outbox.get(id)
        if (now?.coin.sig === d.coin.sig) w.outbox.set(id, { ...now, attempts: now.attempts + 1, refused })
      })
    throw err
  }
  await w.store.apply(() => {
    if (w.outbox.get(id)?.coin.sig === d.coin.sig) w.outbox.delete(id)
  })
  return paid
}

export interface PayManyResult {
  payments: number
  failed: number
  ms: number
  errors: Record<string, number>
}

/** `count` payments of `value` each to one payee, `concurrency` in flight at once (coins minted as needed). */
export async function payMany(
  w: WalletContext,
  to: unknown,
  value: unknown,
  countIn: unknown,
  concurrencyIn: unknown
): Promise<PayManyResult> {
  const n = countIn as number
  if (!Number.isSafeInteger(n) || n < 1 || n > 1_000_000) fail(ErrorCode.BAD_REQUEST, 'count must be 1..1000000')
  if (!Number.isSafeInteger(value) || (value as number) < 1)
    fail(ErrorCode.BAD_REQUEST, 'value must be a positive integer')
  // refused once here, not once per payment
  if (party(to, 'to').id === w.wallet.peer) fail(ErrorCode.BAD_REQUEST, 'cannot pay yourself')
  const concurrency = Math.max(1, Math.min(Number.isSafeInteger(concurrencyIn) ? (concurrencyIn as number) : 16, 1024))
  let next = 0
  let payments = 0
  let failed = 0
  const errors: Record<string, number> = {}
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        next++
        try {
          await pay(w, to, value)
          payments++
        } catch (err) {
          failed++
          const code = errorOf(err).code
          errors[code] = (errors[code] ?? 0) + 1
          // out of room to mint, a bad payee, or the node is stopping: no use going on
          if (!RETRYABLE.has(code) || code === ErrorCode.ABORTED) next = n
        }
      }
    })
  )
  return { payments, failed, ms: Math.round(performance.now() - t0), errors }
}
