// A shared file's pieces on disk: its piece hashes and file id, read through
// one reused buffer (memory is one read buffer plus 32 bytes a piece, whatever
// the file's size), one piece at its offset, as a seller sends it, and a
// bought piece written at its offset, all of it.
import { open, type FileHandle } from 'node:fs/promises'
import { ErrorCode, abortReason, fail } from '@p2pay/core'
import { DEFAULT_PIECE_SIZE, checkPieceSize, hashStream, pieceLength, type FileHashes } from '../core/pieces.ts'

/** Read buffer of hashFile: never more than one piece. */
const READ_CHUNK = 64 * 1024

/**
 * The file's bytes in order, always in the same buffer: each chunk is valid
 * until the next is asked for. Ends with the signal's reason once it aborts
 * (hashing a large file takes a while: a stopping node does not wait for it).
 */
async function* readChunks(path: string, chunkSize: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r')
  try {
    const buf = new Uint8Array(chunkSize)
    for (;;) {
      if (signal?.aborted === true) throw abortReason(signal)
      const { bytesRead } = await fh.read(buf, 0, chunkSize, null)
      if (bytesRead === 0) return
      yield buf.subarray(0, bytesRead)
    }
  } finally {
    await fh.close()
  }
}

/** Piece hashes and file id of a file on disk; memory is one read buffer plus 32 bytes a piece. */
export async function hashFile(
  path: string,
  pieceSize = DEFAULT_PIECE_SIZE,
  signal?: AbortSignal
): Promise<FileHashes> {
  checkPieceSize(pieceSize)
  return await hashStream(readChunks(path, Math.min(pieceSize, READ_CHUNK), signal), pieceSize)
}

/** Reads piece `index` at its offset; the file's current size decides where the last piece ends. */
export async function readPiece(path: string, index: number, pieceSize = DEFAULT_PIECE_SIZE): Promise<Uint8Array> {
  checkPieceSize(pieceSize)
  const fh = await open(path, 'r')
  try {
    return await readPieceFrom(fh, (await fh.stat()).size, index, pieceSize)
  } finally {
    await fh.close()
  }
}

/** One piece from an open file (a seller keeps the file open for a whole sale). */
export async function readPieceFrom(
  fh: FileHandle,
  size: number,
  index: number,
  pieceSize: number
): Promise<Uint8Array> {
  const length = pieceLength(size, pieceSize, index)
  // not zeroed first: every byte is read from the file below (or this throws), and a piece is read per frame sent
  const out = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length)
  let got = 0
  while (got < length) {
    const { bytesRead } = await fh.read(out, got, length - got, index * pieceSize + got)
    if (bytesRead === 0) fail(ErrorCode.NOT_FOUND, `file shrank while reading piece ${index}`)
    got += bytesRead
  }
  return out
}

/**
 * Writes `data` at `position`, all of it: a write that stops short without an
 * error (the disk filled or failed after part of it) fails the purchase, as an
 * error would, instead of leaving a hole behind a file that is then paid for.
 */
export async function writeAll(fh: FileHandle, data: Uint8Array[], position: number): Promise<void> {
  const expected = data.reduce((n, d) => n + d.byteLength, 0)
  const { bytesWritten } = await fh.writev(data, position)
  if (bytesWritten !== expected)
    throw Object.assign(new Error(`short write: ${bytesWritten} of ${expected} bytes at ${position}`), { code: 'EIO' })
}
