// Keys and signatures from outside are refused unless they are points of the
// prime-order subgroup other than infinity, of the exact length; both
// libraries agree on which bytes are bad.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { ErrorCode, utf8 } from '@p2pay/core'
import { throwsCode } from '@p2pay/test-utils'
import * as bls from '../src/core/bls.ts'
import { g1Point, g2Point, infinity } from './bls-points.ts'

const noble = bls12_381.longSignatures
const k = bls.generateKey()
const msg = utf8('p2pay/aggsign/test/v1\0decode')
const sig = bls.sign(k.secretKey, msg)

const badKeys: Array<[string, Uint8Array]> = [
  ['infinity', infinity(48)],
  ['outside the subgroup', g1Point(5n)],
  ['off the curve', g1Point(5n, false)],
  ['47 bytes', k.publicKey.subarray(0, 47)],
  ['96 bytes (uncompressed length)', new Uint8Array(96)],
  ['empty', new Uint8Array(0)]
]
const badSigs: Array<[string, Uint8Array]> = [
  ['infinity', infinity(96)],
  ['outside the subgroup', g2Point(5n)],
  ['off the curve', g2Point(5n, false)],
  ['95 bytes', sig.subarray(0, 95)],
  ['192 bytes (uncompressed length)', new Uint8Array(192)]
]

describe('BLS: decoding what peers send', () => {
  for (const [what, bytes] of badKeys) {
    it(`refuses a public key ${what}`, () => {
      throwsCode(() => bls.decodePublicKey(bytes), ErrorCode.BAD_REQUEST)
      throwsCode(() => bls.verify(bytes, msg, sig), ErrorCode.BAD_REQUEST)
      throwsCode(() => bls.aggregateVerify([msg], [bytes], sig), ErrorCode.BAD_REQUEST)
      if (bytes.byteLength === 48 && what !== 'infinity') assert.throws(() => bls12_381.G1.Point.fromBytes(bytes))
    })
  }
  for (const [what, bytes] of badSigs) {
    it(`refuses a signature ${what}`, () => {
      throwsCode(() => bls.decodeSignature(bytes), ErrorCode.BAD_REQUEST)
      throwsCode(() => bls.verify(k.publicKey, msg, bytes), ErrorCode.BAD_REQUEST)
      throwsCode(() => bls.aggregate([sig, bytes]), ErrorCode.BAD_REQUEST)
      if (bytes.byteLength === 96 && what !== 'infinity') assert.throws(() => noble.Signature.fromBytes(bytes))
    })
  }

  it('accepts a real key and signature, and refuses a base64 key of the wrong length', () => {
    assert.ok(bls.verify(k.publicKey, msg, sig))
    assert.equal(bls.verify(k.publicKey, utf8('another message'), sig), false)
    throwsCode(() => bls.checkPublicKeyB64(Buffer.from(sig).toString('base64'), 'key'), ErrorCode.BAD_REQUEST)
    throwsCode(() => bls.checkSignatureB64(12, 'sig'), ErrorCode.BAD_REQUEST)
    assert.equal(bls.checkPublicKeyB64(Buffer.from(k.publicKey).toString('base64'), 'key').byteLength, 48)
  })

  it('generates keys from the CSPRNG: no two alike', () => {
    const a = bls.generateKey()
    const b = bls.generateKey()
    assert.notDeepEqual(a.secretKey, b.secretKey)
    assert.notDeepEqual(a.publicKey, b.publicKey)
  })
})
