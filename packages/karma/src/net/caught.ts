// The members this node caught signing something false (a notice that is not
// the request's, a balance answer that contradicts the majority's for the same
// nonce), each with its signed evidence.
import type { CaughtRow } from '../core/member-records.ts'
import type { ServiceTables } from './tables.ts'

/** rows kept at most: anyone can send a node false notices, the table must not grow with them */
const MAX_CAUGHT = 10_000

/**
 * One row per member and reason (the latest evidence), at most MAX_CAUGHT
 * rows; the housekeeping tick drops those older than RECORD_HORIZON_MS. Call
 * it inside `store.apply`.
 */
export function recordCaught(t: Pick<ServiceTables, 'caught'>, row: CaughtRow): void {
  const key = `${row.member}|${row.reason}`
  if (!t.caught.has(key) && t.caught.size >= MAX_CAUGHT) return
  t.caught.set(key, row)
}

/** Every row, oldest first. */
export function caughtList(t: Pick<ServiceTables, 'caught'>): CaughtRow[] {
  return [...t.caught.values()].sort((a, b) => a.at - b.at)
}

/** Drops the rows older than `before` (inside `store.apply`). */
export function forgetCaught(t: Pick<ServiceTables, 'caught'>, before: number): void {
  for (const [key, c] of [...t.caught.entries()]) if (c.at < before) t.caught.delete(key)
}
