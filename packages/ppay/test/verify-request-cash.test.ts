// Pure verification of reassignment requests and cash requests against the
// proof they refer to.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { TAG, BROKER_SINK, posKey } from '../src/core/types.ts'
import { verifyCash, verifyRequest } from '../src/core/verify.ts'
import {
  world,
  ident,
  sign,
  verifier,
  info,
  cashFor,
  requestFor,
  layerFor,
  flip,
  layout,
  throwsCode
} from './fixtures.ts'
import { ownCoin } from './verify-helpers.ts'

describe('verifyRequest and verifyCash', () => {
  it('a request from the holder at its seq verifies as a transfer of that position', async () => {
    const w = await world()
    const { coin } = ownCoin(w)
    const p1 = w.X.wallet.ownerPay(info(w, { coin }).sn, w.Y.id)
    const req = requestFor(w, w.Y, p1, w.Z.id)
    const { request, transfer } = verifyRequest(verifier, req, info(w, p1), 'test')
    assert.equal(request.body.to, w.Z.id)
    assert.deepEqual(
      { ...transfer, hash: undefined },
      { pos: '1.0', signer: w.Y.id, to: w.Z.id, hash: undefined, bytes: req, kind: 'request' }
    )
    assert.equal(transfer.hash, request.hash)
  })

  it('a request for another seq is STALE_SEQ; one signed or named by a non-holder is WRONG_HOLDER', async () => {
    const w = await world()
    const { coin } = ownCoin(w)
    const p1 = w.X.wallet.ownerPay(info(w, { coin }).sn, w.Y.id)
    const i = info(w, p1)
    throwsCode(() => verifyRequest(verifier, requestFor(w, w.Y, p1, w.Z.id, { seq: 0 }), i, 't'), ErrorCode.STALE_SEQ)
    throwsCode(() => verifyRequest(verifier, requestFor(w, w.Y, p1, w.Z.id, { seq: 2 }), i, 't'), ErrorCode.STALE_SEQ)
    throwsCode(() => verifyRequest(verifier, requestFor(w, w.Z, p1, w.W.id), i, 't'), ErrorCode.WRONG_HOLDER)
    throwsCode(
      () => verifyRequest(verifier, requestFor(w, w.Z, p1, w.W.id, { from: w.Y.id }), i, 't'),
      ErrorCode.WRONG_HOLDER
    )
    throwsCode(() => verifyRequest(verifier, requestFor(w, w.Y, p1, w.Y.id), i, 't'), ErrorCode.BAD_REQUEST)
    throwsCode(
      () => verifyRequest(verifier, requestFor(w, w.Y, p1, w.Z.id, { prev: 'ab'.repeat(32) }), i, 't'),
      ErrorCode.BAD_REQUEST
    )
    throwsCode(
      () => verifyRequest(verifier, requestFor(w, w.Y, p1, w.Z.id, { owner: w.Y.id }), i, 't'),
      ErrorCode.BAD_REQUEST
    )
    // the owner pays with an assignment, and a layered coin is never reassigned
    throwsCode(
      () => verifyRequest(verifier, requestFor(w, w.X, { coin }, w.Z.id), info(w, { coin }), 't'),
      ErrorCode.BAD_REQUEST
    )
    const layered = layerFor(w, w.Y, p1, w.Z.id)
    throwsCode(
      () => verifyRequest(verifier, requestFor(w, w.Z, layered, w.W.id), info(w, layered), 't'),
      ErrorCode.BAD_REQUEST
    )
    throwsCode(() => verifyRequest(verifier, sign(w.Y, TAG.cash, {}), i, 't'), ErrorCode.WRONG_TAG)
  })

  it('a cash request must come from the final holder, for this broker, pointing at the tip', async () => {
    const w = await world()
    const { coin } = ownCoin(w)
    const p1 = w.X.wallet.ownerPay(info(w, { coin }).sn, w.Y.id)
    const i = info(w, p1)
    const ok = verifyCash(verifier, cashFor(w, w.Y, p1), i, w.broker.id, 't')
    assert.deepEqual(
      [ok.transfer.pos, ok.transfer.signer, ok.transfer.to, ok.transfer.kind],
      [posKey(i), w.Y.id, BROKER_SINK, 'cash']
    )
    const other = await ident()
    throwsCode(
      () => verifyCash(verifier, cashFor(w, w.Y, p1, { broker: other.id }), i, w.broker.id, 't'),
      ErrorCode.WRONG_BROKER
    )
    throwsCode(() => verifyCash(verifier, cashFor(w, w.Z, p1), i, w.broker.id, 't'), ErrorCode.WRONG_HOLDER)
    throwsCode(
      () => verifyCash(verifier, cashFor(w, w.Z, p1, { holder: w.Y.id }), i, w.broker.id, 't'),
      ErrorCode.WRONG_HOLDER
    )
    throwsCode(() => verifyCash(verifier, cashFor(w, w.Y, p1, { seq: 2 }), i, w.broker.id, 't'), ErrorCode.BAD_REQUEST)
    throwsCode(
      () => verifyCash(verifier, cashFor(w, w.Y, p1, { depth: 1 }), i, w.broker.id, 't'),
      ErrorCode.BAD_REQUEST
    )
    throwsCode(
      () => verifyCash(verifier, cashFor(w, w.Y, p1, { prev: 'ab'.repeat(32) }), i, w.broker.id, 't'),
      ErrorCode.BAD_REQUEST
    )
    throwsCode(
      () => verifyCash(verifier, flip(cashFor(w, w.Y, p1), layout(cashFor(w, w.Y, p1)).sigStart), i, w.broker.id, 't'),
      ErrorCode.BAD_SIGNATURE
    )
  })
})
