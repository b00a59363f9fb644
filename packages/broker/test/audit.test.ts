// The broker's conservation audit: balances + every scheme's custody = money
// topped up, every scheme's books hold, and every figure is a whole amount
// within MAX_MONEY (2^50), so no sum in it has lost its last units.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_MONEY, type AccountKeeper, type SchemeAudit, type SchemeService } from '@p2pay/core'
import { brokerAudit } from '../src/audit.ts'

const keeper = (toppedUp: number, balances: number): AccountKeeper =>
  ({ totals: () => ({ toppedUp, balances }) }) as unknown as AccountKeeper
const scheme = (custody: number, holds = true): SchemeService =>
  ({ audit: (): SchemeAudit => ({ custody, holds }) }) as unknown as SchemeService
const holds = (toppedUp: number, balances: number, ...custody: number[]): unknown =>
  brokerAudit(
    keeper(toppedUp, balances),
    custody.map(c => scheme(c))
  ).holds

describe('broker audit', () => {
  it('holds when balances and custody add up to the money topped up, all within MAX_MONEY', () => {
    assert.equal(holds(100, 60, 30, 10), true)
    assert.equal(holds(MAX_MONEY, MAX_MONEY - 2, 1, 1), true)
    assert.equal(holds(100, 60, 30, 9), false)
    assert.equal(brokerAudit(keeper(100, 60), [scheme(40, false)]).holds, false)
  })

  it('does not hold when a figure or a sum is past MAX_MONEY or not a whole amount, though it adds up', () => {
    const past = 2 * Number.MAX_SAFE_INTEGER
    // two topups of MAX_SAFE_INTEGER: balances = topped up, far past 2^53
    assert.equal(holds(past, past), false)
    // custody past 2^53, where the lost unit makes the sum look right
    assert.equal(holds(2 ** 53 + 1, 1, 2 ** 53), false)
    // each in range, the sum of balances and custody not
    assert.equal(holds(2 * MAX_MONEY, MAX_MONEY, MAX_MONEY), false)
    // a negative or fractional custody that balances the books
    assert.equal(holds(5, 10, -5), false)
    assert.equal(holds(10, 9.5, 0.5), false)
    assert.equal(holds(NaN, NaN), false)
  })
})
