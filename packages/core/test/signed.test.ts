// signed.ts: the versioned envelope, domain separation, the verified cache, counters, peer id <-> key.
import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { Signer, Verifier, VerifiedCache, keyOfPeerId, peerIdOfKey, ENVELOPE_VERSION } from '../src/crypto/signed.ts'
import { signerFor } from '../src/crypto/identity.ts'
import { nodeEd25519, nobleEd25519 } from '../src/crypto/ed25519.ts'
import { Metrics } from '../src/metrics.ts'
import { ErrorCode, P2payError, isP2payError } from '../src/errors.ts'
import { concat, sha256Hex, utf8, canonicalJson } from '../src/bytes.ts'

const backend = nodeEd25519()
const TAG_A = 'p2pay/test-a'
const TAG_B = 'p2pay/test-b'

const code =
  (c: string) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof P2payError, `expected P2payError ${c}, got ${String(e)}`)
    assert.equal(e.code, c)
    return true
  }

/** Builds a correctly signed envelope by hand (any version, any body bytes). */
function rawEnvelope(
  seed: Uint8Array,
  pub: Uint8Array,
  tag: string,
  body: Uint8Array,
  version = ENVELOPE_VERSION
): Uint8Array {
  const t = utf8(tag)
  return rawEnvelopeBytes(seed, pub, t, body, version)
}
function rawEnvelopeBytes(
  seed: Uint8Array,
  pub: Uint8Array,
  t: Uint8Array,
  body: Uint8Array,
  version = ENVELOPE_VERSION
): Uint8Array {
  const sig = backend.sign(seed, concat([utf8('p2pay-signed\0'), t, new Uint8Array([0]), pub, body]))
  const len = new Uint8Array(4)
  new DataView(len.buffer).setUint32(0, body.byteLength)
  return concat([new Uint8Array([version, t.byteLength]), t, pub, len, body, sig])
}

let key: PrivateKey
let signer: Signer
let seed: Uint8Array

before(async () => {
  key = await generateKeyPair('Ed25519')
  signer = signerFor(key, backend)
  seed = (key as unknown as { raw: Uint8Array }).raw.subarray(0, 32)
})

describe('Signer and Verifier', () => {
  it('round trip; signer is the libp2p peer id of the key; hash is sha256 of the bytes', () => {
    const body = { b: 2, a: 'x', nested: { z: [1, 2], y: null } }
    const s = signer.sign(TAG_A, body, 'test')
    assert.equal(signer.peerId, peerIdFromPrivateKey(key).toString())
    assert.deepEqual(signer.publicKey, key.publicKey.raw)
    assert.equal(s.signer, signer.peerId)
    assert.equal(s.tag, TAG_A)
    assert.equal(s.hash, sha256Hex(s.bytes))
    for (const v of [new Verifier(backend), new Verifier(nobleEd25519())]) {
      const o = v.open<typeof body>(s.bytes, TAG_A, 'test')
      assert.equal(o.signer, peerIdFromPrivateKey(key).toString())
      assert.equal(o.tag, TAG_A)
      assert.deepEqual(o.body, body)
      assert.deepEqual(o.bytes, s.bytes)
      assert.equal(o.hash, sha256Hex(s.bytes))
      assert.equal(o.hash, s.hash)
    }
  })

  it('envelope layout is [1][tagLen][tag][key 32][bodyLen u32be][canonical body][sig 64]', () => {
    const body = { z: 1, a: [true, 'é'] }
    const s = signer.sign(TAG_A, body, 'test')
    const bodyBytes = utf8(canonicalJson(body))
    assert.deepEqual(s.bytes, rawEnvelope(seed, signer.publicKey, TAG_A, bodyBytes))
    assert.equal(s.bytes[0], 1)
    assert.equal(s.bytes[1], TAG_A.length)
    assert.equal(s.bytes.byteLength, 2 + TAG_A.length + 32 + 4 + bodyBytes.byteLength + 64)
  })

  it('a noble signer makes byte-identical envelopes that the node verifier opens', () => {
    const nobleSigner = signerFor(key, nobleEd25519())
    const a = signer.sign(TAG_A, { n: 1 }, 'test')
    const b = nobleSigner.sign(TAG_A, { n: 1 }, 'test')
    assert.deepEqual(b.bytes, a.bytes)
    assert.deepEqual(new Verifier(backend).open(b.bytes, TAG_A, 'test').body, { n: 1 })
  })

  it('returns a copy of the bytes: later changes to the input do not reach the opened object', () => {
    const s = signer.sign(TAG_A, { v: 1 }, 'test')
    const input = s.bytes.slice()
    const o = new Verifier(backend).open(input, TAG_A, 'test')
    input.fill(0)
    assert.deepEqual(o.bytes, s.bytes)
    assert.equal(sha256Hex(o.bytes), o.hash)
  })

  it('accepts any tag of a list, rejects a tag not listed with WRONG_TAG', () => {
    const s = signer.sign(TAG_A, { v: 1 }, 'test')
    const v = new Verifier(backend)
    assert.equal(v.open(s.bytes, [TAG_B, TAG_A], 'test').tag, TAG_A)
    assert.throws(() => v.open(s.bytes, TAG_B, 'test'), code(ErrorCode.WRONG_TAG))
    assert.throws(() => v.open(s.bytes, [], 'test'), code(ErrorCode.WRONG_TAG))
  })

  it('domain separation: a signature made under tag A, re-tagged as B, is BAD_SIGNATURE', () => {
    const body = { amount: 5 }
    const s = signer.sign(TAG_A, body, 'test')
    const tagA = utf8(TAG_A)
    const bodyBytes = utf8(canonicalJson(body))
    const sig = s.bytes.subarray(s.bytes.byteLength - 64)
    const len = s.bytes.subarray(2 + tagA.byteLength + 32, 2 + tagA.byteLength + 36)
    const v = new Verifier(backend)
    for (const other of [TAG_B, 'p2pay/other-length-tag', 'x']) {
      const t = utf8(other)
      const forged = concat([new Uint8Array([1, t.byteLength]), t, signer.publicKey, len, bodyBytes, sig])
      assert.throws(() => v.open(forged, other, 'test'), code(ErrorCode.BAD_SIGNATURE), other)
      assert.throws(() => v.open(forged, TAG_A, 'test'), code(ErrorCode.WRONG_TAG), other)
    }
    // the original still opens: only the tag was at fault
    assert.deepEqual(v.open(s.bytes, TAG_A, 'test').body, body)
  })

  it('a flipped bit anywhere is rejected with the code of the field it hit', () => {
    const s = signer.sign(TAG_A, { payee: 'bob', amount: 7 }, 'test')
    const b = s.bytes
    const tagEnd = 2 + b[1]
    const keyEnd = tagEnd + 32
    const lenEnd = keyEnd + 4
    const bodyEnd = b.byteLength - 64
    const expected = (i: number, mask: number): string => {
      if (i === 0) return ErrorCode.UNKNOWN_VERSION
      if (i === 1) return ErrorCode.BAD_FRAME
      // 0x80 makes the ASCII tag invalid UTF-8
      if (i < tagEnd) return mask === 0x80 ? ErrorCode.BAD_FRAME : ErrorCode.WRONG_TAG
      if (i < keyEnd) return ErrorCode.BAD_SIGNATURE
      if (i < lenEnd) return ErrorCode.BAD_FRAME
      if (i < bodyEnd) return ErrorCode.BAD_SIGNATURE
      return ErrorCode.BAD_SIGNATURE
    }
    const cached = new VerifiedCache()
    const verifiers = [new Verifier(backend), new Verifier(nobleEd25519()), new Verifier(backend, undefined, cached)]
    verifiers[2].open(b, TAG_A, 'test') // the original is now cached: tampered copies must still fail
    for (let i = 0; i < b.byteLength; i++) {
      for (const mask of [0x01, 0x80]) {
        const bad = b.slice()
        bad[i] ^= mask
        for (const v of verifiers)
          assert.throws(() => v.open(bad, TAG_A, 'test'), code(expected(i, mask)), `byte ${i} mask ${mask}`)
      }
    }
  })

  it('version byte other than 1 is UNKNOWN_VERSION, even when correctly signed', () => {
    const v = new Verifier(backend)
    for (const version of [0, 2, 255]) {
      const env = rawEnvelope(seed, signer.publicKey, TAG_A, utf8('{"a":1}'), version)
      assert.throws(() => v.open(env, TAG_A, 'test'), code(ErrorCode.UNKNOWN_VERSION), `version ${version}`)
    }
    assert.deepEqual(v.open(rawEnvelope(seed, signer.publicKey, TAG_A, utf8('{"a":1}'), 1), TAG_A, 'test').body, {
      a: 1
    })
  })

  it('truncated or extended envelopes are BAD_FRAME', () => {
    const s = signer.sign(TAG_A, { v: 'x'.repeat(50) }, 'test')
    const v = new Verifier(backend)
    for (const n of [0, 1, 2, 50, 101, s.bytes.byteLength - 64, s.bytes.byteLength - 1]) {
      assert.throws(() => v.open(s.bytes.subarray(0, n), TAG_A, 'test'), code(ErrorCode.BAD_FRAME), `length ${n}`)
    }
    assert.throws(() => v.open(concat([s.bytes, new Uint8Array([0])]), TAG_A, 'test'), code(ErrorCode.BAD_FRAME))
    assert.throws(() => v.open('not bytes' as unknown as Uint8Array, TAG_A, 'test'), code(ErrorCode.BAD_FRAME))
    // a tag length pointing past the end
    const bad = new Uint8Array(120)
    bad[0] = 1
    bad[1] = 255
    assert.throws(() => v.open(bad, TAG_A, 'test'), code(ErrorCode.BAD_FRAME))
  })

  it('a correctly signed body that is not a JSON object is BAD_FRAME; body over 64 KiB is BAD_FRAME', () => {
    const v = new Verifier(backend)
    for (const body of ['not json', '{"a":', '5', '"str"', 'null', '\xff']) {
      const env = rawEnvelope(seed, signer.publicKey, TAG_A, body === '\xff' ? new Uint8Array([0xff]) : utf8(body))
      assert.throws(() => v.open(env, TAG_A, 'test'), code(ErrorCode.BAD_FRAME), body)
    }
    const notUtf8Tag = rawEnvelopeBytes(seed, signer.publicKey, new Uint8Array([0xc3, 0x28]), utf8('{}'))
    assert.throws(() => v.open(notUtf8Tag, TAG_A, 'test'), code(ErrorCode.BAD_FRAME))
    const big = rawEnvelope(seed, signer.publicKey, TAG_A, utf8(JSON.stringify({ p: 'x'.repeat(64 * 1024) })))
    assert.throws(() => v.open(big, TAG_A, 'test'), code(ErrorCode.BAD_FRAME))
  })

  it('a correctly signed body in another encoding is BAD_FRAME, every time; bytes opened before open again', () => {
    const cache = new VerifiedCache()
    const v = new Verifier(backend, undefined, cache)
    const good = rawEnvelope(seed, signer.publicKey, TAG_A, utf8('{"a":1,"b":2}'))
    const other = ['{"b":2,"a":1}', '{"a":1, "b":2}', '{"a":1.0,"b":2}', ' {"a":1,"b":2}', '{"a":1,"b":"\\u0032"}']
    for (const body of other) {
      const env = rawEnvelope(seed, signer.publicKey, TAG_A, utf8(body))
      // twice: a refused envelope is not remembered as checked
      for (let i = 0; i < 2; i++) assert.throws(() => v.open(env, TAG_A, 'test'), code(ErrorCode.BAD_FRAME), body)
    }
    const first = v.open(good, TAG_A, 'test')
    const again = v.open(good, TAG_A, 'test')
    assert.deepEqual(again.body, { a: 1, b: 2 })
    assert.equal(again.hash, first.hash)
  })

  it('tags up to 255 bytes sign; longer is a TypeError', () => {
    const t = 't'.repeat(255)
    const s = signer.sign(t, { a: 1 }, 'test')
    assert.equal(new Verifier(backend).open(s.bytes, t, 'test').tag, t)
    assert.throws(() => signer.sign('t'.repeat(256), { a: 1 }, 'test'), TypeError)
  })
})

describe('VerifiedCache and counters', () => {
  it('a second open of the same bytes is not verified again; a tampered copy still is, and fails', () => {
    const metrics = new Metrics()
    const cache = new VerifiedCache()
    const v = new Verifier(backend, metrics, cache)
    const s = signer.sign(TAG_A, { n: 1 }, 'test') // signer without the cache
    assert.equal(cache.has(s.hash), false)
    v.open(s.bytes, TAG_A, 'pay')
    assert.equal(metrics.get('signatures_verified_total', 'pay'), 1)
    assert.equal(cache.has(s.hash), true)
    const again = v.open(s.bytes.slice(), TAG_A, 'pay')
    assert.deepEqual(again.body, { n: 1 })
    assert.equal(metrics.get('signatures_verified_total', 'pay'), 1, 'cache hit does not verify')
    const bad = s.bytes.slice()
    bad[bad.byteLength - 1] ^= 1
    assert.throws(() => v.open(bad, TAG_A, 'pay'), code(ErrorCode.BAD_SIGNATURE))
    assert.equal(metrics.get('signatures_verified_total', 'pay'), 2)
    assert.throws(() => v.open(bad, TAG_A, 'pay'), code(ErrorCode.BAD_SIGNATURE))
    assert.equal(metrics.get('signatures_verified_total', 'pay'), 3, 'a failed verification is not cached')
    // a cached envelope is still checked for its tag
    assert.throws(() => v.open(s.bytes, TAG_B, 'pay'), code(ErrorCode.WRONG_TAG))
  })

  it('a signer sharing the cache marks its own envelopes as verified', () => {
    const metrics = new Metrics()
    const cache = new VerifiedCache()
    const own = signerFor(key, backend, metrics, cache)
    const s = own.sign(TAG_A, { n: 2 }, 'buy')
    assert.equal(cache.has(s.hash), true)
    new Verifier(backend, metrics, cache).open(s.bytes, TAG_A, 'buy')
    assert.equal(metrics.get('signatures_verified_total'), 0)
    assert.equal(metrics.get('signatures_generated_total', 'buy'), 1)
  })

  it('is bounded, oldest out first', () => {
    const c = new VerifiedCache(2)
    c.add('a')
    c.add('b')
    c.add('a')
    c.add('c')
    assert.equal(c.has('a'), false)
    assert.equal(c.has('b'), true)
    assert.equal(c.has('c'), true)
  })

  it('signature counters increase per sign/verify under the given kind', () => {
    const metrics = new Metrics()
    const s = signerFor(key, backend, metrics)
    const v = new Verifier(backend, metrics)
    const a = s.sign(TAG_A, { i: 1 }, 'buy')
    s.sign(TAG_A, { i: 2 }, 'buy')
    s.sign(TAG_A, { i: 3 }, 'cash')
    assert.equal(metrics.get('signatures_generated_total', 'buy'), 2)
    assert.equal(metrics.get('signatures_generated_total', 'cash'), 1)
    assert.equal(metrics.get('signatures_generated_total'), 3)
    v.open(a.bytes, TAG_A, 'relay')
    v.open(a.bytes, TAG_A, 'relay')
    assert.equal(metrics.get('signatures_verified_total', 'relay'), 2, 'no cache: every open verifies')
    assert.equal(metrics.get('signatures_verified_total', 'buy'), 0)
    assert.equal(metrics.snapshot()['signatures_verified_total{kind="relay"}'], 2)
  })
})

describe('peer ids and keys', () => {
  it('keyOfPeerId and peerIdOfKey round trip', async () => {
    const k = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(k).toString()
    assert.deepEqual(keyOfPeerId(id), k.publicKey.raw)
    assert.equal(peerIdOfKey(k.publicKey.raw), id)
    assert.equal(peerIdOfKey(keyOfPeerId(id)), id)
    assert.deepEqual(keyOfPeerId(id), k.publicKey.raw, 'cached answer is the same')
  })

  it('keyOfPeerId on garbage or a non-Ed25519 peer id is BAD_REQUEST', async () => {
    for (const bad of ['', 'garbage', '12D3KooWnotreallyapeerid', 'x'.repeat(500)]) {
      assert.throws(() => keyOfPeerId(bad), code(ErrorCode.BAD_REQUEST), bad.slice(0, 20))
    }
    const secp = await generateKeyPair('secp256k1')
    assert.throws(() => keyOfPeerId(peerIdFromPrivateKey(secp).toString()), code(ErrorCode.BAD_REQUEST))
    try {
      keyOfPeerId('x'.repeat(500))
    } catch (e) {
      assert.ok(isP2payError(e))
      assert.ok(e.message.length < 200, 'message quotes a bounded prefix of the input')
    }
    assert.equal(isP2payError(new Error('x')), false)
  })
})
