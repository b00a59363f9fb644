// What a balance answer says of how its balance came about, so that a reader
// can tell a member that is merely behind from one that lies. A row's history
// is the XOR of one hash per event that set its balance here: the join, each
// debit and each credit, each with the epoch it was applied in. Credits commute
// and the XOR does too, so two honest members that applied the same events in
// the same epochs hold the same history and, at the same nonce and epoch, the
// same balance. A member that missed a credit holds another history: behind,
// not a liar. A row adopted from an old bank's state has no history (the state
// does not carry one): its answers convict no one and cannot be convicted.
import { sha256, toHex, utf8 } from '@p2pay/core'
import type { AccountRow } from './member-records.ts'

export type HistoryEvent = 'join' | 'debit' | 'credit'

const ZERO = '0'.repeat(64)

function eventHash(event: HistoryEvent, hash: string, epoch: number): Uint8Array {
  return sha256(utf8(`p2pay/karma/history/v1|${event}|${hash}|${epoch}`))
}

/** `history` with one more event (undefined stays undefined: a row adopted without one). */
export function addEvent(
  history: string | undefined,
  event: HistoryEvent,
  hash: string,
  epoch: number
): string | undefined {
  if (history === undefined) return undefined
  const a = Buffer.from(history, 'hex')
  const b = eventHash(event, hash, epoch)
  for (let i = 0; i < a.length; i++) a[i] ^= b[i]
  return toHex(a)
}

/** The history of a row that starts here (opened by a join or a credit): the empty one, then `event`. */
export function rowWithEvent<R extends Pick<AccountRow, 'history'>>(
  row: R | undefined,
  event: HistoryEvent,
  hash: string,
  epoch: number
): string | undefined {
  return addEvent(row == null ? ZERO : row.history, event, hash, epoch)
}
