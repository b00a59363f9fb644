// BBS04 group signatures: a round trip, every element of a signature tampered, another group's key, open finds the
// signer, two signatures by one member differ, and verifyMember refuses unregistered and revoked keys.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { P2payError, ErrorCode, utf8 } from '@p2pay/core'
import mcl from 'mcl-wasm'
import * as bbs from '../src/core/bbs04.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const msg = utf8('p2pay/whopay/test/v1\0a coin transfer')
const { gpk, issuerKey, openerKey } = bbs.setup()
const members = ['alice', 'bob', 'carol'].map(name => ({ name, key: bbs.issue(gpk, issuerKey) }))
const alice = members[0].key
const sig = bbs.sign(gpk, alice, msg)

const code = (c: string) => (err: unknown) => err instanceof P2payError && err.code === c

describe('BBS04: sign and verify', () => {
  it('issues keys with e(A, w g2^x) = e(g1, g2), and a signature that verifies, as an object and as bytes', () => {
    for (const m of members) assert.ok(bbs.checkMemberKey(gpk, m.key))
    assert.ok(!bbs.checkMemberKey(gpk, { a: alice.a, x: members[1].key.x }))
    assert.ok(bbs.verify(gpk, msg, sig))
    const bytes = bbs.encodeSignature(sig)
    assert.equal(bytes.byteLength, bbs.SIGNATURE_BYTES)
    assert.ok(bbs.verify(gpk, msg, bytes))
  })

  it('fails on a changed message, an empty one, and a longer one', () => {
    assert.ok(!bbs.verify(gpk, utf8('p2pay/whopay/test/v1\0a coin transfes'), sig))
    assert.ok(!bbs.verify(gpk, new Uint8Array(0), sig))
    assert.ok(!bbs.verify(gpk, Uint8Array.from([...msg, 0]), sig))
  })

  it('fails with each of T1, T2, T3, c and the five s tampered', () => {
    const { g1 } = bbs.generators()
    const one = new mcl.Fr()
    one.setInt(1)
    for (const field of ['t1', 't2', 't3'] as const)
      assert.ok(!bbs.verify(gpk, msg, { ...sig, [field]: mcl.add(sig[field], g1) }), field)
    for (const field of ['c', 'sAlpha', 'sBeta', 'sX', 'sDelta1', 'sDelta2'] as const)
      assert.ok(!bbs.verify(gpk, msg, { ...sig, [field]: mcl.add(sig[field], one) }), field)
    // the same on the wire: the last byte of each scalar flipped (still below r)
    const bytes = bbs.encodeSignature(sig)
    for (let i = 0; i < 6; i++) {
      const t = Uint8Array.from(bytes)
      t[3 * bbs.G1_BYTES + (i + 1) * bbs.SCALAR_BYTES - 1] ^= 1
      assert.ok(!bbs.verify(gpk, msg, t), `scalar ${i}`)
    }
  })

  it("fails under another group's public key, and another group's member cannot sign for this one", () => {
    const other = bbs.setup()
    assert.ok(!bbs.verify(other.gpk, msg, sig))
    const stranger = bbs.issue(other.gpk, other.issuerKey)
    assert.ok(!bbs.verify(gpk, msg, bbs.sign(gpk, stranger, msg)))
    assert.throws(() => bbs.issue(gpk, other.issuerKey), code(ErrorCode.BAD_REQUEST))
    assert.throws(() => bbs.open(gpk, other.openerKey, sig), code(ErrorCode.BAD_REQUEST))
  })
})

describe('BBS04: open and the registry', () => {
  it('open finds the signer among three members', () => {
    for (const m of members) {
      const s = bbs.sign(gpk, m.key, msg)
      assert.ok(bbs.verify(gpk, msg, s))
      const a = bbs.open(gpk, openerKey, s)
      assert.equal(a.byteLength, bbs.G1_BYTES)
      assert.equal(hex(a), hex(bbs.memberId(m.key)), m.name)
    }
  })

  it('two signatures by one member share no T and open to the same key', () => {
    const again = bbs.sign(gpk, alice, msg)
    for (const field of ['t1', 't2', 't3'] as const) assert.ok(!sig[field].isEqual(again[field]), field)
    assert.notEqual(hex(bbs.encodeSignature(sig)), hex(bbs.encodeSignature(again)))
    assert.equal(hex(bbs.open(gpk, openerKey, sig)), hex(bbs.open(gpk, openerKey, again)))
  })

  it('verifyMember names a registered signer and refuses unregistered, revoked and bad signatures', () => {
    const registry = new bbs.MemberRegistry()
    registry.register(bbs.memberId(members[0].key), 'alice')
    registry.register(bbs.memberId(members[1].key), 'bob')
    const signed = members.map(m => bbs.encodeSignature(bbs.sign(gpk, m.key, msg)))
    const ok = bbs.verifyMember(gpk, openerKey, registry, msg, signed[0])
    assert.equal(ok.holder, 'alice')
    assert.equal(hex(ok.a), hex(bbs.memberId(alice)))
    assert.equal(bbs.verifyMember(gpk, openerKey, registry, msg, signed[1]).holder, 'bob')
    assert.throws(() => bbs.verifyMember(gpk, openerKey, registry, msg, signed[2]), code('UNKNOWN_MEMBER'))
    registry.revoke(bbs.memberId(members[1].key))
    assert.deepEqual(registry.revoked().map(hex), [hex(bbs.memberId(members[1].key))])
    assert.throws(() => bbs.verifyMember(gpk, openerKey, registry, msg, signed[1]), code('REVOKED_MEMBER'))
    assert.equal(bbs.verifyMember(gpk, openerKey, registry, msg, signed[0]).holder, 'alice')
    assert.throws(() => bbs.verifyMember(gpk, openerKey, registry, utf8('other'), signed[0]), code('BAD_SIGNATURE'))
  })

  it('times sign, verify and open', t => {
    const n = 20
    const time = (f: () => unknown): number => {
      const start = performance.now()
      for (let i = 0; i < n; i++) f()
      return (performance.now() - start) / n
    }
    const signMs = time(() => bbs.sign(gpk, alice, msg))
    const verifyMs = time(() => assert.ok(bbs.verify(gpk, msg, sig)))
    const bytes = bbs.encodeSignature(sig)
    const fromBytesMs = time(() => assert.ok(bbs.verify(gpk, msg, bytes)))
    const openMs = time(() => bbs.open(gpk, openerKey, sig))
    t.diagnostic(
      `bbs04 ms per op (n=${n}): sign ${signMs.toFixed(2)}, verify ${verifyMs.toFixed(2)}, ` +
        `verify from bytes ${fromBytesMs.toFixed(2)}, open ${openMs.toFixed(2)}`
    )
  })
})
