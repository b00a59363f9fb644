// Members of one bank agreeing again. Each housekeeping tick a member asks the
// other members of the banks it holds rows in for a digest of the rows they
// share; where another member applied more of the payer's requests, it replays
// them (signed by the payer, applied by the usual debit); where another member
// credited requests it did not, it pulls bank(A)'s notices for them (noticeOf)
// and counts them as usual. A member that missed messages while it was away, or
// while the senders' view of the bank left it out, catches up without a
// majority having to agree on a whole state first (which a bank of three whose
// members each missed something different would never reach).
import { ErrorCode, asError, checkPeerId, fail, isHash, isUint, type Logger } from '@p2pay/core'
import {
  MAX_CREDITS_LISTED,
  MAX_REPLAY,
  MAX_SYNC_ACCOUNTS,
  creditsTo,
  digestOf,
  requestsAfter,
  type RowDigest
} from '../core/bank-sync.ts'
import { KIND } from '../kinds.ts'
import { nowOf, type KarmaContext } from './context.ts'
import type { Credits } from './credit.ts'
import type { Debits } from './debit.ts'

/** other members compared with at once */
const PARALLEL_MEMBERS = 8

export class BankSync {
  private readonly ctx: KarmaContext
  private readonly debits: Debits
  private readonly credits: Credits
  private readonly log: Logger
  /** a credit is listed to other members once it is older than this: younger ones are still on their way */
  private readonly settleMs: number

  constructor(ctx: KarmaContext, debits: Debits, credits: Credits, settleMs: number) {
    this.ctx = ctx
    this.debits = debits
    this.credits = credits
    this.settleMs = settleMs
    this.log = ctx.log.child('bank-sync')
  }

  // ---- answers ----

  digest(accounts: unknown): { rows: Record<string, RowDigest> } {
    return { rows: digestOf(this.ctx.member.t, this.accountList(accounts)) }
  }

  requestsAfter(account: unknown, after: unknown): { requests: string[] } {
    const a = checkPeerId(account, 'account')
    if (!isUint(after)) fail(ErrorCode.BAD_REQUEST, 'after must be an unsigned integer')
    return { requests: requestsAfter(this.ctx.member.t, a, after, nowOf(this.ctx) - this.settleMs) }
  }

  creditsTo(account: unknown): { credits: Array<{ requestHash: string; from: string }> } {
    const a = checkPeerId(account, 'account')
    return { credits: creditsTo(this.ctx.member.t, a, nowOf(this.ctx) - this.settleMs) }
  }

  private accountList(accounts: unknown): string[] {
    if (!Array.isArray(accounts) || accounts.length > MAX_SYNC_ACCOUNTS)
      fail(ErrorCode.BAD_REQUEST, `accounts must be a list of at most ${MAX_SYNC_ACCOUNTS}`)
    return accounts.map(a => checkPeerId(a, 'account'))
  }

  // ---- the tick ----

  /**
   * One round: every other member of the banks this node holds synced rows in is compared with; how many were asked,
   * and how many answered.
   */
  async tick(): Promise<{ asked: number; answered: number }> {
    const { member, view, life } = this.ctx
    const shared = new Map<string, string[]>()
    for (const [account, row] of member.t.accounts.entries()) {
      if (row.synced === false) continue
      let bank: string[]
      try {
        bank = await view.bank(account)
      } catch {
        continue
      }
      if (!bank.includes(this.ctx.me)) continue
      for (const m of bank) {
        if (m === this.ctx.me) continue
        const list = shared.get(m) ?? []
        if (list.length < MAX_SYNC_ACCOUNTS) list.push(account)
        shared.set(m, list)
      }
    }
    // a few members at a time: one that is down costs its call timeout once per batch, not once per member
    const pairs = [...shared]
    // an account is caught up from one member at a time: two replays of one payer's requests would race
    const busy = new Set<string>()
    let answered = 0
    for (let i = 0; i < pairs.length && !life.stopped; i += PARALLEL_MEMBERS) {
      await Promise.all(
        pairs.slice(i, i + PARALLEL_MEMBERS).map(async ([m, accounts]) => {
          try {
            await this.compareWith(m, accounts, busy)
            answered++
          } catch (err) {
            if (!life.stopped) this.log.debug('bank sync round failed', { with: m, err: asError(err).message })
          }
        })
      )
    }
    return { asked: pairs.length, answered }
  }

  private async compareWith(m: string, accounts: string[], busy: Set<string>): Promise<void> {
    const { peers, member } = this.ctx
    const { rows } = await peers.call<{ rows: Record<string, RowDigest> }>(m, 'digest', { accounts }, KIND.churn)
    if (rows == null || typeof rows !== 'object') return
    for (const account of accounts) {
      const theirs = Object.hasOwn(rows, account) ? rows[account] : undefined
      const mine = member.account(account)
      if (theirs == null || mine == null || mine.synced === false || !isUint(theirs.nonce)) continue
      if ((theirs.balance === mine.balance && theirs.nonce === mine.nonce) || busy.has(account)) continue
      busy.add(account)
      try {
        // credits first: a replayed debit may need the karma they brought
        await this.pullCredits(m, account)
        if (theirs.nonce > mine.nonce) await this.replayDebits(m, account, mine.nonce)
      } finally {
        busy.delete(account)
      }
    }
  }

  private async replayDebits(m: string, account: string, after: number): Promise<void> {
    const r = await this.ctx.peers.call<{ requests: unknown }>(m, 'requestsAfter', { account, after }, KIND.churn)
    const requests = Array.isArray(r.requests) ? r.requests.slice(0, MAX_REPLAY) : []
    for (const request of requests) {
      if (this.ctx.life.stopped) return
      // signed by the payer and checked like any request: a member can only hand over what the payer signed
      await this.debits.debit(request)
    }
    if (requests.length > 0)
      this.log.info('replayed debits another member applied', { account, with: m, count: requests.length })
  }

  private async pullCredits(m: string, account: string): Promise<void> {
    const { member } = this.ctx
    const r = await this.ctx.peers.call<{ credits: unknown }>(m, 'creditsTo', { account }, KIND.churn)
    const listed = Array.isArray(r.credits) ? r.credits.slice(0, MAX_CREDITS_LISTED) : []
    let pulled = 0
    for (const c of listed) {
      if (this.ctx.life.stopped) return
      if (c == null || !isHash(c.requestHash) || typeof c.from !== 'string') continue
      if (member.t.credits.get(c.requestHash)?.status === 'credited') continue
      if (await this.credits.pull(c.requestHash, c.from)) pulled++
    }
    if (pulled > 0) this.log.info('credited what another member credited', { account, with: m, count: pulled })
  }
}
