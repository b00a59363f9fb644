// Cutting a file into pieces: the layout (piece size, count, lengths) and the
// piece hashes of a byte stream, with bounded memory: only the 32-byte piece
// hashes are kept, whatever the file's size. Reading files from disk is net/file-pieces.ts.
import { createHash, type Hash } from 'node:crypto'
import { ErrorCode, fail } from '@p2pay/core'
import { MerkleBuilder } from './merkle.ts'

export const DEFAULT_PIECE_SIZE = 256 * 1024
export const MIN_PIECE_SIZE = 16 * 1024
export const MAX_PIECE_SIZE = 4 * 1024 * 1024
/** A power of two in [16 KiB, 4 MiB]: bounded pieces bound every buffer that holds one. */
export function checkPieceSize(pieceSize: unknown): number {
  const n = pieceSize as number
  if (!Number.isSafeInteger(n) || n < MIN_PIECE_SIZE || n > MAX_PIECE_SIZE || (n & (n - 1)) !== 0) {
    fail(
      ErrorCode.BAD_REQUEST,
      `piece size must be a power of two between ${MIN_PIECE_SIZE} and ${MAX_PIECE_SIZE}, got ${String(pieceSize)}`
    )
  }
  return n
}

export const pieceCount = (size: number, pieceSize: number): number => Math.ceil(size / pieceSize)

/** Pieces a file may have: what a judge takes in one complaint (256 GiB at 4 MiB pieces), so every sale is judged. */
export const MAX_PIECES = 65_536

/** The piece size a file is shared with: the default, or the smallest power of two above it that keeps MAX_PIECES. */
export function pieceSizeFor(size: number): number {
  let p = DEFAULT_PIECE_SIZE
  while (p < MAX_PIECE_SIZE && pieceCount(size, p) > MAX_PIECES) p *= 2
  return p
}

/** A file's piece count, refused past MAX_PIECES: its buyer could not complain to a judge. */
export function checkPieceCount(size: number, pieceSize: number): number {
  const n = pieceCount(size, pieceSize)
  if (n > MAX_PIECES)
    fail(
      ErrorCode.BAD_REQUEST,
      `${size} bytes in pieces of ${pieceSize} are ${n} pieces, over the ${MAX_PIECES} allowed`
    )
  return n
}

/** Length of piece `index`: pieceSize for all but the last, which holds the rest. */
export function pieceLength(size: number, pieceSize: number, index: number): number {
  if (!Number.isSafeInteger(index) || index < 0 || index >= pieceCount(size, pieceSize))
    fail(ErrorCode.BAD_REQUEST, `piece ${index} out of range`)
  return Math.min(pieceSize, size - index * pieceSize)
}

export interface FileHashes {
  size: number
  pieceSize: number
  /** sha256 of each piece, in order */
  pieceHashes: Uint8Array[]
  /** Merkle root over pieceHashes */
  fileId: Uint8Array
}

/**
 * Hashes a byte stream piece by piece. Chunks may be any size and the source
 * may reuse a chunk's buffer after each step: nothing of a chunk is kept.
 */
export async function hashStream(
  chunks: AsyncIterable<Uint8Array>,
  pieceSize = DEFAULT_PIECE_SIZE
): Promise<FileHashes> {
  checkPieceSize(pieceSize)
  const pieceHashes: Uint8Array[] = []
  const tree = new MerkleBuilder()
  let size = 0
  let hash: Hash | undefined
  let filled = 0
  const finish = (): void => {
    const d = new Uint8Array(hash!.digest())
    pieceHashes.push(d)
    tree.add(d)
    hash = undefined
    filled = 0
  }
  for await (const chunk of chunks) {
    let o = 0
    while (o < chunk.byteLength) {
      hash ??= createHash('sha256')
      const n = Math.min(pieceSize - filled, chunk.byteLength - o)
      hash.update(chunk.subarray(o, o + n))
      o += n
      filled += n
      if (filled === pieceSize) finish()
    }
    size += chunk.byteLength
    if (!Number.isSafeInteger(size)) fail(ErrorCode.BAD_REQUEST, 'file too large')
  }
  if (hash !== undefined) finish()
  if (size === 0) fail(ErrorCode.BAD_REQUEST, 'an empty file has no pieces')
  return { size, pieceSize, pieceHashes, fileId: tree.root() }
}
