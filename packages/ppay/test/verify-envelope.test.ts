// Pure verification, envelopes: decoding, versions, tags, signatures and the
// envelope attacks every signed object must survive.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, toB64, fromB64 } from '@p2pay/core'
import { TAG, type AssignBody, type CoinBody } from '../src/core/types.ts'
import { decodeEnvelope, verifyCoin, verifyProof } from '../src/core/verify.ts'
import {
  world,
  ident,
  sign,
  verifier,
  flip,
  layout,
  withVersion,
  step,
  withLink,
  nonCanonical,
  throwsCode,
  T0,
  COIN_TTL
} from './fixtures.ts'
import { opts, ownCoin } from './verify-helpers.ts'

describe('envelopes', () => {
  it('decodeEnvelope rejects non-strings, empty and oversized input', () => {
    for (const bad of [undefined, null, 42, {}, '', 'A'.repeat(8193)]) {
      throwsCode(() => decodeEnvelope(bad, 'x'), ErrorCode.BAD_REQUEST)
    }
    assert.deepEqual([...decodeEnvelope(toB64(new Uint8Array([1, 2, 3])), 'x')], [1, 2, 3])
  })

  it('a coin signed by the broker verifies and carries what was sold', async () => {
    const w = await world()
    const { coin, sn } = ownCoin(w)
    const c = verifyCoin(verifier, coin, w.broker.id, 'test')
    assert.equal(c.tag, TAG.coin)
    assert.equal(c.signer, w.broker.id)
    assert.deepEqual(c.body, { broker: w.broker.id, owner: w.X.id, sn, value: 10, expiry: T0 + COIN_TTL })
    assert.match(c.hash, /^[0-9a-f]{64}$/)
  })

  it('a coin signed by another key is WRONG_BROKER, even if its body names the broker', async () => {
    const w = await world()
    const mallory = await ident()
    const body: CoinBody = { broker: w.broker.id, owner: w.X.id, sn: 'aa'.repeat(16), value: 10, expiry: T0 + COIN_TTL }
    throwsCode(() => verifyCoin(verifier, sign(mallory, TAG.coin, body), w.broker.id, 'test'), ErrorCode.WRONG_BROKER)
    // signed by the broker but naming another broker in the body
    throwsCode(
      () => verifyCoin(verifier, sign(w.broker, TAG.coin, { ...body, broker: mallory.id }), w.broker.id, 'test'),
      ErrorCode.WRONG_BROKER
    )
    // a well-formed coin of another broker
    throwsCode(
      () => verifyCoin(verifier, sign(mallory, TAG.coin, { ...body, broker: mallory.id }), w.broker.id, 'test'),
      ErrorCode.WRONG_BROKER
    )
  })

  it('a malformed coin body is BAD_REQUEST', async () => {
    const w = await world()
    const good: CoinBody = { broker: w.broker.id, owner: w.X.id, sn: 'bb'.repeat(16), value: 10, expiry: T0 }
    for (const over of [
      { value: 0 },
      { value: -1 },
      { value: '10' as any },
      { sn: '' },
      { owner: '' },
      { expiry: -1 }
    ]) {
      throwsCode(
        () => verifyCoin(verifier, sign(w.broker, TAG.coin, { ...good, ...over }), w.broker.id, 'test'),
        ErrorCode.BAD_REQUEST
      )
    }
  })

  it('any flipped byte of body, signer key or signature is BAD_SIGNATURE', async () => {
    const w = await world()
    const { coin } = ownCoin(w)
    const l = layout(coin)
    for (const off of [
      l.bodyStart,
      l.bodyStart + 20,
      l.sigStart - 1,
      l.signerStart,
      l.signerStart + 31,
      l.sigStart,
      l.length - 1
    ]) {
      throwsCode(() => verifyCoin(verifier, flip(coin, off), w.broker.id, 'test'), ErrorCode.BAD_SIGNATURE)
    }
  })

  it('an unknown envelope version is UNKNOWN_VERSION', async () => {
    const w = await world()
    const { coin } = ownCoin(w)
    for (const v of [0, 2, 255])
      throwsCode(() => verifyCoin(verifier, withVersion(coin, v), w.broker.id, 'test'), ErrorCode.UNKNOWN_VERSION)
  })

  it('an object signed under another tag is WRONG_TAG', async () => {
    const w = await world()
    const { coin, sn, hash } = ownCoin(w)
    const assign = sign<AssignBody>(w.X, TAG.assign, {
      sn,
      coin: hash,
      owner: w.X.id,
      seq: 1,
      holder: w.Y.id,
      request: null
    })
    // an assignment presented as a coin
    throwsCode(() => verifyCoin(verifier, assign, w.broker.id, 'test'), ErrorCode.WRONG_TAG)
    // a coin presented as an assignment
    throwsCode(() => verifyProof(verifier, { coin, chain: [{ assign: coin }] }, opts(w)), ErrorCode.WRONG_TAG)
    // an assignment presented as a request
    const p1 = { coin, chain: [{ assign }] }
    const p2 = step(w, p1, w.Y, w.Z.id).proof
    throwsCode(() => verifyProof(verifier, withLink(p2, 1, { request: assign }), opts(w)), ErrorCode.WRONG_TAG)
    // the broker's coin body signed under the assignment tag
    const retagged = sign<CoinBody>(w.broker, TAG.assign, verifyCoin(verifier, coin, w.broker.id, 'test').body)
    throwsCode(() => verifyCoin(verifier, retagged, w.broker.id, 'test'), ErrorCode.WRONG_TAG)
    // tampering with the tag bytes changes the tag before the signature is checked
    throwsCode(
      () => verifyCoin(verifier, flip(coin, layout(coin).tagStart + 3), w.broker.id, 'test'),
      ErrorCode.WRONG_TAG
    )
  })

  it('a truncated envelope is BAD_FRAME', async () => {
    const w = await world()
    const { coin } = ownCoin(w)
    const b = fromB64(coin)
    throwsCode(
      () => verifyCoin(verifier, toB64(b.subarray(0, b.byteLength - 1)), w.broker.id, 'test'),
      ErrorCode.BAD_FRAME
    )
    throwsCode(() => verifyCoin(verifier, toB64(b.subarray(0, 50)), w.broker.id, 'test'), ErrorCode.BAD_FRAME)
  })

  it('a correctly signed but non-canonical body (spaces, key order) is BAD_FRAME', async () => {
    const w = await world()
    const { coin, sn, hash } = ownCoin(w)
    for (const style of ['spaces', 'reordered'] as const) {
      throwsCode(
        () => verifyCoin(verifier, nonCanonical(w.broker, coin, style), w.broker.id, 'test'),
        ErrorCode.BAD_FRAME
      )
      const assign = sign<AssignBody>(w.X, TAG.assign, {
        sn,
        coin: hash,
        owner: w.X.id,
        seq: 1,
        holder: w.Y.id,
        request: null
      })
      assert.equal(verifyProof(verifier, { coin, chain: [{ assign }] }, opts(w)).holder, w.Y.id)
      throwsCode(
        () => verifyProof(verifier, { coin, chain: [{ assign: nonCanonical(w.X, assign, style) }] }, opts(w)),
        ErrorCode.BAD_FRAME
      )
      const p2 = step(w, { coin, chain: [{ assign }] }, w.Y, w.Z.id).proof
      throwsCode(
        () =>
          verifyProof(verifier, withLink(p2, 1, { request: nonCanonical(w.Y, p2.chain![1].request!, style) }), opts(w)),
        ErrorCode.BAD_FRAME
      )
    }
  })
})
