// Hand-overs on the network: a member's signed state of an account for a new
// member (`state`), hints that a node entered a bank-set (`handoff`), taking
// an account over from the old bank or resynchronising it (`takeOver`), the
// one way the old bank is asked for its state (`askOldBank`, which joins use
// too), and the tick part that hints the members that entered a bank.
import { ErrorCode, P2payError, asError, checkPeerId, fail, type Logger } from '@p2pay/core'
import { bankKeyBytes } from '../core/bankset.ts'
import { oldBankOf, pagesSignedBy } from '../core/handover.ts'
import { MAX_STATE_PAGES } from '../core/messages.ts'
import { KIND } from '../kinds.ts'
import type { KarmaContext } from './context.ts'

/** a member resynchronises one account at most this often */
const RESYNC_MS = 10_000
/** housekeeping ticks during which a resync after start that found no majority is tried again */
const RESYNC_TRIES = 60
/** hand-overs under way at once, started by hints */
const MAX_ADOPTING = 8
/** every this many ticks every member of every bank is hinted again: a hint can be lost or dropped */
const REHINT_TICKS = 30
/** accounts remembered as awaited (see `awaits`), at most, and for at most this long */
const MAX_AWAITED = 4096
const AWAITED_MS = 60 * 60_000
/** hand-over hints: one per account per HINT_MS, MAX_HINTS per HINT_MS in all */
const HINT_MS = 2000
const MAX_HINTS = 64

/** What the old bank said: the pages each member signed itself (none if it did not answer); how many had no account. */
export interface OldBankAnswers {
  pages: string[][]
  absent: number
}

export class HandOver {
  private readonly ctx: KarmaContext
  private readonly log: Logger
  private readonly adopting = new Set<string>()
  private readonly resynced = new Map<string, number>()
  /** accounts the resync after start has not settled yet, with the ticks left to try */
  private readonly unsettled = new Map<string, number>()
  /** hand-over hints acted on, per account, within HINT_MS */
  private readonly hinted = new Map<string, number>()
  private hintWindow = { start: 0, count: 0 }
  private ticks = 0
  /**
   * accounts this member was told it entered the bank of, whose old bank could not hand them over yet (too few of it
   * answered) and did not say they are new either: since when. Without a row this member cannot tell such an
   * account from one that does not exist, and must not say it does not (a reader would take "no account", a join
   * asking this member as the old bank would count it as "new").
   */
  private readonly awaited = new Map<string, number>()
  /** bank-set last seen per account in these books: members that entered it get a hand-over hint */
  private readonly lastBank = new Map<string, string[]>()
  /** called after an adoption made a row synced */
  onSynced: () => void = () => {}

  constructor(ctx: KarmaContext) {
    this.ctx = ctx
    this.log = ctx.log.child('handover')
  }

  private get me(): string {
    return this.ctx.me
  }

  /** Whether `account` is awaited here: an old bank that could not hand it over yet, see `awaited`. */
  awaits(account: string): boolean {
    const at = this.awaited.get(account)
    if (at === undefined) return false
    if (Date.now() - at < AWAITED_MS && this.ctx.member.account(account) == null) return true
    this.awaited.delete(account)
    return false
  }

  /** Fails with STALE_SEQ (no vote) for an account this member holds no row of but awaits. */
  checkNotAwaited(account: string): void {
    if (this.awaits(account))
      fail(ErrorCode.STALE_SEQ, `${account} is not handed over to this member yet: its old bank is out of reach`, {
        account,
        sync: true
      })
  }

  private await(account: string): void {
    this.awaited.delete(account)
    this.awaited.set(account, Date.now())
    if (this.awaited.size > MAX_AWAITED) this.awaited.delete(this.awaited.keys().next().value!)
  }

  /** `state` is the first page; `more` the further pages of credited hashes, if any. */
  async exportState(accountArg: unknown, to: string): Promise<{ state: string; more?: string[] }> {
    const account = checkPeerId(accountArg, 'account')
    this.checkNotAwaited(account)
    await this.ctx.store.barrier()
    const [state, ...more] = this.ctx.member.exportStates(account, to)
    return more.length > 0 ? { state, more } : { state }
  }

  /**
   * A hint that this node entered bank(account). Unauthenticated, so only a
   * trigger: takeOver computes the bank and the old bank itself. Rate-limited:
   * a bounded number of hand-overs at a time, one per account every
   * HINT_MS unless the last one did not complete, at most MAX_HINTS per
   * HINT_MS in all; the rest are dropped (the sender hints again).
   */
  handoff(accountArg: unknown): { account: string; holds: boolean } {
    const account = checkPeerId(accountArg, 'account')
    const member = this.ctx.member
    const holds = member.isSynced(account)
    if (!holds && this.adopting.size < MAX_ADOPTING && this.hintAllowed(account)) {
      this.ctx.life.spawn('hand-over', async () => {
        try {
          await this.takeOver(account)
        } catch (err) {
          this.log.info('hand-over not done yet', { account, err: asError(err).message })
        } finally {
          // not done: the next hint for this account may trigger it again at once (the overall bound still holds)
          if (!member.isSynced(account)) this.hinted.delete(account)
        }
      })
    }
    return { account, holds }
  }

  private hintAllowed(account: string): boolean {
    const now = Date.now()
    if (now - this.hintWindow.start > HINT_MS) this.hintWindow = { start: now, count: 0 }
    for (const [a, at] of this.hinted) if (now - at > HINT_MS) this.hinted.delete(a)
    if (this.hintWindow.count >= MAX_HINTS || this.hinted.has(account)) return false
    this.hintWindow.count++
    this.hinted.set(account, now)
    return true
  }

  /**
   * After a start: a member that was away (stopped, restarted, cut off) may
   * have missed debits and credits its banks made meanwhile, and nothing
   * tells it so (the others' outboxes stop sending to a member that is not in
   * bank(B) as they compute it). It resynchronises every account it holds
   * from the rest of each bank: a strict majority's state is adopted. Without
   * one (a member of the bank is itself away, or the others differ by a
   * transfer in flight) the row stays as it is and the account is tried again
   * on the next housekeeping ticks, RESYNC_TRIES times at most.
   */
  async resyncAll(): Promise<number> {
    for (const [account, row] of this.ctx.member.t.accounts.entries())
      if (row.synced !== false) this.unsettled.set(account, RESYNC_TRIES)
    return await this.resyncUnsettled()
  }

  /** One try for each account the resync after start has not settled; how many were adopted. */
  async resyncUnsettled(): Promise<number> {
    const { member, life } = this.ctx
    let adopted = 0
    for (const [account, left] of [...this.unsettled]) {
      if (life.stopped) break
      if (!member.isSynced(account) || left <= 0) {
        this.unsettled.delete(account)
        continue
      }
      if (this.adopting.has(account)) continue
      this.unsettled.set(account, left - 1)
      this.resynced.set(account, Date.now())
      try {
        // undefined: no longer in the bank as this node computes it; the tick marks the row stale if so
        if ((await this.takeOver(account, true)) !== undefined) adopted++
        this.unsettled.delete(account)
      } catch (err) {
        if (!life.stopped) this.log.info('resync after start not settled', { account, err: asError(err).message })
      }
    }
    return adopted
  }

  /** takeOver(account, true) in the background, at most every RESYNC_MS per account. */
  resync(account: string): void {
    const last = this.resynced.get(account) ?? 0
    if (Date.now() - last <= RESYNC_MS) return
    this.resynced.set(account, Date.now())
    this.ctx.life.spawn('resync', async () => {
      await this.takeOver(account, true).catch(e =>
        this.log.info('resync failed', { account, err: asError(e).message })
      )
    })
  }

  /**
   * Takes over `account` as a new member of its bank (or resynchronises it):
   * the old bank is the k peers nearest the account's key among the DHT
   * query's answer and the Karma peers out of sight lately (DhtView.away),
   * this node excluded, whether or not they answer; each is
   * asked for its signed state, and a missing or unverifiable answer, or one
   * signed by another peer than the one asked, is simply not a vote. Adopts
   * what a strict majority of that old bank signed. Undefined if this node is
   * not in bank(account) as it computes it now, or has the account already.
   */
  async takeOver(
    account: string,
    resync = false
  ): Promise<{ account: string; balance: number; nonce: number; voters: string[] } | undefined> {
    const { member, life } = this.ctx
    if (this.adopting.has(account) || (!resync && member.isSynced(account))) return undefined
    life.check()
    this.adopting.add(account)
    return await life.track('take over', this.adopt(account, resync)).finally(() => this.adopting.delete(account))
  }

  /** takeOver's work: the bank now, the old bank, its answers, and the adoption. */
  private async adopt(
    account: string,
    resync: boolean
  ): Promise<{ account: string; balance: number; nonce: number; voters: string[] } | undefined> {
    const { member, view, cfg } = this.ctx
    const bankNow = await view.bank(account, true)
    if (!bankNow.includes(this.me)) return undefined
    // the peers out of sight lately count too, unanswering: across a partition the peers nearest the key in this
    // half may all be new to the account, and their "no such account" is no old bank's word
    const near = [...new Set([...(await view.karmaPeersNear(bankKeyBytes(account))), ...(view.away?.() ?? [])])].filter(
      p => p !== this.me && p !== account
    )
    if (near.length < cfg.k) {
      this.await(account)
      fail(ErrorCode.NOT_FOUND, `only ${near.length} peers near ${account}`)
    }
    const old = oldBankOf(account, near, this.me, cfg.k)
    const { pages, absent } = await this.askOldBank(account, old)
    let r: Awaited<ReturnType<HandOver['adopt']>>
    try {
      r = await this.ctx.store.apply(() =>
        !resync && member.isSynced(account) ? undefined : member.adoptState(account, pages.flat(), old, bankNow)
      )
    } catch (err) {
      // no majority state: awaited unless a majority of the old bank says it has no such account
      if (absent >= member.needed) this.awaited.delete(account)
      else this.await(account)
      throw err
    }
    this.awaited.delete(account)
    if (r !== undefined) this.onSynced()
    if (r !== undefined)
      this.log.info(resync ? 'resynchronised an account' : 'took over an account', {
        account,
        balance: r.balance,
        nonce: r.nonce,
        from: r.voters
      })
    return r
  }

  /**
   * Asks each member of `old`, the old bank of `account`, for its signed state:
   * the pages each signed itself, and how many answered that they have no such
   * account.
   */
  async askOldBank(account: string, old: readonly string[]): Promise<OldBankAnswers> {
    let absent = 0
    const pages = await Promise.all(
      old.map(async m => {
        try {
          const r = await this.ctx.peers.call<{ state: unknown; more?: unknown }>(m, 'state', { account }, KIND.churn)
          return pagesSignedBy(this.ctx.verifier, m, account, this.me, [
            r.state,
            ...(Array.isArray(r.more) ? r.more.slice(0, MAX_STATE_PAGES - 1) : [])
          ])
        } catch (err) {
          if (err instanceof P2payError && err.code === ErrorCode.NOT_FOUND) absent++
          return []
        }
      })
    )
    return { pages, absent }
  }

  /**
   * From the housekeeping tick: for every account in these books, a member
   * that left its bank (as a fresh look confirms) marks the row stale, and
   * every member that entered the bank since the last tick gets a hint.
   */
  async tick(): Promise<void> {
    const { member, view, peers, store } = this.ctx
    if (++this.ticks % REHINT_TICKS === 0) this.lastBank.clear()
    for (const account of [...member.t.accounts.map.keys()]) {
      let bank: string[]
      try {
        bank = await view.bank(account)
      } catch {
        continue
      }
      if (!bank.includes(this.me) && member.isSynced(account)) {
        // left the bank: the row goes stale, and is adopted afresh if this node enters again
        try {
          if (!(await view.bank(account, true)).includes(this.me)) await store.apply(() => member.markUnsynced(account))
        } catch {}
      }
      const before = this.lastBank.get(account) ?? []
      for (const m of bank) {
        if (m === this.me || before.includes(m)) continue
        try {
          await peers.call(m, 'handoff', { account }, KIND.churn)
        } catch {}
      }
      this.lastBank.set(account, bank)
    }
  }
}
