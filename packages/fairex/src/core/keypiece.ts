// The key piece KP: one piece of the file sent encrypted, SEK(KP) = IV | AES-256-CTR_K(KP).
// CTR keeps the length and needs no padding. There is deliberately no MAC: the
// file id authenticates the result, since only the right K decrypts SEK(KP) to a
// piece that verifies against the Merkle root. That check is what lets a judge
// tell a garbage K' in Z from a downloader's false complaint.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { ErrorCode, fail } from '@p2pay/core'
import { merkleProof, verifyPiece } from './merkle.ts'
import { MAX_PIECE_SIZE } from './pieces.ts'

export const KEY_LEN = 32
export const IV_LEN = 16

/** A fresh K for one sale: never reuse it, Z and the key message carry it in the clear to their recipients. */
export const newPieceKey = (): Uint8Array => new Uint8Array(randomBytes(KEY_LEN))

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.byteLength !== KEY_LEN) fail(ErrorCode.BAD_REQUEST, 'a piece key is 32 bytes')
}

function ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array, encrypt: boolean): Uint8Array {
  const c = encrypt ? createCipheriv('aes-256-ctr', key, iv) : createDecipheriv('aes-256-ctr', key, iv)
  const a = c.update(data)
  const b = c.final()
  return new Uint8Array(b.byteLength === 0 ? a : Buffer.concat([a, b]))
}

/** SEK(KP) = IV | ciphertext, with a random IV. */
export function encryptKeyPiece(key: Uint8Array, piece: Uint8Array): Uint8Array {
  checkKey(key)
  if (!(piece instanceof Uint8Array) || piece.byteLength === 0 || piece.byteLength > MAX_PIECE_SIZE)
    fail(ErrorCode.BAD_REQUEST, 'key piece must be 1 byte to one max piece')
  const iv = randomBytes(IV_LEN)
  const out = new Uint8Array(IV_LEN + piece.byteLength)
  out.set(iv, 0)
  out.set(ctr(key, iv, piece, true), IV_LEN)
  return out
}

/** Any key "decrypts": a wrong one gives garbage that fails verifyPiece. */
export function decryptKeyPiece(key: Uint8Array, sek: Uint8Array): Uint8Array {
  checkKey(key)
  if (!(sek instanceof Uint8Array) || sek.byteLength <= IV_LEN || sek.byteLength > IV_LEN + MAX_PIECE_SIZE)
    fail(ErrorCode.BAD_FRAME, 'encrypted key piece has a bad length')
  return ctr(key, sek.subarray(0, IV_LEN), sek.subarray(IV_LEN), false)
}

/** H(SEK(KP)), hex: what the fixed protocol's cheque C* commits to. */
export const sekHash = (sek: Uint8Array): string => createHash('sha256').update(sek).digest('hex')

/**
 * The judge's check: does K open SEK(KP) to piece `index` of the file? False for
 * a wrong key, a wrong index or a malformed SEK; never throws.
 */
export function keyOpensPiece(
  fileId: Uint8Array,
  index: number,
  count: number,
  key: Uint8Array,
  sek: Uint8Array,
  path: Uint8Array[]
): boolean {
  let piece: Uint8Array
  try {
    piece = decryptKeyPiece(key, sek)
  } catch {
    return false
  }
  return verifyPiece(fileId, index, count, piece, path)
}

/** What it takes to check a key against a file: the file id, the key piece's place, SEK(KP) and the piece hashes. */
export interface KeyPieceCheck {
  fileId: Uint8Array
  keyIndex: number
  pieceCount: number
  sek: Uint8Array
  pieceHashes: Uint8Array[]
}

/**
 * The key piece a key (64 lowercase hex digits, as 2.4, 3.2 and verdicts carry
 * it) opens SEK(KP) to, if the piece verifies against the file id; null for a
 * malformed or wrong key. The one rule D applies to every key it is given.
 */
export function keyPieceFor(c: KeyPieceCheck, keyHex: unknown): Uint8Array | null {
  if (typeof keyHex !== 'string' || !/^[0-9a-f]{64}$/.test(keyHex)) return null
  const key = new Uint8Array(Buffer.from(keyHex, 'hex'))
  const path = merkleProof(c.pieceHashes, c.keyIndex)
  return keyOpensPiece(c.fileId, c.keyIndex, c.pieceCount, key, c.sek, path) ? decryptKeyPiece(key, c.sek) : null
}
