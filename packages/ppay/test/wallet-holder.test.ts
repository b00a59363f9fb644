// The wallet, holder side: what a holder accepts, spends, layers and cashes,
// and every refusal leaving the wallet's tables untouched.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { PPayErrorCode } from '../src/errors.ts'
import { TAG } from '../src/core/types.ts'
import { holdingKey } from '../src/core/wallet-records.ts'
import {
  world,
  ident,
  sign,
  layerFor,
  chainToZ,
  buyCoins,
  accept,
  flip,
  layout,
  withVersion,
  withLink,
  rejects,
  snapshot,
  T0,
  COIN_TTL
} from './fixtures.ts'

describe('holder side', () => {
  it('accept stores the holding once; a duplicate is reported as such', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const r = w.Y.wallet.accept(p1, w.X.id)
    assert.equal(r.duplicate, false)
    assert.deepEqual(
      [r.holding.key, r.holding.seq, r.holding.depth, r.holding.status, r.holding.value, r.holding.from],
      [holdingKey({ sn: c.sn, seq: 1, depth: 0 }), 1, 0, 'held', 10, w.X.id]
    )
    const before = snapshot(w.Y.wallet.t)
    assert.equal(w.Y.wallet.accept(p1, w.X.id).duplicate, true)
    assert.equal(snapshot(w.Y.wallet.t), before)
    assert.deepEqual(
      w.Y.wallet.spendableHeld().map(h => h.key),
      [r.holding.key]
    )
  })

  it('accept refusals leave the wallet unchanged', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const t = w.Y.wallet.t
    rejects(w.Z.wallet.t, () => w.Z.wallet.accept(p1, w.X.id), ErrorCode.WRONG_HOLDER)
    const a1 = p1.chain![0].assign
    rejects(
      t,
      () => w.Y.wallet.accept(withLink(p1, 0, { assign: flip(a1, layout(a1).bodyStart + 3) }), w.X.id),
      ErrorCode.BAD_SIGNATURE
    )
    rejects(
      t,
      () => w.Y.wallet.accept({ ...p1, coin: flip(p1.coin, layout(p1.coin).sigStart) }, w.X.id),
      ErrorCode.BAD_SIGNATURE
    )
    rejects(
      t,
      () => w.Y.wallet.accept(withLink(p1, 0, { assign: withVersion(a1, 7) }), w.X.id),
      ErrorCode.UNKNOWN_VERSION
    )
    rejects(t, () => w.Y.wallet.accept({ ...p1, coin: a1 }, w.X.id), ErrorCode.WRONG_TAG)
    // base64 in a second spelling (unused trailing bits set) decodes to the same bytes but is refused
    assert.ok(p1.coin.endsWith('='), 'the coin envelope has padding to play with')
    const i = p1.coin.replace(/=+$/, '').length - 1
    const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
    const alt = p1.coin.slice(0, i) + alpha[alpha.indexOf(p1.coin[i]) + 1] + p1.coin.slice(i + 1)
    assert.deepEqual(Buffer.from(alt, 'base64'), Buffer.from(p1.coin, 'base64'))
    rejects(t, () => w.Y.wallet.accept({ ...p1, coin: alt }, w.X.id), ErrorCode.BAD_REQUEST)
    rejects(t, () => w.Y.wallet.accept(withLink(p1, 0, { assign: ` ${a1}` }), w.X.id), ErrorCode.BAD_REQUEST)
    const mallory = await ident()
    const fakeCoin = sign(mallory, TAG.coin, {
      broker: w.broker.id,
      owner: w.X.id,
      sn: c.sn,
      value: 1000,
      expiry: T0 + COIN_TTL
    })
    rejects(t, () => w.Y.wallet.accept({ ...p1, coin: fakeCoin }, w.X.id), ErrorCode.WRONG_BROKER)
    w.clock.t = c.expiry + 1
    rejects(t, () => w.Y.wallet.accept(p1, w.X.id), ErrorCode.EXPIRED)
    assert.equal(t.held.size, 0)
  })

  it('beginSpend signs once per holding; a different payee is STALE_SEQ; finishSpend checks the answer', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const key = accept(w.Y, p1, w.X.id).key
    const t = w.Y.wallet.t
    rejects(t, () => w.Y.wallet.beginSpend(key, w.Y.id), ErrorCode.BAD_REQUEST)
    rejects(t, () => w.Y.wallet.beginSpend('nope', w.Z.id), PPayErrorCode.NO_SUCH_COIN)
    const s1 = w.Y.wallet.beginSpend(key, w.Z.id)
    assert.equal(s1.holding.status, 'spending')
    assert.deepEqual(w.Y.wallet.beginSpend(key, w.Z.id).request, s1.request)
    rejects(t, () => w.Y.wallet.beginSpend(key, w.W.id), ErrorCode.STALE_SEQ)
    rejects(t, () => w.Y.wallet.layer(key, w.W.id), ErrorCode.STALE_SEQ)
    rejects(t, () => w.Y.wallet.beginCash(key), ErrorCode.STALE_SEQ)
    const { proof: p2 } = w.X.wallet.ownerReassign(p1, s1.request)
    // an answer for another request is not accepted
    rejects(t, () => w.Y.wallet.finishSpend(key, p1), ErrorCode.BAD_REQUEST)
    assert.deepEqual(w.Y.wallet.finishSpend(key, p2), p2)
    assert.equal(t.held.get(key)!.status, 'spent')
    assert.deepEqual(w.Y.wallet.finishSpend(key, p2), p2, 'idempotent')
    rejects(t, () => w.Y.wallet.beginSpend(key, w.Z.id), ErrorCode.STALE_SEQ)
  })

  it('beginSpend on an expired holding is EXPIRED and signs nothing', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const key = accept(w.Y, w.X.wallet.ownerPay(c.sn, w.Y.id), w.X.id).key
    w.clock.t = c.expiry + 1
    assert.deepEqual(w.Y.wallet.spendableHeld(), [])
    rejects(w.Y.wallet.t, () => w.Y.wallet.beginSpend(key, w.Z.id), ErrorCode.EXPIRED)
  })

  it('layering: Z layers to W (depth 1), W to Y (depth 2); a third layer is LAYER_DEPTH', async () => {
    const w = await world()
    const { keyZ } = chainToZ(w)
    const pW = w.Z.wallet.layer(keyZ, w.W.id)
    assert.equal(w.Z.wallet.t.held.get(keyZ)!.status, 'spent')
    assert.equal(w.Z.wallet.t.held.get(keyZ)!.layer?.to, w.W.id)
    const hW = accept(w.W, pW, w.Z.id)
    assert.deepEqual([hW.seq, hW.depth], [2, 1])
    rejects(w.W.wallet.t, () => w.W.wallet.beginSpend(hW.key, w.Y.id), ErrorCode.BAD_REQUEST)
    const pY = w.W.wallet.layer(hW.key, w.Y.id)
    const hY = accept(w.Y, pY, w.W.id)
    assert.equal(hY.depth, 2)
    rejects(w.Y.wallet.t, () => w.Y.wallet.layer(hY.key, w.Z.id), PPayErrorCode.LAYER_DEPTH)
    // a hand-made third layer is refused by the verifier too
    rejects(w.Z.wallet.t, () => w.Z.wallet.accept(layerFor(w, w.Y, pY, w.Z.id), w.Y.id), PPayErrorCode.LAYER_DEPTH)
    rejects(w.Z.wallet.t, () => w.Z.wallet.layer(keyZ, w.Y.id), ErrorCode.STALE_SEQ)
  })

  it(
    'beginCash signs once (retries send the same bytes), works within the ' +
      'grace period, and finishCash records the result',
    async () => {
      const w = await world()
      const { keyZ, keyY } = chainToZ(w)
      w.clock.t = T0 + COIN_TTL + 1 // expired, still cashable
      const c1 = w.Z.wallet.beginCash(keyZ)
      assert.equal(w.Z.wallet.t.held.get(keyZ)!.status, 'cashing')
      assert.deepEqual(w.Z.wallet.beginCash(keyZ), c1)
      rejects(w.Z.wallet.t, () => w.Z.wallet.layer(keyZ, w.W.id), ErrorCode.STALE_SEQ)
      w.Z.wallet.finishCash(keyZ, { status: 'paid' })
      assert.equal(w.Z.wallet.t.held.get(keyZ)!.status, 'cashed')
      rejects(w.Z.wallet.t, () => w.Z.wallet.beginCash(keyZ), ErrorCode.STALE_SEQ)
      // a spent holding cannot be marked cashed
      rejects(w.Y.wallet.t, () => w.Y.wallet.finishCash(keyY, { status: 'paid' }), ErrorCode.STALE_SEQ)
    }
  )
})
