// store.ts: in-memory tables over LevelDB, atomic apply with rollback, group commit, durability.
import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Store, Table } from '../src/store/store.ts'
import { ErrorCode, P2payError } from '../src/errors.ts'

const root = mkdtempSync(join(tmpdir(), 'p2pay-core-store-'))
after(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = (): string => join(root, `db${n++}`)

async function openStore(dir: string): Promise<Store> {
  const s = new Store(dir)
  s.onFatal = err => {
    throw new Error(`unexpected fatal store error: ${err.message}`)
  }
  await s.open()
  return s
}

/** Reads a table as it is on disk, through a fresh Store on the same dir. */
async function onDisk(dir: string, name: string): Promise<Record<string, unknown>> {
  const s = await openStore(dir)
  try {
    return Object.fromEntries((await s.table(name)).entries())
  } finally {
    await s.close()
  }
}

describe('Table', () => {
  it('rollback restores the value before the first change of the turn, for set and delete', () => {
    const t = new Table<number>('t')
    t.set('a', 1)
    t.set('b', 2)
    t.settle()
    t.set('a', 10)
    t.set('a', 11)
    t.delete('b')
    t.set('c', 3)
    t.delete('c')
    assert.equal(t.get('a'), 11)
    assert.equal(t.has('b'), false)
    assert.deepEqual([...t.dirty.keys()].sort(), ['a', 'b', 'c'])
    t.rollback()
    assert.deepEqual(Object.fromEntries(t.entries()), { a: 1, b: 2 })
    assert.equal(t.dirty.size, 0)
    assert.equal(t.size, 2)
    assert.deepEqual([...t.values()].sort(), [1, 2])
  })

  it('settle makes the current values the new rollback point', () => {
    const t = new Table<number>('t')
    t.set('a', 1)
    t.settle()
    t.set('a', 2)
    t.settle()
    t.set('a', 3)
    t.rollback()
    assert.equal(t.get('a'), 2)
  })
})

describe('Store', () => {
  it('apply() commits a change that survives close and reopen', async () => {
    const dir = freshDir()
    const s = await openStore(dir)
    const t = await s.table<{ v: number; s: string }>('accounts')
    const r = await s.apply(() => {
      t.set('alice', { v: 5, s: 'x' })
      t.set('bob', { v: 7, s: 'y' })
      return 'ok'
    })
    assert.equal(r, 'ok', "apply returns the change's result")
    assert.equal(t.dirty.size, 0)
    assert.equal(s.stats.batches, 1)
    assert.equal(s.stats.ops, 2)
    assert.equal(await s.table('accounts'), t, 'a table is loaded once')
    await s.close()
    const s2 = await openStore(dir)
    const t2 = await s2.table<{ v: number; s: string }>('accounts')
    assert.deepEqual(t2.get('alice'), { v: 5, s: 'x' })
    assert.deepEqual(t2.get('bob'), { v: 7, s: 'y' })
    assert.equal(t2.size, 2)
    assert.equal((await s2.table('other')).size, 0, 'buckets are separate')
    await s2.close()
  })

  it('a throwing change is rolled back in memory (set and delete) and nothing reaches disk', async () => {
    const dir = freshDir()
    const s = await openStore(dir)
    const t = await s.table<number>('t')
    const u = await s.table<number>('u')
    await s.apply(() => {
      t.set('a', 1)
      t.set('b', 2)
      u.set('x', 9)
    })
    const before = { ...s.stats }
    const boom = new Error('half-way')
    await assert.rejects(
      s.apply(() => {
        t.set('a', 100)
        t.delete('b')
        t.set('c', 3)
        u.delete('x')
        u.set('y', 8)
        throw boom
      }),
      (e: unknown) => e === boom
    )
    assert.deepEqual(Object.fromEntries(t.entries()), { a: 1, b: 2 })
    assert.deepEqual(Object.fromEntries(u.entries()), { x: 9 })
    assert.equal(t.dirty.size + u.dirty.size, 0)
    await s.barrier()
    assert.deepEqual(s.stats, before, 'no batch written')
    // the next successful change carries nothing of the failed one
    await s.apply(() => {
      t.set('d', 4)
    })
    assert.equal(s.stats.ops, before.ops + 1)
    await s.close()
    assert.deepEqual(await onDisk(dir, 't'), { a: 1, b: 2, d: 4 })
    assert.deepEqual(await onDisk(dir, 'u'), { x: 9 })
  })

  it('concurrent apply() calls are group-committed and all land', async () => {
    const dir = freshDir()
    const s = await openStore(dir)
    const t = await s.table<number>('t')
    const N = 200
    const results = await Promise.all(
      Array.from(
        { length: N },
        async (_, i) =>
          await s.apply(() => {
            t.set(`k${String(i).padStart(3, '0')}`, i)
            return i
          })
      )
    )
    assert.deepEqual(
      results,
      Array.from({ length: N }, (_, i) => i)
    )
    assert.equal(s.stats.ops, N)
    assert.ok(s.stats.batches < N, `batches ${s.stats.batches} should be fewer than ${N} applies`)
    assert.ok(s.stats.batches <= 3, `the first write plus one group: got ${s.stats.batches}`)
    await s.close()
    const disk = await onDisk(dir, 't')
    assert.equal(Object.keys(disk).length, N)
    for (let i = 0; i < N; i++) assert.equal(disk[`k${String(i).padStart(3, '0')}`], i)
  })

  it('barrier() resolves only after the commits pending before it; at once when idle', async () => {
    const dir = freshDir()
    const s = await openStore(dir)
    const t = await s.table<number>('t')
    await s.barrier() // idle
    const landed: number[] = []
    const applies = [1, 2, 3].map(async i => {
      await s.apply(() => t.set(`k${i}`, i))
      landed.push(i)
    })
    assert.equal(s.stats.ops, 0, 'nothing written yet')
    await s.barrier()
    // the batches holding all three changes were written before the barrier resolved
    assert.equal(s.stats.ops, 3)
    const sub = s.db.sublevel<string, number>('t', { valueEncoding: 'json' })
    assert.deepEqual(await sub.getMany(['k1', 'k2', 'k3']), [1, 2, 3])
    await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(landed.sort(), [1, 2, 3], 'and their apply() calls have resolved')
    // a commit with nothing dirty behaves as a barrier
    const more = s.apply(() => t.set('k4', 4)).then(() => landed.push(4))
    await s.commit()
    assert.equal(s.stats.ops, 4)
    await Promise.all([...applies, more])
    assert.ok(landed.includes(4))
    await s.close()
    assert.deepEqual(await onDisk(dir, 't'), { k1: 1, k2: 2, k3: 3, k4: 4 })
  })

  it('delete persists', async () => {
    const dir = freshDir()
    const s = await openStore(dir)
    const t = await s.table<string>('t')
    await s.apply(() => {
      t.set('a', 'x')
      t.set('b', 'y')
    })
    await s.apply(() => {
      t.delete('a')
    })
    assert.equal(t.has('a'), false)
    await s.close()
    assert.deepEqual(await onDisk(dir, 't'), { b: 'y' })
    // and a deleted key re-set later persists again
    const s2 = await openStore(dir)
    const t2 = await s2.table<string>('t')
    await s2.apply(() => {
      t2.set('a', 'z')
      t2.delete('b')
    })
    await s2.close()
    assert.deepEqual(await onDisk(dir, 't'), { a: 'z' })
  })

  it('a write after close fails the commit and reports it through onFatal', async () => {
    const s = await openStore(freshDir())
    const t = await s.table<number>('t')
    await s.close()
    const fatal: Error[] = []
    s.onFatal = err => {
      fatal.push(err)
    }
    await assert.rejects(
      s.apply(() => t.set('a', 1)),
      (e: unknown) =>
        e instanceof P2payError && e.code === ErrorCode.STORE_FAILED && e.details?.cause === 'store is closed'
    )
    assert.equal(fatal.length, 1)
    assert.match(fatal[0].message, /store is closed/)
  })

  it('a failing LevelDB write: it and every later commit or barrier get STORE_FAILED, no more is written', async () => {
    const dir = freshDir()
    const s = await openStore(dir)
    const t = await s.table<number>('t')
    await s.apply(() => t.set('kept', 1))
    const fatal: Error[] = []
    s.onFatal = err => {
      fatal.push(err)
    }
    // the fault: LevelDB closed under the running store
    await s.db.close()
    const failed = (e: unknown): boolean => e instanceof P2payError && e.code === ErrorCode.STORE_FAILED
    // two requests in one group commit, then one after the failure
    const first = s.apply(() => t.set('a', 2))
    const second = s.apply(() => t.set('b', 3))
    await assert.rejects(first, failed)
    await assert.rejects(second, failed)
    await assert.rejects(
      s.apply(() => t.set('c', 4)),
      failed
    )
    assert.equal(t.get('c'), undefined, 'a change after the failure is rolled back in memory')
    await assert.rejects(s.barrier(), failed)
    assert.equal(fatal.length, 1, 'onFatal once')
    assert.deepEqual(await onDisk(dir, 't'), { kept: 1 }, 'what was acknowledged is on disk, nothing else')
  })
})
