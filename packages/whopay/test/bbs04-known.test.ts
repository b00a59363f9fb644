// BBS04 against fixed answers and a second implementation: with its randomness drawn from a fixed stream, setup,
// issue and sign give pinned bytes; @noble/curves, on the same points, finds e(A, w g2^x) = e(g1, g2) and the
// opener's equation A = T3 / (T1^xi1 T2^xi2).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { concat, utf8 } from '@p2pay/core'
import * as bbs from '../src/core/bbs04.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** SHA-512(seed || counter) blocks: the same bytes at every run. */
function fixedStream(seed: string): bbs.RandomSource {
  let counter = 0
  return n => {
    const blocks: Uint8Array[] = []
    for (let have = 0; have < n; have += 64) blocks.push(createHash('sha512').update(`${seed}/${counter++}`).digest())
    return concat(blocks).subarray(0, n)
  }
}

const msg = utf8('p2pay/whopay/test/v1\0known answer')

describe('BBS04: known answers', () => {
  const random = fixedStream('p2pay/whopay/bbs04/kat')
  const { gpk, issuerKey, openerKey } = bbs.setup(random)
  const member = bbs.issue(gpk, issuerKey, random)
  const sig = bbs.encodeSignature(bbs.sign(gpk, member, msg, random))

  it('setup, issue and sign from a fixed stream give the pinned bytes', () => {
    // the group key by its SHA-256
    assert.equal(
      sha256(bbs.encodeGroupPublicKey(gpk)),
      '3a957687d9479f5e254f5825aea56fc1892fbe461ce74e502cf2fd76470e5424'
    )
    assert.equal(
      hex(bbs.encodeIssuerKey(issuerKey)),
      '1a2e0ddd1082581b4e602231c07f6194f4078e08d62f79522636e60811d04aa1'
    )
    assert.equal(
      hex(bbs.encodeOpenerKey(openerKey)),
      [
        '0c1a3e45447bcbf70ae1c2c4540b760ca8e9e470602bc887d539dea3c92370fb6459575a6e31f4ff8de79f9d5fe013bc',
        '0a9378486dc717a7fc8b9fe01864fa2f'
      ].join('')
    )
    assert.equal(
      hex(bbs.encodeMemberKey(member)),
      [
        'a25979029901c5919ed09c76f0ea1e0b6a7f6c07f015e0d35a60a76fb3ef0490da6487fe64bfd504221f60137631274f',
        '2228e900726ac2c798d2f54aa3d31fcdfb170c9b10d9856d6616d49aace8dd72'
      ].join('')
    )
    assert.equal(
      hex(sig),
      [
        'a0fa516bdd055ba9a49c6a59f6d7aa27fc4af0ac88a341c61f6481888916bae468bd6ee881f43b9c3e95abfd0f6cd838',
        'b298ebbe1ce8301d039ee8db7c59847f24045737c4ddb22f21cde3210edec76f727f7b5ced58cd486d0e518a3e0cc7de',
        '97dbb7093118ca9c8d117522156079d325883e41bfac850332e910147da433d5fa13a3824527891aa6d9090fc82d6cdc',
        '64f9b60ff3f9fc08349ca6e9f7bbcd22518b0716cd3e49661a1bf70c88694f7165e3dae19a2b5560be4c671d419d40e0',
        '96b3f7a54bde34d21e7ab0e63fe4a3a75c7172f0f174c9d6d6635de27a86d2394719441df205ed5acde9709ee4827b4b',
        '5c75a86caf5e7c29a23c38bc104ecaf05aeaceff9a12fee574d7229b0cb1f3104bc43a90460d36f50f1b1f7bce30f26b',
        'e067e9ec040a88bad6da3b518b497b4c1162c7c201b1ebc8fdcba65f479ff97f2e103afcd383b31144e90bfd509173bd'
      ].join('')
    )
    assert.ok(bbs.verify(gpk, msg, sig))
    assert.equal(hex(bbs.open(gpk, openerKey, sig)), hex(bbs.memberId(member)))
  })

  it('the same stream again gives the same signature; another gives another', () => {
    const again = fixedStream('p2pay/whopay/bbs04/kat')
    const g = bbs.setup(again)
    const k = bbs.issue(g.gpk, g.issuerKey, again)
    assert.equal(hex(bbs.encodeSignature(bbs.sign(g.gpk, k, msg, again))), hex(sig))
    const other = bbs.encodeSignature(bbs.sign(gpk, member, msg, fixedStream('another')))
    assert.notEqual(hex(other), hex(sig))
    assert.ok(bbs.verify(gpk, msg, other))
  })
})

describe('BBS04: @noble/curves on the same points', () => {
  const { G1, G2 } = bls12_381
  const { Fp12 } = bls12_381.fields
  const { gpk, issuerKey, openerKey } = bbs.setup()
  const member = bbs.issue(gpk, issuerKey)
  const big = (b: Uint8Array): bigint => BigInt(`0x${hex(b)}`)
  const g1 = (p: { serialize(): Uint8Array }) => G1.Point.fromBytes(p.serialize())
  const g2 = (p: { serialize(): Uint8Array }) => G2.Point.fromBytes(p.serialize())

  it('uses the standard generators, byte for byte', () => {
    assert.equal(hex(gpk.g1.serialize()), hex(G1.Point.BASE.toBytes(true)))
    assert.equal(hex(gpk.g2.serialize()), hex(G2.Point.BASE.toBytes(true)))
  })

  it('finds e(A, w g2^x) = e(g1, g2) for an issued key, and not for another x', () => {
    const a = G1.Point.fromBytes(bbs.memberId(member))
    const x = big(member.x.serialize())
    const w = g2(gpk.w)
    const base = bls12_381.pairing(G1.Point.BASE, G2.Point.BASE)
    assert.ok(Fp12.eql(bls12_381.pairing(a, w.add(G2.Point.BASE.multiply(x))), base))
    assert.ok(!Fp12.eql(bls12_381.pairing(a, w.add(G2.Point.BASE.multiply(x + 1n))), base))
    // and w = g2^gamma, u^xi1 = v^xi2 = h
    assert.ok(w.equals(G2.Point.BASE.multiply(big(bbs.encodeIssuerKey(issuerKey)))))
    const opener = bbs.encodeOpenerKey(openerKey)
    assert.ok(
      g1(gpk.u)
        .multiply(big(opener.subarray(0, 32)))
        .equals(g1(gpk.h))
    )
    assert.ok(
      g1(gpk.v)
        .multiply(big(opener.subarray(32)))
        .equals(g1(gpk.h))
    )
  })

  it("opens a signature to A by the opener's equation", () => {
    const sig = bbs.sign(gpk, member, msg)
    const opener = bbs.encodeOpenerKey(openerKey)
    const a = g1(sig.t3).subtract(
      g1(sig.t1)
        .multiply(big(opener.subarray(0, 32)))
        .add(g1(sig.t2).multiply(big(opener.subarray(32))))
    )
    assert.equal(hex(a.toBytes(true)), hex(bbs.open(gpk, openerKey, sig)))
    assert.equal(hex(a.toBytes(true)), hex(bbs.memberId(member)))
  })
})
