// The wallet, owner side: what an owner signs and records when it pays,
// reassigns, adopts the broker's downtime steps and refunds, and every
// refusal leaving the wallet's tables untouched.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64 } from '@p2pay/core'
import { PPayErrorCode } from '../src/errors.ts'
import { TAG, type AssignBody, type CoinProof } from '../src/core/types.ts'
import { extendProof, verifyCoin } from '../src/core/verify.ts'
import { SPEND_MARGIN_MS } from '../src/core/wallet-records.ts'
import {
  world,
  party,
  sign,
  verifier,
  info,
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
  nonCanonical,
  cashVia,
  bal,
  assertHolds,
  rejects,
  snapshot,
  T0,
  type World
} from './fixtures.ts'

function assignTo(w: World, sn: string, holder: string, over: Partial<AssignBody> = {}): CoinProof {
  const coin = w.X.wallet.t.owned.get(sn)!.coin
  const hash = verifyCoin(verifier, coin, w.broker.id, 't').hash
  return {
    coin,
    chain: [
      {
        assign: sign<AssignBody>(w.X, TAG.assign, {
          sn,
          coin: hash,
          owner: w.X.id,
          seq: 1,
          holder,
          request: null,
          ...over
        })
      }
    ]
  }
}

describe('owner side', () => {
  it('ownerPay signs seq 1 to the payee and records it in owned and trail', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const i = info(w, p1, false)
    assert.deepEqual([i.seq, i.holder, i.owner, i.value], [1, w.Y.id, w.X.id, 10])
    const rec = w.X.wallet.t.owned.get(c.sn)!
    assert.deepEqual(p1, { coin: c.coin, chain: [{ assign: p1.chain![0].assign }] })
    assert.deepEqual(
      [rec.seq, rec.holder, rec.assign, rec.assignHash],
      [1, w.Y.id, p1.chain![0].assign, i.assigns[0].hash]
    )
    const trail = w.X.wallet.trailOf(c.sn)
    assert.equal(trail.length, 1)
    assert.deepEqual(
      [trail[0].seq, trail[0].holder, trail[0].request, trail[0].by, trail[0].assign],
      [1, w.Y.id, null, 'owner', p1.chain![0].assign]
    )
    assert.deepEqual(w.X.wallet.spendableOwned(), [])
    // the trail gives the coin's history back as a proof
    assert.deepEqual(w.X.wallet.chainFromTrail(c.sn, 1), p1)
    assert.equal(w.X.wallet.chainFromTrail(c.sn, 2), undefined)
    assert.equal(w.X.wallet.chainFromTrail('nope', 1), undefined)
  })

  it('ownerPay refusals: unknown coin, already assigned, refunded, expired, paying oneself', async () => {
    const w = await world()
    const [a, b, c, d] = buyCoins(w, w.X, 4, 10)
    const t = w.X.wallet.t
    rejects(t, () => w.X.wallet.ownerPay('nope', w.Y.id), PPayErrorCode.NO_SUCH_COIN)
    w.X.wallet.ownerPay(a.sn, w.Y.id)
    rejects(t, () => w.X.wallet.ownerPay(a.sn, w.Z.id), ErrorCode.STALE_SEQ)
    w.X.wallet.beginRefund(b.sn)
    rejects(t, () => w.X.wallet.ownerPay(b.sn, w.Z.id), ErrorCode.STALE_SEQ)
    rejects(t, () => w.X.wallet.ownerPay(c.sn, w.X.id), ErrorCode.BAD_REQUEST)
    w.clock.t = d.expiry - SPEND_MARGIN_MS - 1
    assert.equal(w.X.wallet.spendableOwned().length, 2)
    // within the spend margin a coin is no longer offered, though it could still be paid with
    w.clock.t = d.expiry - SPEND_MARGIN_MS
    assert.equal(w.X.wallet.spendableOwned().length, 0)
    assert.equal(w.X.wallet.ownedOfValue(10), undefined)
    w.clock.t = d.expiry + 1
    assert.equal(w.X.wallet.spendableOwned().length, 0)
    rejects(t, () => w.X.wallet.ownerPay(d.sn, w.Y.id), ErrorCode.EXPIRED)
  })

  it('ownerReassign: seq 2 to the requested payee, the request kept in the trail', async () => {
    const w = await world()
    const { sn, p1, p2, request, keyY } = chainToZ(w)
    const i2 = info(w, p2, false)
    assert.deepEqual([i2.seq, i2.holder, i2.requests[1]?.body.from], [2, w.Z.id, w.Y.id])
    assert.equal(p2.chain!.length, 2)
    assert.deepEqual(p2.chain![0], p1.chain![0], 'the history is carried on')
    assert.equal(lastLink(p2).request, request)
    assert.equal(i2.assigns[1].body.request, i2.requests[1]!.hash)
    const rec = w.X.wallet.t.owned.get(sn)!
    assert.deepEqual([rec.seq, rec.holder, rec.assign], [2, w.Z.id, lastLink(p2).assign])
    const trail = w.X.wallet.trailOf(sn)
    assert.deepEqual(
      trail.map(e => [e.seq, e.holder, e.request, e.by]),
      [
        [1, w.Y.id, null, 'owner'],
        [2, w.Z.id, request, 'owner']
      ]
    )
    assert.deepEqual(w.X.wallet.chainFromTrail(sn, 2), p2)
    assert.equal(w.Y.wallet.t.held.get(keyY)!.status, 'spent')
    assert.equal(info(w, p1).seq, 1)
  })

  it('a replayed request gets the same assignment with replay=true and no new trail entry', async () => {
    const w = await world()
    const { p1, p2, request } = chainToZ(w)
    const before = snapshot(w.X.wallet.t)
    const again = w.X.wallet.ownerReassign(p1, request)
    assert.equal(again.replay, true)
    assert.deepEqual(again.proof, p2)
    assert.equal(snapshot(w.X.wallet.t), before)
  })

  it('a request the owner cannot honour leaves its tables unchanged', async () => {
    const w = await world()
    const { sn, p1, p2 } = chainToZ(w)
    const t = w.X.wallet.t
    // Y asks again for the position it already gave to Z
    rejects(t, () => w.X.wallet.ownerReassign(p1, requestFor(w, w.Y, p1, w.W.id)), ErrorCode.STALE_SEQ)
    // Z asks with the right tip but a stale seq
    rejects(t, () => w.X.wallet.ownerReassign(p2, requestFor(w, w.Z, p2, w.W.id, { seq: 1 })), ErrorCode.STALE_SEQ)
    // W (not the holder) signs a request for Z's coin
    rejects(t, () => w.X.wallet.ownerReassign(p2, requestFor(w, w.W, p2, w.Y.id)), ErrorCode.WRONG_HOLDER)
    rejects(
      t,
      () => w.X.wallet.ownerReassign(p2, requestFor(w, w.W, p2, w.Y.id, { from: w.Z.id })),
      ErrorCode.WRONG_HOLDER
    )
    // a node that is not the owner is asked
    rejects(w.Y.wallet.t, () => w.Y.wallet.ownerReassign(p2, requestFor(w, w.Z, p2, w.W.id)), ErrorCode.WRONG_OWNER)
    // tampered, re-versioned, mis-tagged objects
    const req = requestFor(w, w.Z, p2, w.W.id)
    rejects(t, () => w.X.wallet.ownerReassign(p2, flip(req, layout(req).bodyStart + 5)), ErrorCode.BAD_SIGNATURE)
    const a2 = lastLink(p2).assign
    rejects(
      t,
      () => w.X.wallet.ownerReassign(withLink(p2, 1, { assign: flip(a2, layout(a2).sigStart + 7) }), req),
      ErrorCode.BAD_SIGNATURE
    )
    const a1 = p2.chain![0].assign
    rejects(
      t,
      () => w.X.wallet.ownerReassign(withLink(p2, 0, { assign: flip(a1, layout(a1).bodyStart + 4) }), req),
      ErrorCode.BAD_SIGNATURE
    )
    rejects(t, () => w.X.wallet.ownerReassign(p2, withVersion(req, 2)), ErrorCode.UNKNOWN_VERSION)
    rejects(t, () => w.X.wallet.ownerReassign(p2, a2), ErrorCode.WRONG_TAG)
    // Z's proof without its history
    rejects(t, () => w.X.wallet.ownerReassign({ coin: p2.coin, chain: [lastLink(p2)] }, req), ErrorCode.BAD_REQUEST)
    // expired
    w.clock.t = info(w, p2).expiry + 1
    rejects(t, () => w.X.wallet.ownerReassign(p2, req), ErrorCode.EXPIRED)
    w.clock.t = T0
    assert.deepEqual(w.X.wallet.ownerReassign(p2, req).replay, false)
    assert.equal(w.X.wallet.t.owned.get(sn)!.holder, w.W.id)
  })

  it('a holder of a second seq-1 assignment the owner signed is not the current holder (WRONG_HOLDER)', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    w.X.wallet.ownerPay(c.sn, w.Y.id)
    const pz = assignTo(w, c.sn, w.Z.id)
    rejects(w.X.wallet.t, () => w.X.wallet.ownerReassign(pz, requestFor(w, w.Z, pz, w.W.id)), ErrorCode.WRONG_HOLDER)
  })

  it('adopts a broker (downtime) assignment it has not synced yet, then reassigns on top of it', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const keyY = accept(w.Y, p1, w.X.id).key
    const { request } = w.Y.wallet.beginSpend(keyY, w.Z.id)
    const dt = w.ledger.downtimeReassign(p1, request)
    assert.equal(dt.status, 'ok')
    if (dt.status !== 'ok') return
    const pz = extendProof(p1, { link: { assign: dt.assign, request: dt.request } })
    w.Y.wallet.finishSpend(keyY, pz)
    const keyZ = accept(w.Z, pz, w.Y.id).key
    const { request: reqW } = w.Z.wallet.beginSpend(keyZ, w.W.id)
    const r = w.X.wallet.ownerReassign(pz, reqW)
    assert.equal(r.replay, false)
    assert.equal(info(w, r.proof).seq, 3)
    assert.deepEqual(r.proof.chain!.slice(0, 2), pz.chain)
    assert.deepEqual(
      w.X.wallet.trailOf(c.sn).map(e => [e.seq, e.holder, e.by]),
      [
        [1, w.Y.id, 'owner'],
        [2, w.Z.id, 'broker'],
        [3, w.W.id, 'owner']
      ]
    )
    assert.deepEqual(w.X.wallet.chainFromTrail(c.sn, 3), r.proof)
    // syncing the log afterwards adopts nothing new and finds no conflict; the cursor moves only when told
    const [entry] = w.ledger.downtimeLog(w.X.id, 0)
    assert.deepEqual(w.X.wallet.applyDowntime(entry), { adopted: false })
    assert.equal(w.X.wallet.t.meta.get('meta'), undefined)
    w.X.wallet.syncedTo(entry.n)
    assert.equal(w.X.wallet.t.meta.get('meta')!.downtimeCursor, 1)
    w.X.wallet.syncedTo(0)
    assert.equal(w.X.wallet.t.meta.get('meta')!.downtimeCursor, 1, 'the cursor never moves back')
  })

  it('adopts several broker steps in a row from one proof', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const dt2 = w.ledger.downtimeReassign(p1, requestFor(w, w.Y, p1, w.Z.id))
    assert.equal(dt2.status, 'ok')
    if (dt2.status !== 'ok') return
    const p2 = extendProof(p1, { link: { assign: dt2.assign, request: dt2.request } })
    const dt3 = w.ledger.downtimeReassign(p2, requestFor(w, w.Z, p2, w.W.id))
    assert.equal(dt3.status, 'ok')
    if (dt3.status !== 'ok') return
    const p3 = extendProof(p2, { link: { assign: dt3.assign, request: dt3.request } })
    const r = w.X.wallet.ownerReassign(p3, requestFor(w, w.W, p3, w.Y.id))
    assert.deepEqual([r.replay, info(w, r.proof).seq, info(w, r.proof).holder], [false, 4, w.Y.id])
    assert.deepEqual(
      w.X.wallet.trailOf(c.sn).map(e => [e.seq, e.holder, e.by]),
      [
        [1, w.Y.id, 'owner'],
        [2, w.Z.id, 'broker'],
        [3, w.W.id, 'broker'],
        [4, w.Y.id, 'owner']
      ]
    )
  })

  it(
    "attack: the owner's replay after adopting a downtime step returns the broker's assignment, " +
      'which the payee accepts',
    async () => {
      const w = await world()
      const [c] = buyCoins(w, w.X, 1, 10)
      const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
      const keyY = accept(w.Y, p1, w.X.id).key
      const { request } = w.Y.wallet.beginSpend(keyY, w.Z.id)
      // the owner looked offline: the broker honours Y's request
      const dt = w.ledger.downtimeReassign(p1, request)
      assert.equal(dt.status, 'ok')
      if (dt.status !== 'ok') return
      // the owner syncs and adopts the broker's step
      const [entry] = w.ledger.downtimeLog(w.X.id, 0)
      assert.deepEqual(w.X.wallet.applyDowntime(entry), { adopted: true })
      assert.deepEqual(
        w.X.wallet.trailOf(c.sn).map(e => [e.seq, e.holder, e.by]),
        [
          [1, w.Y.id, 'owner'],
          [2, w.Z.id, 'broker']
        ]
      )
      // Y's retry reaches the owner now: a replay, answered with the broker's assignment, signing nothing new
      const before = snapshot(w.X.wallet.t)
      const r = w.X.wallet.ownerReassign(p1, request)
      assert.equal(r.replay, true)
      assert.deepEqual(lastLink(r.proof), { assign: dt.assign, request })
      assert.deepEqual(r.proof, extendProof(p1, { link: { assign: dt.assign, request: dt.request } }))
      assert.equal(snapshot(w.X.wallet.t), before)
      // a different request for the same seq is refused
      rejects(w.X.wallet.t, () => w.X.wallet.ownerReassign(p1, requestFor(w, w.Y, p1, w.W.id)), ErrorCode.STALE_SEQ)
      // the payer finishes, the payee accepts and cashes it
      w.Y.wallet.finishSpend(keyY, r.proof)
      const hz = accept(w.Z, r.proof, w.Y.id)
      assert.deepEqual([hz.seq, hz.depth], [2, 0])
      assert.deepEqual(cashVia(w, w.Z, hz.key), { sn: c.sn, status: 'paid', value: 10, holder: w.Z.id, from: 'coin' })
      assert.equal(w.ledger.t.frauds.size, 0)
      assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z)], [0, 0, 10])
      assertHolds(w)
    }
  )

  it('applyDowntime adopts the next assignment, and ignores entries for coins it does not own', async () => {
    const w = await world()
    const { sn, p2 } = chainToZ(w)
    const req = requestFor(w, w.Z, p2, w.W.id)
    assert.equal(w.ledger.downtimeReassign(p2, req).status, 'ok')
    const [entry] = w.ledger.downtimeLog(w.X.id, 0)
    assert.equal(entry.n, 1)
    // a stranger syncing X's log: nothing adopted, nothing written
    const other = await party(w.broker.id, w.clock)
    const otherBefore = snapshot(other.wallet.t)
    assert.deepEqual(other.wallet.applyDowntime(entry), { adopted: false })
    assert.equal(snapshot(other.wallet.t), otherBefore)
    assert.deepEqual(w.X.wallet.applyDowntime(entry), { adopted: true })
    assert.equal(w.X.wallet.t.meta.get('meta'), undefined, 'applying does not move the cursor')
    const rec = w.X.wallet.t.owned.get(sn)!
    assert.deepEqual([rec.seq, rec.holder, rec.assign], [3, w.W.id, entry.assign])
    assert.equal(w.X.wallet.trailOf(sn)[2].by, 'broker')
    assert.deepEqual(w.X.wallet.applyDowntime(entry), { adopted: false }, 're-applying is a no-op')
    // a forged entry (not signed by the broker) is refused
    const forged = sign(
      w.X,
      TAG.downtimeAssign,
      verifier.open<AssignBody>(fromB64(entry.assign), TAG.downtimeAssign, 't').body
    )
    rejects(w.X.wallet.t, () => w.X.wallet.applyDowntime({ ...entry, assign: forged }), ErrorCode.WRONG_SIGNER)
    rejects(
      w.X.wallet.t,
      () => w.X.wallet.applyDowntime({ ...entry, request: requestFor(w, w.Z, p2, w.Y.id) }),
      ErrorCode.BAD_REQUEST
    )
  })

  it('applyDowntime of a position the owner gave elsewhere returns its own history as the conflict', async () => {
    const w = await world()
    const { sn, p1, p2 } = chainToZ(w)
    // Y also asked the broker to give seq 1 to W
    assert.equal(w.ledger.downtimeReassign(p1, requestFor(w, w.Y, p1, w.W.id)).status, 'ok')
    const [entry] = w.ledger.downtimeLog(w.X.id, 0)
    const before = snapshot(w.X.wallet.t)
    const r = w.X.wallet.applyDowntime(entry)
    assert.deepEqual(r, { adopted: false, conflict: p2 })
    assert.equal(snapshot(w.X.wallet.t), before, 'the owner keeps its own assignment and its cursor')
    assert.equal(w.X.wallet.t.owned.get(sn)!.holder, w.Z.id)
  })

  it('refund: signs a seq-0 cash once; refused after the coin was assigned', async () => {
    const w = await world()
    const [a, b] = buyCoins(w, w.X, 2, 10)
    const r1 = w.X.wallet.beginRefund(a.sn)
    assert.deepEqual(r1.proof, { coin: a.coin })
    assert.deepEqual(w.X.wallet.beginRefund(a.sn), r1, 'a retry sends the same bytes')
    const cash = verifier.open<any>(fromB64(r1.cash), TAG.cash, 't')
    assert.deepEqual([cash.body.seq, cash.body.depth, cash.body.holder, cash.signer], [0, 0, w.X.id, w.X.id])
    w.X.wallet.ownerPay(b.sn, w.Y.id)
    rejects(w.X.wallet.t, () => w.X.wallet.beginRefund(b.sn), ErrorCode.STALE_SEQ)
    rejects(w.X.wallet.t, () => w.X.wallet.beginRefund('nope'), PPayErrorCode.NO_SUCH_COIN)
    // the broker's answer is recorded; a retry still sends the same bytes
    const r = w.ledger.cash(r1.proof, r1.cash)
    assert.equal(r.status, 'paid')
    w.X.wallet.refunded(a.sn, 'paid')
    assert.equal(w.X.wallet.t.owned.get(a.sn)!.refunded, 'paid')
    assert.deepEqual(w.X.wallet.beginRefund(a.sn), r1)
    assert.deepEqual(w.ledger.cash(r1.proof, r1.cash), r, 'the broker answers a retry the same')
    const before = snapshot(w.X.wallet.t)
    w.X.wallet.refunded('nope', 'refused')
    assert.equal(snapshot(w.X.wallet.t), before, 'an unknown coin is ignored')
  })

  it('attack: non-canonical bodies, correctly signed, are BAD_FRAME and leave the wallet unchanged', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    for (const style of ['spaces', 'reordered'] as const) {
      // a payee offered an assignment re-encoded by its owner
      rejects(
        w.Y.wallet.t,
        () => w.Y.wallet.accept(withLink(p1, 0, { assign: nonCanonical(w.X, p1.chain![0].assign, style) }), w.X.id),
        ErrorCode.BAD_FRAME
      )
      // an owner sent a re-encoded request
      const req = requestFor(w, w.Y, p1, w.Z.id)
      rejects(w.X.wallet.t, () => w.X.wallet.ownerReassign(p1, nonCanonical(w.Y, req, style)), ErrorCode.BAD_FRAME)
      // a layer re-encoded by its signer
      const layered = layerFor(w, w.Y, p1, w.Z.id)
      rejects(
        w.Z.wallet.t,
        () => w.Z.wallet.accept({ ...layered, layers: [nonCanonical(w.Y, layered.layers![0], style)] }, w.Y.id),
        ErrorCode.BAD_FRAME
      )
      // a coin re-encoded by the broker
      rejects(
        w.X.wallet.t,
        () => w.X.wallet.addBoughtCoins([nonCanonical(w.broker, c.coin, style)], 'n'),
        ErrorCode.BAD_FRAME
      )
    }
    // a downtime log entry whose request or assignment is re-encoded
    const { p2 } = chainToZ(w)
    const req = requestFor(w, w.Z, p2, w.W.id)
    assert.equal(w.ledger.downtimeReassign(p2, req).status, 'ok')
    const [entry] = w.ledger.downtimeLog(w.X.id, 0)
    rejects(
      w.X.wallet.t,
      () => w.X.wallet.applyDowntime({ ...entry, request: nonCanonical(w.Z, entry.request, 'spaces') }),
      ErrorCode.BAD_FRAME
    )
    rejects(
      w.X.wallet.t,
      () => w.X.wallet.applyDowntime({ ...entry, assign: nonCanonical(w.broker, entry.assign, 'reordered') }),
      ErrorCode.BAD_FRAME
    )
    // the canonical objects still go through; nobody was convicted of anything, no money moved
    const hy = accept(w.Y, p1, w.X.id)
    assert.equal(hy.seq, 1)
    assert.deepEqual(w.X.wallet.applyDowntime(entry), { adopted: true })
    assert.equal(cashVia(w, w.Y, hy.key).status, 'paid')
    assert.equal(w.ledger.t.frauds.size, 0)
    assert.deepEqual([bal(w, w.X), bal(w, w.Y), bal(w, w.Z), bal(w, w.W)], [0, 10, 0, 0])
    assertHolds(w)
  })
})
