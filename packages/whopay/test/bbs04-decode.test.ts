// BBS04 objects off the wire: each round-trips through bytes, and decoding refuses wrong lengths, points on the
// curve but outside the subgroup, infinity, scalars not below r and zero secrets, with BAD_REQUEST.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { bls12_381 } from '@noble/curves/bls12-381.js'
import mcl from 'mcl-wasm'
import { ErrorCode, P2payError, utf8 } from '@p2pay/core'
import * as bbs from '../src/core/bbs04.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const badRequest = (err: unknown) => err instanceof P2payError && err.code === ErrorCode.BAD_REQUEST
const { Fp, Fp2, Fr } = bls12_381.fields
const be = (x: bigint, n: number): Uint8Array =>
  Uint8Array.from(Buffer.from(x.toString(16).padStart(2 * n, '0'), 'hex'))
const isSquare = <T>(sqrt: (x: T) => T, x: T): boolean => {
  try {
    sqrt(x)
    return true
  } catch {
    return false
  }
}

/** A compressed G1 point on y^2 = x^3 + 4 whose cofactor is not cleared: on the curve, outside the subgroup. */
function g1OutsideSubgroup(): Uint8Array {
  for (let x = 5n; x < 1000n; x++)
    if (isSquare(x => Fp.sqrt(x), Fp.add(Fp.pow(x, 3n), 4n))) {
      const b = be(x, 48)
      b[0] |= 0x80
      return b
    }
  throw new Error('no point found')
}

/** Likewise on G2's curve y^2 = x^3 + 4(1 + i), x = (c0, 1); the encoding puts the imaginary part first. */
function g2OutsideSubgroup(): Uint8Array {
  for (let c0 = 5n; c0 < 1000n; c0++) {
    const x = Fp2.fromBigTuple([c0, 1n])
    if (isSquare(x => Fp2.sqrt(x), Fp2.add(Fp2.pow(x, 3n), Fp2.fromBigTuple([4n, 4n])))) {
      const b = new Uint8Array([...be(1n, 48), ...be(c0, 48)])
      b[0] |= 0x80
      return b
    }
  }
  throw new Error('no point found')
}

const { gpk, issuerKey, openerKey } = bbs.setup()
const member = bbs.issue(gpk, issuerKey)
const msg = utf8('p2pay/whopay/test/v1\0decode')
const sig = bbs.encodeSignature(bbs.sign(gpk, member, msg))
const gpkBytes = bbs.encodeGroupPublicKey(gpk)

/** what, decode, encode, the bytes of this file's object, and their fixed size */
type Codec = [string, (b: Uint8Array) => unknown, (o: any) => Uint8Array, Uint8Array, number]
const decoders: Codec[] = [
  ['group public key', bbs.decodeGroupPublicKey, bbs.encodeGroupPublicKey, gpkBytes, 384],
  ['issuer key', bbs.decodeIssuerKey, bbs.encodeIssuerKey, bbs.encodeIssuerKey(issuerKey), 32],
  ['opener key', bbs.decodeOpenerKey, bbs.encodeOpenerKey, bbs.encodeOpenerKey(openerKey), 64],
  ['member key', bbs.decodeMemberKey, bbs.encodeMemberKey, bbs.encodeMemberKey(member), 80],
  ['signature', bbs.decodeSignature, bbs.encodeSignature, sig, 336]
]
const spliced = (bytes: Uint8Array, at: number, part: Uint8Array): Uint8Array => {
  const b = Uint8Array.from(bytes)
  b.set(part, at)
  return b
}

describe('BBS04: encoding', () => {
  it('every object has its fixed size and round-trips to the same bytes', () => {
    for (const [what, decode, encode, bytes, size] of decoders) {
      assert.equal(bytes.byteLength, size, what)
      assert.equal(hex(encode(decode(bytes))), hex(bytes), what)
    }
  })

  it('decoded keys sign, verify and open as the originals do', () => {
    const g = bbs.decodeGroupPublicKey(gpkBytes)
    const k = bbs.decodeMemberKey(bbs.encodeMemberKey(member))
    const o = bbs.decodeOpenerKey(bbs.encodeOpenerKey(openerKey))
    const s = bbs.sign(g, k, msg)
    assert.ok(bbs.verify(gpk, msg, s))
    assert.ok(bbs.verify(g, msg, sig))
    assert.equal(hex(bbs.open(g, o, s)), hex(bbs.memberId(member)))
    assert.ok(bbs.checkMemberKey(g, bbs.issue(g, bbs.decodeIssuerKey(bbs.encodeIssuerKey(issuerKey)))))
  })

  it('refuses wrong lengths', () => {
    for (const [what, decode, , bytes] of decoders) {
      for (const b of [new Uint8Array(0), bytes.subarray(0, -1), Uint8Array.from([...bytes, 0])])
        assert.throws(() => decode(b), badRequest, `${what}, ${b.byteLength} bytes`)
      assert.throws(() => decode('x'.repeat(bytes.byteLength) as any), badRequest, `${what} as a string`)
    }
    assert.throws(() => bbs.verify(gpk, msg, sig.subarray(1)), badRequest)
  })

  it('refuses a G1 point on the curve but outside the subgroup, in a signature and in a group key', () => {
    const rogue = g1OutsideSubgroup()
    // the point is on the curve: mcl reads it once its order check is off, and finds the order wrong
    mcl.verifyOrderG1(false)
    try {
      const p = new mcl.G1()
      p.deserialize(rogue)
      assert.ok(p.isValid() && !p.isValidOrder())
    } finally {
      mcl.verifyOrderG1(true)
    }
    for (const at of [0, bbs.G1_BYTES, 2 * bbs.G1_BYTES])
      assert.throws(() => bbs.decodeSignature(spliced(sig, at, rogue)), badRequest, `T at ${at}`)
    assert.throws(() => bbs.verify(gpk, msg, spliced(sig, 0, rogue)), badRequest)
    assert.throws(() => bbs.decodeGroupPublicKey(spliced(gpkBytes, bbs.G1_BYTES + bbs.G2_BYTES, rogue)), badRequest)
    assert.throws(() => bbs.decodeMemberKey(spliced(bbs.encodeMemberKey(member), 0, rogue)), badRequest)
    assert.throws(() => new bbs.MemberRegistry().register(rogue, 'mallory'), badRequest)
  })

  it("refuses a G2 point outside the subgroup as the group key's w", () => {
    const rogue = g2OutsideSubgroup()
    mcl.verifyOrderG2(false)
    try {
      const p = new mcl.G2()
      p.deserialize(rogue)
      assert.ok(p.isValid() && !p.isValidOrder())
    } finally {
      mcl.verifyOrderG2(true)
    }
    assert.throws(() => bbs.decodeGroupPublicKey(spliced(gpkBytes, bbs.GPK_BYTES - bbs.G2_BYTES, rogue)), badRequest)
  })

  it('refuses infinity, an x off the curve, and points with a flag byte changed', () => {
    const infinity = new Uint8Array(bbs.G1_BYTES)
    infinity[0] = 0xc0
    assert.throws(() => bbs.decodeSignature(spliced(sig, 2 * bbs.G1_BYTES, infinity)), badRequest)
    const g2Infinity = new Uint8Array(bbs.G2_BYTES)
    g2Infinity[0] = 0xc0
    assert.throws(() => bbs.decodeGroupPublicKey(spliced(gpkBytes, bbs.G1_BYTES, g2Infinity)), badRequest)
    const uncompressedFlag = Uint8Array.from(sig)
    uncompressedFlag[0] &= 0x7f
    assert.throws(() => bbs.decodeSignature(uncompressedFlag), badRequest)
    let refused = 0
    for (let x = 5n; x < 40n; x++) {
      const b = be(x, 48)
      b[0] |= 0x80
      if (isSquare(x => Fp.sqrt(x), Fp.add(Fp.pow(x, 3n), 4n))) continue
      assert.throws(() => bbs.decodeSignature(spliced(sig, 0, b)), badRequest)
      refused++
    }
    assert.ok(refused > 0)
  })

  it('refuses scalars not below r and zero secrets', () => {
    const at = 3 * bbs.G1_BYTES
    for (const v of [Fr.ORDER, Fr.ORDER + 1n, 2n ** 256n - 1n])
      assert.throws(() => bbs.decodeSignature(spliced(sig, at, be(v, 32))), badRequest)
    // r - 1 is a scalar: the signature decodes, and fails to verify
    assert.ok(!bbs.verify(gpk, msg, spliced(sig, at, be(Fr.ORDER - 1n, 32))))
    assert.throws(() => bbs.decodeIssuerKey(new Uint8Array(32)), badRequest)
    assert.throws(() => bbs.decodeOpenerKey(new Uint8Array(64)), badRequest)
    assert.throws(
      () => bbs.decodeMemberKey(spliced(bbs.encodeMemberKey(member), bbs.G1_BYTES, new Uint8Array(32))),
      badRequest
    )
  })
})
