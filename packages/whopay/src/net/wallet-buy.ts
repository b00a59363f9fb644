// Buying coins: the owner makes a fresh coin key per coin and asks the broker
// (its long-term identity: the value leaves its account) for a certificate on
// it. The key is written before the request leaves, so a purchase whose answer
// was lost is asked again with the same key (the broker answers it the same).
import { ErrorCode, fail, toB64 } from '@p2pay/core'
import { openCoinCert } from '../core/coin.ts'
import { newCoinKey } from '../core/holder.ts'
import { isValue } from '../core/messages.ts'
import type { OwnedCoin } from './tables.ts'
import type { WalletContext } from './wallet-context.ts'

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
      const o: OwnedCoin = {
        coin: k.id,
        seed: toB64(k.seed),
        value,
        gen: 0,
        expiry: 0,
        seq: 0,
        holder: k.id,
        answered: {},
        used: 'buying',
        at: Date.now()
      }
      w.t.owned.set(k.id, o)
      reserve?.(k.id)
      return k.id
    })
  )
  const coins = []
  for (const id of ids) coins.push(await completeBuy(w, id))
  return { coins }
}

/** Asks the broker for the certificate of a coin key written as bought; stores it on the answer. */
export async function completeBuy(
  w: WalletContext,
  id: string
): Promise<{ coin: string; value: number; expiry: number }> {
  const o = w.t.owned.get(id)
  if (o == null) fail(ErrorCode.NOT_FOUND, 'no such coin')
  if (o.cert != null) return { coin: id, value: o.value, expiry: o.expiry }
  const r = await w.broker.call<{ cert: string }>(
    w.c.broker,
    'purchase',
    { coin: id, value: o.value },
    { kind: 'whopay-purchase', timeoutMs: 15_000 }
  )
  const cert = openCoinCert(w.c.verifier, r.cert, { broker: w.c.broker.id }, 'whopay-purchase')
  if (cert.coin !== id || cert.owner !== w.me || cert.value !== o.value || cert.gen !== 0)
    fail(ErrorCode.BAD_REQUEST, 'the broker certified another coin than the one asked for')
  await w.store.apply(() => {
    const now = w.t.owned.get(id)
    if (now?.cert == null && now != null) {
      const { used: _, ...rest } = now
      w.t.owned.set(id, { ...rest, cert: cert.b64, expiry: cert.expiry })
    }
  })
  return { coin: id, value: o.value, expiry: cert.expiry }
}
