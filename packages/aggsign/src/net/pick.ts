// Which held coins to pay an amount with: one coin of exactly that value if
// there is one, else the fewest-first set whose values add up to it exactly.
import type { HeldCoin } from '../core/wallet-records.ts'

/** coins considered for a set (a subset sum over more is not worth its time) */
const MAX_CANDIDATES = 256
/** amounts a subset sum is tried for */
const MAX_SUBSET_AMOUNT = 100_000

export function pickExact(coins: HeldCoin[], amount: number): HeldCoin[] | undefined {
  const one = coins.find(c => c.value === amount)
  if (one != null) return [one]
  if (amount > MAX_SUBSET_AMOUNT) return undefined
  const list = coins.filter(c => c.value < amount).slice(0, MAX_CANDIDATES)
  // by[s]: the index of the last coin of a set adding up to s, and the sum before it
  const by = new Map<number, { i: number; prev: number }>([[0, { i: -1, prev: 0 }]])
  list.forEach((c, i) => {
    for (const s of [...by.keys()]) {
      const t = s + c.value
      if (t <= amount && !by.has(t)) by.set(t, { i, prev: s })
    }
  })
  if (!by.has(amount)) return undefined
  const out: HeldCoin[] = []
  for (let s = amount; s > 0;) {
    const step = by.get(s)!
    out.push(list[step.i])
    s = step.prev
  }
  return out
}
