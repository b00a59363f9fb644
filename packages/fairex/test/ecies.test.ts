// ecies.ts: Z = Enc_T(...) round trips, refuses a wrong key, a wrong context and
// any changed byte, matches an independent construction of the format, and
// works with X25519 keys derived from an Ed25519 identity.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createCipheriv, createHash as createHashSync, randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { x25519, ed25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { ErrorCode, nodeEd25519, signerFor, utf8 } from '@p2pay/core'
import {
  ECIES_OVERHEAD,
  ECIES_VERSION,
  eciesDecrypt,
  eciesEncrypt,
  eciesKeyPair,
  x25519FromEd25519Public,
  x25519FromEd25519Seed,
  x25519OfPeerId,
  x25519PublicOf
} from '../src/core/ecies.ts'

const code = (c: string) => ({ name: 'P2payError', code: c })
const AAD = utf8('cheque 42 from P to D')
const secret = (n: number): Uint8Array => new Uint8Array(randomBytes(n))

describe('ecies', () => {
  it('round trips plaintexts of any length; every box has a fresh ephemeral key', () => {
    const t = eciesKeyPair()
    assert.equal(t.publicKey.byteLength, 32)
    assert.equal(t.privateKey.byteLength, 32)
    assert.deepEqual(x25519PublicOf(t.privateKey), t.publicKey)
    for (const n of [0, 1, 32, 1000]) {
      const msg = secret(n)
      const box = eciesEncrypt(t.publicKey, msg, AAD)
      assert.equal(box.byteLength, ECIES_OVERHEAD + n)
      assert.equal(box[0], ECIES_VERSION)
      assert.deepEqual(eciesDecrypt(t.privateKey, box, AAD), msg)
    }
    const msg = secret(32)
    const a = eciesEncrypt(t.publicKey, msg, AAD)
    const b = eciesEncrypt(t.publicKey, msg, AAD)
    assert.notDeepEqual(a.subarray(1, 33), b.subarray(1, 33))
    assert.notDeepEqual(a.subarray(45), b.subarray(45))
  })

  it(
    'matches an independent construction: X25519, HKDF(salt = eph | ' +
      'recipient), AES-256-GCM, AAD = version | eph | context',
    () => {
      const t = eciesKeyPair()
      const ephPriv = x25519.utils.randomSecretKey()
      const ephPub = x25519.getPublicKey(ephPriv)
      const key = hkdf(
        sha256,
        x25519.getSharedSecret(ephPriv, t.publicKey),
        new Uint8Array([...ephPub, ...t.publicKey]),
        utf8('p2pay/fairex/ecies/v1'),
        32
      )
      const nonce = secret(12)
      const c = createCipheriv('aes-256-gcm', key, nonce)
      c.setAAD(new Uint8Array([1, ...ephPub, ...AAD]))
      const msg = utf8('K | P | D')
      const box = new Uint8Array([1, ...ephPub, ...nonce, ...c.update(msg), ...c.final(), ...c.getAuthTag()])
      assert.deepEqual(eciesDecrypt(t.privateKey, box, AAD), msg)
    }
  )

  it('a wrong key or a wrong context is BAD_SIGNATURE', () => {
    const t = eciesKeyPair()
    const box = eciesEncrypt(t.publicKey, secret(32), AAD)
    assert.throws(() => eciesDecrypt(eciesKeyPair().privateKey, box, AAD), code(ErrorCode.BAD_SIGNATURE))
    assert.throws(() => eciesDecrypt(t.privateKey, box, utf8('cheque 43 from P to D')), code(ErrorCode.BAD_SIGNATURE))
    assert.throws(() => eciesDecrypt(t.privateKey, box, new Uint8Array(0)), code(ErrorCode.BAD_SIGNATURE))
    assert.throws(
      () => eciesDecrypt(t.privateKey, eciesEncrypt(t.publicKey, secret(8), new Uint8Array(0)), AAD),
      code(ErrorCode.BAD_SIGNATURE)
    )
  })

  it('any changed byte is refused', () => {
    const t = eciesKeyPair()
    const box = eciesEncrypt(t.publicKey, secret(5), AAD)
    for (let i = 0; i < box.byteLength; i++) {
      const b = box.slice()
      b[i] ^= 0x01
      assert.throws(
        () => eciesDecrypt(t.privateKey, b, AAD),
        code(i === 0 ? ErrorCode.UNKNOWN_VERSION : ErrorCode.BAD_SIGNATURE),
        `byte ${i}`
      )
    }
    // X25519 ignores the top bit of a public key; the box must not
    const b = box.slice()
    b[32] ^= 0x80
    assert.throws(() => eciesDecrypt(t.privateKey, b, AAD), code(ErrorCode.BAD_SIGNATURE))
    assert.throws(() => eciesDecrypt(t.privateKey, new Uint8Array([...box, 0]), AAD), code(ErrorCode.BAD_SIGNATURE))
    assert.throws(() => eciesDecrypt(t.privateKey, box.subarray(0, ECIES_OVERHEAD - 1), AAD), code(ErrorCode.BAD_FRAME))
    // a low-order ephemeral key gives no shared secret
    const zero = box.slice()
    zero.fill(0, 1, 33)
    assert.throws(() => eciesDecrypt(t.privateKey, zero, AAD), code(ErrorCode.BAD_SIGNATURE))
  })

  it('refuses malformed and low-order keys', () => {
    const t = eciesKeyPair()
    assert.throws(() => eciesEncrypt(t.publicKey.subarray(1), secret(1), AAD), code(ErrorCode.BAD_REQUEST))
    assert.throws(() => eciesEncrypt(new Uint8Array(32), secret(1), AAD), code(ErrorCode.BAD_REQUEST))
    assert.throws(
      () => eciesDecrypt(t.privateKey.subarray(1), eciesEncrypt(t.publicKey, secret(1), AAD), AAD),
      code(ErrorCode.BAD_REQUEST)
    )
  })
})

describe('X25519 keys from an Ed25519 identity', () => {
  it('encrypt to the key derived from a peer id, decrypt with the key derived from its seed', async () => {
    const backend = nodeEd25519()
    const [tk, ok] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const ttp = signerFor(tk, backend)
    const seed = tk.raw.subarray(0, 32)
    const derived = x25519FromEd25519Seed(seed)
    // the seed side and the public side agree, by two different computations
    assert.deepEqual(x25519OfPeerId(ttp.peerId), derived.publicKey)
    assert.deepEqual(x25519FromEd25519Public(tk.publicKey.raw), derived.publicKey)
    assert.deepEqual(x25519.getPublicKey(derived.privateKey), derived.publicKey)
    assert.deepEqual(x25519FromEd25519Seed(seed), derived)
    const msg = secret(32)
    const box = eciesEncrypt(x25519OfPeerId(ttp.peerId), msg, AAD)
    assert.deepEqual(eciesDecrypt(derived.privateKey, box, AAD), msg)
    // another identity's derived key does not open it, and its own seed gives another key
    const other = x25519FromEd25519Seed(ok.raw.subarray(0, 32))
    assert.notDeepEqual(other.publicKey, derived.publicKey)
    assert.throws(() => eciesDecrypt(other.privateKey, box, AAD), code(ErrorCode.BAD_SIGNATURE))
  })

  it(
    'is the standard mapping: the X25519 key is clamped ' +
      'sha512(seed)[0..32], the public key the Montgomery form of the ' +
      'Ed25519 key',
    () => {
      const seed = new Uint8Array(32).fill(9)
      const d = x25519FromEd25519Seed(seed)
      assert.deepEqual(d.privateKey, sha512First32(seed))
      assert.deepEqual(d.publicKey, ed25519.utils.toMontgomery(ed25519.getPublicKey(seed)))
    }
  )

  it('refuses malformed input', () => {
    assert.throws(() => x25519FromEd25519Seed(new Uint8Array(31)), code(ErrorCode.BAD_REQUEST))
    assert.throws(() => x25519FromEd25519Public(new Uint8Array(33)), code(ErrorCode.BAD_REQUEST))
    assert.throws(() => x25519OfPeerId('not a peer id'), code(ErrorCode.BAD_REQUEST))
  })
})

/** libsodium's crypto_sign_ed25519_sk_to_curve25519: sha512(seed)[0..32], clamped. */
function sha512First32(seed: Uint8Array): Uint8Array {
  const k = new Uint8Array(createHashSync('sha512').update(seed).digest().subarray(0, 32))
  k[0] &= 248
  k[31] &= 127
  k[31] |= 64
  return k
}
