// The account holder's side, the pure part: the rows it keeps of its own
// transfers, what a transfer and a read come back with, and how the answers
// of a bank-set become one outcome (a majority's refusal, a split bank, a
// lie worth naming).
import { ErrorCode, P2payError, asError, finalCodes, type Verifier } from '@p2pay/core'
import { KarmaErrorCode } from '../errors.ts'
import type { KarmaKind } from '../kinds.ts'
import { TAG, openReceipt, peekSigned, type ReceiptBody, type Side, type Signed } from './messages.ts'

/**
 * `b64` opened when it is a credit receipt of `account` for `requestHash` signed by one of `members` (a vote or not:
 * it says the member took the notice), else undefined. The cheap checks come first, on the unverified bytes, so what
 * cannot count costs no signature check.
 */
export function openCreditFrom(
  verifier: Verifier<KarmaKind>,
  b64: unknown,
  q: { account: string; requestHash: string; members: readonly string[] }
): Signed<ReceiptBody> | undefined {
  const peek = peekSigned<ReceiptBody>(b64, TAG.receipt)
  const b = peek?.body
  if (peek == null || !q.members.includes(peek.signer) || b?.side !== 'credit') return undefined
  if (b.account !== q.account || b.requestHash !== q.requestHash) return undefined
  try {
    return openReceipt(verifier, b64) // the same bytes: the body checked above is the one signed
  } catch {
    return undefined
  }
}

/** One of this account's own transfers: pending until both majorities answered, then done. */
export interface SentRow {
  request: string
  requestHash: string
  to: string
  amount: number
  nonce: number
  status: 'pending' | 'done'
  at: number
  debitedBy?: string[]
  creditedBy?: string[]
  /** the journaled payment that signed it: what settles that payment after a crash */
  payment?: string
}
/** A transfer to this account, with the majorities of signed receipts of both banks. */
export interface ReceivedRow {
  requestHash: string
  from: string
  amount: number
  nonce: number
  request: string
  debits: string[]
  credits: string[]
  at: number
}
/** This account's own state: the nonce of its last transfer, and whether it joined. */
export interface WalletRow {
  nonce: number
  joined: boolean
}

export interface TransferResult {
  requestHash: string
  from: string
  to: string
  amount: number
  nonce: number
  /** members of bank(A) whose signed debit receipt A holds */
  debitedBy: string[]
  /** members of bank(B) whose signed credit receipt A holds */
  creditedBy: string[]
  /** the payer's balance after the debit, as a majority of bank(A) signed it */
  balance?: number
  /** from the request reaching bank(A) to both majorities */
  ms: number
}

export interface AccountRead {
  account: string
  balance: number
  nonce: number
  epoch: number
  bank: string[]
  agreed: string[]
  /** members whose signed answer differs from the majority's */
  disagreed: string[]
  /** members that did not answer */
  silent: string[]
}

/** Refusals by a majority of bank(A) that end a request for good (the nonce is not used). */
export const FINAL_REFUSALS = finalCodes(
  ErrorCode.INSUFFICIENT_FUNDS,
  ErrorCode.NOT_FOUND,
  ErrorCode.REPLAY,
  ErrorCode.FRAUD
)

/**
 * Whether `s` is member `m`'s receipt for this side of this request, for `account`, and a vote: a member that says its
 * row is not synced may have credited into books that lack what the bank did while it was away, so it never counts
 * toward a majority.
 */
export function isReceiptFor(
  s: Signed<ReceiptBody>,
  m: string,
  side: Side,
  account: string,
  requestHash: string
): boolean {
  return (
    s.signer === m &&
    s.body.side === side &&
    s.body.account === account &&
    s.body.requestHash === requestHash &&
    s.body.unsynced !== true
  )
}

/** One receipt per member of `bank` among `list` (the last of each), for this side of the request: their envelopes. */
export function receiptsOf(
  verifier: Verifier<KarmaKind>,
  list: readonly unknown[],
  q: { side: Side; account: string; requestHash: string; bank: readonly string[] }
): string[] {
  const by = new Map<string, string>()
  for (const b64 of list) {
    try {
      const s = openReceipt(verifier, b64)
      if (q.bank.includes(s.signer) && isReceiptFor(s, s.signer, q.side, q.account, q.requestHash))
        by.set(s.signer, s.b64)
    } catch {}
  }
  return [...by.values()]
}

/**
 * What a payer makes of a request a majority of bank(A) refused while
 * `debited` members applied it: with none, the majority's refusal (final for
 * INSUFFICIENT_FUNDS and the like: the nonce is free again). With some, the
 * bank is split over the request; freeing the nonce would make them answer the
 * next request with it as fraud, so it is NO_MAJORITY: the same bytes are
 * retried until the bank agrees. A member whose answer never came (the request
 * went out, then a timeout or a broken stream) may have applied it: counted so.
 */
export function refusalError(
  refusals: Array<PromiseSettledResult<unknown>>,
  need: number,
  debited: number
): P2payError {
  const e = majorityError(refusalVotes(refusals), need, 'transfer')
  const unanswered = refusals.filter(mayHaveApplied).length
  if (debited + unanswered === 0 || e.code === KarmaErrorCode.NO_MAJORITY) return e
  return new P2payError(
    KarmaErrorCode.NO_MAJORITY,
    `${debited} member(s) of bank(A) debited the request, ${unanswered} may have (no answer), and a majority ` +
      `refused it (${e.code}): it stays pending and is retried`,
    { refused: e.code, debited, unanswered }
  )
}

/** A call that failed after its request went out, with no answer: the member may have acted on it. */
function mayHaveApplied(r: PromiseSettledResult<unknown>): boolean {
  if (r.status !== 'rejected' || !(r.reason instanceof P2payError)) return false
  const { code, details } = r.reason
  return (
    code === ErrorCode.TIMEOUT ||
    code === ErrorCode.ABORTED ||
    (code === ErrorCode.UNREACHABLE && (details as { stage?: string } | undefined)?.stage === 'stream')
  )
}

/**
 * The refusals that are votes: not those of members that hold no synced row of the account (`details.sync`), which
 * may only have entered the bank while the members that applied the request are away. Counting a new member's "no
 * such account" would free a nonce that the others used.
 */
export function refusalVotes(refusals: Array<PromiseSettledResult<unknown>>): Array<PromiseSettledResult<unknown>> {
  return refusals.filter(
    r => !(r.status === 'rejected' && r.reason instanceof P2payError && r.reason.details?.sync === true)
  )
}

/** What a balance answer says, as far as telling a lie from a lag goes. */
export interface BalanceFacts {
  balance: number
  nonce: number
  epoch: number
  history?: string
}

/**
 * The majority answer a minority balance answer contradicts, or undefined: one with the same nonce, epoch and history
 * (the same debits and credits applied in the same epochs) and another balance. A member behind or ahead (another
 * nonce, a credit not applied yet: another history) is no liar; nor is one whose row holds no history (adopted).
 */
export function contradicted<M extends BalanceFacts>(answer: BalanceFacts, majority: readonly M[]): M | undefined {
  if (answer.history === undefined) return undefined
  return majority.find(
    m =>
      m.history === answer.history &&
      m.nonce === answer.nonce &&
      m.epoch === answer.epoch &&
      m.balance !== answer.balance
  )
}

/** The refusal shared by a strict majority, or NO_MAJORITY naming what came back. */
export function majorityError(results: Array<PromiseSettledResult<unknown>>, need: number, what: string): P2payError {
  const byCode = new Map<string, P2payError[]>()
  for (const r of results) {
    if (r.status !== 'rejected') continue
    const e =
      r.reason instanceof P2payError ? r.reason : new P2payError(ErrorCode.UNREACHABLE, asError(r.reason).message)
    byCode.set(e.code, [...(byCode.get(e.code) ?? []), e])
  }
  for (const [, errs] of byCode) if (errs.length >= need) return errs[0]
  const codes = Object.fromEntries([...byCode].map(([c, e]) => [c, e.length]))
  return new P2payError(KarmaErrorCode.NO_MAJORITY, `no strict majority of the bank-set completed the ${what}`, {
    refusals: codes
  })
}
