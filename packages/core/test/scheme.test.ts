// The scheme contract's plumbing: routes mounted under /v1/<scheme>, typed table declarations, the bucket registry
// a store enforces, and scheme-owned error codes.
import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mountRoutes } from '../src/daemon/scheme.ts'
import { buckets, memoryTables, table } from '../src/store/tables.ts'
import { Store } from '../src/store/store.ts'
import { defineErrorCodes, finalCodes, isKnownCode, isTransient, ErrorCode, P2payError } from '../src/errors.ts'

const dir = mkdtempSync(join(tmpdir(), 'p2pay-scheme-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const SPECS = {
  coins: table<{ value: number }>('demo-coins', 'sn -> value'),
  meta: table<{ n: number }>('demo-meta', '"meta" -> a counter')
}

describe('scheme plumbing', () => {
  it('routes are mounted under /v1/<scheme>, cheats under /v1/<scheme>/cheat', () => {
    const r = mountRoutes('demo', { 'GET /coins': () => 1, 'POST /pay': () => 2 })
    assert.deepEqual(Object.keys(r), ['GET /v1/demo/coins', 'POST /v1/demo/pay'])
    assert.deepEqual(Object.keys(mountRoutes('demo', { 'POST /lie': () => 3 }, '/v1/demo/cheat')), [
      'POST /v1/demo/cheat/lie'
    ])
    assert.throws(() => mountRoutes('demo', { 'GET coins': () => 1 }), /must start with \//)
  })

  it(
    'a registry lists each bucket once; the store opens only registered buckets, typed by their ' + 'declaration',
    async () => {
      const registry = buckets(SPECS)
      assert.deepEqual(registry, { 'demo-coins': 'sn -> value', 'demo-meta': '"meta" -> a counter' })
      assert.throws(() => buckets(SPECS, { again: table('demo-coins', 'x') }), /declared twice/)
      const store = new Store(join(dir, 'db'), { buckets: registry })
      await store.open()
      try {
        const t = await store.tables(SPECS)
        await store.apply(() => t.coins.set('a', { value: 5 }))
        assert.equal(t.coins.get('a')?.value, 5)
        await assert.rejects(store.table('other-bucket'), /not in this daemon's bucket registry/)
      } finally {
        await store.close()
      }
      const mem = memoryTables(SPECS)
      mem.meta.set('meta', { n: 1 })
      assert.equal(mem.meta.get('meta')?.n, 1)
    }
  )

  it('a scheme declares its own error codes; undeclared ones are not known; ABORTED is transient', () => {
    assert.equal(isKnownCode('DEMO_ONLY_CODE'), false)
    const codes = defineErrorCodes({ DEMO_ONLY_CODE: 'DEMO_ONLY_CODE' })
    assert.equal(isKnownCode(codes.DEMO_ONLY_CODE), true)
    assert.throws(() => defineErrorCodes({ A_B: 'OTHER' }), TypeError)
    assert.equal(isTransient(new P2payError(ErrorCode.ABORTED, 'stopping')), true)
    assert.equal(isTransient(new P2payError(ErrorCode.REPLAY, 'x')), false)
    assert.equal(finalCodes(ErrorCode.REPLAY).has(ErrorCode.BAD_SIGNATURE), true)
  })
})
