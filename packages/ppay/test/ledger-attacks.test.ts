// The broker's ledger under attack: sybil payees, forged and refunded
// assignments, forks through the broker, non-canonical bodies and over-long
// chains, with conservation of money throughout.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { TAG, MAX_CHAIN, type FraudProof } from '../src/core/types.ts'
import {
  world,
  party,
  sign,
  info,
  cashFor,
  requestFor,
  layerFor,
  chainToZ,
  buyCoins,
  buyRequest,
  accept,
  withLink,
  step,
  longChain,
  nonCanonical,
  cashVia,
  assertHolds,
  bal,
  rejects,
  throwsCode,
  type World,
  type Party
} from './fixtures.ts'
import { convictions, viaBroker } from './ledger-helpers.ts'

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

  it(
    "4. after a fork, the holder of the broker's branch double-spends through the broker: " +
      'its second downtime request is refused with FRAUD',
    async () => {
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
      assert.deepEqual(
        [bal(w, w.X), bal(w, w.Y), bal(w, w.Z), bal(w, w.W), bal(w, M1), bal(w, M2)],
        [0, 0, 10, 0, 10, 0]
      )
      assertHolds(w)
    }
  )

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
