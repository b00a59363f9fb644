// The broker's ledger, the downtime path: reassignments for an offline owner,
// the downtime log, replays and refusals.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64 } from '@p2pay/core'
import { PPayErrorCode } from '../src/errors.ts'
import { TAG, type AssignBody, type CoinProof } from '../src/core/types.ts'
import { extendProof, verifyCoin } from '../src/core/verify.ts'
import {
  world,
  sign,
  verifier,
  cashFor,
  requestFor,
  layerFor,
  buyCoins,
  accept,
  rejects,
  snapshot,
  T0,
  COIN_TTL,
  CASH_GRACE
} from './fixtures.ts'
import { viaBroker } from './ledger-helpers.ts'

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
