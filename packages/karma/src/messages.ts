// Karma's signed objects. Each body names its signer, the counterparty it is
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
  P2payError,
  canonicalJson,
  fail,
  fromB64,
  peekUnverified,
  toB64,
  type Signer,
  type Verifier
} from '@p2pay/core'
import { checkPeerId } from './ids.ts'
import { checkDifficulty, powValid } from './pow.ts'

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

/** Transaction kinds for the signature counters (survey Table I). */
export const KIND = {
  transfer: 'karma-transfer',
  join: 'karma-join',
  read: 'karma-read',
  churn: 'karma-churn',
  epoch: 'karma-epoch'
} as const

/** Largest amount or balance: far below 2^53, so sums of a few never lose precision. */
export const MAX_KARMA = 2 ** 50
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
}
export interface JoinBody {
  peer: string
  nonce: number
  difficulty: number
}
export interface BalanceBody {
  member: string
  account: string
  balance: number
  nonce: number
  epoch: number
  asker: string
  challenge: string
}
export interface StateBody {
  member: string
  account: string
  to: string
  epoch: number
  balance: number
  rem: number
  nonce: number
  lastRequest: string | null
  joined: boolean
  /** request hashes already credited to the account, sorted: the new member must not credit them again */
  credited: string[]
  /** last epoch the account signed something in, in this member's books; -1: never (epoch reports count it) */
  activeEpoch: number
}
export interface HeartbeatBody {
  peer: string
  epoch: number
}
export interface ReportBody {
  member: string
  epoch: number
  accounts: number
  active: number
  total: number
}
/** A coordinator's rescale factor ending `epoch`, from `reports` members' reports, in round `attempt` of that epoch. */
export interface FactorBody {
  member: string
  epoch: number
  attempt: number
  num: number
  den: number
  reports: number
}

/** A signed object as it travels (base64 envelope) with what its verification established. */
export interface Signed<T> {
  b64: string
  hash: string
  signer: string
  body: T
}

export const isUint = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
export const isHash = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)
const isKarma = (v: unknown): v is number => isUint(v) && v <= MAX_KARMA
const isChallenge = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(v)

function exactKeys(b: object, keys: string[], what: string): void {
  const got = Object.keys(b).sort()
  const want = [...keys].sort()
  if (got.length !== want.length || got.some((k, i) => k !== want[i]))
    fail(ErrorCode.BAD_REQUEST, `${what} must have exactly the fields ${want.join(', ')}`)
}

function decode(b64: unknown, what: string): Uint8Array {
  if (typeof b64 !== 'string' || b64.length === 0 || b64.length > MAX_B64)
    fail(ErrorCode.BAD_REQUEST, `${what} must be a base64 signed object`)
  return fromB64(b64)
}

export function seal<T>(signer: Signer, tag: string, body: T, kind: string): Signed<T> {
  const o = signer.sign<T>(tag, body, kind)
  return { b64: toB64(o.bytes), hash: o.hash, signer: o.signer, body }
}

function unseal<T>(verifier: Verifier, b64: unknown, tag: string, kind: string, what: string): Signed<T> {
  const o = verifier.open<T>(decode(b64, what), tag, kind)
  return { b64: b64 as string, hash: o.hash, signer: o.signer, body: o.body }
}

function signedBy(s: Signed<unknown>, who: string, what: string): void {
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
export function makeTransfer(signer: Signer, r: Omit<TransferBody, 'from'>): Signed<TransferBody> {
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

export function openTransfer(verifier: Verifier, b64: unknown): Signed<TransferBody> {
  const s = unseal<TransferBody>(verifier, b64, TAG.transfer, KIND.transfer, 'transfer request')
  checkTransfer(s.body)
  signedBy(s, s.body.from, 'a transfer request')
  return s
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

export function makeNotice(signer: Signer, request: Signed<TransferBody>): Signed<NoticeBody> {
  return seal(signer, TAG.notice, noticeFor(signer.peerId, request), KIND.transfer)
}

export type NoticeDefect = 'forged' | 'mismatch'

/**
 * Opens a notice. A broken envelope, or one whose `member` is not its signer,
 * throws. A well-signed notice whose embedded request is not A's (`forged`) or
 * that says anything else than that request (`mismatch`) comes back with a
 * defect: it is a member's signed lie, which the caller counts and ignores.
 */
export function openNotice(
  verifier: Verifier,
  b64: unknown
): { notice: Signed<NoticeBody>; request?: Signed<TransferBody>; defect?: NoticeDefect } {
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

/**
 * Signer and body of an envelope with this tag, read WITHOUT checking its signature (peekUnverified): never to act on.
 */
export function peekSigned<T>(b64: unknown, tag: string): { signer: string; body: T } | undefined {
  try {
    const o = peekUnverified<T>(decode(b64, tag))
    return o?.tag === tag ? { signer: o.signer, body: o.body } : undefined
  } catch {
    return undefined
  }
}

// ---- receipt ----

export function checkReceipt(b: ReceiptBody): void {
  exactKeys(
    b,
    b.balanceAfter === undefined
      ? ['member', 'account', 'requestHash', 'side', 'epoch']
      : ['member', 'account', 'requestHash', 'side', 'epoch', 'balanceAfter'],
    'receipt'
  )
  checkPeerId(b.member, 'member')
  checkPeerId(b.account, 'account')
  if (!isHash(b.requestHash)) fail(ErrorCode.BAD_REQUEST, 'requestHash must be a sha256 hex')
  if (b.side !== 'debit' && b.side !== 'credit') fail(ErrorCode.BAD_REQUEST, 'side must be debit or credit')
  if (!isUint(b.epoch)) fail(ErrorCode.BAD_REQUEST, 'epoch must be a non-negative integer')
  if (b.balanceAfter !== undefined && !isKarma(b.balanceAfter))
    fail(ErrorCode.BAD_REQUEST, 'balanceAfter must be a karma amount')
}

export function makeReceipt(signer: Signer, r: Omit<ReceiptBody, 'member'>): Signed<ReceiptBody> {
  const body: ReceiptBody = {
    member: signer.peerId,
    account: r.account,
    requestHash: r.requestHash,
    side: r.side,
    epoch: r.epoch,
    ...(r.balanceAfter !== undefined ? { balanceAfter: r.balanceAfter } : {})
  }
  checkReceipt(body)
  return seal(signer, TAG.receipt, body, KIND.transfer)
}

export function openReceipt(verifier: Verifier, b64: unknown): Signed<ReceiptBody> {
  const s = unseal<ReceiptBody>(verifier, b64, TAG.receipt, KIND.transfer, 'receipt')
  checkReceipt(s.body)
  signedBy(s, s.body.member, 'a receipt')
  return s
}

// ---- join ----

export function makeJoin(signer: Signer, nonce: number, difficulty: number): Signed<JoinBody> {
  const body: JoinBody = { peer: signer.peerId, nonce, difficulty }
  checkJoin(body)
  return seal(signer, TAG.join, body, KIND.join)
}

function checkJoin(b: JoinBody): void {
  exactKeys(b, ['peer', 'nonce', 'difficulty'], 'join proof')
  checkPeerId(b.peer, 'peer')
  if (!isUint(b.nonce)) fail(ErrorCode.BAD_REQUEST, 'nonce must be a non-negative integer')
  checkDifficulty(b.difficulty)
  if (!powValid(b.peer, b.nonce, b.difficulty)) fail(ErrorCode.BAD_REQUEST, 'the nonce does not solve the join puzzle')
}

/** Verifies the envelope and the work; whether the work is enough is the member's call. */
export function openJoin(verifier: Verifier, b64: unknown): Signed<JoinBody> {
  const s = unseal<JoinBody>(verifier, b64, TAG.join, KIND.join, 'join proof')
  checkJoin(s.body)
  signedBy(s, s.body.peer, 'a join proof')
  return s
}

// ---- balance answer ----

export function checkBalance(b: BalanceBody): void {
  exactKeys(b, ['member', 'account', 'balance', 'nonce', 'epoch', 'asker', 'challenge'], 'balance answer')
  checkPeerId(b.member, 'member')
  checkPeerId(b.account, 'account')
  checkPeerId(b.asker, 'asker')
  if (!isKarma(b.balance) || !isUint(b.nonce) || !isUint(b.epoch))
    fail(ErrorCode.BAD_REQUEST, 'balance, nonce and epoch must be non-negative integers')
  if (!isChallenge(b.challenge)) fail(ErrorCode.BAD_REQUEST, 'challenge must be 8..64 characters [A-Za-z0-9_-]')
}

export function makeBalance(signer: Signer, b: Omit<BalanceBody, 'member'>): Signed<BalanceBody> {
  const body: BalanceBody = {
    member: signer.peerId,
    account: b.account,
    balance: b.balance,
    nonce: b.nonce,
    epoch: b.epoch,
    asker: b.asker,
    challenge: b.challenge
  }
  checkBalance(body)
  return seal(signer, TAG.balance, body, KIND.read)
}

/** An answer to this reader's question (account, asker, challenge) or an error: never an old answer replayed. */
export function openBalance(
  verifier: Verifier,
  b64: unknown,
  q: { account: string; asker: string; challenge: string }
): Signed<BalanceBody> {
  const s = unseal<BalanceBody>(verifier, b64, TAG.balance, KIND.read, 'balance answer')
  checkBalance(s.body)
  signedBy(s, s.body.member, 'a balance answer')
  if (s.body.account !== q.account || s.body.asker !== q.asker || s.body.challenge !== q.challenge)
    fail(ErrorCode.REPLAY, 'balance answer is for another question')
  return s
}

export function checkChallenge(c: unknown): string {
  if (!isChallenge(c)) fail(ErrorCode.BAD_REQUEST, 'challenge must be 8..64 characters [A-Za-z0-9_-]')
  return c
}

// ---- state export (churn) ----

export function checkState(b: StateBody): void {
  exactKeys(
    b,
    ['member', 'account', 'to', 'epoch', 'balance', 'rem', 'nonce', 'lastRequest', 'joined', 'credited', 'activeEpoch'],
    'state export'
  )
  if (!Number.isSafeInteger(b.activeEpoch) || b.activeEpoch < -1)
    fail(ErrorCode.BAD_REQUEST, 'activeEpoch must be an integer >= -1')
  checkPeerId(b.member, 'member')
  checkPeerId(b.account, 'account')
  checkPeerId(b.to, 'to')
  if (!isUint(b.epoch) || !isKarma(b.balance) || !isUint(b.rem) || !isUint(b.nonce))
    fail(ErrorCode.BAD_REQUEST, 'epoch, balance, rem and nonce must be non-negative integers')
  if (b.lastRequest !== null && !isHash(b.lastRequest))
    fail(ErrorCode.BAD_REQUEST, 'lastRequest must be a sha256 hex or null')
  if ((b.lastRequest === null) !== (b.nonce === 0))
    fail(ErrorCode.BAD_REQUEST, 'lastRequest is null exactly when no transfer was applied')
  if (typeof b.joined !== 'boolean') fail(ErrorCode.BAD_REQUEST, 'joined must be a boolean')
  if (!Array.isArray(b.credited) || b.credited.length > MAX_EXPORTED_CREDITS || !b.credited.every(isHash))
    fail(ErrorCode.BAD_REQUEST, `credited must be at most ${MAX_EXPORTED_CREDITS} sha256 hexes`)
  for (let i = 1; i < b.credited.length; i++)
    if (b.credited[i - 1] >= b.credited[i]) fail(ErrorCode.BAD_REQUEST, 'credited must be sorted and distinct')
}

export function makeState(
  signer: Signer,
  b: Omit<StateBody, 'member' | 'activeEpoch'> & { activeEpoch?: number }
): Signed<StateBody> {
  const body: StateBody = {
    member: signer.peerId,
    account: b.account,
    to: b.to,
    epoch: b.epoch,
    balance: b.balance,
    rem: b.rem,
    nonce: b.nonce,
    lastRequest: b.lastRequest,
    joined: b.joined,
    credited: b.credited,
    activeEpoch: b.activeEpoch ?? -1
  }
  checkState(body)
  return seal(signer, TAG.state, body, KIND.churn)
}

export function openState(verifier: Verifier, b64: unknown, q: { account: string; to: string }): Signed<StateBody> {
  const s = unseal<StateBody>(verifier, b64, TAG.state, KIND.churn, 'state export')
  checkState(s.body)
  signedBy(s, s.body.member, 'a state export')
  if (s.body.account !== q.account || s.body.to !== q.to)
    fail(ErrorCode.REPLAY, 'state export is for another account or member')
  return s
}

// ---- heartbeat and epoch report ----

export function makeHeartbeat(signer: Signer, epoch: number): Signed<HeartbeatBody> {
  const body: HeartbeatBody = { peer: signer.peerId, epoch }
  checkHeartbeat(body)
  return seal(signer, TAG.heartbeat, body, KIND.epoch)
}

function checkHeartbeat(b: HeartbeatBody): void {
  exactKeys(b, ['peer', 'epoch'], 'heartbeat')
  checkPeerId(b.peer, 'peer')
  if (!isUint(b.epoch)) fail(ErrorCode.BAD_REQUEST, 'epoch must be a non-negative integer')
}

export function openHeartbeat(verifier: Verifier, b64: unknown): Signed<HeartbeatBody> {
  const s = unseal<HeartbeatBody>(verifier, b64, TAG.heartbeat, KIND.epoch, 'heartbeat')
  checkHeartbeat(s.body)
  signedBy(s, s.body.peer, 'a heartbeat')
  return s
}

export function checkReport(b: ReportBody): void {
  exactKeys(b, ['member', 'epoch', 'accounts', 'active', 'total'], 'epoch report')
  checkPeerId(b.member, 'member')
  if (!isUint(b.epoch) || !isUint(b.accounts) || !isUint(b.active) || !isUint(b.total))
    fail(ErrorCode.BAD_REQUEST, 'epoch report counts must be non-negative integers')
  if (b.active > b.accounts) fail(ErrorCode.BAD_REQUEST, 'more active accounts than accounts')
}

export function makeReport(signer: Signer, b: Omit<ReportBody, 'member'>): Signed<ReportBody> {
  const body: ReportBody = {
    member: signer.peerId,
    epoch: b.epoch,
    accounts: b.accounts,
    active: b.active,
    total: b.total
  }
  checkReport(body)
  return seal(signer, TAG.report, body, KIND.epoch)
}

export function openReport(verifier: Verifier, b64: unknown): Signed<ReportBody> {
  const s = unseal<ReportBody>(verifier, b64, TAG.report, KIND.epoch, 'epoch report')
  checkReport(s.body)
  signedBy(s, s.body.member, 'an epoch report')
  return s
}

// ---- epoch factor ----

export function checkFactorBody(b: FactorBody): void {
  exactKeys(b, ['member', 'epoch', 'attempt', 'num', 'den', 'reports'], 'epoch factor')
  checkPeerId(b.member, 'member')
  if (!isUint(b.epoch) || !isUint(b.attempt) || !isUint(b.reports))
    fail(ErrorCode.BAD_REQUEST, 'epoch, attempt and reports must be non-negative integers')
  if (
    !Number.isSafeInteger(b.num) ||
    !Number.isSafeInteger(b.den) ||
    b.num < 1 ||
    b.den < 1 ||
    b.num > 2 ** 32 ||
    b.den > 2 ** 32
  )
    fail(ErrorCode.BAD_REQUEST, 'factor must be num/den with integers 1..2^32')
}

export function makeFactor(signer: Signer, b: Omit<FactorBody, 'member'>): Signed<FactorBody> {
  const body: FactorBody = {
    member: signer.peerId,
    epoch: b.epoch,
    attempt: b.attempt,
    num: b.num,
    den: b.den,
    reports: b.reports
  }
  checkFactorBody(body)
  return seal(signer, TAG.factor, body, KIND.epoch)
}

export function openFactor(verifier: Verifier, b64: unknown, epoch: number, attempt: number): Signed<FactorBody> {
  const s = unseal<FactorBody>(verifier, b64, TAG.factor, KIND.epoch, 'epoch factor')
  checkFactorBody(s.body)
  signedBy(s, s.body.member, 'an epoch factor')
  if (s.body.epoch !== epoch || s.body.attempt !== attempt)
    fail(
      ErrorCode.STALE_SEQ,
      `epoch factor is for epoch ${s.body.epoch} round ${s.body.attempt}, not ${epoch} round ${attempt}`
    )
  return s
}
