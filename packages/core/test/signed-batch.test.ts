// Batch envelopes: many bodies under one signature, each checked on its own path.
import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Signer, Verifier, VerifiedCache, BATCH_ENVELOPE_VERSION, peekUnverified } from '../src/crypto/signed.ts'
import { signerFor } from '../src/crypto/identity.ts'
import { nodeEd25519 } from '../src/crypto/ed25519.ts'
import { Metrics } from '../src/metrics.ts'
import { ErrorCode, P2payError } from '../src/errors.ts'
import { buildTree, depthFor, leafHash, rootOf } from '../src/crypto/merkle.ts'
import { utf8 } from '../src/bytes.ts'

const backend = nodeEd25519()
const TAG = 'p2pay/test-batch'
const code =
  (c: string) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof P2payError, `expected P2payError ${c}, got ${String(e)}`)
    assert.equal(e.code, c)
    return true
  }

let signer: Signer
let other: Signer
before(async () => {
  signer = signerFor(await generateKeyPair('Ed25519'), backend)
  other = signerFor(await generateKeyPair('Ed25519'), backend)
})

describe('merkle tree', () => {
  it('every leaf of trees of 1..33 leaves leads to the root by its path', () => {
    for (let n = 1; n <= 33; n++) {
      const leaves = Array.from({ length: n }, (_, i) => leafHash(utf8(`leaf ${i}`)))
      const { root, depth, paths } = buildTree(leaves)
      assert.equal(depth, depthFor(n))
      leaves.forEach((l, i) => assert.deepEqual(rootOf(l, i, paths[i]), root))
      if (n > 1) assert.notDeepEqual(rootOf(leaves[0], 1, paths[0]), root, 'a leaf at another index')
    }
  })
})

describe('Signer.signBatch and Verifier.open', () => {
  it('every body opens with its signer, tag and body; one verification for the whole batch', () => {
    const metrics = new Metrics()
    const v = new Verifier(backend, metrics, new VerifiedCache())
    const bodies = Array.from({ length: 5 }, (_, i) => ({ n: i, s: 'x' }))
    const envs = signer.signBatch(TAG, bodies, 'test')
    assert.equal(envs.length, 5)
    envs.forEach((e, i) => {
      assert.equal(e.bytes[0], BATCH_ENVELOPE_VERSION)
      const o = v.open<{ n: number }>(e.bytes, TAG, 'test')
      assert.equal(o.signer, signer.peerId)
      assert.equal(o.body.n, i)
      assert.equal(o.hash, e.hash)
    })
    assert.equal(metrics.get('signatures_verified_total', 'test'), 1)
  })

  it('without a cache every body is verified, and each is good', () => {
    const v = new Verifier(backend)
    for (const e of signer.signBatch(TAG, [{ a: 1 }, { a: 2 }, { a: 3 }], 'test')) v.open(e.bytes, TAG, 'test')
  })

  it('a changed body, path byte, index, depth, signature or signer is refused', () => {
    const envs = signer.signBatch(TAG, [{ a: 1 }, { a: 2 }, { a: 3 }], 'test')
    const bytes = envs[1].bytes
    const tagLen = bytes[1]
    const bodyAt = 2 + tagLen + 32 + 4
    const sigAt = bodyAt + utf8('{"a":2}').byteLength
    const depthAt = sigAt + 64
    const pathAt = depthAt + 5
    const flip = (i: number): Uint8Array => {
      const b = bytes.slice()
      b[i] ^= 1
      return b
    }
    const fresh = (): Verifier => new Verifier(backend, undefined, new VerifiedCache())
    // a good sibling verified first must not make a bad one pass
    const v = fresh()
    v.open(envs[0].bytes, TAG, 'test')
    assert.throws(() => v.open(flip(bodyAt + 5), TAG, 'test'), code(ErrorCode.BAD_SIGNATURE), 'body')
    assert.throws(() => v.open(flip(pathAt + 3), TAG, 'test'), code(ErrorCode.BAD_SIGNATURE), 'path')
    assert.throws(() => v.open(flip(depthAt + 4), TAG, 'test'), code(ErrorCode.BAD_SIGNATURE), 'index')
    assert.throws(() => v.open(flip(sigAt + 7), TAG, 'test'), code(ErrorCode.BAD_SIGNATURE), 'signature')
    assert.throws(() => v.open(flip(2 + tagLen + 3), TAG, 'test'), 'signer')
    assert.throws(() => v.open(flip(depthAt), TAG, 'test'), 'depth')
    assert.throws(() => v.open(bytes.subarray(0, bytes.byteLength - 1), TAG, 'test'), code(ErrorCode.BAD_FRAME))
    assert.throws(() => v.open(new Uint8Array([...bytes, 0]), TAG, 'test'), code(ErrorCode.BAD_FRAME))
    assert.throws(() => v.open(bytes, 'p2pay/other', 'test'), code(ErrorCode.WRONG_TAG))
    v.open(bytes, TAG, 'test')
  })

  it('a batch signature is not a single-envelope signature, nor a signature of another signer', () => {
    const [e] = signer.signBatch(TAG, [{ a: 1 }], 'test')
    const v = new Verifier(backend)
    // same bytes with the signer's key swapped for another's: the signature does not hold
    const b = e.bytes.slice()
    b.set(other.publicKey, 2 + b[1])
    assert.throws(() => v.open(b, TAG, 'test'), code(ErrorCode.BAD_SIGNATURE))
    // the single form of the same body has a signature of its own
    const single = signer.sign(TAG, { a: 1 }, 'test')
    assert.notEqual(single.hash, e.hash)
    v.open(single.bytes, TAG, 'test')
  })

  it('peekUnverified reads a batch envelope', () => {
    const [e] = signer.signBatch(TAG, [{ a: 7 }], 'test')
    assert.deepEqual(peekUnverified(e.bytes), { tag: TAG, signer: signer.peerId, body: { a: 7 } })
  })
})
