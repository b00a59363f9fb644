// The one bound on money, for every scheme: an amount, a balance, an escrow,
// the money ever topped up and every running total stays within 0..MAX_MONEY.
// 2^50 is far below 2^53, where a number stops being exact: the sum of two
// values in range is still exact, so an overflow is caught rather than
// rounded away, and an audit can tell a sum past the bound from a true one.
import { ErrorCode, fail } from './errors.ts'
import { isUint } from './validate.ts'

/** The most any amount, balance or total may be, in minor units (2^50, about 1.13 x 10^15). */
export const MAX_MONEY = 2 ** 50

/** A whole amount within 0..MAX_MONEY. */
export const isMoney = (v: unknown): v is number => isUint(v) && v <= MAX_MONEY

/**
 * `a + delta` (delta may be negative), refused with BAD_REQUEST when it would
 * leave 0..MAX_MONEY: callers use it before they change anything, so a refusal
 * leaves their state as it was.
 */
export function addMoney(a: number, delta: number, what: string): number {
  const sum = a + delta
  if (!isMoney(a) || !Number.isSafeInteger(delta) || !isMoney(sum))
    fail(ErrorCode.BAD_REQUEST, `${what} would leave 0..${MAX_MONEY}`, { limit: MAX_MONEY })
  return sum
}

/** The sum of `values` if every value and every partial sum is within 0..MAX_MONEY, else undefined (for audits). */
export function sumMoney(values: Iterable<number>): number | undefined {
  let sum = 0
  for (const v of values) {
    if (!isMoney(v) || !isMoney(sum + v)) return undefined
    sum += v
  }
  return sum
}
