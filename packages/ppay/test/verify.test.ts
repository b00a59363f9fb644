// Pure verification: coins, proofs, cash requests, reassignment requests and
// the envelope attacks every one of them must survive.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, toB64, fromB64 } from '@p2pay/core'
import { TAG, BROKER_SINK, posKey, type AssignBody, type CoinBody, type CoinProof } from '../src/types.ts'
import { decodeEnvelope, extendProof, verifyCash, verifyCoin, verifyProof, verifyRequest } from '../src/verify.ts'
import {
  world, ident, sign, verifier, info, cashFor, requestFor, layerFor, chainToZ, buyCoins, flip, layout, withVersion,
  throwsCode, T0, COIN_TTL, MAX_LAYERS, type World
} from './fixtures.ts'

const opts = (w: World, over: Partial<{ now: number, allowExpired: boolean, maxLayers: number }> = {}) =>
  ({ broker: w.broker.id, now: w.clock.t, maxLayers: MAX_LAYERS, kind: 'test', ...over })

function ownCoin (w: World): { sn: string, coin: string, hash: string } {
  const [c] = buyCoins(w, w.X, 1, 10)
  return { sn: c.sn, coin: c.coin, hash: verifyCoin(verifier, c.coin, w.broker.id, 'test').hash }
}

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
    throwsCode(() => verifyCoin(verifier, sign(w.broker, TAG.coin, { ...body, broker: mallory.id }), w.broker.id, 'test'), ErrorCode.WRONG_BROKER)
    // a well-formed coin of another broker
    throwsCode(() => verifyCoin(verifier, sign(mallory, TAG.coin, { ...body, broker: mallory.id }), w.broker.id, 'test'), ErrorCode.WRONG_BROKER)
  })

  it('a malformed coin body is BAD_REQUEST', async () => {
    const w = await world()
    const good: CoinBody = { broker: w.broker.id, owner: w.X.id, sn: 'bb'.repeat(16), value: 10, expiry: T0 }
    for (const over of [{ value: 0 }, { value: -1 }, { value: '10' as any }, { sn: '' }, { owner: '' }, { expiry: -1 }]) {
      throwsCode(() => verifyCoin(verifier, sign(w.broker, TAG.coin, { ...good, ...over }), w.broker.id, 'test'), ErrorCode.BAD_REQUEST)
    }
  })

  it('any flipped byte of body, signer key or signature is BAD_SIGNATURE', async () => {
    const w = await world()
    const { coin } = ownCoin(w)
    const l = layout(coin)
    for (const off of [l.bodyStart, l.bodyStart + 20, l.sigStart - 1, l.signerStart, l.signerStart + 31, l.sigStart, l.length - 1]) {
      throwsCode(() => verifyCoin(verifier, flip(coin, off), w.broker.id, 'test'), ErrorCode.BAD_SIGNATURE)
    }
  })

  it('an unknown envelope version is UNKNOWN_VERSION', async () => {
    const w = await world()
    const { coin } = ownCoin(w)
    for (const v of [0, 2, 255]) throwsCode(() => verifyCoin(verifier, withVersion(coin, v), w.broker.id, 'test'), ErrorCode.UNKNOWN_VERSION)
  })

  it('an object signed under another tag is WRONG_TAG', async () => {
    const w = await world()
    const { coin, sn, hash } = ownCoin(w)
    const assign = sign<AssignBody>(w.X, TAG.assign, { sn, coin: hash, owner: w.X.id, seq: 1, holder: w.Y.id, request: null })
    // an assignment presented as a coin
    throwsCode(() => verifyCoin(verifier, assign, w.broker.id, 'test'), ErrorCode.WRONG_TAG)
    // a coin presented as an assignment
    throwsCode(() => verifyProof(verifier, { coin, assign: coin }, opts(w)), ErrorCode.WRONG_TAG)
    // the broker's coin body signed under the assignment tag
    const retagged = sign<CoinBody>(w.broker, TAG.assign, verifyCoin(verifier, coin, w.broker.id, 'test').body)
    throwsCode(() => verifyCoin(verifier, retagged, w.broker.id, 'test'), ErrorCode.WRONG_TAG)
    // tampering with the tag bytes changes the tag before the signature is checked
    throwsCode(() => verifyCoin(verifier, flip(coin, layout(coin).tagStart + 3), w.broker.id, 'test'), ErrorCode.WRONG_TAG)
  })

  it('a truncated envelope is BAD_FRAME', async () => {
    const w = await world()
    const { coin } = ownCoin(w)
    const b = fromB64(coin)
    throwsCode(() => verifyCoin(verifier, toB64(b.subarray(0, b.byteLength - 1)), w.broker.id, 'test'), ErrorCode.BAD_FRAME)
    throwsCode(() => verifyCoin(verifier, toB64(b.subarray(0, 50)), w.broker.id, 'test'), ErrorCode.BAD_FRAME)
  })
})

describe('verifyProof', () => {
  it('reads an unassigned coin as held by its owner at seq 0', async () => {
    const w = await world()
    const { coin, sn, hash } = ownCoin(w)
    const i = verifyProof(verifier, { coin }, opts(w))
    assert.equal(i.sn, sn)
    assert.equal(i.seq, 0)
    assert.equal(i.depth, 0)
    assert.equal(i.holder, w.X.id)
    assert.equal(i.tipHash, hash)
    assert.deepEqual(i.transfers, [])
    assert.equal(i.ownerAssign, undefined)
  })

  it('walks owner assignment, request and layers, recording every transfer at its position', async () => {
    const w = await world()
    const { p1, p2, keyZ, request } = chainToZ(w)
    const i1 = info(w, p1)
    assert.equal(i1.seq, 1)
    assert.equal(i1.holder, w.Y.id)
    assert.deepEqual(i1.transfers.map(t => [t.pos, t.signer, t.to, t.kind]), [['0.0', w.X.id, w.Y.id, 'assign']])
    assert.equal(i1.ownerAssign?.seq, 1)

    const p3 = w.Z.wallet.layer(keyZ, w.W.id)
    const i3 = verifyProof(verifier, p3, opts(w))
    assert.equal(i3.seq, 2)
    assert.equal(i3.depth, 1)
    assert.equal(i3.holder, w.W.id)
    assert.equal(i3.tipHash, i3.layers[0].hash)
    assert.deepEqual(i3.transfers.map(t => [t.pos, t.signer, t.to, t.kind]), [
      ['1.0', w.Y.id, w.Z.id, 'request'],
      ['2.0', w.Z.id, w.W.id, 'layer']
    ])
    assert.equal(i3.transfers[0].bytes, request)
    assert.equal(i3.request?.body.to, w.Z.id)
    assert.equal(i3.ownerAssign?.seq, 2)
    assert.equal(i3.ownerAssign?.holder, w.Z.id)
    assert.equal(info(w, p2).tipHash, i3.layers[0].body.prev)
  })

  it('expiry: valid up to and including expiry, EXPIRED after, unless allowExpired', async () => {
    const w = await world()
    const { coin } = ownCoin(w)
    const expiry = T0 + COIN_TTL
    assert.equal(verifyProof(verifier, { coin }, opts(w, { now: expiry })).expiry, expiry)
    throwsCode(() => verifyProof(verifier, { coin }, opts(w, { now: expiry + 1 })), ErrorCode.EXPIRED)
    assert.equal(verifyProof(verifier, { coin }, opts(w, { now: expiry + 1, allowExpired: true })).seq, 0)
  })

  it('an owner assignment signed by someone else is WRONG_SIGNER; so is a downtime one not signed by the broker', async () => {
    const w = await world()
    const { coin, sn, hash } = ownCoin(w)
    const body: AssignBody = { sn, coin: hash, owner: w.X.id, seq: 1, holder: w.Y.id, request: null }
    throwsCode(() => verifyProof(verifier, { coin, assign: sign(w.Y, TAG.assign, body) }, opts(w)), ErrorCode.WRONG_SIGNER)
    throwsCode(() => verifyProof(verifier, { coin, assign: sign(w.broker, TAG.assign, body) }, opts(w)), ErrorCode.WRONG_SIGNER)
    const req = requestFor(w, w.Y, { coin, assign: sign(w.X, TAG.assign, body) }, w.Z.id)
    const reqHash = verifier.open(fromB64(req), TAG.request, 't').hash
    const dt: AssignBody = { ...body, seq: 2, holder: w.Z.id, request: reqHash }
    throwsCode(() => verifyProof(verifier, { coin, assign: sign(w.X, TAG.downtimeAssign, dt), request: req }, opts(w)), ErrorCode.WRONG_SIGNER)
    assert.equal(verifyProof(verifier, { coin, assign: sign(w.broker, TAG.downtimeAssign, dt), request: req }, opts(w)).holder, w.Z.id)
  })

  it('rejects assignments that do not match their coin or their request', async () => {
    const w = await world()
    const { coin, sn, hash } = ownCoin(w)
    const body: AssignBody = { sn, coin: hash, owner: w.X.id, seq: 1, holder: w.Y.id, request: null }
    const bad = (over: Partial<AssignBody>, extra: Partial<CoinProof> = {}) =>
      throwsCode(() => verifyProof(verifier, { coin, assign: sign(w.X, TAG.assign, { ...body, ...over }), ...extra }, opts(w)), ErrorCode.BAD_REQUEST)
    bad({ sn: 'cc'.repeat(16) })
    bad({ coin: 'dd'.repeat(32) })
    bad({ seq: 0 })
    bad({ holder: '' })
    bad({ request: 'ee'.repeat(32) }) // seq 1 carries no request
    const p1 = { coin, assign: sign(w.X, TAG.assign, body) }
    const req = requestFor(w, w.Y, p1, w.Z.id)
    bad({}, { request: req }) // nor does its proof
    bad({ seq: 2, holder: w.Z.id, request: null }, { request: req }) // seq 2 must name its request
    bad({ seq: 2, holder: w.Z.id, request: 'ee'.repeat(32) }, { request: req }) // ... the right one
    const reqHash = verifier.open(fromB64(req), TAG.request, 't').hash
    bad({ seq: 2, holder: w.W.id, request: reqHash }, { request: req }) // request asked for Z
    bad({ seq: 3, holder: w.Z.id, request: reqHash }, { request: req }) // request was for seq 1
    throwsCode(() => verifyProof(verifier, { coin, request: req }, opts(w)), ErrorCode.BAD_REQUEST)
    // a request whose signer is not its `from`
    const forged = sign(w.Z, TAG.request, { ...verifier.open<any>(fromB64(req), TAG.request, 't').body })
    const forgedHash = verifier.open(fromB64(forged), TAG.request, 't').hash
    bad({ seq: 2, holder: w.Z.id, request: forgedHash }, { request: forged })
  })

  it('layers: more than maxLayers is LAYER_DEPTH, a layer not signed by the holder below is WRONG_HOLDER, a broken chain is BAD_REQUEST', async () => {
    const w = await world()
    const { coin } = ownCoin(w)
    const p1 = w.X.wallet.ownerPay(info(w, { coin }).sn, w.Y.id)
    const l1 = layerFor(w, w.Y, p1, w.Z.id)
    const l2 = layerFor(w, w.Z, l1, w.W.id)
    assert.equal(verifyProof(verifier, l2, opts(w)).depth, 2)
    const l3 = layerFor(w, w.W, l2, w.Y.id)
    throwsCode(() => verifyProof(verifier, l3, opts(w)), ErrorCode.LAYER_DEPTH)
    assert.equal(verifyProof(verifier, l3, opts(w, { maxLayers: 3 })).holder, w.Y.id)

    throwsCode(() => verifyProof(verifier, layerFor(w, w.Z, p1, w.W.id), opts(w)), ErrorCode.WRONG_HOLDER)
    throwsCode(() => verifyProof(verifier, layerFor(w, w.Z, p1, w.W.id, { from: w.Y.id }), opts(w)), ErrorCode.WRONG_HOLDER)
    throwsCode(() => verifyProof(verifier, layerFor(w, w.Y, p1, w.Z.id, { prev: 'ff'.repeat(32) }), opts(w)), ErrorCode.BAD_REQUEST)
    throwsCode(() => verifyProof(verifier, layerFor(w, w.Y, p1, w.Z.id, { depth: 2 }), opts(w)), ErrorCode.BAD_REQUEST)
    throwsCode(() => verifyProof(verifier, layerFor(w, w.Y, p1, w.Z.id, { seq: 2 }), opts(w)), ErrorCode.BAD_REQUEST)
    // layers swapped out of order
    throwsCode(() => verifyProof(verifier, { ...p1, layers: [l2.layers![1], l2.layers![0]] }, opts(w)), ErrorCode.BAD_REQUEST)
    // an unassigned coin cannot carry layers
    throwsCode(() => verifyProof(verifier, { coin, layers: l1.layers }, opts(w)), ErrorCode.BAD_REQUEST)
    throwsCode(() => verifyProof(verifier, { ...p1, layers: 'x' as any }, opts(w)), ErrorCode.BAD_REQUEST)
    throwsCode(() => verifyProof(verifier, null as any, opts(w)), ErrorCode.BAD_REQUEST)
  })
})

describe('verifyRequest and verifyCash', () => {
  it('a request from the holder at its seq verifies as a transfer of that position', async () => {
    const w = await world()
    const { coin } = ownCoin(w)
    const p1 = w.X.wallet.ownerPay(info(w, { coin }).sn, w.Y.id)
    const req = requestFor(w, w.Y, p1, w.Z.id)
    const { request, transfer } = verifyRequest(verifier, req, info(w, p1), 'test')
    assert.equal(request.body.to, w.Z.id)
    assert.deepEqual({ ...transfer, hash: undefined }, { pos: '1.0', signer: w.Y.id, to: w.Z.id, hash: undefined, bytes: req, kind: 'request' })
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
    throwsCode(() => verifyRequest(verifier, requestFor(w, w.Z, p1, w.W.id, { from: w.Y.id }), i, 't'), ErrorCode.WRONG_HOLDER)
    throwsCode(() => verifyRequest(verifier, requestFor(w, w.Y, p1, w.Y.id), i, 't'), ErrorCode.BAD_REQUEST)
    throwsCode(() => verifyRequest(verifier, requestFor(w, w.Y, p1, w.Z.id, { prev: 'ab'.repeat(32) }), i, 't'), ErrorCode.BAD_REQUEST)
    throwsCode(() => verifyRequest(verifier, requestFor(w, w.Y, p1, w.Z.id, { owner: w.Y.id }), i, 't'), ErrorCode.BAD_REQUEST)
    // the owner pays with an assignment, and a layered coin is never reassigned
    throwsCode(() => verifyRequest(verifier, requestFor(w, w.X, { coin }, w.Z.id), info(w, { coin }), 't'), ErrorCode.BAD_REQUEST)
    const layered = layerFor(w, w.Y, p1, w.Z.id)
    throwsCode(() => verifyRequest(verifier, requestFor(w, w.Z, layered, w.W.id), info(w, layered), 't'), ErrorCode.BAD_REQUEST)
    throwsCode(() => verifyRequest(verifier, sign(w.Y, TAG.cash, {}), i, 't'), ErrorCode.WRONG_TAG)
  })

  it('a cash request must come from the final holder, for this broker, pointing at the tip', async () => {
    const w = await world()
    const { coin } = ownCoin(w)
    const p1 = w.X.wallet.ownerPay(info(w, { coin }).sn, w.Y.id)
    const i = info(w, p1)
    const ok = verifyCash(verifier, cashFor(w, w.Y, p1), i, w.broker.id, 't')
    assert.deepEqual([ok.transfer.pos, ok.transfer.signer, ok.transfer.to, ok.transfer.kind], [posKey(i), w.Y.id, BROKER_SINK, 'cash'])
    const other = await ident()
    throwsCode(() => verifyCash(verifier, cashFor(w, w.Y, p1, { broker: other.id }), i, w.broker.id, 't'), ErrorCode.WRONG_BROKER)
    throwsCode(() => verifyCash(verifier, cashFor(w, w.Z, p1), i, w.broker.id, 't'), ErrorCode.WRONG_HOLDER)
    throwsCode(() => verifyCash(verifier, cashFor(w, w.Z, p1, { holder: w.Y.id }), i, w.broker.id, 't'), ErrorCode.WRONG_HOLDER)
    throwsCode(() => verifyCash(verifier, cashFor(w, w.Y, p1, { seq: 2 }), i, w.broker.id, 't'), ErrorCode.BAD_REQUEST)
    throwsCode(() => verifyCash(verifier, cashFor(w, w.Y, p1, { depth: 1 }), i, w.broker.id, 't'), ErrorCode.BAD_REQUEST)
    throwsCode(() => verifyCash(verifier, cashFor(w, w.Y, p1, { prev: 'ab'.repeat(32) }), i, w.broker.id, 't'), ErrorCode.BAD_REQUEST)
    throwsCode(() => verifyCash(verifier, flip(cashFor(w, w.Y, p1), layout(cashFor(w, w.Y, p1)).sigStart), i, w.broker.id, 't'), ErrorCode.BAD_SIGNATURE)
  })
})

describe('extendProof', () => {
  it('appends a layer, or replaces assignment and request with the new ones (dropping layers)', () => {
    const base = { coin: 'c', assign: 'a1', layers: ['l1'] }
    assert.deepEqual(extendProof(base, { layer: 'l2' }), { coin: 'c', assign: 'a1', layers: ['l1', 'l2'] })
    assert.deepEqual(base.layers, ['l1'], 'input not mutated')
    assert.deepEqual(extendProof({ coin: 'c' }, { layer: 'l1' }), { coin: 'c', layers: ['l1'] })
    assert.deepEqual(extendProof(base, { assign: 'a2', request: 'r2' }), { coin: 'c', assign: 'a2', request: 'r2' })
    assert.deepEqual(extendProof(base, { assign: 'a2' }), { coin: 'c', assign: 'a2' })
  })
})
