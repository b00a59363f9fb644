// Coin selection: pickExact, the exact-amount subset search a payer uses to
// choose coins.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { pickExact } from '../src/core/wallet-records.ts'

describe('pickExact', () => {
  const coins = (...vs: number[]) => vs.map((value, i) => ({ value, id: i }))
  const sum = (cs: Array<{ value: number }> | null) => (cs == null ? null : cs.reduce((n, c) => n + c.value, 0))

  it('greedy exact combinations', () => {
    const pool = coins(1, 2, 5, 10, 10)
    for (const amount of [1, 3, 7, 12, 17, 28]) {
      const p = pickExact(pool, amount)
      assert.equal(sum(p), amount, `amount ${amount}`)
      assert.equal(new Set(p!.map(c => c.id)).size, p!.length, 'no coin picked twice')
    }
    assert.deepEqual(
      pickExact(pool, 10)!.map(c => c.value),
      [10]
    )
    assert.deepEqual(
      pickExact(pool, 28)!
        .map(c => c.value)
        .sort((a, b) => a - b),
      [1, 2, 5, 10, 10]
    )
  })

  it('finds subsets greedy misses: 6 from {5,3,3}, 8 from {6,4,4}', () => {
    assert.deepEqual(
      pickExact(coins(5, 3, 3), 6)!.map(c => c.value),
      [3, 3]
    )
    assert.deepEqual(
      pickExact(coins(4, 6, 4), 8)!.map(c => c.value),
      [4, 4]
    )
  })

  it("returns the caller's objects and does not reorder the input", () => {
    const pool = coins(3, 5, 3)
    const p = pickExact(pool, 6)!
    for (const c of p) assert.ok(pool.includes(c))
    assert.deepEqual(
      pool.map(c => c.value),
      [3, 5, 3]
    )
  })

  it('impossible amounts are null', () => {
    assert.equal(pickExact(coins(5, 3, 3), 4), null)
    assert.equal(pickExact(coins(5, 3, 3), 12), null)
    assert.equal(pickExact(coins(2, 4, 6), 7), null)
    assert.equal(pickExact([], 5), null)
    assert.equal(pickExact(coins(5), -5), null)
  })

  it('the subset search is bounded by `limit`', () => {
    assert.equal(pickExact(coins(5, 5, 3, 3), 6, 2), null)
    assert.equal(sum(pickExact(coins(5, 5, 3, 3), 6, 4)), 6)
  })
})
