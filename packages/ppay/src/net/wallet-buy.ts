// Buying coins from the broker. The signed purchase is recorded before it is
// sent: after a crash the same purchase is retried, and the broker answers a
// repeated nonce with the same coins, so money is never paid for coins lost.
import { ErrorCode, fail, isTransient, randomId, toB64, type P2payError } from '@p2pay/core'
import { TAG, type BuyBody } from '../core/types.ts'
import type { OwnedCoin } from '../core/wallet-records.ts'
import { callBroker, type WalletContext } from './wallet-context.ts'

export async function buy(w: WalletContext, count: number, value: number): Promise<{ coins: number; value: number }> {
  if (!Number.isSafeInteger(count) || count < 1) fail(ErrorCode.BAD_REQUEST, 'count must be a positive integer')
  if (!Number.isSafeInteger(value) || value < 1) fail(ErrorCode.BAD_REQUEST, 'value must be a positive integer')
  w.life.check()
  const nonce = randomId(16)
  const body: BuyBody = { broker: w.c.broker.id, account: w.wallet.me, count, value, nonce }
  const b64 = toB64(w.c.signer.sign<BuyBody>(TAG.buy, body, 'buy').bytes)
  await w.store.apply(() => w.wallet.t.pendingBuys.set(nonce, { nonce, buy: b64, at: Date.now() }))
  const coins = await completeBuy(w, nonce, b64)
  return { coins: coins.length, value: coins.reduce((n, c) => n + c.value, 0) }
}

/** Sends a recorded purchase; a refusal is final (the purchase is forgotten), a failure of the way is retried later. */
export async function completeBuy(w: WalletContext, nonce: string, b64: string): Promise<OwnedCoin[]> {
  try {
    const res = await callBroker<{ coins: string[] }>(w, 'buy', { buy: b64 }, 'buy')
    return await w.store.apply(() => w.wallet.addBoughtCoins(res.coins, nonce))
  } catch (err) {
    // a reply too large to send still means the broker sold the coins: the purchase stays, to be asked again
    const sold = (err as P2payError)?.code === ErrorCode.REPLY_TOO_LARGE
    if (!isTransient(err) && !sold) await w.store.apply(() => w.wallet.t.pendingBuys.delete(nonce))
    throw err
  }
}
