// BBS04 split setup: the judge draws (h, u, v) and the opener key, the broker only gamma on the judge's part. A
// signature in such a group verifies and opens with the judge's key; the broker's gamma alone cannot open it, and
// the broker cannot build a group on a bad opener part.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import mcl from 'mcl-wasm'
import { P2payError, ErrorCode, utf8 } from '@p2pay/core'
import * as bbs from '../src/core/bbs04.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const code = (c: string) => (err: unknown) => err instanceof P2payError && err.code === c
const msg = utf8('p2pay/whopay/test/v1\0a split group')

describe('BBS04: split setup', () => {
  const judge = bbs.openerSetup()
  const published = bbs.encodeOpenerPart(judge.part)
  const broker = bbs.issuerSetup(bbs.decodeOpenerPart(published))
  const gpk = broker.gpk
  const alice = bbs.issue(gpk, broker.issuerKey)
  const bob = bbs.issue(gpk, broker.issuerKey)
  const sig = bbs.encodeSignature(bbs.sign(gpk, alice, msg))

  it('the opener part travels as 144 bytes and the group is built on exactly it', () => {
    assert.equal(published.byteLength, bbs.OPENER_PART_BYTES)
    assert.equal(hex(bbs.encodeOpenerPart(bbs.openerPartOf(gpk))), hex(published))
    assert.ok(bbs.isOpenerKeyOf(bbs.openerPartOf(gpk), judge.openerKey))
    const round = bbs.decodeGroupPublicKey(bbs.encodeGroupPublicKey(gpk))
    assert.equal(hex(bbs.encodeOpenerPart(bbs.openerPartOf(round))), hex(published))
  })

  it("a member's signature verifies and opens to its A with the judge's key", () => {
    assert.ok(bbs.checkMemberKey(gpk, alice))
    assert.ok(bbs.verify(gpk, msg, sig))
    assert.equal(hex(bbs.open(gpk, judge.openerKey, sig)), hex(bbs.memberId(alice)))
    const other = bbs.encodeSignature(bbs.sign(gpk, bob, msg))
    assert.equal(hex(bbs.open(gpk, judge.openerKey, other)), hex(bbs.memberId(bob)))
  })

  it("the broker's gamma alone cannot open: no opener key from it opens, nor does another judge's", () => {
    const gamma = broker.issuerKey.gamma
    const guesses: bbs.OpenerKey[] = [
      { xi1: gamma, xi2: gamma },
      { xi1: gamma, xi2: mcl.inv(gamma) },
      { xi1: mcl.inv(gamma), xi2: mcl.inv(gamma) }
    ]
    for (const guess of guesses) assert.throws(() => bbs.open(gpk, guess, sig), code(ErrorCode.BAD_REQUEST))
    // what a wrong key would compute, were it not refused: not the signer's A
    const wrong = bbs.decodeSignature(sig)
    const attempt = mcl.sub(wrong.t3, mcl.mulVec([wrong.t1, wrong.t2], [gamma, gamma])).serialize()
    assert.notEqual(hex(attempt), hex(bbs.memberId(alice)))
    assert.ok(!bbs.isOpenerKeyOf(bbs.openerPartOf(gpk), guesses[0]))
    assert.throws(() => bbs.open(gpk, bbs.openerSetup().openerKey, sig), code(ErrorCode.BAD_REQUEST))
  })

  it('two groups on one opener part share the opener but not their signatures', () => {
    const second = bbs.issuerSetup(judge.part)
    assert.ok(!second.gpk.w.isEqual(gpk.w))
    assert.ok(!bbs.verify(second.gpk, msg, sig))
    const carol = bbs.issue(second.gpk, second.issuerKey)
    const theirs = bbs.sign(second.gpk, carol, msg)
    assert.ok(bbs.verify(second.gpk, msg, theirs))
    assert.equal(hex(bbs.open(second.gpk, judge.openerKey, theirs)), hex(bbs.memberId(carol)))
  })

  it('refuses an opener part with a point at infinity, repeated, g1, or of the wrong length', () => {
    const { g1 } = bbs.generators()
    const zero = new mcl.G1()
    const { h, u, v } = judge.part
    for (const part of [
      { h: zero, u, v },
      { h, u: zero, v },
      { h, u: h, v },
      { h, u, v: u },
      { h: g1, u, v }
    ])
      assert.throws(() => bbs.issuerSetup(part), code(ErrorCode.BAD_REQUEST))
    assert.throws(() => bbs.decodeOpenerPart(published.subarray(1)), code(ErrorCode.BAD_REQUEST))
    const repeated = Uint8Array.from(published)
    repeated.set(published.subarray(0, bbs.G1_BYTES), bbs.G1_BYTES)
    assert.throws(() => bbs.decodeOpenerPart(repeated), code(ErrorCode.BAD_REQUEST))
    const offCurve = Uint8Array.from(published)
    offCurve[bbs.G1_BYTES + 5] ^= 1
    assert.throws(() => bbs.decodeOpenerPart(offCurve), code(ErrorCode.BAD_REQUEST))
  })

  it('setup() is the two halves in turn: the same stream gives the same group', () => {
    let n = 0
    const stream = (len: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (n++ * 31 + i) & 0xff)
    const whole = bbs.setup(stream)
    n = 0
    const half = bbs.openerSetup(stream)
    const rest = bbs.issuerSetup(half.part, stream)
    assert.equal(hex(bbs.encodeGroupPublicKey(whole.gpk)), hex(bbs.encodeGroupPublicKey(rest.gpk)))
    assert.equal(hex(bbs.encodeOpenerKey(whole.openerKey)), hex(bbs.encodeOpenerKey(half.openerKey)))
    assert.equal(hex(bbs.encodeIssuerKey(whole.issuerKey)), hex(bbs.encodeIssuerKey(rest.issuerKey)))
  })
})
