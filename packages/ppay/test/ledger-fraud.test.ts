// The broker's ledger, fraud detection and compensation: double assignments,
// double spends, cashing after spending, reports, and who pays the victims.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { PPayErrorCode } from '../src/errors.ts'
import { TAG, type AssignBody, type CoinProof } from '../src/core/types.ts'
import { extendProof, verifyCoin } from '../src/core/verify.ts'
import {
  world,
  sign,
  verifier,
  cashFor,
  requestFor,
  chainToZ,
  buyCoins,
  accept,
  withVersion,
  withLink,
  lastLink,
  cashVia,
  assertHolds,
  bal,
  rejects,
  throwsCode,
  T0,
  COIN_TTL,
  CASH_GRACE
} from './fixtures.ts'
import { convictions } from './ledger-helpers.ts'

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

  it(
    'holder double-spend: one request honoured by the owner, one by the broker; ' +
      "the owner's sync yields the proof; both payees are paid",
    async () => {
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
      assert.deepEqual(rw, {
        sn: c.sn,
        status: 'paid',
        value: 10,
        holder: w.W.id,
        from: 'compensation',
        culprit: w.Y.id
      })
      assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z), bal(w, w.W)], [0, 0, 10, 10])
      assert.deepEqual(w.ledger.t.frauds.get(frauds[0].id)!.compensated, [{ holder: w.W.id, value: 10 }])
      assert.equal(w.ledger.t.frauds.size, 1)
      assertHolds(w)
    }
  )

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
