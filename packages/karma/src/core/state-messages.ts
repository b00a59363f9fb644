// The signed objects of an account's state (see messages.ts for the list):
//   join       peer -> bank(peer)   peer, puzzle nonce
//   balance    member -> reader     member, account, asker, reader's challenge
//   state      old -> new member    member, account, to (the new member)
// A balance answer names the reader and its fresh challenge, a state export
// the member it is for: neither can be replayed to another reader or member.
import {
  ErrorCode,
  checkPeerId,
  exactKeys,
  fail,
  isHash,
  isToken,
  isUint,
  type Signer,
  type Verifier
} from '@p2pay/core'
import { KIND, type KarmaKind } from '../kinds.ts'
import { MAX_EXPORTED_CREDITS, TAG, isKarma, seal, signedBy, unseal, type Signed } from './messages.ts'
import { checkDifficulty, powValid } from './pow.ts'

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
  /** the row's history (history.ts): absent for a row adopted from an old bank's state */
  history?: string
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
// ---- join ----

export function makeJoin(signer: Signer<KarmaKind>, nonce: number, difficulty: number): Signed<JoinBody> {
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
export function openJoin(verifier: Verifier<KarmaKind>, b64: unknown): Signed<JoinBody> {
  const s = unseal<JoinBody>(verifier, b64, TAG.join, KIND.join, 'join proof')
  checkJoin(s.body)
  signedBy(s, s.body.peer, 'a join proof')
  return s
}

// ---- balance answer ----

export function checkBalance(b: BalanceBody): void {
  exactKeys(b, ['member', 'account', 'balance', 'nonce', 'epoch', 'asker', 'challenge'], 'balance answer', ['history'])
  checkPeerId(b.member, 'member')
  checkPeerId(b.account, 'account')
  checkPeerId(b.asker, 'asker')
  if (!isKarma(b.balance) || !isUint(b.nonce) || !isUint(b.epoch))
    fail(ErrorCode.BAD_REQUEST, 'balance, nonce and epoch must be non-negative integers')
  if (!isToken(b.challenge)) fail(ErrorCode.BAD_REQUEST, 'challenge must be 8..64 characters [A-Za-z0-9_-]')
  if (b.history !== undefined && !isHash(b.history)) fail(ErrorCode.BAD_REQUEST, 'history must be 64 hex digits')
}

export function makeBalance(signer: Signer<KarmaKind>, b: Omit<BalanceBody, 'member'>): Signed<BalanceBody> {
  const body: BalanceBody = {
    member: signer.peerId,
    account: b.account,
    balance: b.balance,
    nonce: b.nonce,
    epoch: b.epoch,
    asker: b.asker,
    challenge: b.challenge,
    ...(b.history !== undefined ? { history: b.history } : {})
  }
  checkBalance(body)
  return seal(signer, TAG.balance, body, KIND.read)
}

/** An answer to this reader's question (account, asker, challenge) or an error: never an old answer replayed. */
export function openBalance(
  verifier: Verifier<KarmaKind>,
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
  if (!isToken(c)) fail(ErrorCode.BAD_REQUEST, 'challenge must be 8..64 characters [A-Za-z0-9_-]')
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
  signer: Signer<KarmaKind>,
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

export function openState(
  verifier: Verifier<KarmaKind>,
  b64: unknown,
  q: { account: string; to: string }
): Signed<StateBody> {
  const s = unseal<StateBody>(verifier, b64, TAG.state, KIND.churn, 'state export')
  checkState(s.body)
  signedBy(s, s.body.member, 'a state export')
  if (s.body.account !== q.account || s.body.to !== q.to)
    fail(ErrorCode.REPLAY, 'state export is for another account or member')
  return s
}
