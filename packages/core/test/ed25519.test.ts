// ed25519.ts: the node:crypto and @noble/curves backends are interchangeable.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto'
import { nodeEd25519, nobleEd25519 } from '../src/crypto/ed25519.ts'
import { utf8 } from '../src/bytes.ts'

const node = nodeEd25519()
const noble = nobleEd25519()

/** A fresh raw Ed25519 seed and public key from node:crypto (JWK gives both raw). */
function keypair(): { seed: Uint8Array; pub: Uint8Array } {
  const { privateKey } = generateKeyPairSync('ed25519')
  const jwk = privateKey.export({ format: 'jwk' })
  return {
    seed: new Uint8Array(Buffer.from(jwk.d as string, 'base64url')),
    pub: new Uint8Array(Buffer.from(jwk.x as string, 'base64url'))
  }
}

describe('ed25519 backends', () => {
  it('have distinct names', () => {
    assert.equal(node.name, 'node:crypto')
    assert.equal(noble.name, '@noble/curves')
  })

  it('RFC 8032 test vector 1 (empty message) on both backends', () => {
    const seed = new Uint8Array(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'))
    const pub = new Uint8Array(Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex'))
    const want =
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555' +
      'fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
    for (const b of [node, noble]) {
      assert.equal(Buffer.from(b.sign(seed, new Uint8Array(0))).toString('hex'), want, b.name)
      assert.equal(b.verify(pub, new Uint8Array(0), new Uint8Array(Buffer.from(want, 'hex'))), true, b.name)
    }
  })

  it("sign identically and verify each other's signatures", () => {
    for (let i = 0; i < 5; i++) {
      const { seed, pub } = keypair()
      const msg = utf8(`message ${i} `.repeat(i * 40))
      const a = node.sign(seed, msg)
      const b = noble.sign(seed, msg)
      assert.equal(a.byteLength, 64)
      assert.deepEqual(a, b, 'Ed25519 is deterministic: same signature from both backends')
      assert.equal(node.verify(pub, msg, b), true)
      assert.equal(noble.verify(pub, msg, a), true)
      assert.equal(node.verify(pub, msg, a), true)
      assert.equal(noble.verify(pub, msg, b), true)
    }
    const { seed } = keypair()
    assert.deepEqual(node.sign(seed, utf8('x')), node.sign(seed, utf8('x')), 'cached key gives the same signature')
  })

  it('a signature from node:crypto directly verifies on both', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const pub = new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url'))
    const msg = utf8('direct')
    const sig = new Uint8Array(nodeSign(null, msg, privateKey))
    assert.equal(node.verify(pub, msg, sig), true)
    assert.equal(noble.verify(pub, msg, sig), true)
  })

  it('reject wrong key, wrong message, altered signature and wrong lengths without throwing', () => {
    const k1 = keypair()
    const k2 = keypair()
    const msg = utf8('pay 5 to bob')
    const sig = node.sign(k1.seed, msg)
    for (const b of [node, noble]) {
      assert.equal(b.verify(k1.pub, msg, sig), true, b.name)
      assert.equal(b.verify(k2.pub, msg, sig), false, `${b.name} wrong key`)
      assert.equal(b.verify(k1.pub, utf8('pay 6 to bob'), sig), false, `${b.name} wrong message`)
      assert.equal(b.verify(k1.pub, msg.subarray(1), sig), false, `${b.name} truncated message`)
      for (const i of [0, 31, 32, 63]) {
        const bad = sig.slice()
        bad[i] ^= 0x01
        assert.equal(b.verify(k1.pub, msg, bad), false, `${b.name} flipped sig byte ${i}`)
      }
      assert.equal(b.verify(k1.pub, msg, sig.subarray(0, 63)), false, `${b.name} short sig`)
      assert.equal(b.verify(k1.pub, msg, new Uint8Array([...sig, 0])), false, `${b.name} long sig`)
      assert.equal(b.verify(new Uint8Array(0), msg, sig), false, `${b.name} empty sig`)
      assert.equal(b.verify(k1.pub.subarray(0, 31), msg, sig), false, `${b.name} short key`)
      assert.equal(b.verify(new Uint8Array([...k1.pub, 0]), msg, sig), false, `${b.name} long key`)
      assert.equal(b.verify(new Uint8Array(32).fill(0xff), msg, sig), false, `${b.name} key not on the curve`)
      assert.equal(b.verify(k1.pub, msg, new Uint8Array(64).fill(0xff)), false, `${b.name} S >= L`)
    }
  })

  // The small-order public key 0100..00 (the identity point) with R = identity, S = 0
  // satisfies the cofactored equation for every message. node:crypto (OpenSSL) rejects it;
  // @noble/curves' ed25519 defaults to ZIP-215 (zip215: true) and accepts it, so the two
  // backends disagree on validity, and under the noble backend anyone can sign anything
  // as the peer id of that key.
  it('agree on a small-order-key signature (both reject it)', () => {
    const identity = new Uint8Array(32)
    identity[0] = 1
    const sig = new Uint8Array(64)
    sig[0] = 1
    const msg = utf8('anything at all')
    assert.equal(node.verify(identity, msg, sig), false)
    assert.equal(noble.verify(identity, msg, sig), false)
  })
})
