// The same keys, messages and hash-to-curve tag through @chainsafe/blst (the
// scheme's library) and @noble/curves (a second, independent implementation):
// byte-identical keys and signatures, each verifies the other's, and
// aggregates agree.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { utf8 } from '@p2pay/core'
import * as bls from '../src/core/bls.ts'

const noble = bls12_381.longSignatures
const hash = (msg: Uint8Array): ReturnType<typeof noble.hash> => noble.hash(msg, bls.MESSAGE_DST)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

const keys = Array.from({ length: 4 }, () => bls.generateKey())
const msgs = keys.map((_, i) => utf8(`p2pay/aggsign/test/v1\0message ${i} ${hex(randomBytes(8))}`))

describe('BLS: @chainsafe/blst against @noble/curves', () => {
  it('derive the same public key from the same secret key', () => {
    for (const k of keys) {
      assert.equal(k.publicKey.byteLength, bls.PUBLIC_KEY_BYTES)
      assert.equal(hex(noble.getPublicKey(k.secretKey).toBytes()), hex(k.publicKey))
    }
  })

  it('make byte-identical signatures under the message tag, and each verifies the other', () => {
    keys.forEach((k, i) => {
      const ours = bls.sign(k.secretKey, msgs[i])
      const theirs = noble.Signature.toBytes(noble.sign(hash(msgs[i]), k.secretKey))
      assert.equal(ours.byteLength, bls.SIGNATURE_BYTES)
      assert.equal(hex(theirs), hex(ours))
      assert.ok(noble.verify(ours, hash(msgs[i]), k.publicKey))
      assert.ok(bls.verify(k.publicKey, msgs[i], theirs))
    })
  })

  it("disagree under noble's default tag (the tag is what the two must share)", () => {
    const k = keys[0]
    const nul = noble.Signature.toBytes(noble.sign(noble.hash(msgs[0]), k.secretKey))
    assert.notEqual(hex(nul), hex(bls.sign(k.secretKey, msgs[0])))
    assert.equal(bls.verify(k.publicKey, msgs[0], nul), false)
  })

  it('aggregate to the same bytes and agree on aggregate verification', () => {
    const sigs = keys.map((k, i) => bls.sign(k.secretKey, msgs[i]))
    const ours = bls.aggregate(sigs)
    const theirs = noble.Signature.toBytes(noble.aggregateSignatures(sigs))
    assert.equal(hex(theirs), hex(ours))
    const pks = keys.map(k => k.publicKey)
    assert.ok(bls.aggregateVerify(msgs, pks, ours))
    assert.ok(
      noble.verifyBatch(
        ours,
        msgs.map((m, i) => ({ message: hash(m), publicKey: pks[i] }))
      )
    )
    // one message swapped for another: both refuse
    const wrong = [msgs[1], msgs[0], ...msgs.slice(2)]
    assert.equal(bls.aggregateVerify(wrong, pks, ours), false)
    assert.equal(
      noble.verifyBatch(
        ours,
        wrong.map((m, i) => ({ message: hash(m), publicKey: pks[i] }))
      ),
      false
    )
    // one signature left out: both refuse
    const short = bls.aggregate(sigs.slice(1))
    assert.equal(bls.aggregateVerify(msgs, pks, short), false)
    assert.equal(
      noble.verifyBatch(
        short,
        msgs.map((m, i) => ({ message: hash(m), publicKey: pks[i] }))
      ),
      false
    )
  })

  it('agree on proofs of possession: a PoP verifies for its own peer only', () => {
    const k = keys[0]
    const pop = bls.proveKey(k.secretKey, 'peer-a')
    assert.ok(noble.verify(pop, hash(bls.popMessage(k.publicKey, 'peer-a')), k.publicKey))
    assert.ok(bls.verifyPop(k.publicKey, 'peer-a', pop))
    assert.equal(bls.verifyPop(k.publicKey, 'peer-b', pop), false)
    assert.equal(bls.verifyPop(keys[1].publicKey, 'peer-a', pop), false)
  })
})
