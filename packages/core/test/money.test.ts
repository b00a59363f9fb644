// money.ts: the one bound on amounts, balances and totals, for every scheme.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_MONEY, addMoney, isMoney, sumMoney } from '../src/money.ts'
import { ErrorCode, P2payError } from '../src/errors.ts'

const limit = (e: unknown): boolean =>
  e instanceof P2payError && e.code === ErrorCode.BAD_REQUEST && e.details?.limit === MAX_MONEY

describe('money', () => {
  it('MAX_MONEY is 2^50: the sum of two amounts in range is still exact', () => {
    assert.equal(MAX_MONEY, 2 ** 50)
    assert.ok(Number.isSafeInteger(MAX_MONEY * 2))
    for (const v of [0, 1, MAX_MONEY]) assert.equal(isMoney(v), true)
    for (const v of [-1, 0.5, MAX_MONEY + 1, Number.MAX_SAFE_INTEGER, 2 ** 53, NaN, Infinity, '1', null])
      assert.equal(isMoney(v), false, String(v))
  })

  it('addMoney adds within 0..MAX_MONEY and refuses past either end with BAD_REQUEST naming the limit', () => {
    assert.equal(addMoney(MAX_MONEY - 1, 1, 'balance'), MAX_MONEY)
    assert.equal(addMoney(5, -5, 'balance'), 0)
    assert.throws(() => addMoney(MAX_MONEY, 1, 'balance'), limit)
    assert.throws(() => addMoney(0, -1, 'balance'), limit)
    assert.throws(() => addMoney(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'balance'), limit)
    assert.throws(() => addMoney(MAX_MONEY + 2, -2, 'balance'), limit, 'a start out of range is refused too')
    assert.throws(() => addMoney(1, 0.5, 'balance'), limit)
    assert.throws(() => addMoney(1, 2 ** 60, 'balance'), limit)
    assert.throws(() => addMoney(MAX_MONEY, 1, 'money topped up'), /^P2payError: money topped up would leave 0\.\./)
  })

  it('sumMoney is undefined once a value or a partial sum leaves the range', () => {
    assert.equal(sumMoney([]), 0)
    assert.equal(sumMoney([1, 2, MAX_MONEY - 3]), MAX_MONEY)
    assert.equal(sumMoney([MAX_MONEY, 1]), undefined)
    assert.equal(sumMoney([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]), undefined)
    assert.equal(sumMoney([2 ** 53, 2]), undefined)
    assert.equal(sumMoney([1, -1]), undefined)
  })
})
