// The wallet, buying: storing bought coins once, checking them, and refusing
// coins of another owner or broker.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, type Table } from '@p2pay/core'
import { TAG } from '../src/core/types.ts'
import { Wallet } from '../src/core/wallet.ts'
import {
  world,
  ident,
  sign,
  verifier,
  buyCoins,
  buyRequest,
  walletTables,
  rejects,
  throwsCode,
  snapshot,
  T0,
  COIN_TTL
} from './fixtures.ts'

describe('buying', () => {
  it('stores bought coins once, checks them, and clears the pending purchase', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 50)
    w.X.wallet.t.pendingBuys.set('n0nce-123', { nonce: 'n0nce-123', buy: 'b', at: 0 })
    const { coins } = w.ledger.buy(buyRequest(w, w.X, 3, 5, 'n0nce-123'))
    const owned = w.X.wallet.addBoughtCoins(coins, 'n0nce-123')
    assert.equal(owned.length, 3)
    assert.equal(w.X.wallet.t.owned.size, 3)
    assert.equal(w.X.wallet.t.pendingBuys.has('n0nce-123'), false)
    for (const c of owned)
      assert.deepEqual([c.seq, c.holder, c.value, c.expiry, c.assign], [0, w.X.id, 5, T0 + COIN_TTL, null])
    // idempotent
    const again = w.X.wallet.addBoughtCoins(coins, 'n0nce-123')
    assert.deepEqual(again, owned)
    assert.equal(w.X.wallet.t.owned.size, 3)
    assert.deepEqual(
      w.X.wallet
        .spendableOwned()
        .map(c => c.sn)
        .sort(),
      owned.map(c => c.sn).sort()
    )
  })

  it('refuses coins owned by someone else (WRONG_OWNER) or not signed by its broker (WRONG_BROKER)', async () => {
    const w = await world()
    const [forY] = buyCoins(w, w.Y, 1, 5)
    rejects(w.X.wallet.t, () => w.X.wallet.addBoughtCoins([forY.coin], 'n'), ErrorCode.WRONG_OWNER)
    const mallory = await ident()
    const fake = sign(mallory, TAG.coin, {
      broker: w.broker.id,
      owner: w.X.id,
      sn: 'ab'.repeat(16),
      value: 5,
      expiry: T0 + COIN_TTL
    })
    rejects(w.X.wallet.t, () => w.X.wallet.addBoughtCoins([fake], 'n'), ErrorCode.WRONG_BROKER)
  })

  it('a list with a bad coin after good ones throws, and is only atomic through Table.rollback', async () => {
    const w = await world()
    const [mine] = buyCoins(w, w.X, 1, 5)
    const [forY] = buyCoins(w, w.Y, 1, 5)
    // a second wallet of X's key with empty tables
    const X2 = { wallet: new Wallet(walletTables(), w.X.signer, verifier, w.X.wallet.cfg) }
    const tables = Object.values(X2.wallet.t) as Table[]
    for (const t of tables) t.settle()
    const before = snapshot(X2.wallet.t)
    throwsCode(() => X2.wallet.addBoughtCoins([mine.coin, forY.coin], 'n'), ErrorCode.WRONG_OWNER)
    // the good coin was stored before the bad one was seen: the caller must roll back
    assert.equal(X2.wallet.t.owned.size, 1)
    for (const t of tables) t.rollback()
    assert.equal(snapshot(X2.wallet.t), before)
  })
})
