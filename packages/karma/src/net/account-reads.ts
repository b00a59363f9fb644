// The account holder joins (a proof of work to its own bank) and reads
// balances: the value a strict majority of bank(account) signed for this
// reader's fresh challenge. A minority answer that contradicts it is a lie,
// recorded with its signed evidence.
import { ErrorCode, P2payError, checkPeerId, fail, randomId } from '@p2pay/core'
import { contradicted, majorityError, type AccountRead } from '../core/account.ts'
import { majorityValue } from '../core/majority.ts'
import { Member } from '../core/member.ts'
import { makeJoin, openBalance, type BalanceBody } from '../core/state-messages.ts'
import { solvePow } from '../core/pow.ts'
import { KarmaErrorCode } from '../errors.ts'
import { KIND } from '../kinds.ts'
import type { AccountHolder } from './account.ts'
import { recordCaught } from './caught.ts'

/** a read is tried this many times: a member half-way through a transfer can make one disagree for a moment */
const READ_ATTEMPTS = 5

export async function joinAccount(
  h: AccountHolder
): Promise<{ account: string; balance: number; bank: string[]; opened: number }> {
  return await h.serial(async () => {
    const { ctx } = h
    const difficulty = ctx.cfg.powBits
    const proof = makeJoin(ctx.signer, solvePow(h.me, difficulty), difficulty)
    const bank = await ctx.view.bank(h.me, true)
    const results = await Promise.allSettled(
      bank.map(async m => await ctx.peers.call<{ opened: boolean }>(m, 'join', { proof: proof.b64 }, KIND.join))
    )
    const ok = results.filter(r => r.status === 'fulfilled')
    if (ok.length < h.needed) throw majorityError(results, h.needed, 'join')
    const read = await readAccount(h, h.me)
    await ctx.store.apply(() => ctx.t.wallet.set('self', { nonce: read.nonce, joined: true }))
    return {
      account: h.me,
      balance: read.balance,
      bank,
      opened: ok.filter(r => (r as PromiseFulfilledResult<{ opened: boolean }>).value.opened).length
    }
  })
}

export async function readAccount(h: AccountHolder, account: string, fresh = false): Promise<AccountRead> {
  checkPeerId(account, 'account')
  let last: unknown
  let freshAbsent = false
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    if (attempt > 0) await h.ctx.life.sleep(50 * attempt)
    const freshNow = fresh || attempt > 1 || freshAbsent
    try {
      return await readOnce(h, account, freshNow)
    } catch (err) {
      last = err
      // a member may be half-way through a transfer: disagreement can be transient; absence is final once a
      // fresh view of the bank confirms it (a cached view may name members that never opened the account)
      if (err instanceof P2payError && err.code === ErrorCode.NOT_FOUND) {
        if (freshNow) throw err
        freshAbsent = true
      }
    }
  }
  throw last
}

async function readOnce(h: AccountHolder, account: string, fresh: boolean): Promise<AccountRead> {
  const { ctx } = h
  const bank = await ctx.view.bank(account, fresh)
  const challenge = randomId(12)
  const results = await Promise.allSettled(
    bank.map(async m => {
      const { answer } = await ctx.peers.call<{ answer: string }>(m, 'balance', { account, challenge }, KIND.read)
      const s = openBalance(ctx.verifier, answer, { account, asker: h.me, challenge })
      if (s.signer !== m) fail(ErrorCode.WRONG_SIGNER, 'balance answer signed by another member')
      return s
    })
  )
  const answers = results.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []))
  const verdict = majorityValue<BalanceBody, ReturnType<typeof Member.balanceValue>>(
    answers,
    bank,
    Member.balanceValue,
    ctx.cfg.k
  )
  if (verdict === undefined) {
    const e = majorityError(results, h.needed, 'read')
    if (e.code === ErrorCode.NOT_FOUND)
      throw new P2payError(ErrorCode.NOT_FOUND, `${account} has no karma account (a majority of its bank says so)`, {
        account
      })
    throw new P2payError(KarmaErrorCode.NO_MAJORITY, `no strict majority of bank(${account}) agrees on its balance`, {
      account,
      answers: answers.map(a => ({
        member: a.signer,
        balance: a.body.balance,
        nonce: a.body.nonce,
        epoch: a.body.epoch
      }))
    })
  }
  const disagreed = answers.filter(a => !verdict.voters.includes(a.signer))
  // a member half-way through a transfer or not yet told of a credit answers another nonce or history: only another
  // balance for the same nonce, epoch and history as a majority member's is a lie, and both answers are the evidence
  const agreed = answers.filter(a => verdict.voters.includes(a.signer))
  const lied = disagreed.flatMap(d => {
    const m = contradicted(
      d.body,
      agreed.map(a => ({ ...a.body, b64: a.b64 }))
    )
    return m === undefined ? [] : [{ d, against: m.b64 }]
  })
  if (lied.length > 0) {
    await ctx.store.apply(() => {
      for (const { d, against } of lied)
        recordCaught(ctx.t, {
          member: d.signer,
          reason: 'balance answer differs from the majority',
          account,
          evidence: d.b64,
          against,
          at: Date.now()
        })
    })
  }
  h.known.add(account)
  return {
    account,
    ...verdict.value,
    bank,
    agreed: verdict.voters,
    disagreed: disagreed.map(d => d.signer).sort(),
    silent: bank.filter(m => !answers.some(a => a.signer === m)).sort()
  }
}
