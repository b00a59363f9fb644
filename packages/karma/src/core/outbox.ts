// The rules of bank(A)'s outbox of notices, without the network: who a notice
// is owed to, and when a row may go.
import { OUTBOX_HORIZON_MS } from './config.ts'
import type { OutboxRow } from './member-records.ts'

/** The members a notice must reach: bank(B) now, and every member it had at the debit or an earlier tick (sorted). */
export const targetsOf = (row: OutboxRow, bankB: readonly string[]): string[] =>
  [...new Set([...(row.targets ?? []), ...bankB])].sort()

/**
 * Whether a row may go though some member has not taken it: its request is
 * older than the epoch before this one (then every member refuses it), or a
 * majority took it and the rest did not for OUTBOX_HORIZON_MS (a member that
 * refuses for good cannot pin it). Until then a notice is sent again: a
 * repeated notice is harmless, credits are never forgotten while it could be accepted.
 */
export function outboxRowDone(
  row: OutboxRow,
  o: { requestEpoch: number; epoch: number; needed: number; now: number }
): boolean {
  return o.requestEpoch < o.epoch - 1 || (row.at < o.now - OUTBOX_HORIZON_MS && row.delivered.length >= o.needed)
}
