// net/catalog.ts `catalogPage`: a provider's catalog handed out a page at a time, in file id order, so a large
// catalog never outgrows a frame; walking the pages from the start gives every file once.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { memoryTables, toHex } from '@p2pay/core'
import { randomBytes } from 'node:crypto'
import { catalogEntries, catalogPage } from '../src/net/catalog.ts'
import type { NodeContext } from '../src/net/node-context.ts'
import { FAIREX_NODE_TABLES } from '../src/net/tables.ts'

/** A node context holding only its tables: catalogPage reads the shared-files table and nothing else. */
function sharing(count: number): NodeContext {
  const t = memoryTables(FAIREX_NODE_TABLES)
  for (let i = 0; i < count; i++) {
    const fileId = toHex(randomBytes(32))
    t.shared.set(fileId, {
      fileId,
      path: `/files/${i}`,
      name: `file ${i}`,
      size: 1,
      pieceSize: 16_384,
      pieceCount: 1,
      price: 1,
      form: 'fixed',
      manifest: 'm',
      manifestHash: 'h',
      pieces: ''
    })
  }
  return { t } as unknown as NodeContext
}

describe('catalog pages', () => {
  it('every shared file once over the pages, 1,000 a page, in file id order', () => {
    const n = sharing(2345)
    const seen: string[] = []
    let after: string | undefined
    for (let pages = 1; ; pages++) {
      assert.ok(pages <= 3, 'three pages')
      const p = catalogPage(n, after)
      assert.ok(p.files.length <= 1000)
      seen.push(...p.files.map(f => f.fileId))
      if (p.more !== true) break
      after = p.files.at(-1)!.fileId
    }
    assert.equal(seen.length, 2345)
    assert.deepEqual(seen, [...n.t.shared.values()].map(f => f.fileId).sort(), 'each once, in order')
  })

  it('a small catalog is one page without more; past the last file, an empty page', () => {
    const n = sharing(3)
    const p = catalogPage(n)
    assert.deepEqual([p.files.length, p.more], [3, undefined])
    assert.deepEqual(catalogPage(n, p.files.at(-1)!.fileId), { files: [] })
  })

  it('a file in more pieces than a buyer takes (shared by an earlier release) is on no page, nor by its id', () => {
    const n = sharing(3)
    const [over, at] = [...n.t.shared.values()]
    n.t.shared.set(over.fileId, { ...over, pieceCount: 65_537 })
    n.t.shared.set(at.fileId, { ...at, pieceCount: 65_536 })
    assert.deepEqual(
      catalogPage(n)
        .files.map(f => f.fileId)
        .sort(),
      [...n.t.shared.values()]
        .map(f => f.fileId)
        .filter(id => id !== over.fileId)
        .sort()
    )
    assert.deepEqual(catalogEntries(n, over.fileId), [])
    assert.equal(catalogEntries(n, at.fileId).length, 1)
  })
})
