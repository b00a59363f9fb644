// zbox.ts: Z = Enc_T(K, P, D) opens for the party each box is sealed to, only
// in its own role and only for its own sale; a missing box, a malformed Z and a
// box moved to another sale are refused with their codes; H(Z) is a hash of the bytes.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import {
  ErrorCode,
  canonicalJson,
  fromUtf8,
  nodeEd25519,
  randomId,
  sha256Hex,
  signerFor,
  toB64,
  utf8
} from '@p2pay/core'
import { x25519FromEd25519Seed } from '../src/core/ecies.ts'
import { newPieceKey } from '../src/core/keypiece.ts'
import { openZ, sealZ, zHash, type ZParties } from '../src/core/zbox.ts'

const code = (c: string) => ({ name: 'P2payError', code: c })

interface Party {
  id: string
  x: Uint8Array
}
async function party(): Promise<Party> {
  const key = await generateKeyPair('Ed25519')
  // identity.ts: Ed25519 raw = 32-byte seed | 32-byte public key
  return {
    id: signerFor(key, nodeEd25519()).peerId,
    x: x25519FromEd25519Seed((key as Ed25519PrivateKey).raw.subarray(0, 32)).privateKey
  }
}

async function setup(): Promise<{ T: Party; J: Party; X: Party; sale: ZParties }> {
  const [T, J, X, P, D] = await Promise.all([party(), party(), party(), party(), party()])
  return { T, J, X, sale: { provider: P.id, downloader: D.id, chequeSn: randomId(8) } }
}

describe('Z boxes', () => {
  it('each role opens its own box to K', async () => {
    const { T, J, sale } = await setup()
    const K = newPieceKey()
    const z = sealZ(K, sale, { ttp: T.id, judge: J.id })
    assert.deepEqual(openZ(z, 'ttp', T.x, sale), K)
    assert.deepEqual(openZ(z, 'judge', J.x, sale), K)
    // the original form: one box, for the TTP only
    const z1 = sealZ(K, sale, { ttp: T.id })
    assert.deepEqual(openZ(z1, 'ttp', T.x, sale), K)
    assert.equal(Object.hasOwn(JSON.parse(fromUtf8(z1)), 'judge'), false)
  })

  it("a wrong key or the other role's key does not open a box", async () => {
    const { T, J, X, sale } = await setup()
    const z = sealZ(newPieceKey(), sale, { ttp: T.id, judge: J.id })
    assert.throws(() => openZ(z, 'ttp', X.x, sale), code(ErrorCode.BAD_SIGNATURE))
    assert.throws(() => openZ(z, 'ttp', J.x, sale), code(ErrorCode.BAD_SIGNATURE))
    assert.throws(() => openZ(z, 'judge', T.x, sale), code(ErrorCode.BAD_SIGNATURE))
    // the judge's own box swapped into the TTP's place: the role is in the AAD
    const o = JSON.parse(fromUtf8(z))
    const swapped = utf8(canonicalJson({ v: 1, ttp: o.judge, judge: o.judge }))
    assert.throws(() => openZ(swapped, 'ttp', J.x, sale), code(ErrorCode.BAD_SIGNATURE))
  })

  it('a box moved to another sale does not open', async () => {
    const { T, J, X, sale } = await setup()
    const z = sealZ(newPieceKey(), sale, { ttp: T.id, judge: J.id })
    for (const other of [
      { ...sale, chequeSn: randomId(8) },
      { ...sale, provider: X.id },
      { ...sale, downloader: X.id },
      { ...sale, provider: sale.downloader, downloader: sale.provider }
    ]) {
      assert.throws(() => openZ(z, 'ttp', T.x, other), code(ErrorCode.BAD_SIGNATURE))
      assert.throws(() => openZ(z, 'judge', J.x, other), code(ErrorCode.BAD_SIGNATURE))
    }
  })

  it("a Z without a judge box is refused to the judge; P's garbage K' opens as K'", async () => {
    const { T, J, sale } = await setup()
    const K = newPieceKey()
    const Kx = newPieceKey()
    const z = sealZ(Kx, sale, { ttp: T.id })
    assert.throws(() => openZ(z, 'judge', J.x, sale), code(ErrorCode.BAD_REQUEST))
    // the box carries whatever P put in: nothing in Z says it is not K
    assert.deepEqual(openZ(z, 'ttp', T.x, sale), Kx)
    assert.notDeepEqual(Kx, K)
  })

  it('refuses malformed Z', async () => {
    const { T, J, sale } = await setup()
    const good = JSON.parse(fromUtf8(sealZ(newPieceKey(), sale, { ttp: T.id, judge: J.id })))
    const flipped = Buffer.from(good.ttp, 'base64')
    flipped[flipped.length - 1] ^= 1
    const cases: Array<[Uint8Array, string]> = [
      [new Uint8Array(0), ErrorCode.BAD_REQUEST],
      [new Uint8Array(4097), ErrorCode.BAD_REQUEST],
      [utf8('not json'), ErrorCode.BAD_REQUEST],
      [utf8('null'), ErrorCode.UNKNOWN_VERSION],
      [utf8(canonicalJson({ ...good, v: 2 })), ErrorCode.UNKNOWN_VERSION],
      [utf8(canonicalJson({ v: 1, ttp: 5 })), ErrorCode.BAD_REQUEST],
      [utf8(canonicalJson({ v: 1, ttp: '%%%' })), ErrorCode.BAD_REQUEST],
      [utf8(canonicalJson({ v: 1, ttp: toB64(new Uint8Array(10)) })), ErrorCode.BAD_FRAME],
      [utf8(canonicalJson({ ...good, ttp: toB64(flipped) })), ErrorCode.BAD_SIGNATURE]
    ]
    for (const [z, c] of cases)
      assert.throws(
        () => openZ(z, 'ttp', T.x, sale),
        code(c),
        `Z ${fromUtf8(z.subarray(0, 40)).slice(0, 40)} should be ${c}`
      )
    assert.throws(() => sealZ(new Uint8Array(31), sale, { ttp: T.id }), code(ErrorCode.BAD_REQUEST))
  })

  it('zHash is sha256 of the bytes; sealing is randomised, so each Z has its own hash', async () => {
    const { T, J, sale } = await setup()
    const K = newPieceKey()
    const z = sealZ(K, sale, { ttp: T.id, judge: J.id })
    assert.equal(zHash(z), sha256Hex(z))
    assert.equal(zHash(z), zHash(z.slice()))
    assert.match(zHash(z), /^[0-9a-f]{64}$/)
    const again = sealZ(K, sale, { ttp: T.id, judge: J.id })
    assert.notEqual(zHash(again), zHash(z))
    const changed = z.slice()
    changed[changed.length - 2] ^= 1
    assert.notEqual(zHash(changed), zHash(z))
  })
})
