// Withdrawals: purse money moves to the account the purse key names, the one place a holder links itself to its
// money (on purpose). Each nonce once; the same envelope again gets the same answer (a lost reply is retried).
import { ErrorCode, decodeSigned, fail } from '@p2pay/core'
import { WhopayErrorCode } from '../errors.ts'
import type { LedgerState } from './ledger-fraud.ts'
import type { WithdrawResult } from './ledger-records.ts'
import { LIMITS, TAG, checkWithdrawBody, type WithdrawBody } from './messages.ts'

/** Moves purse money to the account the purse key names; each nonce once (the same envelope again: same answer). */
export function withdrawFrom(c: LedgerState, b64: unknown): WithdrawResult {
  const env = c.verifier.open<WithdrawBody>(
    decodeSigned(b64, 'withdrawal', LIMITS.withdrawB64),
    TAG.withdraw,
    'whopay-deposit'
  )
  const w = checkWithdrawBody(env.body)
  if (env.signer !== w.purse) fail(ErrorCode.WRONG_SIGNER, 'a withdrawal is signed by its purse key')
  const nk = `${w.purse}|${w.nonce}`
  const done = c.t.nonces.get(nk)
  if (done != null) {
    if (done.account === w.account && done.amount === w.amount && done.hash === env.hash) return done
    fail(ErrorCode.REPLAY, 'this withdrawal nonce was used')
  }
  if (!c.t.purses.has(w.purse)) fail(WhopayErrorCode.NO_SUCH_PURSE, 'no deposit was made to this purse')
  const have = c.books.purse(w.purse)
  if (have < w.amount) fail(ErrorCode.INSUFFICIENT_FUNDS, `purse holds ${have} < ${w.amount}`)
  c.books.creditPurse(w.purse, -w.amount)
  c.books.credit(w.account, w.amount)
  c.books.bump({ withdrawn: w.amount })
  const out = { purse: w.purse, account: w.account, amount: w.amount, balance: have - w.amount, hash: env.hash }
  c.t.nonces.set(nk, out)
  return out
}
