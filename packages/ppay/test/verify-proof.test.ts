// Pure verification of coin proofs: chains, layers, downtime steps, expiry and
// forged or malformed histories; and extendProof, which builds them.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64 } from '@p2pay/core'
import { PPayErrorCode } from '../src/errors.ts'
import { TAG, MAX_CHAIN, type AssignBody, type ChainLink, type CoinProof } from '../src/core/types.ts'
import { extendProof, verifyProof, verifyRequest } from '../src/core/verify.ts'
import {
  world,
  sign,
  verifier,
  info,
  requestFor,
  layerFor,
  chainToZ,
  step,
  longChain,
  throwsCode,
  T0,
  COIN_TTL
} from './fixtures.ts'
import { opts, ownCoin } from './verify-helpers.ts'

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
    assert.deepEqual(i.assigns, [])
    assert.deepEqual(i.requests, [])
    // an empty chain reads the same as none
    assert.equal(verifyProof(verifier, { coin, chain: [] }, opts(w)).seq, 0)
  })

  it('walks the whole chain and the layers, recording every transfer at its position', async () => {
    const w = await world()
    const { p1, p2, keyZ, request } = chainToZ(w)
    const i1 = info(w, p1)
    assert.equal(i1.seq, 1)
    assert.equal(i1.holder, w.Y.id)
    assert.deepEqual(
      i1.transfers.map(t => [t.pos, t.signer, t.to, t.kind]),
      [['0.0', w.X.id, w.Y.id, 'assign']]
    )
    assert.deepEqual(
      i1.assigns.map(a => [a.tag, a.body.seq, a.body.holder]),
      [[TAG.assign, 1, w.Y.id]]
    )
    assert.deepEqual(i1.requests, [undefined])
    // the seq-2 proof carries the seq-1 step unchanged
    assert.deepEqual(p2.chain![0], p1.chain![0])

    const p3 = w.Z.wallet.layer(keyZ, w.W.id)
    const i3 = verifyProof(verifier, p3, opts(w))
    assert.equal(i3.seq, 2)
    assert.equal(i3.depth, 1)
    assert.equal(i3.holder, w.W.id)
    assert.equal(i3.tipHash, i3.layers[0].hash)
    assert.deepEqual(
      i3.transfers.map(t => [t.pos, t.signer, t.to, t.kind]),
      [
        ['0.0', w.X.id, w.Y.id, 'assign'],
        ['1.0', w.Y.id, w.Z.id, 'request'],
        ['2.0', w.Z.id, w.W.id, 'layer']
      ]
    )
    assert.equal(i3.transfers[0].bytes, p1.chain![0].assign)
    assert.equal(i3.transfers[1].bytes, request)
    assert.equal(i3.requests[1]?.body.to, w.Z.id)
    assert.equal(i3.requests[1]?.body.prev, i1.tipHash)
    assert.deepEqual(
      i3.assigns.map(a => [a.tag, a.signer, a.body.seq, a.body.holder]),
      [
        [TAG.assign, w.X.id, 1, w.Y.id],
        [TAG.assign, w.X.id, 2, w.Z.id]
      ]
    )
    assert.equal(info(w, p2).tipHash, i3.layers[0].body.prev)
  })

  it(
    'a long history: steps by owner and broker alternate freely; each ' + 'request points at the assignment below',
    async () => {
      const w = await world()
      const { p2 } = chainToZ(w)
      const p3 = step(w, p2, w.Z, w.W.id, { by: w.broker, tag: TAG.downtimeAssign }).proof
      const p4 = step(w, p3, w.W, w.Y.id).proof
      const i4 = info(w, p4)
      assert.deepEqual([i4.seq, i4.holder], [4, w.Y.id])
      assert.deepEqual(
        i4.assigns.map(a => a.tag),
        [TAG.assign, TAG.assign, TAG.downtimeAssign, TAG.assign]
      )
      assert.deepEqual(
        i4.transfers.map(t => [t.pos, t.signer, t.to]),
        [
          ['0.0', w.X.id, w.Y.id],
          ['1.0', w.Y.id, w.Z.id],
          ['2.0', w.Z.id, w.W.id],
          ['3.0', w.W.id, w.Y.id]
        ]
      )
      for (let s = 1; s < 4; s++) assert.equal(i4.requests[s]!.body.prev, i4.assigns[s - 1].hash)
      // dropping, swapping or repeating a step breaks the chain
      throwsCode(
        () => verifyProof(verifier, { coin: p4.coin, chain: [p4.chain![0], ...p4.chain!.slice(2)] }, opts(w)),
        ErrorCode.BAD_REQUEST
      )
      throwsCode(
        () =>
          verifyProof(
            verifier,
            { coin: p4.coin, chain: [p4.chain![0], p4.chain![2], p4.chain![1], p4.chain![3]] },
            opts(w)
          ),
        ErrorCode.BAD_REQUEST
      )
      throwsCode(
        () => verifyProof(verifier, { coin: p4.coin, chain: [...p4.chain!, p4.chain![3]] }, opts(w)),
        ErrorCode.BAD_REQUEST
      )
    }
  )

  it('expiry: valid up to and including expiry, EXPIRED after, unless allowExpired', async () => {
    const w = await world()
    const { coin } = ownCoin(w)
    const expiry = T0 + COIN_TTL
    assert.equal(verifyProof(verifier, { coin }, opts(w, { now: expiry })).expiry, expiry)
    throwsCode(() => verifyProof(verifier, { coin }, opts(w, { now: expiry + 1 })), ErrorCode.EXPIRED)
    assert.equal(verifyProof(verifier, { coin }, opts(w, { now: expiry + 1, allowExpired: true })).seq, 0)
  })

  it(
    'an owner assignment signed by someone else is WRONG_SIGNER; so is a ' + 'downtime one not signed by the broker',
    async () => {
      const w = await world()
      const { coin, sn, hash } = ownCoin(w)
      const body: AssignBody = { sn, coin: hash, owner: w.X.id, seq: 1, holder: w.Y.id, request: null }
      throwsCode(
        () => verifyProof(verifier, { coin, chain: [{ assign: sign(w.Y, TAG.assign, body) }] }, opts(w)),
        ErrorCode.WRONG_SIGNER
      )
      throwsCode(
        () => verifyProof(verifier, { coin, chain: [{ assign: sign(w.broker, TAG.assign, body) }] }, opts(w)),
        ErrorCode.WRONG_SIGNER
      )
      // seq 1 is the owner's own payment: the broker cannot make it, not even under the downtime tag
      throwsCode(
        () => verifyProof(verifier, { coin, chain: [{ assign: sign(w.broker, TAG.downtimeAssign, body) }] }, opts(w)),
        ErrorCode.BAD_REQUEST
      )
      const p1: CoinProof = { coin, chain: [{ assign: sign(w.X, TAG.assign, body) }] }
      const req = requestFor(w, w.Y, p1, w.Z.id)
      const reqHash = verifier.open(fromB64(req), TAG.request, 't').hash
      const dt: AssignBody = { ...body, seq: 2, holder: w.Z.id, request: reqHash }
      const link = (assign: string): CoinProof => ({ coin, chain: [p1.chain![0], { assign, request: req }] })
      throwsCode(() => verifyProof(verifier, link(sign(w.X, TAG.downtimeAssign, dt)), opts(w)), ErrorCode.WRONG_SIGNER)
      throwsCode(() => verifyProof(verifier, link(sign(w.Y, TAG.assign, dt)), opts(w)), ErrorCode.WRONG_SIGNER)
      assert.equal(verifyProof(verifier, link(sign(w.broker, TAG.downtimeAssign, dt)), opts(w)).holder, w.Z.id)
      assert.equal(verifyProof(verifier, link(sign(w.X, TAG.assign, dt)), opts(w)).holder, w.Z.id)
    }
  )

  it('rejects assignments that do not match their coin or their request', async () => {
    const w = await world()
    const { coin, sn, hash } = ownCoin(w)
    const body: AssignBody = { sn, coin: hash, owner: w.X.id, seq: 1, holder: w.Y.id, request: null }
    const check = (chain: ChainLink[], code: string = ErrorCode.BAD_REQUEST) =>
      throwsCode(() => verifyProof(verifier, { coin, chain }, opts(w)), code)
    const a1 = (over: Partial<AssignBody> = {}): string => sign(w.X, TAG.assign, { ...body, ...over })
    check([{ assign: a1({ sn: 'cc'.repeat(16) }) }])
    check([{ assign: a1({ coin: 'dd'.repeat(32) }) }])
    check([{ assign: a1({ owner: w.Y.id }) }])
    check([{ assign: a1({ seq: 0 }) }])
    check([{ assign: a1({ seq: 2 }) }]) // the first step is seq 1
    check([{ assign: a1({ holder: '' }) }])
    check([{ assign: a1({ request: 'ee'.repeat(32) }) }]) // seq 1 carries no request
    const p1: CoinProof = { coin, chain: [{ assign: a1() }] }
    const req = requestFor(w, w.Y, p1, w.Z.id)
    const reqHash = verifier.open(fromB64(req), TAG.request, 't').hash
    check([{ assign: a1(), request: req }]) // nor does its link
    const l1 = p1.chain![0]
    const a2 = (over: Partial<AssignBody>): string =>
      sign(w.X, TAG.assign, { ...body, seq: 2, holder: w.Z.id, request: reqHash, ...over })
    assert.equal(verifyProof(verifier, { coin, chain: [l1, { assign: a2({}), request: req }] }, opts(w)).holder, w.Z.id)
    check([l1, { assign: a2({ request: null }), request: req }]) // seq 2 must name its request
    check([l1, { assign: a2({ request: 'ee'.repeat(32) }), request: req }]) // ... the right one
    check([l1, { assign: a2({}) }]) // ... and carry it
    check([l1, { assign: a2({ holder: w.W.id }), request: req }]) // request asked for Z
    check([l1, { assign: a2({ seq: 3 }), request: req }]) // a seq-3 assignment in the seq-2 place
    // a request for seq 1 cannot justify the seq-3 step
    const l2 = { assign: a2({}), request: req }
    const a3 = sign(w.X, TAG.assign, { ...body, seq: 3, holder: w.Z.id, request: reqHash })
    check([l1, l2, { assign: a3, request: req }])
    // a link that is not an object, a chain that is not a list, a request without its assignment
    check([null as any])
    check('x' as any)
    check([{ request: req } as any])
    // a request whose signer is not its `from`, one from a non-holder, one not pointing at the assignment below
    const forged = sign(w.Z, TAG.request, { ...verifier.open<any>(fromB64(req), TAG.request, 't').body })
    const forgedHash = verifier.open(fromB64(forged), TAG.request, 't').hash
    check([l1, { assign: a2({ request: forgedHash }), request: forged }], ErrorCode.WRONG_HOLDER)
    const byW = requestFor(w, w.W, p1, w.Z.id)
    check(
      [l1, { assign: a2({ request: verifier.open(fromB64(byW), TAG.request, 't').hash }), request: byW }],
      ErrorCode.WRONG_HOLDER
    )
    const offTip = requestFor(w, w.Y, p1, w.Z.id, { prev: hash })
    check(
      [l1, { assign: a2({ request: verifier.open(fromB64(offTip), TAG.request, 't').hash }), request: offTip }],
      ErrorCode.WRONG_HOLDER
    )
  })

  it(
    'attack: the owner forges its own reassignment (request from X to X, ' + 'seq-2 assignment to X): WRONG_HOLDER',
    async () => {
      const w = await world()
      const { coin, sn } = ownCoin(w)
      const p1 = w.X.wallet.ownerPay(sn, w.Y.id)
      const tip = info(w, p1).tipHash
      for (const prev of [tip, 'ab'.repeat(32)]) {
        const forged = step(w, p1, w.X, w.X.id, {
          tip: { hash: prev, seq: 1, sn, owner: w.X.id, coin: info(w, p1).coin.hash }
        }).proof
        throwsCode(() => verifyProof(verifier, forged, opts(w)), ErrorCode.WRONG_HOLDER)
      }
      // naming the holder as `from` does not help: the request must be signed by it
      const asY = requestFor(w, w.X, p1, w.X.id, { from: w.Y.id })
      const asYHash = verifier.open(fromB64(asY), TAG.request, 't').hash
      const a2 = sign<AssignBody>(w.X, TAG.assign, {
        sn,
        coin: info(w, p1).coin.hash,
        owner: w.X.id,
        seq: 2,
        holder: w.X.id,
        request: asYHash
      })
      throwsCode(
        () => verifyProof(verifier, { coin, chain: [p1.chain![0], { assign: a2, request: asY }] }, opts(w)),
        ErrorCode.WRONG_HOLDER
      )
    }
  )

  it(
    'attack: a chain longer than MAX_CHAIN is BAD_REQUEST; one of exactly ' +
      'MAX_CHAIN verifies but cannot be reassigned',
    async () => {
      const w = await world()
      const { sn } = ownCoin(w)
      const { proof, holder, other: next, tip } = longChain(w, sn, MAX_CHAIN)
      const full = info(w, proof)
      assert.deepEqual([proof.chain!.length, full.seq, full.holder], [MAX_CHAIN, MAX_CHAIN, holder.id])
      throwsCode(() => verifyRequest(verifier, requestFor(w, holder, proof, next.id), full, 't'), ErrorCode.BAD_REQUEST)
      const over = step(w, proof, holder, next.id, { tip }).proof
      assert.equal(over.chain!.length, MAX_CHAIN + 1)
      throwsCode(() => verifyProof(verifier, over, opts(w)), ErrorCode.BAD_REQUEST)
      // the length is checked before any signature: junk steps are refused just the same
      throwsCode(
        () =>
          verifyProof(
            verifier,
            { coin: proof.coin, chain: Array.from({ length: MAX_CHAIN + 1 }, () => ({ assign: 'junk' })) },
            opts(w)
          ),
        ErrorCode.BAD_REQUEST
      )
    }
  )

  it(
    'layers: more than maxLayers is LAYER_DEPTH, a layer not signed by the ' +
      'holder below is WRONG_HOLDER, a broken chain is BAD_REQUEST',
    async () => {
      const w = await world()
      const { coin } = ownCoin(w)
      const p1 = w.X.wallet.ownerPay(info(w, { coin }).sn, w.Y.id)
      const l1 = layerFor(w, w.Y, p1, w.Z.id)
      const l2 = layerFor(w, w.Z, l1, w.W.id)
      assert.equal(verifyProof(verifier, l2, opts(w)).depth, 2)
      const l3 = layerFor(w, w.W, l2, w.Y.id)
      throwsCode(() => verifyProof(verifier, l3, opts(w)), PPayErrorCode.LAYER_DEPTH)
      assert.equal(verifyProof(verifier, l3, opts(w, { maxLayers: 3 })).holder, w.Y.id)

      throwsCode(() => verifyProof(verifier, layerFor(w, w.Z, p1, w.W.id), opts(w)), ErrorCode.WRONG_HOLDER)
      throwsCode(
        () => verifyProof(verifier, layerFor(w, w.Z, p1, w.W.id, { from: w.Y.id }), opts(w)),
        ErrorCode.WRONG_HOLDER
      )
      throwsCode(
        () => verifyProof(verifier, layerFor(w, w.Y, p1, w.Z.id, { prev: 'ff'.repeat(32) }), opts(w)),
        ErrorCode.BAD_REQUEST
      )
      throwsCode(
        () => verifyProof(verifier, layerFor(w, w.Y, p1, w.Z.id, { depth: 2 }), opts(w)),
        ErrorCode.BAD_REQUEST
      )
      throwsCode(() => verifyProof(verifier, layerFor(w, w.Y, p1, w.Z.id, { seq: 2 }), opts(w)), ErrorCode.BAD_REQUEST)
      // layers swapped out of order
      throwsCode(
        () => verifyProof(verifier, { ...p1, layers: [l2.layers![1], l2.layers![0]] }, opts(w)),
        ErrorCode.BAD_REQUEST
      )
      // an unassigned coin cannot carry layers
      throwsCode(() => verifyProof(verifier, { coin, layers: l1.layers }, opts(w)), ErrorCode.BAD_REQUEST)
      throwsCode(() => verifyProof(verifier, { ...p1, layers: 'x' as any }, opts(w)), ErrorCode.BAD_REQUEST)
      throwsCode(() => verifyProof(verifier, null as any, opts(w)), ErrorCode.BAD_REQUEST)
    }
  )
})

describe('extendProof', () => {
  it('appends a layer, or appends a chain link (dropping layers); the input is not mutated', () => {
    const base: CoinProof = { coin: 'c', chain: [{ assign: 'a1' }], layers: ['l1'] }
    assert.deepEqual(extendProof(base, { layer: 'l2' }), { coin: 'c', chain: [{ assign: 'a1' }], layers: ['l1', 'l2'] })
    assert.deepEqual(base.layers, ['l1'], 'input not mutated')
    assert.deepEqual(extendProof({ coin: 'c' }, { layer: 'l1' }), { coin: 'c', layers: ['l1'] })
    assert.deepEqual(extendProof(base, { link: { assign: 'a2', request: 'r2' } }), {
      coin: 'c',
      chain: [{ assign: 'a1' }, { assign: 'a2', request: 'r2' }]
    })
    assert.deepEqual(base.chain, [{ assign: 'a1' }], 'input not mutated')
    assert.deepEqual(extendProof({ coin: 'c' }, { link: { assign: 'a1' } }), { coin: 'c', chain: [{ assign: 'a1' }] })
  })
})
