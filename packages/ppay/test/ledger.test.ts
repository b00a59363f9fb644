// The broker's ledger: selling coins, cashing them, the downtime path, fraud
// detection and compensation, and conservation of money throughout.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64 } from '@p2pay/core'
import { PPayErrorCode } from '../src/errors.ts'
import { TAG, MAX_CHAIN, type AssignBody, type CoinProof, type FraudProof } from '../src/core/types.ts'
import { extendProof, verifyCoin } from '../src/core/verify.ts'
import {
  world,
  ident,
  party,
  sign,
  verifier,
  info,
  cashFor,
  requestFor,
  layerFor,
  chainToZ,
  buyCoins,
  buyRequest,
  accept,
  flip,
  layout,
  withVersion,
  withLink,
  lastLink,
  step,
  longChain,
  nonCanonical,
  cashVia,
  assertHolds,
  bal,
  rejects,
  throwsCode,
  snapshot,
  T0,
  COIN_TTL,
  CASH_GRACE,
  type World,
  type Party
} from './fixtures.ts'

/** [kind, cheater, pos] of every fraud proof, in detection order. */
const convictions = (w: World): Array<[string, string, string]> =>
  [...w.ledger.t.frauds.values()].map(f => [f.kind, f.culprit, f.pos])

/** Downtime reassignment that must succeed: the proof one step on. */
function viaBroker(w: World, proof: CoinProof, request: string): CoinProof {
  const r = w.ledger.downtimeReassign(proof, request)
  assert.equal(r.status, 'ok', JSON.stringify(r))
  if (r.status !== 'ok') throw new Error('unreachable')
  return extendProof(proof, { link: { assign: r.assign, request: r.request } })
}

describe('topup and buy', () => {
  it('topup credits the account and counts the money in; bad input is BAD_REQUEST with no change', async () => {
    const w = await world()
    assert.deepEqual(w.ledger.topup(w.X.id, 25), { account: w.X.id, balance: 25 })
    assert.deepEqual(w.ledger.topup(w.X.id, 5), { account: w.X.id, balance: 30 })
    assert.equal(w.ledger.audit().toppedUp, 30)
    for (const [acct, amount] of [
      [w.X.id, 0],
      [w.X.id, -5],
      [w.X.id, 1.5],
      ['', 5],
      ['x'.repeat(129), 5]
    ] as const) {
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
      assert.deepEqual(w.ledger.t.coins.get(c.body.sn), {
        owner: w.X.id,
        value: 10,
        expiry: T0 + COIN_TTL,
        status: 'out'
      })
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
    rejects(
      t,
      () =>
        w.ledger.buy(
          sign(w.Y, TAG.buy, { broker: w.broker.id, account: w.X.id, count: 1, value: 10, nonce: 'nonce-0002' })
        ),
      ErrorCode.WRONG_SIGNER
    )
    rejects(
      t,
      () =>
        w.ledger.buy(
          sign(w.X, TAG.buy, { broker: other.id, account: w.X.id, count: 1, value: 10, nonce: 'nonce-0002' })
        ),
      ErrorCode.WRONG_BROKER
    )
    rejects(t, () => w.ledger.buy(buyRequest(w, w.X, 0, 10)), ErrorCode.BAD_REQUEST)
    rejects(t, () => w.ledger.buy(buyRequest(w, w.X, 11, 10)), ErrorCode.BAD_REQUEST)
    rejects(t, () => w.ledger.buy(buyRequest(w, w.X, 1, 0)), ErrorCode.BAD_REQUEST)
    rejects(t, () => w.ledger.buy(buyRequest(w, w.X, 1, 10, 'short')), ErrorCode.BAD_REQUEST)
    const req = buyRequest(w, w.X, 1, 10)
    rejects(t, () => w.ledger.buy(flip(req, layout(req).bodyStart + 10)), ErrorCode.BAD_SIGNATURE)
    rejects(t, () => w.ledger.buy(withVersion(req, 2)), ErrorCode.UNKNOWN_VERSION)
    rejects(
      t,
      () =>
        w.ledger.buy(
          sign(w.X, TAG.cash, { broker: w.broker.id, account: w.X.id, count: 1, value: 10, nonce: 'nonce-0002' })
        ),
      ErrorCode.WRONG_TAG
    )
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
    const pz = extendProof(p1, { link: { assign: r.assign, request: r.request } })
    w.Y.wallet.finishSpend(keyY, pz)
    assert.equal(accept(w.Z, pz, w.Y.id).seq, 2)
    const log = w.ledger.downtimeLog(w.X.id, 0)
    assert.deepEqual(
      log.map(e => [e.n, e.sn, e.assign, e.request]),
      [[1, c.sn, r.assign, request]]
    )
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
    rejects(
      t,
      () =>
        w.ledger.downtimeReassign(
          layerFor(w, w.Y, p1, w.Z.id),
          requestFor(w, w.Z, layerFor(w, w.Y, p1, w.Z.id), w.W.id)
        ),
      ErrorCode.BAD_REQUEST
    )
    const ghost = sign(w.broker, TAG.coin, {
      broker: w.broker.id,
      owner: w.X.id,
      sn: 'ee'.repeat(16),
      value: 10,
      expiry: T0 + COIN_TTL
    })
    const ghostHash = verifyCoin(verifier, ghost, w.broker.id, 't').hash
    const gp: CoinProof = {
      coin: ghost,
      chain: [
        {
          assign: sign<AssignBody>(w.X, TAG.assign, {
            sn: 'ee'.repeat(16),
            coin: ghostHash,
            owner: w.X.id,
            seq: 1,
            holder: w.Y.id,
            request: null
          })
        }
      ]
    }
    rejects(t, () => w.ledger.downtimeReassign(gp, requestFor(w, w.Y, gp, w.Z.id)), PPayErrorCode.NO_SUCH_COIN)
    // past expiry only while the new holder could still cash the coin
    w.clock.t = c.expiry + CASH_GRACE + 1
    rejects(t, () => w.ledger.downtimeReassign(p1, requestFor(w, w.Y, p1, w.Z.id)), ErrorCode.EXPIRED)
    w.clock.t = c.expiry + CASH_GRACE
    const pz = viaBroker(w, p1, requestFor(w, w.Y, p1, w.Z.id))
    assert.equal(w.ledger.cash(pz, cashFor(w, w.Z, pz)).status, 'paid')
  })
})

describe('fraud', () => {
  it('owner double-assign: the second holder is paid by compensation from the owner', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 100)
    const [c] = buyCoins(w, w.X, 1, 10, 0)
    assert.equal(bal(w, w.X), 90)
    const coinHash = verifyCoin(verifier, c.coin, w.broker.id, 't').hash
    const assign = (holder: string): CoinProof => ({
      coin: c.coin,
      chain: [
        {
          assign: sign<AssignBody>(w.X, TAG.assign, {
            sn: c.sn,
            coin: coinHash,
            owner: w.X.id,
            seq: 1,
            holder,
            request: null
          })
        }
      ]
    })
    const ky = accept(w.Y, assign(w.Y.id), w.X.id).key
    const kz = accept(w.Z, assign(w.Z.id), w.X.id).key
    const ry = cashVia(w, w.Y, ky)
    assert.deepEqual(ry, { sn: c.sn, status: 'paid', value: 10, holder: w.Y.id, from: 'coin' })
    assert.equal(w.ledger.t.frauds.size, 0)
    const rz = cashVia(w, w.Z, kz)
    assert.deepEqual(rz, { sn: c.sn, status: 'paid', value: 10, holder: w.Z.id, from: 'compensation', culprit: w.X.id })
    const frauds = [...w.ledger.t.frauds.values()]
    assert.equal(frauds.length, 1)
    assert.deepEqual(
      [frauds[0].kind, frauds[0].culprit, frauds[0].sn, frauds[0].pos],
      ['owner-double-assign', w.X.id, c.sn, '0.0']
    )
    assert.deepEqual(
      new Set(frauds[0].evidence),
      new Set([assign(w.Y.id).chain![0].assign, assign(w.Z.id).chain![0].assign])
    )
    assert.deepEqual(frauds[0].compensated, [{ holder: w.Z.id, value: 10 }])
    assert.deepEqual(frauds[0].unpaid, [])
    assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z)], [80, 10, 10])
    assert.equal(w.Z.wallet.t.held.get(kz)!.status, 'cashed')
    assertHolds(w)
  })

  it(
    'holder cash-after-spend, cheater first: Y cashes its stale seq-1 ' +
      'proof, then Z is paid by compensation from Y',
    async () => {
      const w = await world()
      const { sn, p1, keyZ } = chainToZ(w)
      // Y's wallet marked the holding spent; Y signs a cash request by hand
      const ry = w.ledger.cash(p1, cashFor(w, w.Y, p1))
      assert.deepEqual(ry, { sn, status: 'paid', value: 10, holder: w.Y.id, from: 'coin' })
      assert.equal(bal(w, w.Y), 10)
      const rz = cashVia(w, w.Z, keyZ)
      assert.deepEqual(rz, { sn, status: 'paid', value: 10, holder: w.Z.id, from: 'compensation', culprit: w.Y.id })
      const [f] = [...w.ledger.t.frauds.values()]
      assert.equal(w.ledger.t.frauds.size, 1)
      assert.deepEqual([f.kind, f.culprit, f.pos], ['holder-cash-after-spend', w.Y.id, '1.0'])
      assert.deepEqual(f.compensated, [{ holder: w.Z.id, value: 10 }])
      assert.deepEqual([bal(w, w.Y), bal(w, w.Z)], [0, 10])
      assertHolds(w)
    }
  )

  it(
    'holder cash-after-spend, honest holder first: Z is paid, then Y is ' + 'refused with FRAUD and not credited',
    async () => {
      const w = await world()
      const { sn, p1, keyZ } = chainToZ(w)
      assert.equal(cashVia(w, w.Z, keyZ).status, 'paid')
      const cashY = cashFor(w, w.Y, p1)
      const ry = w.ledger.cash(p1, cashY)
      assert.equal(ry.status, 'refused')
      if (ry.status !== 'refused') return
      assert.equal(ry.code, ErrorCode.FRAUD)
      const f = w.ledger.t.frauds.get(ry.fraud!)
      assert.deepEqual([f?.kind, f?.culprit, f?.sn], ['holder-cash-after-spend', w.Y.id, sn])
      assert.deepEqual([bal(w, w.Y), bal(w, w.Z)], [0, 10])
      // asking again gets the same refusal, still no credit
      assert.deepEqual(w.ledger.cash(p1, cashY), ry)
      assert.equal(bal(w, w.Y), 0)
      assertHolds(w)
    }
  )

  it("holder double-spend: one request honoured by the owner, one by the broker; the owner's sync yields the proof; both payees are paid", async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    w.ledger.topup(w.Y.id, 10) // what Y earned before: enough to make its victim whole
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    accept(w.Y, p1, w.X.id)
    const reqZ = requestFor(w, w.Y, p1, w.Z.id)
    const reqW = requestFor(w, w.Y, p1, w.W.id)
    const { proof: pZ } = w.X.wallet.ownerReassign(p1, reqZ)
    const dt = w.ledger.downtimeReassign(p1, reqW)
    assert.equal(dt.status, 'ok')
    if (dt.status !== 'ok') return
    const pW = extendProof(p1, { link: { assign: dt.assign, request: dt.request } })
    const kz = accept(w.Z, pZ, w.Y.id).key
    const kw = accept(w.W, pW, w.Y.id).key
    assert.equal(w.ledger.t.frauds.size, 0, 'the broker alone cannot see the double spend yet')

    // the owner syncs its downtime log and finds its own, conflicting assignment
    const [entry] = w.ledger.downtimeLog(w.X.id, 0)
    const applied = w.X.wallet.applyDowntime(entry)
    assert.equal(applied.adopted, false)
    assert.deepEqual(applied.conflict, pZ, "the owner's own history of the coin up to that seq")
    assert.equal(w.X.wallet.t.owned.get(c.sn)!.holder, w.Z.id, 'the owner keeps its own assignment')
    const { frauds } = w.ledger.report(applied.conflict!)
    assert.equal(frauds.length, 1)
    assert.deepEqual(
      [frauds[0].kind, frauds[0].culprit, frauds[0].sn, frauds[0].pos],
      ['holder-double-spend', w.Y.id, c.sn, '1.0']
    )
    assert.deepEqual(new Set(frauds[0].evidence), new Set([reqZ, reqW]))
    assert.equal(w.ledger.t.frauds.size, 1)

    const rz = cashVia(w, w.Z, kz)
    const rw = cashVia(w, w.W, kw)
    assert.deepEqual(rz, { sn: c.sn, status: 'paid', value: 10, holder: w.Z.id, from: 'coin' })
    assert.deepEqual(rw, { sn: c.sn, status: 'paid', value: 10, holder: w.W.id, from: 'compensation', culprit: w.Y.id })
    assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z), bal(w, w.W)], [0, 0, 10, 10])
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
    assert.deepEqual([f?.kind, f?.culprit], ['holder-cash-after-spend', w.Y.id])
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
    assert.deepEqual([f.kind, f.culprit], ['holder-double-spend', w.Y.id])
    assert.equal(w.ledger.downtimeLog(w.X.id, 0).length, 1)
  })

  it(
    'an owner refunding a coin it assigned: the holder is paid by ' +
      'compensation; the reverse order refuses the refund',
    async () => {
      const w = await world()
      w.ledger.topup(w.X.id, 100)
      const [a, b] = buyCoins(w, w.X, 2, 10, 0)
      // refund first, then the payee cashes
      const pa = w.X.wallet.ownerPay(a.sn, w.Y.id)
      rejects(w.X.wallet.t, () => w.X.wallet.beginRefund(a.sn), ErrorCode.STALE_SEQ)
      assert.equal(w.ledger.cash({ coin: a.coin }, cashFor(w, w.X, { coin: a.coin })).status, 'paid')
      const ry = cashVia(w, w.Y, accept(w.Y, pa, w.X.id).key)
      assert.deepEqual(ry, {
        sn: a.sn,
        status: 'paid',
        value: 10,
        holder: w.Y.id,
        from: 'compensation',
        culprit: w.X.id
      })
      assert.deepEqual(convictions(w), [['owner-double-assign', w.X.id, '0.0']])
      assert.deepEqual([bal(w, w.X), bal(w, w.Y)], [80, 10])
      // payee cashes first, then the owner asks for a refund
      const pb = w.X.wallet.ownerPay(b.sn, w.Z.id)
      assert.equal(cashVia(w, w.Z, accept(w.Z, pb, w.X.id).key).status, 'paid')
      const rx = w.ledger.cash({ coin: b.coin }, cashFor(w, w.X, { coin: b.coin }))
      assert.equal(rx.status === 'refused' && rx.code, ErrorCode.FRAUD)
      assert.equal(w.ledger.t.frauds.get(rx.status === 'refused' ? rx.fraud! : '')?.culprit, w.X.id)
      assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z)], [80, 10, 10])
      assertHolds(w)
    }
  )

  it('report of an honest proof finds nothing; of an unknown coin is NO_SUCH_COIN', async () => {
    const w = await world()
    const { p2 } = chainToZ(w)
    assert.deepEqual(w.ledger.report(p2), { frauds: [] })
    const ghost = sign(w.broker, TAG.coin, {
      broker: w.broker.id,
      owner: w.X.id,
      sn: 'ee'.repeat(16),
      value: 10,
      expiry: T0 + COIN_TTL
    })
    rejects(w.ledger.t, () => w.ledger.report({ coin: ghost }), PPayErrorCode.NO_SUCH_COIN)
    throwsCode(
      () => w.ledger.report(withLink(p2, 1, { assign: withVersion(lastLink(p2).assign, 9) })),
      ErrorCode.UNKNOWN_VERSION
    )
  })
})

describe('liability, report and replay edge cases', () => {
  it(
    'compensation is taken from the cheater whose double spend reached the ' +
      'cashier, not from the latest-convicted one',
    async () => {
      const w = await world()
      const { p1, p2, keyZ } = chainToZ(w)
      const p3 = w.Z.wallet.layer(keyZ, w.W.id)
      const kw = accept(w.W, p3, w.Z.id).key
      // Z cashes the position it layered away to W: paid from the coin
      assert.equal(w.ledger.cash(p2, cashFor(w, w.Z, p2)).status, 'paid')
      // somebody reports W's proof: Z is convicted
      w.clock.advance(1)
      const { frauds } = w.ledger.report(p3)
      assert.deepEqual(
        frauds.map(f => [f.kind, f.culprit]),
        [['holder-cash-after-spend', w.Z.id]]
      )
      // Y tries to cash its stale proof: refused, convicted, nobody harmed
      w.clock.advance(1)
      const ry = w.ledger.cash(p1, cashFor(w, w.Y, p1))
      assert.equal(ry.status === 'refused' && ry.code, ErrorCode.FRAUD)
      assert.equal(bal(w, w.Y), 0)
      // W, the victim of Z's double spend, cashes
      w.clock.advance(1)
      const rw = cashVia(w, w.W, kw)
      assertHolds(w)
      assert.equal(rw.status === 'paid' && rw.culprit, w.Z.id)
      assert.deepEqual([bal(w, w.Y), bal(w, w.Z), bal(w, w.W)], [0, 0, 10])
    }
  )

  it('report lists each fraud it finds once', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const coinHash = verifyCoin(verifier, c.coin, w.broker.id, 't').hash
    const assign = (holder: string): CoinProof => ({
      coin: c.coin,
      chain: [
        {
          assign: sign<AssignBody>(w.X, TAG.assign, {
            sn: c.sn,
            coin: coinHash,
            owner: w.X.id,
            seq: 1,
            holder,
            request: null
          })
        }
      ]
    })
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

describe('attacks', () => {
  /** Every fraud proof of `cheater`, their compensations and shortfalls flattened. */
  const against = (
    w: World,
    cheater: Party
  ): {
    frauds: FraudProof[]
    compensated: Array<{ holder: string; value: number }>
    unpaid: Array<{ holder: string; value: number }>
  } => {
    const frauds = [...w.ledger.t.frauds.values()].filter(f => f.culprit === cheater.id)
    return { frauds, compensated: frauds.flatMap(f => f.compensated), unpaid: frauds.flatMap(f => f.unpaid) }
  }
  const sybilPayees = async (w: World): Promise<Party[]> =>
    await Promise.all([1, 2, 3, 4, 5].map(async () => await party(w.broker.id, w.clock)))

  it(
    '1a. a zero-balance sybil layers one seq-1 coin to five payees: one is ' +
      'paid from the coin, the rest get nothing and no money is created',
    async () => {
      const w = await world()
      const [c] = buyCoins(w, w.X, 1, 10)
      const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
      accept(w.Y, p1, w.X.id)
      const S = await sybilPayees(w)
      // Y signs a layer on the same assignment for each of them (its own software, not the wallet)
      const held = S.map(s => accept(s, layerFor(w, w.Y, p1, s.id), w.Y.id))
      assert.ok(held.every(h => h.seq === 1 && h.depth === 1))
      const results = S.map((s, i) => cashVia(w, s, held[i].key))
      assert.deepEqual(results[0], { sn: c.sn, status: 'paid', value: 10, holder: S[0].id, from: 'coin' })
      results.slice(1).forEach((r, i) => {
        assert.deepEqual(r, {
          sn: c.sn,
          status: 'paid',
          value: 0,
          holder: S[i + 1].id,
          from: 'compensation',
          culprit: w.Y.id,
          unpaid: 10
        })
      })
      // Y, and only Y, is convicted: for giving position 1.0 away more than once
      assert.deepEqual(
        new Set(convictions(w).map(x => x.join(' '))),
        new Set([['holder-double-spend', w.Y.id, '1.0'].join(' ')])
      )
      const y = against(w, w.Y)
      assert.equal(y.frauds.length, 4, 'each later layer conflicts with the one already on record')
      for (const f of y.frauds)
        assert.ok(f.evidence.includes(held[0].proof.layers![0]), "S1's layer is half of each proof")
      assert.deepEqual(y.compensated, [])
      assert.deepEqual(
        y.unpaid.map(u => [u.holder, u.value]),
        S.slice(1).map(s => [s.id, 10])
      )
      assert.deepEqual([bal(w, w.X), bal(w, w.Y), ...S.map(s => bal(w, s))], [0, 0, 10, 0, 0, 0, 0])
      const a = w.ledger.audit()
      assert.deepEqual([a.toppedUp, a.balances, a.outstanding], [10, 10, 0], 'total money created: 0')
      assertHolds(w)
    }
  )

  it(
    '1b. the same sybil with balance 15 and a coin of 10: S2 gets 10 from ' + 'it, S3 the last 5, S4 and S5 nothing',
    async () => {
      const w = await world()
      const [c] = buyCoins(w, w.X, 1, 10)
      w.ledger.topup(w.Y.id, 15)
      const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
      accept(w.Y, p1, w.X.id)
      const S = await sybilPayees(w)
      const held = S.map(s => accept(s, layerFor(w, w.Y, p1, s.id), w.Y.id))
      const results = S.map((s, i) => cashVia(w, s, held[i].key))
      const comp = (i: number, value: number, unpaid?: number) => ({
        sn: c.sn,
        status: 'paid',
        value,
        holder: S[i].id,
        from: 'compensation',
        culprit: w.Y.id,
        ...(unpaid != null ? { unpaid } : {})
      })
      assert.deepEqual(results, [
        { sn: c.sn, status: 'paid', value: 10, holder: S[0].id, from: 'coin' },
        comp(1, 10),
        comp(2, 5, 5),
        comp(3, 0, 10),
        comp(4, 0, 10)
      ])
      assert.deepEqual(
        new Set(convictions(w).map(x => x.join(' '))),
        new Set([['holder-double-spend', w.Y.id, '1.0'].join(' ')])
      )
      const y = against(w, w.Y)
      assert.deepEqual(y.compensated, [
        { holder: S[1].id, value: 10 },
        { holder: S[2].id, value: 5 }
      ])
      assert.deepEqual(y.unpaid, [
        { holder: S[2].id, value: 5 },
        { holder: S[3].id, value: 10 },
        { holder: S[4].id, value: 10 }
      ])
      assert.deepEqual([bal(w, w.X), bal(w, w.Y), ...S.map(s => bal(w, s))], [0, 0, 10, 10, 5, 0, 0])
      const a = w.ledger.audit()
      assert.deepEqual([a.toppedUp, a.balances, a.outstanding], [25, 25, 0])
      assertHolds(w)
    }
  )

  it(
    '2. the owner forges a reassignment to itself (its own request at seq ' +
      '1, its own seq-2 assignment): refused, nothing changes',
    async () => {
      const w = await world()
      const [c] = buyCoins(w, w.X, 1, 10)
      const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
      const ky = accept(w.Y, p1, w.X.id).key
      const i1 = info(w, p1)
      for (const prev of [i1.tipHash, i1.coin.hash, 'ab'.repeat(32)]) {
        const { proof: forged, tip } = step(w, p1, w.X, w.X.id, {
          tip: { hash: prev, seq: 1, sn: c.sn, owner: w.X.id, coin: i1.coin.hash }
        })
        throwsCode(() => info(w, forged), ErrorCode.WRONG_HOLDER)
        const cash = sign(w.X, TAG.cash, {
          sn: c.sn,
          seq: 2,
          depth: 0,
          holder: w.X.id,
          broker: w.broker.id,
          prev: tip.hash
        })
        rejects(w.ledger.t, () => w.ledger.cash(forged, cash), ErrorCode.WRONG_HOLDER)
        rejects(w.ledger.t, () => w.ledger.report(forged), ErrorCode.WRONG_HOLDER)
        rejects(
          w.ledger.t,
          () => w.ledger.downtimeReassign(forged, requestFor(w, w.X, forged, w.Z.id, { seq: 2, prev: tip.hash })),
          ErrorCode.WRONG_HOLDER
        )
        // nor can X pass it off on a payee
        rejects(
          w.Z.wallet.t,
          () => w.Z.wallet.accept(step(w, forged, w.X, w.Z.id, { tip }).proof, w.X.id),
          ErrorCode.WRONG_HOLDER
        )
      }
      assert.deepEqual(convictions(w), [])
      // Y's coin is untouched
      assert.deepEqual(cashVia(w, w.Y, ky), { sn: c.sn, status: 'paid', value: 10, holder: w.Y.id, from: 'coin' })
      assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z)], [0, 10, 0])
      assertHolds(w)
    }
  )

  it(
    '3a. the owner refunds a coin after it was reassigned, before anyone ' +
      'cashed: paid, then the holder is paid by compensation from the owner',
    async () => {
      const w = await world()
      const { sn, keyZ } = chainToZ(w)
      const coin = w.X.wallet.t.owned.get(sn)!.coin
      // the wallet would not sign it: X signs the seq-0 cash by hand
      rejects(w.X.wallet.t, () => w.X.wallet.beginRefund(sn), ErrorCode.STALE_SEQ)
      const refund = cashFor(w, w.X, { coin })
      assert.deepEqual(
        w.ledger.cash({ coin }, refund),
        { sn, status: 'paid', value: 10, holder: w.X.id, from: 'coin' },
        'the broker cannot know yet'
      )
      assert.deepEqual(convictions(w), [])
      assert.equal(bal(w, w.X), 10)
      const rz = cashVia(w, w.Z, keyZ)
      assert.deepEqual(rz, { sn, status: 'paid', value: 10, holder: w.Z.id, from: 'compensation', culprit: w.X.id })
      // the refund and the seq-1 assignment both give position 0.0 away
      assert.deepEqual(convictions(w), [['owner-double-assign', w.X.id, '0.0']])
      const [f] = w.ledger.t.frauds.values()
      assert.deepEqual(new Set(f.evidence), new Set([refund, w.X.wallet.trailOf(sn)[0].assign]))
      assert.deepEqual([f.compensated, f.unpaid], [[{ holder: w.Z.id, value: 10 }], []])
      assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z), bal(w, w.W)], [0, 0, 10, 0])
      assertHolds(w)
    }
  )

  it("3b. the holder cashes first, then the owner's refund after reassignment is refused with FRAUD", async () => {
    const w = await world()
    const { sn, keyZ } = chainToZ(w)
    const coin = w.X.wallet.t.owned.get(sn)!.coin
    assert.deepEqual(cashVia(w, w.Z, keyZ), { sn, status: 'paid', value: 10, holder: w.Z.id, from: 'coin' })
    const refund = cashFor(w, w.X, { coin })
    const rx = w.ledger.cash({ coin }, refund)
    assert.equal(rx.status, 'refused')
    if (rx.status !== 'refused') return
    assert.equal(rx.code, ErrorCode.FRAUD)
    assert.deepEqual(convictions(w), [['owner-double-assign', w.X.id, '0.0']])
    assert.equal(w.ledger.t.frauds.get(rx.fraud!)?.culprit, w.X.id)
    assert.deepEqual(w.ledger.cash({ coin }, refund), rx, 'a retry gets the same refusal')
    assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z), bal(w, w.W)], [0, 0, 10, 0])
    assertHolds(w)
  })

  it("4. after a fork, the holder of the broker's branch double-spends through the broker: its second downtime request is refused with FRAUD", async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    w.ledger.topup(w.Y.id, 10)
    const [M1, M2] = await Promise.all([party(w.broker.id, w.clock), party(w.broker.id, w.clock)])
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    // Y double-spends position 1.0: to Z via the owner, to W via the broker
    const pZ = w.X.wallet.ownerReassign(p1, requestFor(w, w.Y, p1, w.Z.id)).proof
    const pW = viaBroker(w, p1, requestFor(w, w.Y, p1, w.W.id))
    const kz = accept(w.Z, pZ, w.Y.id).key
    accept(w.W, pW, w.Y.id)
    // W, holding the broker's seq-2 assignment, asks the broker twice
    const pM1 = viaBroker(w, pW, requestFor(w, w.W, pW, M1.id))
    const km1 = accept(M1, pM1, w.W.id).key
    const r = w.ledger.downtimeReassign(pW, requestFor(w, w.W, pW, M2.id))
    assert.equal(r.status, 'refused')
    if (r.status !== 'refused') return
    assert.equal(r.code, ErrorCode.FRAUD)
    assert.deepEqual(convictions(w), [['holder-double-spend', w.W.id, '2.0']])
    assert.equal(w.ledger.t.frauds.get(r.fraud!)?.culprit, w.W.id)
    assert.equal(w.ledger.downtimeLog(w.X.id, 0).length, 2, 'no assignment was issued to M2')
    // the owner syncs: its own seq-2 assignment convicts Y too
    const [e1, e2] = w.ledger.downtimeLog(w.X.id, 0)
    const applied = w.X.wallet.applyDowntime(e1)
    assert.deepEqual(applied, { adopted: false, conflict: pZ })
    assert.deepEqual(
      w.ledger.report(applied.conflict!).frauds.map(f => [f.kind, f.culprit, f.pos]),
      [['holder-double-spend', w.Y.id, '1.0']]
    )
    assert.deepEqual(w.X.wallet.applyDowntime(e2), { adopted: false }, 'a step on the other branch is not adopted')
    // M1 is paid from the coin, Z by compensation from Y; W cannot cash what it gave M1
    assert.deepEqual(cashVia(w, M1, km1), { sn: c.sn, status: 'paid', value: 10, holder: M1.id, from: 'coin' })
    assert.deepEqual(cashVia(w, w.Z, kz), {
      sn: c.sn,
      status: 'paid',
      value: 10,
      holder: w.Z.id,
      from: 'compensation',
      culprit: w.Y.id
    })
    const rw = w.ledger.cash(pW, cashFor(w, w.W, pW))
    assert.equal(rw.status === 'refused' && rw.code, ErrorCode.FRAUD)
    assert.deepEqual(convictions(w), [
      ['holder-double-spend', w.W.id, '2.0'],
      ['holder-double-spend', w.Y.id, '1.0'],
      ['holder-cash-after-spend', w.W.id, '2.0']
    ])
    assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z), bal(w, w.W), bal(w, M1), bal(w, M2)], [0, 0, 10, 0, 10, 0])
    assertHolds(w)
  })

  it('5. downstream compensation: the victim two steps past the fork is paid by the cheater at the fork', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    w.ledger.topup(w.Y.id, 100)
    const V = await party(w.broker.id, w.clock)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    // Y double-spends 1.0: to Z via the owner, to W via the broker
    const pZ = w.X.wallet.ownerReassign(p1, requestFor(w, w.Y, p1, w.Z.id)).proof
    const pW = viaBroker(w, p1, requestFor(w, w.Y, p1, w.W.id))
    const kw = accept(w.W, pW, w.Y.id).key
    // Z, honest, spends on to V via the owner (seq 3)
    const kz = accept(w.Z, pZ, w.Y.id).key
    const { request } = w.Z.wallet.beginSpend(kz, V.id)
    const pV = w.Z.wallet.finishSpend(kz, w.X.wallet.ownerReassign(pZ, request).proof)
    const kv = accept(V, pV, w.Z.id).key
    assert.equal(info(w, pV).seq, 3)
    assert.deepEqual(cashVia(w, w.W, kw), { sn: c.sn, status: 'paid', value: 10, holder: w.W.id, from: 'coin' })
    assert.deepEqual(convictions(w), [], "nothing to see on W's branch alone")
    assert.deepEqual(cashVia(w, V, kv), {
      sn: c.sn,
      status: 'paid',
      value: 10,
      holder: V.id,
      from: 'compensation',
      culprit: w.Y.id
    })
    assert.deepEqual(convictions(w), [['holder-double-spend', w.Y.id, '1.0']])
    assert.deepEqual(against(w, w.Y).compensated, [{ holder: V.id, value: 10 }])
    assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z), bal(w, w.W), bal(w, V)], [0, 90, 0, 10, 10])
    // Z, who spent its holding on, cannot cash it
    const rz = w.ledger.cash(pZ, cashFor(w, w.Z, pZ))
    assert.equal(rz.status === 'refused' && rz.code, ErrorCode.FRAUD)
    assert.deepEqual([bal(w, w.Y), bal(w, w.Z)], [90, 0])
    assertHolds(w)
  })

  it(
    '5b. a holder pays one payee twice with one position (a layer and a ' +
      'reassignment): convicted, and the second holding is paid by ' +
      'compensation',
    {},
    async () => {
      const w = await world()
      const [c] = buyCoins(w, w.X, 1, 10)
      w.ledger.topup(w.Y.id, 50)
      const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
      // Y pays Z for two things with one coin: a layer, and a reassignment through the owner
      const kl = accept(w.Z, layerFor(w, w.Y, p1, w.Z.id), w.Y.id).key
      const kr = accept(w.Z, w.X.wallet.ownerReassign(p1, requestFor(w, w.Y, p1, w.Z.id)).proof, w.Y.id).key
      assert.notEqual(kl, kr, 'the wallet holds them as two coins')
      assert.deepEqual(cashVia(w, w.Z, kl), { sn: c.sn, status: 'paid', value: 10, holder: w.Z.id, from: 'coin' })
      assert.deepEqual(cashVia(w, w.Z, kr), {
        sn: c.sn,
        status: 'paid',
        value: 10,
        holder: w.Z.id,
        from: 'compensation',
        culprit: w.Y.id
      })
      assert.deepEqual(convictions(w), [['holder-double-spend', w.Y.id, '1.0']])
      assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z)], [0, 40, 20])
      assertHolds(w)
    }
  )

  it(
    '7. non-canonical bodies (spaces, key order), correctly signed, are ' +
      'BAD_FRAME at the ledger and change nothing',
    async () => {
      const w = await world()
      w.ledger.topup(w.X.id, 50)
      const t = w.ledger.t
      for (const style of ['spaces', 'reordered'] as const) {
        rejects(t, () => w.ledger.buy(nonCanonical(w.X, buyRequest(w, w.X, 1, 10), style)), ErrorCode.BAD_FRAME)
      }
      const { sn, p2, keyZ } = chainToZ(w)
      const layered = layerFor(w, w.Z, p2, w.W.id)
      const { proof, cash } = w.Z.wallet.beginCash(keyZ)
      for (const style of ['spaces', 'reordered'] as const) {
        // the cash request, a step of the history, a layer, each re-encoded by its own signer
        rejects(t, () => w.ledger.cash(proof, nonCanonical(w.Z, cash, style)), ErrorCode.BAD_FRAME)
        rejects(
          t,
          () => w.ledger.cash(withLink(proof, 0, { assign: nonCanonical(w.X, proof.chain![0].assign, style) }), cash),
          ErrorCode.BAD_FRAME
        )
        rejects(
          t,
          () =>
            w.ledger.cash(withLink(proof, 1, { request: nonCanonical(w.Y, proof.chain![1].request!, style) }), cash),
          ErrorCode.BAD_FRAME
        )
        rejects(
          t,
          () => w.ledger.report({ ...layered, layers: [nonCanonical(w.Z, layered.layers![0], style)] }),
          ErrorCode.BAD_FRAME
        )
        rejects(
          t,
          () => w.ledger.downtimeReassign(p2, nonCanonical(w.Z, requestFor(w, w.Z, p2, w.W.id), style)),
          ErrorCode.BAD_FRAME
        )
        // a coin re-encoded by the broker itself
        rejects(
          t,
          () => w.ledger.cash({ ...proof, coin: nonCanonical(w.broker, proof.coin, style) }, cash),
          ErrorCode.BAD_FRAME
        )
      }
      assert.deepEqual(convictions(w), [])
      assert.deepEqual(cashVia(w, w.Z, keyZ), { sn, status: 'paid', value: 10, holder: w.Z.id, from: 'coin' })
      assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z), bal(w, w.W)], [50, 0, 10, 0])
      assertHolds(w)
    }
  )

  it(
    '8. a proof longer than MAX_CHAIN is BAD_REQUEST everywhere; one of ' + 'MAX_CHAIN steps can only be cashed',
    async () => {
      const w = await world()
      const [c] = buyCoins(w, w.X, 1, 10)
      const { proof, holder, other, tip } = longChain(w, c.sn, MAX_CHAIN)
      const over = step(w, proof, holder, other.id, { tip })
      assert.equal(over.proof.chain!.length, MAX_CHAIN + 1)
      const t = w.ledger.t
      const overCash = sign(other, TAG.cash, {
        sn: c.sn,
        seq: MAX_CHAIN + 1,
        depth: 0,
        holder: other.id,
        broker: w.broker.id,
        prev: over.tip.hash
      })
      rejects(t, () => w.ledger.cash(over.proof, overCash), ErrorCode.BAD_REQUEST)
      rejects(t, () => w.ledger.report(over.proof), ErrorCode.BAD_REQUEST)
      rejects(other.wallet.t, () => other.wallet.accept(over.proof, holder.id), ErrorCode.BAD_REQUEST)
      // at MAX_CHAIN the coin cannot be reassigned any more, by the broker or the owner
      rejects(t, () => w.ledger.downtimeReassign(proof, over.request), ErrorCode.BAD_REQUEST)
      rejects(w.X.wallet.t, () => w.X.wallet.ownerReassign(proof, over.request), ErrorCode.BAD_REQUEST)
      // but it can be cashed
      const h = accept(holder, proof, other.id)
      assert.deepEqual(cashVia(w, holder, h.key), {
        sn: c.sn,
        status: 'paid',
        value: 10,
        holder: holder.id,
        from: 'coin'
      })
      assert.deepEqual(convictions(w), [])
      assert.deepEqual([bal(w, w.X), bal(w, holder), bal(w, other)], [0, 10, 0])
      assertHolds(w)
    }
  )
})
