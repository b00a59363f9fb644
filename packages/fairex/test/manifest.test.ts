// manifest.ts: a provider-signed manifest round trips, and every inconsistent
// or wrongly signed one is refused with its error code.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { ErrorCode, Verifier, fromB64, nodeEd25519, signerFor, toB64, toHex, type Signer } from '@p2pay/core'
import {
  MANIFEST_TAG,
  openManifest,
  signManifest,
  type ManifestBody,
  type ManifestInput
} from '../src/core/manifest.ts'

const backend = nodeEd25519()
const verifier = new Verifier(backend)
const signer = async (): Promise<Signer> => signerFor(await generateKeyPair('Ed25519'), backend)
const code = (c: string) => ({ name: 'P2payError', code: c })

const input: ManifestInput = {
  fileId: toHex(new Uint8Array(32).fill(0xab)),
  name: 'song.ogg',
  size: 1_000_000,
  pieceSize: 256 * 1024,
  price: 25,
  createdAt: 1_700_000_000_000
}
const bodyOf = (p: Signer, over: Partial<ManifestBody> = {}): ManifestBody => ({
  ...input,
  provider: p.peerId,
  pieceCount: 4,
  ...over
})
/** Signs any body, bypassing signManifest's checks: what a careless or hostile provider could send. */
const raw = (s: Signer, body: unknown, tag = MANIFEST_TAG): string => toB64(s.sign(tag, body, 'test').bytes)

describe('manifest', () => {
  it('round trips and names its provider', async () => {
    const p = await signer()
    const b64 = signManifest(p, input)
    const m = openManifest(verifier, b64)
    assert.equal(m.tag, MANIFEST_TAG)
    assert.equal(m.signer, p.peerId)
    assert.deepEqual(m.body, bodyOf(p))
    assert.match(m.hash, /^[0-9a-f]{64}$/)
    // exactly one piece when the file fits, and a file of whole pieces has no extra one
    assert.equal(openManifest(verifier, signManifest(p, { ...input, size: 1 })).body.pieceCount, 1)
    assert.equal(openManifest(verifier, signManifest(p, { ...input, size: 4 * 256 * 1024 })).body.pieceCount, 4)
    // a 255-byte UTF-8 name is fine
    assert.equal(
      openManifest(verifier, signManifest(p, { ...input, name: 'é'.repeat(127) + 'x' })).body.name.length,
      128
    )
  })

  it('refuses a body signed by someone other than the provider it names', async () => {
    const [p, q] = await Promise.all([signer(), signer()])
    assert.throws(() => openManifest(verifier, raw(q, bodyOf(p))), code(ErrorCode.WRONG_SIGNER))
    assert.ok(openManifest(verifier, raw(p, bodyOf(p))))
  })

  it('refuses every inconsistent field', async () => {
    const p = await signer()
    const bad: Array<[string, Partial<ManifestBody> | Record<string, unknown>]> = [
      ['pieceCount too small', { pieceCount: 3 }],
      ['pieceCount too large', { pieceCount: 5 }],
      ['size zero', { size: 0, pieceCount: 0 }],
      ['size negative', { size: -5, pieceCount: 0 }],
      ['piece size not a power of two', { pieceSize: 100_000, pieceCount: 10 }],
      ['piece size too small', { pieceSize: 8192, pieceCount: 123 }],
      ['piece size too big', { pieceSize: 8 * 1024 * 1024, pieceCount: 1 }],
      ['more pieces than a judge takes', { size: 65_537 * 16_384, pieceSize: 16_384, pieceCount: 65_537 }],
      ['price zero', { price: 0 }],
      ['price negative', { price: -1 }],
      ['price a string', { price: '25' }],
      ['fileId short', { fileId: 'ab'.repeat(31) }],
      ['fileId uppercase', { fileId: 'AB'.repeat(32) }],
      ['fileId not hex', { fileId: 'zz'.repeat(32) }],
      ['name empty', { name: '' }],
      ['name 256 bytes', { name: 'a'.repeat(256) }],
      ['name 256 UTF-8 bytes', { name: 'é'.repeat(128) }],
      ['name with a slash', { name: '../etc/passwd' }],
      ['name with a backslash', { name: 'a\\b' }],
      ['name with a NUL', { name: 'a\u0000b' }],
      ['name ..', { name: '..' }],
      ['name not a string', { name: 7 }],
      ['createdAt negative', { createdAt: -1 }],
      ['unknown field', { extra: 1 }],
      ['provider empty', { provider: '' }]
    ]
    for (const [what, over] of bad) {
      assert.throws(
        () => openManifest(verifier, raw(p, bodyOf(p, over as Partial<ManifestBody>))),
        code(ErrorCode.BAD_REQUEST),
        what
      )
    }
    const missing = bodyOf(p) as Partial<ManifestBody>
    delete missing.price
    assert.throws(() => openManifest(verifier, raw(p, missing)), code(ErrorCode.BAD_REQUEST), 'missing price')
  })

  it('signManifest refuses to sign what openManifest would refuse', async () => {
    const p = await signer()
    for (const over of [{ size: 0 }, { price: 0 }, { name: 'a/b' }, { fileId: 'x' }, { pieceSize: 1000 }]) {
      assert.throws(() => signManifest(p, { ...input, ...over }), code(ErrorCode.BAD_REQUEST), JSON.stringify(over))
    }
  })

  it('refuses another tag, a changed byte, bad base64 and oversized input', async () => {
    const p = await signer()
    assert.throws(() => openManifest(verifier, raw(p, bodyOf(p), 'p2pay/fairex/other/v1')), code(ErrorCode.WRONG_TAG))
    const b = fromB64(signManifest(p, input))
    b[b.byteLength - 1] ^= 0x01
    assert.throws(() => openManifest(verifier, toB64(b)), code(ErrorCode.BAD_SIGNATURE))
    const c = fromB64(signManifest(p, input))
    const at = Buffer.from(c).indexOf('song.ogg')
    c[at] = 'S'.charCodeAt(0)
    assert.throws(() => openManifest(verifier, toB64(c)), code(ErrorCode.BAD_SIGNATURE))
    for (const bad of ['', 'not base64!', 'A'.repeat(5000), 42, null, undefined]) {
      assert.throws(() => openManifest(verifier, bad), code(ErrorCode.BAD_REQUEST), String(bad))
    }
  })
})
