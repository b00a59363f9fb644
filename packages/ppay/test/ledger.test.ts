// The broker's ledger: selling coins, cashing them, the downtime path, fraud
// detection and compensation, and conservation of money throughout.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64 } from '@p2pay/core'
import { TAG, type AssignBody, type CoinProof } from '../src/types.ts'
import { verifyCoin } from '../src/verify.ts'
import type { CashResult } from '../src/ledger.ts'
import {
  world, ident, sign, verifier, cashFor, requestFor, layerFor, chainToZ, buyCoins, buyRequest, accept, flip, layout, withVersion,
  rejects, throwsCode, snapshot, T0, COIN_TTL, CASH_GRACE, type World, type Party
} from './fixtures.ts'

/** A holder cashes a held coin through its wallet and records the result. */
function cashVia (w: World, p: Party, key: string): CashResult {
  const { proof, cash } = p.wallet.beginCash(key)
  const r = w.ledger.cash(proof, cash)
  p.wallet.finishCash(key, r)
  return r
}

function assertHolds (w: World): void {
  const a = w.ledger.audit()
  assert.equal(a.holds, true, `conservation broken: ${JSON.stringify(a)}`)
  assert.equal(a.balances + a.outstanding, a.toppedUp)
}

const bal = (w: World, p: { id: string }): number => w.ledger.balance(p.id)

describe('topup and buy', () => {
  it('topup credits the account and counts the money in; bad input is BAD_REQUEST with no change', async () => {
    const w = await world()
    assert.deepEqual(w.ledger.topup(w.X.id, 25), { account: w.X.id, balance: 25 })
    assert.deepEqual(w.ledger.topup(w.X.id, 5), { account: w.X.id, balance: 30 })
    assert.equal(w.ledger.audit().toppedUp, 30)
    for (const [acct, amount] of [[w.X.id, 0], [w.X.id, -5], [w.X.id, 1.5], ['', 5], ['x'.repeat(129), 5]] as const) {
      rejects(w.ledger.t, () => w.ledger.topup(acct, amount), ErrorCode.BAD_REQUEST)
    }
    assertHolds(w)
  })

  it('buy debits the balance and returns coins signed by the broker, owned by the buyer', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 100)
    const { coins } = w.ledger.buy(buyRequest(w, w.X, 3, 10))
    assert.equal(coins.length, 3)
    assert.equal(bal(w, w.X), 70)
    const sns = new Set<string>()
    for (const b64 of coins) {
      const c = verifyCoin(verifier, b64, w.broker.id, 't')
      assert.deepEqual([c.body.owner, c.body.value, c.body.expiry], [w.X.id, 10, T0 + COIN_TTL])
      assert.deepEqual(w.ledger.t.coins.get(c.body.sn), { owner: w.X.id, value: 10, expiry: T0 + COIN_TTL, status: 'out' })
      sns.add(c.body.sn)
    }
    assert.equal(sns.size, 3, 'serials are unique')
    const a = w.ledger.audit()
    assert.deepEqual([a.toppedUp, a.balances, a.outstanding, a.coins], [100, 70, 30, 3])
    assertHolds(w)
  })

  it('buy with insufficient funds is INSUFFICIENT_FUNDS and changes nothing', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 29)
    rejects(w.ledger.t, () => w.ledger.buy(buyRequest(w, w.X, 3, 10)), ErrorCode.INSUFFICIENT_FUNDS)
    rejects(w.ledger.t, () => w.ledger.buy(buyRequest(w, w.Y, 1, 1)), ErrorCode.INSUFFICIENT_FUNDS)
    assert.equal(bal(w, w.X), 29)
  })

  it('the same buy replayed returns the same coins and debits once', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 100)
    const req = buyRequest(w, w.X, 2, 10, 'nonce-0001')
    const first = w.ledger.buy(req)
    const before = snapshot(w.ledger.t)
    assert.deepEqual(w.ledger.buy(req), first)
    assert.equal(snapshot(w.ledger.t), before)
    assert.equal(bal(w, w.X), 80)
    assert.equal(w.ledger.t.coins.size, 2)
  })

  it('a nonce reused with different content is REPLAY and changes nothing', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 100)
    w.ledger.buy(buyRequest(w, w.X, 2, 10, 'nonce-0001'))
    rejects(w.ledger.t, () => w.ledger.buy(buyRequest(w, w.X, 3, 10, 'nonce-0001')), ErrorCode.REPLAY)
    rejects(w.ledger.t, () => w.ledger.buy(buyRequest(w, w.X, 2, 5, 'nonce-0001')), ErrorCode.REPLAY)
    // the nonce is per account
    w.ledger.topup(w.Y.id, 10)
    assert.equal(w.ledger.buy(buyRequest(w, w.Y, 1, 10, 'nonce-0001')).coins.length, 1)
  })

  it('malformed, forged or foreign buy requests are refused with no change', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 1000)
    const t = w.ledger.t
    const other = await ident()
    rejects(t, () => w.ledger.buy(sign(w.Y, TAG.buy, { broker: w.broker.id, account: w.X.id, count: 1, value: 10, nonce: 'nonce-0002' })), ErrorCode.WRONG_SIGNER)
    rejects(t, () => w.ledger.buy(sign(w.X, TAG.buy, { broker: other.id, account: w.X.id, count: 1, value: 10, nonce: 'nonce-0002' })), ErrorCode.WRONG_BROKER)
    rejects(t, () => w.ledger.buy(buyRequest(w, w.X, 0, 10)), ErrorCode.BAD_REQUEST)
    rejects(t, () => w.ledger.buy(buyRequest(w, w.X, 11, 10)), ErrorCode.BAD_REQUEST)
    rejects(t, () => w.ledger.buy(buyRequest(w, w.X, 1, 0)), ErrorCode.BAD_REQUEST)
    rejects(t, () => w.ledger.buy(buyRequest(w, w.X, 1, 10, 'short')), ErrorCode.BAD_REQUEST)
    const req = buyRequest(w, w.X, 1, 10)
    rejects(t, () => w.ledger.buy(flip(req, layout(req).bodyStart + 10)), ErrorCode.BAD_SIGNATURE)
    rejects(t, () => w.ledger.buy(withVersion(req, 2)), ErrorCode.UNKNOWN_VERSION)
    rejects(t, () => w.ledger.buy(sign(w.X, TAG.cash, { broker: w.broker.id, account: w.X.id, count: 1, value: 10, nonce: 'nonce-0002' })), ErrorCode.WRONG_TAG)
    rejects(t, () => w.ledger.buy(undefined), ErrorCode.BAD_REQUEST)
  })
})

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
    assert.deepEqual(w.ledger.t.coins.get(sn), { owner: w.X.id, value: 10, expiry: T0 + COIN_TTL, status: 'paid', paidTo: w.W.id })
    assert.equal(w.ledger.t.frauds.size, 0)
    // every transfer of the chain is now evidence at its position
    assert.deepEqual(['0.0', '1.0', '2.0', '2.1'].map(p => w.ledger.t.evidence.get(`${sn}|${p}`)?.kind), [undefined, 'request', 'layer', 'cash'])
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

  it('cash refusals: wrong holder, wrong broker, tampered, unknown version, wrong tag, too many layers, unknown coin', async () => {
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
    rejects(t, () => w.ledger.cash({ ...p2, request: flip(p2.request!, layout(p2.request!).bodyStart + 2) }, cash), ErrorCode.BAD_SIGNATURE)
    rejects(t, () => w.ledger.cash(p2, withVersion(cash, 3)), ErrorCode.UNKNOWN_VERSION)
    rejects(t, () => w.ledger.cash(p2, p2.request), ErrorCode.WRONG_TAG)
    rejects(t, () => w.ledger.cash(p2, cashFor(w, w.Z, p2, { seq: 1 })), ErrorCode.BAD_REQUEST)
    // three layers with maxLayers 2
    const l3 = layerFor(w, w.Y, layerFor(w, w.W, layerFor(w, w.Z, p2, w.W.id), w.Y.id), w.Z.id)
    rejects(t, () => w.ledger.cash(l3, cash), ErrorCode.LAYER_DEPTH)
    // a coin the broker signed but never sold
    const ghost = sign(w.broker, TAG.coin, { broker: w.broker.id, owner: w.X.id, sn: 'ee'.repeat(16), value: 10, expiry: T0 + COIN_TTL })
    rejects(t, () => w.ledger.cash({ coin: ghost }, cashFor(w, w.X, { coin: ghost })), ErrorCode.NO_SUCH_COIN)
    assert.equal(cashVia(w, w.Z, keyZ).status, 'paid')
  })

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
    const byBroker: CoinProof = { coin: p1.coin, assign: dt.assign, request: dt.request }
    assert.equal(w.ledger.cash(byOwner, cashFor(w, w.Z, byOwner)).status, 'paid')
    const r = w.ledger.cash(byBroker, cashFor(w, w.Z, byBroker))
    assert.equal(r.status, 'refused')
    assert.equal(r.status === 'refused' && r.code, ErrorCode.ALREADY_CASHED)
    assert.equal(bal(w, w.Z), 10)
    assert.equal(w.ledger.t.frauds.size, 0)
    assertHolds(w)
  })
})

describe('downtime', () => {
  it('the broker reassigns for an offline owner, logs it, and answers a replay with the same assignment', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const keyY = accept(w.Y, p1, w.X.id).key
    const { request } = w.Y.wallet.beginSpend(keyY, w.Z.id)
    const r = w.ledger.downtimeReassign(p1, request)
    assert.equal(r.status, 'ok')
    if (r.status !== 'ok') return
    assert.equal(r.request, request)
    const a = verifier.open<AssignBody>(fromB64(r.assign), TAG.downtimeAssign, 't')
    assert.deepEqual([a.signer, a.body.seq, a.body.holder, a.body.owner], [w.broker.id, 2, w.Z.id, w.X.id])
    const pz: CoinProof = { coin: p1.coin, assign: r.assign, request: r.request }
    w.Y.wallet.finishSpend(keyY, pz)
    assert.equal(accept(w.Z, pz, w.Y.id).seq, 2)
    const log = w.ledger.downtimeLog(w.X.id, 0)
    assert.deepEqual(log.map(e => [e.n, e.sn, e.assign, e.request]), [[1, c.sn, r.assign, request]])
    assert.deepEqual(w.ledger.downtimeLog(w.X.id, 1), [])
    assert.deepEqual(w.ledger.downtimeLog(w.Y.id, 0), [])
    const before = snapshot(w.ledger.t)
    assert.deepEqual(w.ledger.downtimeReassign(p1, request), r)
    assert.equal(snapshot(w.ledger.t), before)
  })

  it('downtime refusals leave the ledger unchanged', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const t = w.ledger.t
    rejects(t, () => w.ledger.downtimeReassign(p1, requestFor(w, w.Z, p1, w.W.id)), ErrorCode.WRONG_HOLDER)
    rejects(t, () => w.ledger.downtimeReassign(p1, requestFor(w, w.Y, p1, w.Z.id, { seq: 0 })), ErrorCode.STALE_SEQ)
    rejects(t, () => w.ledger.downtimeReassign(layerFor(w, w.Y, p1, w.Z.id), requestFor(w, w.Z, layerFor(w, w.Y, p1, w.Z.id), w.W.id)), ErrorCode.BAD_REQUEST)
    const ghost = sign(w.broker, TAG.coin, { broker: w.broker.id, owner: w.X.id, sn: 'ee'.repeat(16), value: 10, expiry: T0 + COIN_TTL })
    const ghostHash = verifyCoin(verifier, ghost, w.broker.id, 't').hash
    const gp: CoinProof = { coin: ghost, assign: sign<AssignBody>(w.X, TAG.assign, { sn: 'ee'.repeat(16), coin: ghostHash, owner: w.X.id, seq: 1, holder: w.Y.id, request: null }) }
    rejects(t, () => w.ledger.downtimeReassign(gp, requestFor(w, w.Y, gp, w.Z.id)), ErrorCode.NO_SUCH_COIN)
    w.clock.t = c.expiry + 1
    rejects(t, () => w.ledger.downtimeReassign(p1, requestFor(w, w.Y, p1, w.Z.id)), ErrorCode.EXPIRED)
  })
})

describe('fraud', () => {
  it('owner double-assign: the second holder is paid by compensation from the owner', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 100)
    const [c] = buyCoins(w, w.X, 1, 10, 0)
    assert.equal(bal(w, w.X), 90)
    const coinHash = verifyCoin(verifier, c.coin, w.broker.id, 't').hash
    const assign = (holder: string): CoinProof => ({ coin: c.coin, assign: sign<AssignBody>(w.X, TAG.assign, { sn: c.sn, coin: coinHash, owner: w.X.id, seq: 1, holder, request: null }) })
    const ky = accept(w.Y, assign(w.Y.id), w.X.id).key
    const kz = accept(w.Z, assign(w.Z.id), w.X.id).key
    const ry = cashVia(w, w.Y, ky)
    assert.deepEqual(ry, { sn: c.sn, status: 'paid', value: 10, holder: w.Y.id, from: 'coin' })
    assert.equal(w.ledger.t.frauds.size, 0)
    const rz = cashVia(w, w.Z, kz)
    assert.deepEqual(rz, { sn: c.sn, status: 'paid', value: 10, holder: w.Z.id, from: 'compensation', cheater: w.X.id })
    const frauds = [...w.ledger.t.frauds.values()]
    assert.equal(frauds.length, 1)
    assert.deepEqual([frauds[0].kind, frauds[0].cheater, frauds[0].sn], ['owner-double-assign', w.X.id, c.sn])
    assert.deepEqual(new Set(frauds[0].evidence), new Set([assign(w.Y.id).assign, assign(w.Z.id).assign]))
    assert.deepEqual(frauds[0].compensated, [{ holder: w.Z.id, value: 10 }])
    assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z)], [80, 10, 10])
    assert.equal(w.Z.wallet.t.held.get(kz)!.status, 'cashed')
    assertHolds(w)
  })

  it('holder cash-after-spend, cheater first: Y cashes its stale seq-1 proof, then Z is paid by compensation from Y', async () => {
    const w = await world()
    const { sn, p1, keyZ } = chainToZ(w)
    // Y's wallet marked the holding spent; Y signs a cash request by hand
    const ry = w.ledger.cash(p1, cashFor(w, w.Y, p1))
    assert.deepEqual(ry, { sn, status: 'paid', value: 10, holder: w.Y.id, from: 'coin' })
    assert.equal(bal(w, w.Y), 10)
    const rz = cashVia(w, w.Z, keyZ)
    assert.deepEqual(rz, { sn, status: 'paid', value: 10, holder: w.Z.id, from: 'compensation', cheater: w.Y.id })
    const [f] = [...w.ledger.t.frauds.values()]
    assert.equal(w.ledger.t.frauds.size, 1)
    assert.deepEqual([f.kind, f.cheater], ['holder-cash-after-spend', w.Y.id])
    assert.deepEqual(f.compensated, [{ holder: w.Z.id, value: 10 }])
    assert.deepEqual([bal(w, w.Y), bal(w, w.Z)], [0, 10])
    assertHolds(w)
  })

  it('holder cash-after-spend, honest holder first: Z is paid, then Y is refused with FRAUD and not credited', async () => {
    const w = await world()
    const { sn, p1, keyZ } = chainToZ(w)
    assert.equal(cashVia(w, w.Z, keyZ).status, 'paid')
    const cashY = cashFor(w, w.Y, p1)
    const ry = w.ledger.cash(p1, cashY)
    assert.equal(ry.status, 'refused')
    if (ry.status !== 'refused') return
    assert.equal(ry.code, ErrorCode.FRAUD)
    const f = w.ledger.t.frauds.get(ry.fraud!)
    assert.deepEqual([f?.kind, f?.cheater, f?.sn], ['holder-cash-after-spend', w.Y.id, sn])
    assert.deepEqual([bal(w, w.Y), bal(w, w.Z)], [0, 10])
    // asking again gets the same refusal, still no credit
    assert.deepEqual(w.ledger.cash(p1, cashY), ry)
    assert.equal(bal(w, w.Y), 0)
    assertHolds(w)
  })

  it('holder double-spend: one request honoured by the owner, one by the broker; the owner\'s sync yields the proof; both payees are paid', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    accept(w.Y, p1, w.X.id)
    const reqZ = requestFor(w, w.Y, p1, w.Z.id)
    const reqW = requestFor(w, w.Y, p1, w.W.id)
    const { proof: pZ } = w.X.wallet.ownerReassign(p1, reqZ)
    const dt = w.ledger.downtimeReassign(p1, reqW)
    assert.equal(dt.status, 'ok')
    if (dt.status !== 'ok') return
    const pW: CoinProof = { coin: p1.coin, assign: dt.assign, request: dt.request }
    const kz = accept(w.Z, pZ, w.Y.id).key
    const kw = accept(w.W, pW, w.Y.id).key
    assert.equal(w.ledger.t.frauds.size, 0, 'the broker alone cannot see the double spend yet')

    // the owner syncs its downtime log and finds its own, conflicting assignment
    const [entry] = w.ledger.downtimeLog(w.X.id, 0)
    const applied = w.X.wallet.applyDowntime(entry)
    assert.equal(applied.adopted, false)
    assert.deepEqual(applied.conflict, pZ)
    assert.equal(w.X.wallet.t.owned.get(c.sn)!.holder, w.Z.id, 'the owner keeps its own assignment')
    const { frauds } = w.ledger.report(applied.conflict!)
    assert.equal(frauds.length, 1)
    assert.deepEqual([frauds[0].kind, frauds[0].cheater, frauds[0].sn], ['holder-double-spend', w.Y.id, c.sn])
    assert.deepEqual(new Set(frauds[0].evidence), new Set([reqZ, reqW]))
    assert.equal(w.ledger.t.frauds.size, 1)

    const rz = cashVia(w, w.Z, kz)
    const rw = cashVia(w, w.W, kw)
    assert.deepEqual(rz, { sn: c.sn, status: 'paid', value: 10, holder: w.Z.id, from: 'coin' })
    assert.deepEqual(rw, { sn: c.sn, status: 'paid', value: 10, holder: w.W.id, from: 'compensation', cheater: w.Y.id })
    assert.deepEqual([bal(w, w.Y), bal(w, w.Z), bal(w, w.W)], [-10, 10, 10])
    assert.deepEqual(w.ledger.t.frauds.get(frauds[0].id)!.compensated, [{ holder: w.W.id, value: 10 }])
    assert.equal(w.ledger.t.frauds.size, 1)
    assertHolds(w)
  })

  it('a downtime reassignment of a position its holder already cashed is refused with FRAUD', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const ky = accept(w.Y, p1, w.X.id).key
    assert.equal(cashVia(w, w.Y, ky).status, 'paid')
    const r = w.ledger.downtimeReassign(p1, requestFor(w, w.Y, p1, w.Z.id))
    assert.equal(r.status, 'refused')
    if (r.status !== 'refused') return
    assert.equal(r.code, ErrorCode.FRAUD)
    const f = w.ledger.t.frauds.get(r.fraud!)
    assert.deepEqual([f?.kind, f?.cheater], ['holder-cash-after-spend', w.Y.id])
    assert.deepEqual(w.ledger.downtimeLog(w.X.id, 0), [], 'no assignment was issued')
    assert.equal(w.ledger.t.downtimeByRequest.size, 0)
    assert.equal(bal(w, w.Y), 10)
    assertHolds(w)
  })

  it('a second downtime reassignment of one position to another payee is refused with FRAUD', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    assert.equal(w.ledger.downtimeReassign(p1, requestFor(w, w.Y, p1, w.Z.id)).status, 'ok')
    const r = w.ledger.downtimeReassign(p1, requestFor(w, w.Y, p1, w.W.id))
    assert.equal(r.status === 'refused' && r.code, ErrorCode.FRAUD)
    const [f] = [...w.ledger.t.frauds.values()]
    assert.deepEqual([f.kind, f.cheater], ['holder-double-spend', w.Y.id])
    assert.equal(w.ledger.downtimeLog(w.X.id, 0).length, 1)
  })

  it('an owner refunding a coin it assigned: the holder is paid by compensation; the reverse order refuses the refund', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 100)
    const [a, b] = buyCoins(w, w.X, 2, 10, 0)
    // refund first, then the payee cashes
    const pa = w.X.wallet.ownerPay(a.sn, w.Y.id)
    rejects(w.X.wallet.t, () => w.X.wallet.beginRefund(a.sn), ErrorCode.STALE_SEQ)
    assert.equal(w.ledger.cash({ coin: a.coin }, cashFor(w, w.X, { coin: a.coin })).status, 'paid')
    const ry = cashVia(w, w.Y, accept(w.Y, pa, w.X.id).key)
    assert.deepEqual(ry, { sn: a.sn, status: 'paid', value: 10, holder: w.Y.id, from: 'compensation', cheater: w.X.id })
    assert.equal([...w.ledger.t.frauds.values()][0].kind, 'owner-double-assign')
    assert.deepEqual([bal(w, w.X), bal(w, w.Y)], [80, 10])
    // payee cashes first, then the owner asks for a refund
    const pb = w.X.wallet.ownerPay(b.sn, w.Z.id)
    assert.equal(cashVia(w, w.Z, accept(w.Z, pb, w.X.id).key).status, 'paid')
    const rx = w.ledger.cash({ coin: b.coin }, cashFor(w, w.X, { coin: b.coin }))
    assert.equal(rx.status === 'refused' && rx.code, ErrorCode.FRAUD)
    assert.deepEqual([bal(w, w.X), bal(w, w.Z)], [80, 10])
    assertHolds(w)
  })

  it('report of an honest proof finds nothing; of an unknown coin is NO_SUCH_COIN', async () => {
    const w = await world()
    const { p2 } = chainToZ(w)
    assert.deepEqual(w.ledger.report(p2), { frauds: [] })
    const ghost = sign(w.broker, TAG.coin, { broker: w.broker.id, owner: w.X.id, sn: 'ee'.repeat(16), value: 10, expiry: T0 + COIN_TTL })
    rejects(w.ledger.t, () => w.ledger.report({ coin: ghost }), ErrorCode.NO_SUCH_COIN)
    throwsCode(() => w.ledger.report({ ...p2, assign: withVersion(p2.assign!, 9) }), ErrorCode.UNKNOWN_VERSION)
  })
})

describe('liability, report and replay edge cases', () => {
  it('compensation is taken from the cheater whose double spend reached the cashier, not from the latest-convicted one', async () => {
    const w = await world()
    const { p1, p2, keyZ } = chainToZ(w)
    const p3 = w.Z.wallet.layer(keyZ, w.W.id)
    const kw = accept(w.W, p3, w.Z.id).key
    // Z cashes the position it layered away to W: paid from the coin
    assert.equal(w.ledger.cash(p2, cashFor(w, w.Z, p2)).status, 'paid')
    // somebody reports W's proof: Z is convicted
    w.clock.advance(1)
    const { frauds } = w.ledger.report(p3)
    assert.deepEqual(frauds.map(f => [f.kind, f.cheater]), [['holder-cash-after-spend', w.Z.id]])
    // Y tries to cash its stale proof: refused, convicted, nobody harmed
    w.clock.advance(1)
    const ry = w.ledger.cash(p1, cashFor(w, w.Y, p1))
    assert.equal(ry.status === 'refused' && ry.code, ErrorCode.FRAUD)
    assert.equal(bal(w, w.Y), 0)
    // W, the victim of Z's double spend, cashes
    w.clock.advance(1)
    const rw = cashVia(w, w.W, kw)
    assertHolds(w)
    assert.equal(rw.status === 'paid' && rw.cheater, w.Z.id)
    assert.deepEqual([bal(w, w.Y), bal(w, w.Z), bal(w, w.W)], [0, 0, 10])
  })

  it('report lists each fraud it finds once', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const coinHash = verifyCoin(verifier, c.coin, w.broker.id, 't').hash
    const assign = (holder: string): CoinProof => ({ coin: c.coin, assign: sign<AssignBody>(w.X, TAG.assign, { sn: c.sn, coin: coinHash, owner: w.X.id, seq: 1, holder, request: null }) })
    assert.deepEqual(w.ledger.report(assign(w.Y.id)), { frauds: [] })
    const { frauds } = w.ledger.report(assign(w.Z.id))
    assert.equal(w.ledger.t.frauds.size, 1)
    assert.equal(frauds.length, 1, `got ${frauds.map(f => f.id.slice(0, 8)).join(', ')}`)
  })

  it('a replayed cash request gets its stored result even after the grace period', async () => {
    const w = await world()
    const { keyZ } = chainToZ(w)
    const { proof, cash } = w.Z.wallet.beginCash(keyZ)
    const first = w.ledger.cash(proof, cash)
    assert.equal(first.status, 'paid')
    w.clock.t = T0 + COIN_TTL + CASH_GRACE + 1
    assert.deepEqual(w.ledger.cash(proof, cash), first)
  })
})
