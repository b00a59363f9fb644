// Karma's signed objects: the envelope helpers, and the messages of a
// transfer (request, notice, receipt). Joins, balance answers and state
// exports are in state-messages.ts; heartbeats, reports and factors in
// epoch-messages.ts. Each body names its signer, the counterparty it is
// meant for and a nonce/sequence, so no signature can be replayed elsewhere:
//
//   transfer   A -> bank(A)         from, to, nonce (A's sequence), epoch
//   notice     bank(A) -> bank(B)   member, the transfer it applied (hash + A's own bytes)
//   receipt    member -> A or B     member, account, requestHash, side
//   join       peer -> bank(peer)   peer, puzzle nonce
//   balance    member -> reader     member, account, asker, reader's challenge
//   state      old -> new member    member, account, to (the new member)
//   heartbeat  peer -> bank(peer)   peer, epoch
//   report     member -> anyone     member, epoch
//   factor     coordinator -> all   member, epoch (the rescale that ends it)
//
// A transfer request does NOT name the bank: every member checks membership
// with the set it computes itself, so a payer cannot choose its own judges.
// A notice carries A's request bytes, so bank(B) checks A's signature itself and
// a lying member of bank(A) cannot make up a transfer A never signed.
import {
  ErrorCode,
  MAX_MONEY,
  P2payError,
  canonicalJson,
  checkPeerId,
  decodeSigned,
  exactKeys,
  fail,
  isHash,
  isUint,
  peekUnverified,
  toB64,
  type Signer,
  type Verifier
} from '@p2pay/core'
import { KIND, type KarmaKind } from '../kinds.ts'

export const TAG = {
  transfer: 'p2pay/karma/transfer/v1',
  notice: 'p2pay/karma/debit-notice/v1',
  receipt: 'p2pay/karma/receipt/v1',
  join: 'p2pay/karma/join/v1',
  balance: 'p2pay/karma/balance/v1',
  state: 'p2pay/karma/state/v1',
  heartbeat: 'p2pay/karma/heartbeat/v1',
  report: 'p2pay/karma/epoch-report/v1',
  factor: 'p2pay/karma/epoch-factor/v1'
} as const

/** Largest amount or balance: core's one bound on money (2^50), far below 2^53, so sums of a few stay exact. */
export const MAX_KARMA = MAX_MONEY
/** Credited request hashes a state export carries (keeps the envelope under the 64 KiB body limit). */
export const MAX_EXPORTED_CREDITS = 800
/**
 * Pages of a state export: a member hands over up to MAX_STATE_PAGES x MAX_EXPORTED_CREDITS credited hashes per account
 * (well under the 1 MiB RPC frame).
 */
export const MAX_STATE_PAGES = 8
const MAX_B64 = 96 * 1024

export interface TransferBody {
  from: string
  to: string
  amount: number
  nonce: number
  epoch: number
  ts: number
}
export interface NoticeBody {
  member: string
  from: string
  to: string
  amount: number
  nonce: number
  epoch: number
  requestHash: string
  request: string
}
export type Side = 'debit' | 'credit'
export interface ReceiptBody {
  member: string
  account: string
  requestHash: string
  side: Side
  epoch: number
  balanceAfter?: number
  /**
   * true: the member credited into a row it has not synced (it did not adopt the bank's state yet, or is reconciling
   * after a time away), so the row may lack what the bank did meanwhile: the receipt is no vote (isReceiptFor)
   */
  unsynced?: true
}

/** A signed object as it travels (base64 envelope) with what its verification established. */
export interface Signed<T> {
  b64: string
  hash: string
  signer: string
  body: T
}

/** An amount or balance in range (MAX_KARMA). */
export const isKarma = (v: unknown): v is number => isUint(v) && v <= MAX_KARMA

export function seal<T, K extends string>(signer: Signer<K>, tag: string, body: T, kind: K): Signed<T> {
  const o = signer.sign<T>(tag, body, kind)
  return { b64: toB64(o.bytes), hash: o.hash, signer: o.signer, body }
}

/** Opens an envelope with `tag` (at most MAX_B64 of base64) and checks its signature; the caller checks the body. */
export function unseal<T>(
  verifier: Verifier<KarmaKind>,
  b64: unknown,
  tag: string,
  kind: KarmaKind,
  what: string
): Signed<T> {
  const o = verifier.open<T>(decodeSigned(b64, what, MAX_B64), tag, kind)
  return { b64: b64 as string, hash: o.hash, signer: o.signer, body: o.body }
}

export function signedBy(s: Signed<unknown>, who: string, what: string): void {
  if (s.signer !== who) fail(ErrorCode.WRONG_SIGNER, `${what} must be signed by ${who}`)
}

// ---- transfer request ----

export function checkTransfer(b: TransferBody): void {
  exactKeys(b, ['from', 'to', 'amount', 'nonce', 'epoch', 'ts'], 'transfer request')
  checkPeerId(b.from, 'from')
  checkPeerId(b.to, 'to')
  if (b.from === b.to) fail(ErrorCode.BAD_REQUEST, 'a transfer to oneself moves nothing')
  if (!isKarma(b.amount) || b.amount === 0) fail(ErrorCode.BAD_REQUEST, `amount must be an integer 1..${MAX_KARMA}`)
  if (!isUint(b.nonce) || b.nonce === 0) fail(ErrorCode.BAD_REQUEST, 'nonce must be a positive integer')
  if (!isUint(b.epoch)) fail(ErrorCode.BAD_REQUEST, 'epoch must be a non-negative integer')
  // informational only: validity never depends on members' clocks, or skewed members would disagree
  if (!isUint(b.ts)) fail(ErrorCode.BAD_REQUEST, 'ts must be a non-negative integer (ms)')
}

/** A's request to its bank: `nonce` is A's next sequence number, `epoch` the units `amount` is in. */
export function makeTransfer(signer: Signer<KarmaKind>, r: Omit<TransferBody, 'from'>): Signed<TransferBody> {
  const body: TransferBody = {
    from: signer.peerId,
    to: r.to,
    amount: r.amount,
    nonce: r.nonce,
    epoch: r.epoch,
    ts: r.ts
  }
  checkTransfer(body)
  return seal(signer, TAG.transfer, body, KIND.transfer)
}

export function openTransfer(verifier: Verifier<KarmaKind>, b64: unknown): Signed<TransferBody> {
  const s = unseal<TransferBody>(verifier, b64, TAG.transfer, KIND.transfer, 'transfer request')
  checkTransfer(s.body)
  signedBy(s, s.body.from, 'a transfer request')
  return s
}

/**
 * `opened` if it is what openTransfer made of these very bytes (a caller that opened them to look bank-sets up),
 * else openTransfer: a request is parsed and hashed once per message.
 */
export function openTransferOnce(
  verifier: Verifier<KarmaKind>,
  b64: unknown,
  opened?: Signed<TransferBody>
): Signed<TransferBody> {
  return opened !== undefined && opened.b64 === b64 ? opened : openTransfer(verifier, b64)
}

// ---- debit notice ----

/** The one notice a member may sign for a request: everything but `member` comes from A's request. */
export function noticeFor(member: string, request: Signed<TransferBody>): NoticeBody {
  return noticeOf(member, request.body, request.hash, request.b64)
}

/** A notice's body from a request's fields, hash and bytes: the one shape every notice is compared with. */
export function noticeOf(
  member: string,
  r: Pick<TransferBody, 'from' | 'to' | 'amount' | 'nonce' | 'epoch'>,
  requestHash: string,
  request: string
): NoticeBody {
  return { member, from: r.from, to: r.to, amount: r.amount, nonce: r.nonce, epoch: r.epoch, requestHash, request }
}

export function makeNotice(signer: Signer<KarmaKind>, request: Signed<TransferBody>): Signed<NoticeBody> {
  return seal(signer, TAG.notice, noticeFor(signer.peerId, request), KIND.transfer)
}

export type NoticeDefect = 'forged' | 'mismatch'

/**
 * Opens a notice. A broken envelope, or one whose `member` is not its signer,
 * throws. A well-signed notice whose embedded request is not A's (`forged`) or
 * that says anything else than that request (`mismatch`) comes back with a
 * defect: it is a member's signed lie, which the caller counts and ignores.
 */
/** What openNotice found in a notice's bytes. */
export interface OpenedNotice {
  notice: Signed<NoticeBody>
  request?: Signed<TransferBody>
  defect?: NoticeDefect
}

export function openNotice(verifier: Verifier<KarmaKind>, b64: unknown): OpenedNotice {
  const notice = unseal<NoticeBody>(verifier, b64, TAG.notice, KIND.transfer, 'debit notice')
  const n = notice.body
  checkPeerId(n.member, 'member')
  signedBy(notice, n.member, 'a debit notice')
  if (!isHash(n.requestHash) || typeof n.request !== 'string')
    fail(ErrorCode.BAD_REQUEST, 'a debit notice carries a request hash and the request')
  let request: Signed<TransferBody>
  try {
    request = openTransfer(verifier, n.request)
  } catch (err) {
    if (err instanceof P2payError) return { notice, defect: 'forged' }
    throw err
  }
  if (canonicalJson(n) !== canonicalJson(noticeFor(n.member, request))) return { notice, request, defect: 'mismatch' }
  return { notice, request }
}

/** `opened` if it is what openNotice made of these very bytes, else openNotice (see openTransferOnce). */
export function openNoticeOnce(verifier: Verifier<KarmaKind>, b64: unknown, opened?: OpenedNotice): OpenedNotice {
  return opened !== undefined && opened.notice.b64 === b64 ? opened : openNotice(verifier, b64)
}

/**
 * Signer and body of an envelope with this tag, read WITHOUT checking its signature (peekUnverified): never to act on.
 */
export function peekSigned<T>(b64: unknown, tag: string): { signer: string; body: T } | undefined {
  try {
    const o = peekUnverified<T>(decodeSigned(b64, tag, MAX_B64))
    return o?.tag === tag ? { signer: o.signer, body: o.body } : undefined
  } catch {
    return undefined
  }
}

// ---- receipt ----

export function checkReceipt(b: ReceiptBody): void {
  exactKeys(
    b,
    [
      'member',
      'account',
      'requestHash',
      'side',
      'epoch',
      ...(b.balanceAfter === undefined ? [] : ['balanceAfter']),
      ...(b.unsynced === undefined ? [] : ['unsynced'])
    ],
    'receipt'
  )
  checkPeerId(b.member, 'member')
  checkPeerId(b.account, 'account')
  if (!isHash(b.requestHash)) fail(ErrorCode.BAD_REQUEST, 'requestHash must be a sha256 hex')
  if (b.side !== 'debit' && b.side !== 'credit') fail(ErrorCode.BAD_REQUEST, 'side must be debit or credit')
  if (!isUint(b.epoch)) fail(ErrorCode.BAD_REQUEST, 'epoch must be a non-negative integer')
  if (b.balanceAfter !== undefined && !isKarma(b.balanceAfter))
    fail(ErrorCode.BAD_REQUEST, 'balanceAfter must be a karma amount')
  if (b.unsynced !== undefined && b.unsynced !== true) fail(ErrorCode.BAD_REQUEST, 'unsynced must be true or absent')
}

export function makeReceipt(signer: Signer<KarmaKind>, r: Omit<ReceiptBody, 'member'>): Signed<ReceiptBody> {
  const body: ReceiptBody = {
    member: signer.peerId,
    account: r.account,
    requestHash: r.requestHash,
    side: r.side,
    epoch: r.epoch,
    ...(r.balanceAfter !== undefined ? { balanceAfter: r.balanceAfter } : {}),
    ...(r.unsynced === true ? { unsynced: true as const } : {})
  }
  checkReceipt(body)
  return seal(signer, TAG.receipt, body, KIND.transfer)
}

export function openReceipt(verifier: Verifier<KarmaKind>, b64: unknown): Signed<ReceiptBody> {
  const s = unseal<ReceiptBody>(verifier, b64, TAG.receipt, KIND.transfer, 'receipt')
  checkReceipt(s.body)
  signedBy(s, s.body.member, 'a receipt')
  return s
}
