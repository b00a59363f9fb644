// Buying coins: the owner makes a fresh coin key per coin and asks the broker
// (its long-term identity: the value leaves its account) for a certificate on
// it. The key is written (pending) before the request leaves, so a purchase
// whose answer was lost is asked again with the same key (the broker answers
// it the same); on the answer the coin goes into the owner's book.
import { ErrorCode, P2payError, fail, fromB64, toB64 } from '@p2pay/core'
import { newCoinKey } from '../core/holder.ts'
import { isValue } from '../core/messages.ts'
import type { Pending } from './tables.ts'
import { errorOf, retryable, type WalletContext } from './wallet-context.ts'

const MAX_BUY = 1000

export async function buy(
  w: WalletContext,
  valueIn: unknown,
  countIn: unknown,
  /** called with each coin key as it is written: a payment reserves the coin it buys before anyone can pick it */
  reserve?: (coin: string) => void
): Promise<{ coins: Array<{ coin: string; value: number; expiry: number }> }> {
  if (!isValue(valueIn)) fail(ErrorCode.BAD_REQUEST, 'value must be a positive amount')
  const n = countIn ?? 1
  if (!Number.isSafeInteger(n) || (n as number) < 1 || (n as number) > MAX_BUY)
    fail(ErrorCode.BAD_REQUEST, `count must be 1..${MAX_BUY}`)
  w.life.check()
  const value = valueIn
  const ids = await w.store.apply(() =>
    Array.from({ length: n as number }, () => {
      const k = newCoinKey()
      const p: Pending = {
        id: k.id,
        coin: k.id,
        kind: 'buy',
        value,
        seq: 0,
        cert: '',
        seed: toB64(k.seed),
        attempts: 0,
        at: Date.now()
      }
      w.t.pending.set(k.id, p)
      reserve?.(k.id)
      return k.id
    })
  )
  const coins = []
  for (const id of ids) coins.push(await completeBuy(w, id))
  return { coins }
}

/**
 * Asks the broker for the certificate of a coin key written as bought; books the coin on the answer. A refusal
 * (no funds, ...) ends the purchase with its reason kept (GET /coins): asked again later, it would debit the
 * account behind its owner's back once topped up. Only a failure of the way is asked again.
 */
export async function completeBuy(
  w: WalletContext,
  id: string
): Promise<{ coin: string; value: number; expiry: number }> {
  const p = w.t.pending.get(id)
  if (p?.kind === 'buy' && p.refused != null)
    throw new P2payError(p.refused.code, `the purchase was refused: ${p.refused.message}`)
  if (p?.kind !== 'buy' || p.seed == null) {
    const o = w.owner.coin(id)
    return { coin: id, value: o.value, expiry: o.expiry }
  }
  let r: { cert: string }
  try {
    r = await w.broker.call<{ cert: string }>(
      w.c.broker,
      'purchase',
      { coin: id, value: p.value },
      { kind: 'whopay-purchase', timeoutMs: 15_000 }
    )
  } catch (err) {
    if (!retryable(err) && !w.life.stopped)
      await w.store.apply(() => {
        const now = w.t.pending.get(id)
        if (now?.kind === 'buy' && now.refused == null)
          w.t.pending.set(id, { ...now, attempts: now.attempts + 1, refused: errorOf(err) })
      })
    throw err
  }
  const o = await w.store.apply(() => {
    const o = w.owner.add(r.cert, fromB64(p.seed!))
    if (o.value !== p.value) fail(ErrorCode.BAD_REQUEST, 'the broker certified another value than the one asked for')
    w.t.pending.delete(id)
    return o
  })
  return { coin: id, value: o.value, expiry: o.expiry }
}
