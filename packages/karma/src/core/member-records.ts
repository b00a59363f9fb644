// The rows of a bank member's books (member.ts) and of what its service keeps
// beside them (the notices it still owes bank(B), the liars it caught).
import type { Table } from '@p2pay/core'
import type { EpochState } from './epoch.ts'
import type { NoticeDefect } from './messages.ts'

export interface AccountRow {
  balance: number
  /** remainder of the last rescale, in 1/den of this epoch's unit (epoch.ts) */
  rem: number
  /** nonce of the last transfer applied from this account; 0: none yet */
  nonce: number
  /** hash of that transfer request */
  lastRequest: string | null
  /** received its initial karma (a join proof was accepted) */
  joined: boolean
  /** this member's clock at the join: local, never compared between members */
  joinedAt: number | null
  /** last epoch the account signed something in (transfer, heartbeat, join); -1: never */
  activeEpoch: number
  /**
   * false: the row did not come from opening the account at its join or from
   * adopting the old bank's majority (it was created by a credit here, or this
   * member left the bank since); it must adopt before it debits or opens.
   * Absent (rows of older books): synced.
   */
  synced?: boolean
  /** the events that set the balance here (history.ts); absent: adopted from an old bank's state, or older books */
  history?: string
}

/** What a member of bank(A) did with a request: kept to answer retries with the same objects. */
export interface DebitRow {
  from: string
  to: string
  amount: number
  nonce: number
  epoch: number
  request: string
  notice: string
  receipt: string
  at: number
}

/** Votes of bank(A) for one request, as seen by a member of bank(B). */
export interface CreditRow {
  to: string
  status: 'counting' | 'credited'
  /** members of bank(A) whose valid notice arrived, sorted */
  voters: string[]
  at: number
  from?: string
  amount?: number
  nonce?: number
  /** epoch of the request (for credits known from churn: the epoch they were adopted in, never less) */
  epoch?: number
  receipt?: string
  /** known as credited from the old members' state (churn), not from votes seen here */
  adopted?: boolean
  /** credited into a row that was not synced (or while reconciling): its receipt says so, and is signed afresh later */
  unsynced?: true
}

export interface MemberTables {
  accounts: Table<AccountRow>
  /** requestHash -> the request received and the notice and receipt signed for it */
  pending: Table<DebitRow>
  /** requestHash -> votes / credit */
  credits: Table<CreditRow>
  /** 'epoch' -> EpochState */
  meta: Table<EpochState>
}

export interface MemberConfig {
  /** bank-set size; every set passed in must have exactly k members */
  k: number
  now: () => number
}

export type IgnoreReason = 'non-member' | 'duplicate' | NoticeDefect

export type NoticeOutcome =
  | { status: 'counted'; requestHash: string; votes: number; needed: number }
  /** this notice completed the majority: B was credited here, now */
  | { status: 'credited'; requestHash: string; votes: number; needed: number; receipt: string }
  /** credited before: the receipt again, so the sender can stop resending */
  | { status: 'already-credited'; requestHash: string; receipt: string }
  | { status: 'ignored'; requestHash: string; reason: IgnoreReason }

export interface DebitResult {
  requestHash: string
  /** to every member of bank(B) */
  notice: string
  /** to A */
  receipt: string
  balance: number
  /** a retry of the request applied last: nothing changed, the same objects again */
  duplicate: boolean
}

/** A row before anything happened to the account. */
export const EMPTY_ACCOUNT: Omit<AccountRow, 'joinedAt'> = {
  balance: 0,
  rem: 0,
  nonce: 0,
  lastRequest: null,
  joined: false,
  activeEpoch: -1
}

/** A debit's notice until every member of bank(B) took it (net/outbox.ts). */
export interface OutboxRow {
  from: string
  to: string
  requestHash: string
  notice: string
  request: string
  /** members of bank(B) that took the notice or said they credited the request, sorted */
  delivered: string[]
  /**
   * every member bank(B) had at some tick while the notice was out, sorted: a member that is away for a while
   * (a restart) drops out of the sets computed meanwhile, and must still get the credit when it is back
   */
  targets?: string[]
  at: number
}

/** A member caught signing something false, with the signed evidence (one row per member and reason). */
export interface CaughtRow {
  member: string
  reason: string
  account?: string
  requestHash?: string
  evidence: string
  /** for a balance answer: the answer of a majority member with the same history that it contradicts */
  against?: string
  at: number
}
