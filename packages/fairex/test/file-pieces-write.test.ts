// net/file-pieces.ts `writeAll`: a piece's chunks written at its offset, all of
// them, or the write fails: a write that stops short without an error (a disk
// that filled or failed part way) must not leave a hole behind a paid file.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeAll } from '../src/net/file-pieces.ts'

describe('writeAll', () => {
  it('writes every chunk in order at the offset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'p2pay-write-'))
    try {
      const fh = await open(join(dir, 'f'), 'w')
      await writeAll(fh, [new Uint8Array([1, 2]), new Uint8Array([3]), new Uint8Array([4, 5, 6])], 2)
      await fh.close()
      assert.deepEqual([...readFileSync(join(dir, 'f'))], [0, 0, 1, 2, 3, 4, 5, 6])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a write that stops short without an error fails, naming what was written', async () => {
    const short = { writev: async () => ({ bytesWritten: 5, buffers: [] }) } as unknown as FileHandle
    await assert.rejects(writeAll(short, [new Uint8Array(4), new Uint8Array(4)], 16), (e: any) => {
      assert.equal(e.code, 'EIO')
      assert.match(e.message, /short write: 5 of 8 bytes at 16/)
      return true
    })
  })
})
