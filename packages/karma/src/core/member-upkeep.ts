// A bank member's answers and upkeep: signed balance answers, heartbeats and
// epoch reports, the rescale at an epoch boundary (epoch.ts), and what the
// books forget. Pure, like member.ts, whose methods of the same names call these.
import { ErrorCode, checkPeerId, fail } from '@p2pay/core'
import { checkFactor, rescaleBalance, type Factor } from './epoch.ts'
import { openHeartbeat, makeReport } from './epoch-messages.ts'
import type { Member } from './member.ts'
import type { AccountRow } from './member-records.ts'
import { MAX_KARMA } from './messages.ts'
import { checkChallenge, makeBalance } from './state-messages.ts'

/** A signed answer to one reader's question; readers take the value a majority of the bank signed (majorityValue). */
export function balanceOf(m: Member, account: string, asker: string, challenge: string): string {
  checkPeerId(account, 'account')
  checkPeerId(asker, 'asker')
  checkChallenge(challenge)
  const row = m.t.accounts.get(account)
  if (row == null) fail(ErrorCode.NOT_FOUND, `no account ${account} in this member's books`)
  // a row not synced (or a member back from a time away) may lack what the bank did meanwhile: no vote
  if (!m.serves(account))
    fail(ErrorCode.STALE_SEQ, `${account} is not synced in this member's books yet`, { account, sync: true })
  return makeBalance(m.signer, {
    account,
    balance: row.balance,
    nonce: row.nonce,
    epoch: m.epoch().epoch,
    asker,
    challenge,
    history: row.history
  }).b64
}

/** Fields of a balance answer that a majority must agree on. */
export function balanceValue(b: { balance: number; nonce: number; epoch: number }): {
  balance: number
  nonce: number
  epoch: number
} {
  return { balance: b.balance, nonce: b.nonce, epoch: b.epoch }
}

/** Marks the account active in the current epoch (its own signature for this epoch). */
export function takeHeartbeat(
  m: Member,
  b64: unknown,
  bankOfPeer: readonly string[]
): { account: string; epoch: number } {
  const hb = openHeartbeat(m.verifier, b64)
  const peer = hb.body.peer
  m.requireMember(bankOfPeer, peer, 'bank(peer)')
  const e = m.epoch().epoch
  if (hb.body.epoch !== e)
    fail(ErrorCode.STALE_SEQ, `heartbeat is for epoch ${hb.body.epoch}, this member is in epoch ${e}`, { epoch: e })
  const row = m.t.accounts.get(peer)
  if (row == null) fail(ErrorCode.NOT_FOUND, `no account ${peer} in this member's books`)
  if (row.activeEpoch !== e) m.t.accounts.set(peer, { ...row, activeEpoch: e })
  return { account: peer, epoch: e }
}

/** This member's signed report for the current epoch: accounts it banks for, how many were active, their karma. */
export function epochReport(m: Member): string {
  const e = m.epoch().epoch
  let accounts = 0
  let active = 0
  let total = 0
  for (const a of m.t.accounts.values()) {
    accounts++
    if (a.activeEpoch === e) active++
    total += a.balance
  }
  return makeReport(m.signer, { epoch: e, accounts, active, total }).b64
}

/**
 * Moves to epoch `toEpoch` = current + 1, scaling every balance by num/den
 * (floor, remainder kept: see epoch.ts). Idempotent: asking again for the
 * epoch already reached with the same factor changes nothing.
 */
export function rescale(
  m: Member,
  toEpoch: number,
  factor: Factor
): { epoch: number; accounts: number; before: number; after: number; changed: boolean } {
  checkFactor(factor)
  const e = m.epoch()
  if (toEpoch === e.epoch && toEpoch > 0 && e.num === factor.num && e.den === factor.den) {
    const { balances, accounts } = m.totals()
    return { epoch: e.epoch, accounts, before: balances, after: balances, changed: false }
  }
  if (!Number.isSafeInteger(toEpoch) || toEpoch !== e.epoch + 1)
    fail(ErrorCode.STALE_SEQ, `cannot rescale to epoch ${toEpoch} from epoch ${e.epoch}`, { epoch: e.epoch })
  const next: Array<[string, AccountRow]> = []
  let before = 0
  let after = 0
  for (const [id, a] of m.t.accounts.entries()) {
    const s = rescaleBalance(a.balance, factor)
    if (s.balance > MAX_KARMA) fail(ErrorCode.BAD_REQUEST, `rescaling ${id} would exceed the karma limit`)
    before += a.balance
    after += s.balance
    next.push([id, { ...a, ...s }])
  }
  for (const [id, a] of next) m.t.accounts.set(id, a)
  m.t.meta.set('epoch', { epoch: toEpoch, num: factor.num, den: factor.den })
  return { epoch: toEpoch, accounts: next.length, before, after, changed: true }
}

/**
 * Forgets debit records and uncompleted vote counts older than `before`
 * (this member's clock; a forgotten count only delays a credit). A credit is
 * never forgotten while a notice for its request could still be accepted: a
 * payer can make bank(A) sign the notices again at any time. Older than
 * `before`, it is reduced to its hash (and payee and epoch); it is dropped
 * only once the request's epoch is older than the current epoch minus one,
 * the age at which checkMessageEpoch refuses its notices. With epochs off
 * (epoch 0 forever) credit hashes are kept for good.
 */
export function prune(m: Member, before: number): { pending: number; credits: number } {
  const e = m.epoch().epoch
  let pending = 0
  let credits = 0
  for (const [h, d] of [...m.t.pending.entries()])
    if (d.at < before) {
      m.t.pending.delete(h)
      pending++
    }
  for (const [h, c] of [...m.t.credits.entries()]) {
    if (c.status !== 'credited') {
      if (c.at < before) {
        m.t.credits.delete(h)
        credits++
      }
      continue
    }
    // no epoch (an older record known from churn): the current one is an upper bound for the request's
    const epoch = c.epoch ?? e
    if (epoch < e - 1) {
      m.t.credits.delete(h)
      credits++
      continue
    }
    if (
      c.at < before &&
      (c.voters.length > 0 || c.receipt !== undefined || c.from !== undefined || c.epoch === undefined)
    ) {
      m.t.credits.set(h, {
        to: c.to,
        status: 'credited',
        voters: [],
        at: c.at,
        epoch,
        ...(c.adopted === true ? { adopted: true } : {})
      })
    }
  }
  return { pending, credits }
}
