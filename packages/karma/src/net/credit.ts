// bank(B)'s duty: count the notices of bank(A) and credit the payee once a
// strict majority of bank(A) sent matching ones; record the signed lies among
// them; tell the payer (a credit receipt, one-way) and answer its long-polls;
// tell a sender's outbox which requests it credited.
import { ErrorCode, P2payError, abortReason, checkPeerId, fail, isHash, type Logger } from '@p2pay/core'
import type { NoticeOutcome } from '../core/member-records.ts'
import { openNotice } from '../core/messages.ts'
import { KIND } from '../kinds.ts'
import { recordCaught } from './caught.ts'
import { nowOf, type KarmaContext } from './context.ts'
import type { HandOver } from './handover.ts'
import { NoticeBudget } from './notice-budget.ts'

/** payers' long-polls waiting at once, at most */
const MAX_WAITERS = 10_000
/** request hashes per 'credited' question */
export const MAX_ASKED = 256
/** vote counts pulled for per housekeeping tick, at most */
const MAX_PULLS = 64
/** a request whose notices could not be pulled is not pulled for again before this (bank(A) may have forgotten it) */
const RETRY_PULL_MS = 60_000
/** such requests remembered at once, at most */
const MAX_TRIED = 10_000

interface Waiter {
  resolve: (receipt: string) => void
  reject: (err: Error) => void
}

export class Credits {
  private readonly ctx: KarmaContext
  private readonly handover: HandOver
  private readonly log: Logger
  /** payers' long-polls for a credit: requestHash -> waiters */
  private readonly waiters = new Map<string, Waiter[]>()
  /** request hash -> when its notices were last pulled for */
  private readonly tried = new Map<string, number>()
  /** notices that cost a DHT query, per sending peer */
  private readonly budget: NoticeBudget

  constructor(ctx: KarmaContext, handover: HandOver) {
    this.ctx = ctx
    this.handover = handover
    this.budget = new NoticeBudget(() => nowOf(ctx))
    this.log = ctx.log.child('credit')
    // a stopping service answers every long-poll at once (ABORTED), so its handlers end
    ctx.life.signal.addEventListener('abort', () => this.releaseAll(), { once: true })
  }

  private get me(): string {
    return this.ctx.me
  }

  /** A notice of bank(A) from peer `sender` (undefined: pulled by this node itself, or its own). */
  async notice(notice: unknown, sender?: string): Promise<NoticeOutcome> {
    const { member, view, store, t } = this.ctx
    const late = member.lateNotice(notice)
    if (late !== undefined) return late
    const opened = openNotice(this.ctx.verifier, notice)
    const { notice: n, request, defect } = opened
    const body = request?.body ?? n.body
    checkPeerId(body.from, 'from')
    checkPeerId(body.to, 'to')
    // a request that does not verify names ids nobody signed for: its evidence is worth looking bank-sets up only
    // about a payee this node holds a row of (anyone can make such notices up, and a lookup is a DHT query)
    if (defect === 'forged' && member.account(body.to) == null) return member.ignore(n.body.requestHash, 'forged')
    // notices that cost a DHT query are budgeted per sending peer (anyone can sign requests between made-up ids)
    const peer = sender !== undefined && sender !== this.me ? sender : undefined
    const cold = view.isCached !== undefined && (!view.isCached(body.from) || !view.isCached(body.to))
    if (cold && peer !== undefined) this.budget.take(peer)
    let [bankA, bankB] = await Promise.all([view.bank(body.from), view.bank(body.to)])
    if (!bankB.includes(this.me) || !bankA.includes(n.signer)) {
      if (!cold && peer !== undefined) this.budget.take(peer)
      // a stale cached view would refuse or ignore an honest notice: look again before deciding
      ;[bankA, bankB] = await Promise.all([view.bank(body.from, true), view.bank(body.to, true)])
    }
    // out of bank(B) by a fresh look: its members' notices stop coming here, so the row may go stale from now on;
    // it is adopted afresh from the bank should this node enter it again (a restart nearby can move it in and out
    // faster than the housekeeping tick that would otherwise notice)
    if (!bankB.includes(this.me) && member.isSynced(body.to)) await store.apply(() => member.markUnsynced(body.to))
    const out = await store.apply(() => {
      const out = member.receiveNotice(notice, bankA, bankB, opened)
      // evidence only from members of bank(A) about a payee this node banks for (one row per member and reason):
      // anyone can send a node notices, the table must not grow with them
      if (
        out.status === 'ignored' &&
        (out.reason === 'mismatch' || out.reason === 'forged') &&
        bankB.includes(this.me) &&
        bankA.includes(n.signer)
      ) {
        recordCaught(t, {
          member: n.signer,
          reason: `${out.reason} debit notice`,
          account: body.from,
          requestHash: out.requestHash,
          evidence: n.b64,
          at: nowOf(this.ctx)
        })
      }
      return out
    })
    // a receipt from a row that is not synced is no vote: the payer hears from this member once it is
    const vote = member.serves(body.to)
    if ((out.status === 'credited' || out.status === 'already-credited') && vote)
      this.wake(out.requestHash, out.receipt)
    // the payer learns of the credit without asking (one-way); it long-polls only members it did not hear from
    if (out.status === 'credited' && vote) {
      const receipt = out.receipt
      this.ctx.life.spawn('credit receipt', async () => {
        await this.ctx.peers.send(body.from, 'creditReceipt', { receipt }, KIND.transfer).catch(() => {})
      })
    }
    // a credit to a row that is not synced (new here, or kept from an earlier stay in the bank): adopt the old bank's
    // state, the credit stays on top
    if (out.status !== 'ignored' && !member.isSynced(body.to)) this.handover.resync(body.to)
    if (out.status === 'ignored' && (out.reason === 'mismatch' || out.reason === 'forged')) {
      this.log.warn('bank member signed a false notice', {
        member: n.signer,
        reason: out.reason,
        requestHash: out.requestHash
      })
    }
    return out
  }

  /** bank(A)'s side of a pull: the notice this member signed for a request it debited, or NOT_FOUND. */
  noticeOf(requestHash: unknown): { notice: string } {
    if (!isHash(requestHash)) fail(ErrorCode.BAD_REQUEST, 'requestHash must be a sha256 hex')
    const debit = this.ctx.member.t.pending.get(requestHash)
    if (debit == null) fail(ErrorCode.NOT_FOUND, 'no debit of that request here')
    return { notice: debit.notice }
  }

  /**
   * Vote counts that have waited a while short of a majority: each member of
   * bank(A) (as this member computes it now) whose notice is missing is asked
   * for it. The senders' outboxes send to bank(B) as each of them computes it;
   * when those views differed (a restart nearby), a member can be left with too
   * few notices after every outbox is done, and pulling them is what closes it.
   */
  async pullMissing(now: number, graceMs: number): Promise<number> {
    let pulled = 0
    const stuck = [...this.ctx.member.t.credits.entries()]
      .filter(([, c]) => c.status === 'counting' && c.from != null && c.at < now - graceMs)
      .slice(0, MAX_PULLS)
    for (const [requestHash, c] of stuck) {
      if (this.ctx.life.stopped) break
      if (await this.pull(requestHash, c.from!)) pulled++
    }
    return pulled
  }

  /**
   * Asks the members of bank(from) (as this member computes it now) whose notice for the request has not counted
   * here for it, until the payee is credited; whether it was. Each notice is checked and counted as if it had come
   * by the outbox, so whoever named the request can at most cost these calls, once per RETRY_PULL_MS.
   */
  async pull(requestHash: string, from: string): Promise<boolean> {
    const { member, view, peers } = this.ctx
    if (this.recentlyTried(requestHash)) return false
    let bankA: string[]
    try {
      bankA = await view.bank(checkPeerId(from, 'from'))
    } catch {
      return false
    }
    const voters = member.t.credits.get(requestHash)?.voters ?? []
    for (const m of bankA.filter(m => !voters.includes(m))) {
      if (this.ctx.life.stopped) return false
      try {
        const { notice } = await peers.call<{ notice: string }>(m, 'noticeOf', { requestHash }, KIND.transfer)
        await this.notice(notice)
      } catch {}
      if (member.t.credits.get(requestHash)?.status === 'credited') return true
    }
    return false
  }

  /** Whether the request's notices were pulled for within RETRY_PULL_MS; if not, it counts as tried now. */
  private recentlyTried(requestHash: string): boolean {
    const now = Date.now()
    const at = this.tried.get(requestHash)
    if (at != null && now - at < RETRY_PULL_MS) return true
    this.tried.delete(requestHash)
    if (this.tried.size >= MAX_TRIED) this.tried.delete(this.tried.keys().next().value!)
    this.tried.set(requestHash, now)
    return false
  }

  /** Which of these requests this member credited: a sender's outbox sends their notices here no more. */
  credited(hashes: unknown): { credited: string[] } {
    if (!Array.isArray(hashes) || hashes.length > MAX_ASKED)
      fail(ErrorCode.BAD_REQUEST, `hashes must be a list of at most ${MAX_ASKED}`)
    return { credited: hashes.filter((h): h is string => isHash(h) && this.ctx.member.receiptFor(h) !== undefined) }
  }

  /**
   * The credit receipt for a request credited here that is a vote: not one made into a row that is still not synced
   * (one made while the row was synced stays true).
   */
  private voteFor(requestHash: string): string | undefined {
    const { member } = this.ctx
    const row = member.t.credits.get(requestHash)
    if (row?.status !== 'credited' || (row.unsynced === true && !member.serves(row.to))) return undefined
    return member.receiptFor(requestHash)
  }

  /** Long-polls for credits made into rows that are synced now (an adoption, a reconcile) get their receipt. */
  wakeSynced(): void {
    for (const h of [...this.waiters.keys()]) {
      const receipt = this.voteFor(h)
      if (receipt !== undefined) this.wake(h, receipt)
    }
  }

  /**
   * A payer's long-poll: the credit receipt for a request once this member credited it into a synced row, or TIMEOUT.
   */
  async awaitCredit(requestHash: unknown, waitMs: number): Promise<{ receipt: string }> {
    if (!isHash(requestHash)) fail(ErrorCode.BAD_REQUEST, 'requestHash must be a sha256 hex')
    const now = this.voteFor(requestHash)
    if (now !== undefined) return { receipt: now }
    this.ctx.life.check()
    if (this.waiters.size >= MAX_WAITERS) fail(ErrorCode.TIMEOUT, 'too many waiting payers')
    return await new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: receipt => {
          clearTimeout(timer)
          resolve({ receipt })
        },
        reject: err => {
          clearTimeout(timer)
          reject(err)
        }
      }
      const timer = setTimeout(
        () => {
          const l = this.waiters.get(requestHash)?.filter(w => w !== waiter) ?? []
          if (l.length === 0) this.waiters.delete(requestHash)
          else this.waiters.set(requestHash, l)
          reject(new P2payError(ErrorCode.TIMEOUT, 'not credited here yet'))
        },
        Math.max(1, Math.min(waitMs, this.ctx.cfg.callTimeoutMs))
      )
      this.waiters.set(requestHash, [...(this.waiters.get(requestHash) ?? []), waiter])
    })
  }

  private wake(requestHash: string, receipt: string): void {
    const list = this.waiters.get(requestHash)
    if (list == null) return
    this.waiters.delete(requestHash)
    for (const w of list) w.resolve(receipt)
  }

  private releaseAll(): void {
    const err = abortReason(this.ctx.life.signal)
    const all = [...this.waiters.values()].flat()
    this.waiters.clear()
    for (const w of all) w.reject(err)
  }
}
