// keypiece.ts: SEK(KP) round trips, pins the IV | AES-256-CTR format, and a
// wrong key (the cheating provider's K') decrypts to a piece that fails the file id.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { ErrorCode } from '@p2pay/core'
import {
  IV_LEN,
  KEY_LEN,
  decryptKeyPiece,
  encryptKeyPiece,
  keyOpensPiece,
  newPieceKey,
  sekHash
} from '../src/core/keypiece.ts'
import { merkleProof, merkleRoot, pieceHash, verifyPiece } from '../src/core/merkle.ts'

const PIECE = 16 * 1024
const code = (c: string) => ({ name: 'P2payError', code: c })

/** A 6-piece file in memory with a short last piece. */
function file(): { pieces: Uint8Array[]; fileId: Uint8Array; hashes: Uint8Array[] } {
  const data = new Uint8Array(randomBytes(5 * PIECE + 999))
  const pieces: Uint8Array[] = []
  for (let o = 0; o < data.byteLength; o += PIECE) pieces.push(data.subarray(o, o + PIECE))
  const hashes = pieces.map(pieceHash)
  return { pieces, hashes, fileId: merkleRoot(hashes) }
}

describe('key piece', () => {
  it('round trips every piece, keeps the length and hides the piece', () => {
    const f = file()
    const K = newPieceKey()
    f.pieces.forEach((kp, i) => {
      const sek = encryptKeyPiece(K, kp)
      assert.equal(sek.byteLength, IV_LEN + kp.byteLength)
      assert.notDeepEqual(sek.subarray(IV_LEN), kp)
      const plain = decryptKeyPiece(K, sek)
      assert.deepEqual(plain, kp)
      const path = merkleProof(f.hashes, i)
      assert.equal(verifyPiece(f.fileId, i, f.pieces.length, plain, path), true)
      assert.equal(keyOpensPiece(f.fileId, i, f.pieces.length, K, sek, path), true)
    })
  })

  it('uses a fresh IV each time', () => {
    const K = newPieceKey()
    const kp = new Uint8Array(PIECE).fill(7)
    const a = encryptKeyPiece(K, kp)
    const b = encryptKeyPiece(K, kp)
    assert.notDeepEqual(a.subarray(0, IV_LEN), b.subarray(0, IV_LEN))
    assert.notEqual(sekHash(a), sekHash(b))
    assert.deepEqual(decryptKeyPiece(K, a), decryptKeyPiece(K, b))
  })

  it('is IV | AES-256-CTR (NIST SP 800-38A F.5.5)', () => {
    const K = new Uint8Array(Buffer.from('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4', 'hex'))
    const sek = new Uint8Array(
      Buffer.from('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff' + '601ec313775789a5b7a7f504bbf3d228', 'hex')
    )
    assert.equal(Buffer.from(decryptKeyPiece(K, sek)).toString('hex'), '6bc1bee22e409f96e93d7e117393172a')
  })

  it('a wrong key decrypts to garbage that fails verifyPiece', () => {
    const f = file()
    const K = newPieceKey()
    const i = 2
    const sek = encryptKeyPiece(K, f.pieces[i])
    const path = merkleProof(f.hashes, i)
    for (const wrong of [newPieceKey(), K.map((b, j) => (j === 31 ? b ^ 1 : b))]) {
      const garbage = decryptKeyPiece(wrong, sek)
      assert.equal(garbage.byteLength, f.pieces[i].byteLength)
      assert.notDeepEqual(garbage, f.pieces[i])
      assert.equal(verifyPiece(f.fileId, i, f.pieces.length, garbage, path), false)
      assert.equal(keyOpensPiece(f.fileId, i, f.pieces.length, wrong, sek, path), false)
    }
    // the right key at the wrong index, or a changed SEK, fails too
    assert.equal(keyOpensPiece(f.fileId, 3, f.pieces.length, K, sek, merkleProof(f.hashes, 3)), false)
    const tampered = sek.slice()
    tampered[IV_LEN + 10] ^= 0x01
    assert.equal(keyOpensPiece(f.fileId, i, f.pieces.length, K, tampered, path), false)
    assert.equal(keyOpensPiece(f.fileId, i, f.pieces.length, K, sek.subarray(0, IV_LEN), path), false)
    assert.equal(keyOpensPiece(f.fileId, i, f.pieces.length, K.subarray(1), sek, path), false)
  })

  it('sekHash is sha256 hex of the exact SEK bytes', () => {
    const sek = encryptKeyPiece(newPieceKey(), new Uint8Array(100))
    assert.equal(sekHash(sek), createHash('sha256').update(sek).digest('hex'))
    const other = sek.slice()
    other[0] ^= 0x80
    assert.notEqual(sekHash(other), sekHash(sek))
  })

  it('keys are 32 fresh random bytes; malformed keys and SEKs are refused', () => {
    const a = newPieceKey()
    assert.equal(a.byteLength, KEY_LEN)
    assert.notDeepEqual(a, newPieceKey())
    assert.throws(() => encryptKeyPiece(a.subarray(1), new Uint8Array(10)), code(ErrorCode.BAD_REQUEST))
    assert.throws(() => encryptKeyPiece(a, new Uint8Array(0)), code(ErrorCode.BAD_REQUEST))
    assert.throws(() => encryptKeyPiece(a, new Uint8Array(4 * 1024 * 1024 + 1)), code(ErrorCode.BAD_REQUEST))
    assert.throws(() => decryptKeyPiece(new Uint8Array(16), new Uint8Array(40)), code(ErrorCode.BAD_REQUEST))
    assert.throws(() => decryptKeyPiece(a, new Uint8Array(IV_LEN)), code(ErrorCode.BAD_FRAME))
  })
})
