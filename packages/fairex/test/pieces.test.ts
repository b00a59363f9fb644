// core/pieces.ts and net/file-pieces.ts: piece-size rules, hashFile against hashing in memory, readPiece,
// and that hashing holds one read buffer whatever the file size.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ErrorCode } from '@p2pay/core'
import {
  DEFAULT_PIECE_SIZE,
  MAX_PIECE_SIZE,
  MIN_PIECE_SIZE,
  MAX_PIECES,
  checkPieceCount,
  checkPieceSize,
  pieceSizeFor,
  hashStream,
  pieceCount,
  pieceLength
} from '../src/core/pieces.ts'
import { hashFile, readPiece } from '../src/net/file-pieces.ts'
import { merkleProof, merkleRoot, verifyPiece } from '../src/core/merkle.ts'

const KiB = 1024
const MiB = 1024 * KiB
const badRequest = { name: 'P2payError', code: ErrorCode.BAD_REQUEST }
let dir: string

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fairex-pieces-'))
})
after(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** Piece hashes and root computed the obvious way, with the whole file in memory. */
function inMemory(data: Uint8Array, pieceSize: number): { pieceHashes: Uint8Array[]; fileId: Uint8Array } {
  const pieceHashes: Uint8Array[] = []
  for (let o = 0; o < data.byteLength; o += pieceSize)
    pieceHashes.push(
      new Uint8Array(
        createHash('sha256')
          .update(data.subarray(o, o + pieceSize))
          .digest()
      )
    )
  return { pieceHashes, fileId: merkleRoot(pieceHashes) }
}

function tempFile(name: string, data: Uint8Array): string {
  const path = join(dir, name)
  writeFileSync(path, data)
  return path
}

describe('piece layout', () => {
  it('accepts powers of two from 16 KiB to 4 MiB only', () => {
    assert.equal(DEFAULT_PIECE_SIZE, 256 * KiB)
    for (let n = MIN_PIECE_SIZE; n <= MAX_PIECE_SIZE; n *= 2) assert.equal(checkPieceSize(n), n)
    for (const bad of [8 * KiB, 8 * MiB, 48 * KiB, 256 * KiB + 1, 0, -16 * KiB, 16 * KiB + 0.5, NaN, '262144', null]) {
      assert.throws(() => checkPieceSize(bad), badRequest, String(bad))
    }
  })

  it('a file is shared in pieces a judge takes in one complaint, larger for large files; past that, refused', () => {
    const GiB = 1024 ** 3
    assert.equal(pieceSizeFor(1), DEFAULT_PIECE_SIZE)
    assert.equal(pieceSizeFor(16 * GiB), DEFAULT_PIECE_SIZE, '65,536 pieces of 256 KiB')
    assert.equal(pieceSizeFor(16 * GiB + 1), 2 * DEFAULT_PIECE_SIZE)
    assert.equal(pieceSizeFor(256 * GiB), MAX_PIECE_SIZE)
    for (const size of [1, 16 * GiB + 1, 100 * GiB, 256 * GiB])
      assert.ok(checkPieceCount(size, pieceSizeFor(size)) <= MAX_PIECES, `${size} bytes`)
    assert.equal(pieceSizeFor(256 * GiB + 1), MAX_PIECE_SIZE, 'no larger piece than 4 MiB')
    assert.throws(
      () => checkPieceCount(256 * GiB + 1, MAX_PIECE_SIZE),
      (e: any) => e.code === ErrorCode.BAD_REQUEST
    )
    assert.throws(() => checkPieceCount(16 * GiB + 1, DEFAULT_PIECE_SIZE), /65537 pieces, over the 65536 allowed/)
  })

  it('counts pieces and gives the last one the rest', () => {
    assert.equal(pieceCount(1, 16 * KiB), 1)
    assert.equal(pieceCount(16 * KiB, 16 * KiB), 1)
    assert.equal(pieceCount(16 * KiB + 1, 16 * KiB), 2)
    assert.equal(pieceLength(40 * KiB, 16 * KiB, 0), 16 * KiB)
    assert.equal(pieceLength(40 * KiB, 16 * KiB, 2), 8 * KiB)
    assert.equal(pieceLength(32 * KiB, 16 * KiB, 1), 16 * KiB)
    for (const bad of [3, -1, 1.5]) assert.throws(() => pieceLength(40 * KiB, 16 * KiB, bad), badRequest)
  })
})

describe('hashFile', () => {
  it('equals hashing in memory, with a short last piece, for several piece sizes', async () => {
    const data = new Uint8Array(randomBytes(3 * MiB + 12345))
    const path = tempFile('odd.bin', data)
    for (const pieceSize of [16 * KiB, DEFAULT_PIECE_SIZE, MAX_PIECE_SIZE]) {
      const got = await hashFile(path, pieceSize)
      const want = inMemory(data, pieceSize)
      assert.equal(got.size, data.byteLength)
      assert.equal(got.pieceSize, pieceSize)
      assert.equal(got.pieceHashes.length, Math.ceil(data.byteLength / pieceSize))
      assert.deepEqual(got.pieceHashes, want.pieceHashes)
      assert.deepEqual(got.fileId, want.fileId)
    }
    // the default piece size applies when none is given
    assert.deepEqual((await hashFile(path)).fileId, inMemory(data, DEFAULT_PIECE_SIZE).fileId)
  })

  it('adds no empty piece to a file of whole pieces', async () => {
    const data = new Uint8Array(randomBytes(2 * MiB))
    const got = await hashFile(tempFile('whole.bin', data), 256 * KiB)
    assert.equal(got.pieceHashes.length, 8)
    assert.deepEqual(got.fileId, inMemory(data, 256 * KiB).fileId)
  })

  it('rejects an empty file, a missing file and a bad piece size', async () => {
    await assert.rejects(hashFile(tempFile('empty.bin', new Uint8Array(0))), badRequest)
    await assert.rejects(hashFile(join(dir, 'missing.bin')), { code: 'ENOENT' })
    await assert.rejects(hashFile(tempFile('one.bin', new Uint8Array(1)), 1000), badRequest)
  })

  it('hashStream takes any chunking, also a source that reuses its buffer', async () => {
    const data = new Uint8Array(randomBytes(MiB + 777))
    const want = inMemory(data, 64 * KiB)
    for (const step of [1000, 64 * KiB, 300 * KiB, 2 * MiB]) {
      async function* reused(): AsyncGenerator<Uint8Array> {
        const buf = new Uint8Array(step)
        for (let o = 0; o < data.byteLength; o += step) {
          const n = Math.min(step, data.byteLength - o)
          buf.set(data.subarray(o, o + n))
          yield buf.subarray(0, n)
          buf.fill(0xee) // whatever was kept of the chunk is now wrong
        }
      }
      const got = await hashStream(reused(), 64 * KiB)
      assert.deepEqual(got.pieceHashes, want.pieceHashes, `chunks of ${step}`)
      assert.deepEqual(got.fileId, want.fileId)
      assert.equal(got.size, data.byteLength)
    }
  })
})

describe('bounded memory', () => {
  /** Peak of live ArrayBuffer memory above the starting level while `fn` runs, sampled every event-loop turn. */
  async function peakDuring(fn: () => Promise<unknown>): Promise<number> {
    const base = process.memoryUsage().arrayBuffers
    let peak = base
    let running = true
    const sample = (): void => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers)
      if (running) setImmediate(sample)
    }
    sample()
    await fn()
    running = false
    sample()
    return peak - base
  }

  /** Writes `size` bytes of a counter pattern through one 1 MiB buffer, so the test itself holds no file. */
  async function bigFile(name: string, size: number): Promise<string> {
    const path = join(dir, name)
    const fh = await open(path, 'w')
    const buf = new Uint8Array(MiB)
    for (let o = 0, k = 0; o < size; o += MiB, k++) {
      buf.fill(k & 0xff)
      buf[0] = k >> 8
      await fh.write(buf, 0, Math.min(MiB, size - o))
    }
    await fh.close()
    return path
  }

  it('hashFile holds no more than a piece, for a 4 MiB and a 40 MiB file alike', async () => {
    const small = await bigFile('small.bin', 4 * MiB + 5)
    const big = await bigFile('big.bin', 40 * MiB + 5)
    // the sampler does see a reader that holds the whole file
    const naive = await peakDuring(async () => {
      await readFile(big)
    })
    assert.ok(naive >= 40 * MiB, `sampler missed a 40 MiB buffer (saw ${naive})`)
    let got: { size: number; pieceHashes: Uint8Array[] } | undefined
    const peakSmall = await peakDuring(async () => {
      got = await hashFile(small, DEFAULT_PIECE_SIZE)
    })
    assert.equal(got!.size, 4 * MiB + 5)
    const peakBig = await peakDuring(async () => {
      got = await hashFile(big, DEFAULT_PIECE_SIZE)
    })
    assert.equal(got!.size, 40 * MiB + 5)
    assert.equal(got!.pieceHashes.length, 161)
    assert.ok(got!.pieceHashes.every(h => h.byteLength === 32))
    assert.ok(peakSmall < DEFAULT_PIECE_SIZE, `4 MiB file: ${peakSmall} bytes held`)
    assert.ok(peakBig < DEFAULT_PIECE_SIZE, `40 MiB file: ${peakBig} bytes held`)
    // ten times the file, about 32 bytes more per piece and nothing else
    assert.ok(peakBig - peakSmall < 64 * KiB, `memory grew by ${peakBig - peakSmall} bytes with the file`)
  })
})

describe('readPiece', () => {
  it('reads every piece at its offset; each verifies against the file id', async () => {
    const data = new Uint8Array(randomBytes(5 * 16 * KiB + 100))
    const path = tempFile('read.bin', data)
    const { pieceHashes, fileId } = await hashFile(path, 16 * KiB)
    assert.equal(pieceHashes.length, 6)
    for (let i = 0; i < 6; i++) {
      const piece = await readPiece(path, i, 16 * KiB)
      assert.deepEqual(piece, data.subarray(i * 16 * KiB, (i + 1) * 16 * KiB))
      assert.equal(piece.byteLength, i === 5 ? 100 : 16 * KiB)
      assert.equal(verifyPiece(fileId, i, 6, piece, merkleProof(pieceHashes, i)), true)
    }
    for (const bad of [6, -1, 0.5]) await assert.rejects(readPiece(path, bad, 16 * KiB), badRequest)
    await assert.rejects(readPiece(path, 0, 1000), badRequest)
  })
})
