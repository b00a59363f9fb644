// The broker's ledger, cashing coins: payment along a chain, refunds, replays,
// the grace period and refused cash requests.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { PPayErrorCode } from '../src/errors.ts'
import { TAG } from '../src/core/types.ts'
import { extendProof, verifyCoin } from '../src/core/verify.ts'
import {
  world,
  ident,
  sign,
  verifier,
  cashFor,
  requestFor,
  layerFor,
  chainToZ,
  buyCoins,
  accept,
  flip,
  layout,
  withVersion,
  withLink,
  lastLink,
  cashVia,
  assertHolds,
  bal,
  rejects,
  snapshot,
  T0,
  COIN_TTL,
  CASH_GRACE,
  type Party
} from './fixtures.ts'

describe('cashing', () => {
  it('X pays Y, Y spends to Z via X, Z layers to W, W cashes: paid, and money is conserved', async () => {
    const w = await world()
    const { sn, keyZ } = chainToZ(w, 10)
    assert.equal(bal(w, w.X), 0)
    const pW = w.Z.wallet.layer(keyZ, w.W.id)
    const hW = accept(w.W, pW, w.Z.id)
    assert.equal(hW.depth, 1)
    const r = cashVia(w, w.W, hW.key)
    assert.deepEqual(r, { sn, status: 'paid', value: 10, holder: w.W.id, from: 'coin' })
    assert.equal(w.W.wallet.t.held.get(hW.key)!.status, 'cashed')
    assert.equal(bal(w, w.W), 10)
    assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z)], [0, 0, 0])
    const rec = w.ledger.t.coins.get(sn)!
    assert.deepEqual(
      { ...rec, paidChain: undefined },
      { owner: w.X.id, value: 10, expiry: T0 + COIN_TTL, status: 'paid', paidTo: w.W.id, paidChain: undefined }
    )
    assert.equal(w.ledger.t.frauds.size, 0)
    // every transfer of the chain is now evidence at its position, under its signer
    const steps: Array<[string, Party, string]> = [
      ['0.0', w.X, 'assign'],
      ['1.0', w.Y, 'request'],
      ['2.0', w.Z, 'layer'],
      ['2.1', w.W, 'cash']
    ]
    assert.deepEqual(
      steps.map(([p, who]) => w.ledger.t.evidence.get(`${sn}|${p}|${who.id}`)?.kind),
      steps.map(s => s[2])
    )
    assert.equal(w.ledger.t.evidence.size, 4)
    // and the chain the coin paid out on is remembered, transfer by transfer
    assert.deepEqual(
      rec.paidChain,
      Object.fromEntries(
        steps.map(([p, who]) => [`${p}|${who.id}`, w.ledger.t.evidence.get(`${sn}|${p}|${who.id}`)!.hash])
      )
    )
    const a = w.ledger.audit()
    assert.deepEqual([a.toppedUp, a.balances, a.outstanding, a.holds], [10, 10, 0, true])
  })

  it('the owner refunds an unassigned coin', async () => {
    const w = await world()
    const [a, b] = buyCoins(w, w.X, 2, 10)
    assert.equal(bal(w, w.X), 0)
    const { proof, cash } = w.X.wallet.beginRefund(a.sn)
    assert.deepEqual(w.ledger.cash(proof, cash), { sn: a.sn, status: 'paid', value: 10, holder: w.X.id, from: 'coin' })
    assert.equal(bal(w, w.X), 10)
    assert.equal(w.ledger.t.coins.get(a.sn)!.status, 'paid')
    assert.equal(w.ledger.t.coins.get(b.sn)!.status, 'out')
    assert.equal(w.ledger.audit().outstanding, 10)
    assertHolds(w)
  })

  it('cashing an already-cashed holding again returns the same result without a second credit', async () => {
    const w = await world()
    const { keyZ } = chainToZ(w)
    const { proof, cash } = w.Z.wallet.beginCash(keyZ)
    const first = w.ledger.cash(proof, cash)
    assert.equal(first.status, 'paid')
    const before = snapshot(w.ledger.t)
    assert.deepEqual(w.ledger.cash(proof, cash), first)
    assert.deepEqual(w.ledger.cash(proof, cash), first)
    assert.equal(snapshot(w.ledger.t), before)
    assert.equal(bal(w, w.Z), 10)
    assertHolds(w)
  })

  it('an expired coin is cashable during the grace period and EXPIRED after it', async () => {
    const w = await world()
    const [a, b] = buyCoins(w, w.X, 2, 10)
    const ka = accept(w.Y, w.X.wallet.ownerPay(a.sn, w.Y.id), w.X.id).key
    const kb = accept(w.Y, w.X.wallet.ownerPay(b.sn, w.Y.id), w.X.id).key
    w.clock.t = a.expiry + CASH_GRACE
    assert.equal(cashVia(w, w.Y, ka).status, 'paid')
    w.clock.t = b.expiry + CASH_GRACE + 1
    const { proof, cash } = w.Y.wallet.beginCash(kb)
    rejects(w.ledger.t, () => w.ledger.cash(proof, cash), ErrorCode.EXPIRED)
    assert.equal(bal(w, w.Y), 10)
  })

  it(
    'cash refusals: wrong holder, wrong broker, tampered, unknown version, ' +
      'wrong tag, too many layers, unknown coin',
    async () => {
      const w = await world()
      const { p2, keyZ } = chainToZ(w)
      const t = w.ledger.t
      // W signs a cash request for Z's coin
      rejects(t, () => w.ledger.cash(p2, cashFor(w, w.W, p2)), ErrorCode.WRONG_HOLDER)
      rejects(t, () => w.ledger.cash(p2, cashFor(w, w.W, p2, { holder: w.Z.id })), ErrorCode.WRONG_HOLDER)
      // a cash request addressed to another broker
      const other = await ident()
      rejects(t, () => w.ledger.cash(p2, cashFor(w, w.Z, p2, { broker: other.id })), ErrorCode.WRONG_BROKER)
      // a coin signed by another key
      const fakeCoin = sign(other, TAG.coin, { ...verifyCoin(verifier, p2.coin, w.broker.id, 't').body })
      const { cash } = w.Z.wallet.beginCash(keyZ)
      rejects(t, () => w.ledger.cash({ ...p2, coin: fakeCoin }, cash), ErrorCode.WRONG_BROKER)
      rejects(t, () => w.ledger.cash(p2, flip(cash, layout(cash).sigStart + 1)), ErrorCode.BAD_SIGNATURE)
      const r2 = lastLink(p2).request!
      rejects(
        t,
        () => w.ledger.cash(withLink(p2, 1, { request: flip(r2, layout(r2).bodyStart + 2) }), cash),
        ErrorCode.BAD_SIGNATURE
      )
      const a1 = p2.chain![0].assign
      rejects(
        t,
        () => w.ledger.cash(withLink(p2, 0, { assign: flip(a1, layout(a1).sigStart + 3) }), cash),
        ErrorCode.BAD_SIGNATURE
      )
      rejects(t, () => w.ledger.cash(p2, withVersion(cash, 3)), ErrorCode.UNKNOWN_VERSION)
      rejects(t, () => w.ledger.cash(p2, r2), ErrorCode.WRONG_TAG)
      // Z's last step without the history below it
      rejects(t, () => w.ledger.cash({ coin: p2.coin, chain: [lastLink(p2)] }, cash), ErrorCode.BAD_REQUEST)
      rejects(t, () => w.ledger.cash(p2, cashFor(w, w.Z, p2, { seq: 1 })), ErrorCode.BAD_REQUEST)
      // three layers with maxLayers 2
      const l3 = layerFor(w, w.Y, layerFor(w, w.W, layerFor(w, w.Z, p2, w.W.id), w.Y.id), w.Z.id)
      rejects(t, () => w.ledger.cash(l3, cash), PPayErrorCode.LAYER_DEPTH)
      // a coin the broker signed but never sold
      const ghost = sign(w.broker, TAG.coin, {
        broker: w.broker.id,
        owner: w.X.id,
        sn: 'ee'.repeat(16),
        value: 10,
        expiry: T0 + COIN_TTL
      })
      rejects(t, () => w.ledger.cash({ coin: ghost }, cashFor(w, w.X, { coin: ghost })), PPayErrorCode.NO_SUCH_COIN)
      assert.equal(cashVia(w, w.Z, keyZ).status, 'paid')
    }
  )

  it('one holder cashing one position through two different proofs is paid once (ALREADY_CASHED)', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const req = requestFor(w, w.Y, p1, w.Z.id)
    // the same request honoured by the owner and (while the owner looked offline) by the broker
    const byOwner = w.X.wallet.ownerReassign(p1, req).proof
    const dt = w.ledger.downtimeReassign(p1, req)
    assert.equal(dt.status, 'ok')
    if (dt.status !== 'ok') return
    const byBroker = extendProof(p1, { link: { assign: dt.assign, request: dt.request } })
    assert.equal(w.ledger.cash(byOwner, cashFor(w, w.Z, byOwner)).status, 'paid')
    const r = w.ledger.cash(byBroker, cashFor(w, w.Z, byBroker))
    assert.equal(r.status, 'refused')
    assert.equal(r.status === 'refused' && r.code, ErrorCode.ALREADY_CASHED)
    assert.equal(bal(w, w.Z), 10)
    assert.equal(w.ledger.t.frauds.size, 0)
    assertHolds(w)
  })
})
