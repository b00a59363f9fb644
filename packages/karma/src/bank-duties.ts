// What a node does as a member of other peers' bank-sets: opens accounts,
// debits payers and tells bank(B), credits payees on a majority of bank(A),
// answers signed balance reads, and hands accounts over when a bank-set
// changes. Every state change runs the pure Member inside `store.apply`, so
// it is one synced LevelDB batch before any reply or notice leaves.
//
// A debit's notices go to bank(B) one-way (their answers would be half of a
// transfer's messages) and wait in an outbox (persisted with the debit
// itself) until every member of bank(B), as this node computes it at the
// time, credited the request or took the notice with an answer (the tick asks
// and resends), or their request is too old for any member to accept
// (epochs), or a majority took them long ago: a crash or an unreachable
// member delays a credit, it does not lose it.
import { ErrorCode, P2payError, asError, fail, type DaemonContext, type Table, type Verifier } from '@p2pay/core'
import { bankKeyBytes, bankSet } from './bankset.ts'
import { conflictingNotice, LIE_OFFSET, type ByzantineMode } from './byzantine.ts'
import type { DhtView } from './dht-view.ts'
import { checkPeerId } from './ids.ts'
import { majority } from './majority.ts'
import { Member } from './member.ts'
import {
  KIND,
  MAX_STATE_PAGES,
  type Signed,
  type StateBody,
  type TransferBody,
  makeBalance,
  makeState,
  openJoin,
  openNotice,
  openState,
  openTransfer,
  checkChallenge,
  isHash
} from './messages.ts'
import type { Peers } from './peers.ts'
import { OUTBOX_HORIZON_MS, RECORD_HORIZON_MS, type KarmaConfig } from './protocols.ts'

export interface OutboxRow {
  from: string
  to: string
  requestHash: string
  notice: string
  request: string
  delivered: string[]
  at: number
}
export interface CaughtRow {
  member: string
  reason: string
  account?: string
  requestHash?: string
  evidence: string
  at: number
}

const MAX_WAITERS = 10_000
/**
 * a debit's notices first go out one-way; after this many sync intervals (10 s by default) the tick asks bank(B)
 * what it credited and resends the rest (long enough that one question per member covers many transfers' notices)
 */
const NOTICE_GRACE_SYNCS = 2
/** request hashes per 'credited' question */
const MAX_ASKED = 256
/**
 * a request whose nonce is ahead waits this long for its predecessor (it usually only overtook it on another stream)
 */
const GAP_WAIT_MS = 2000
const GAP_POLL_MS = 10
const MAX_GAP_WAITERS = 256
const MAX_CAUGHT = 10_000
const RESYNC_MS = 10_000
const MAX_ADOPTING = 8
const REHINT_TICKS = 30
/** hand-over hints: one per account per HINT_MS, MAX_HINTS per HINT_MS in all */
const HINT_MS = 2000
const MAX_HINTS = 64
/**
 * Errors after which a notice is not sent to that member again. Not
 * WRONG_BROKER: a member whose view of the DHT is behind refuses now and
 * takes the notice once it sees itself in bank(B) (resends stop at
 * OUTBOX_HORIZON_MS, or when the tick's bank(B) no longer lists it).
 */
const FINAL_FOR_TARGET = new Set<string>([
  ErrorCode.BAD_REQUEST,
  ErrorCode.BAD_SIGNATURE,
  ErrorCode.WRONG_SIGNER,
  ErrorCode.WRONG_TAG,
  ErrorCode.BAD_FRAME
])
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/**
 * The old bank of `account` that votes on its state when `me` takes it over or
 * resynchronises it: the k peers nearest the account's key among `near` (the
 * DHT query's answer), `me` and the account excluded. Whether they answer does
 * not matter: a peer that does not answer simply has no vote.
 */
export function oldBankOf(account: string, near: readonly string[], me: string, k: number): string[] {
  return bankSet(
    account,
    near.filter(p => p !== me && p !== account),
    k
  )
}

/** A state as a join leaves it, before anything else happened to the account: minting again would give the same row. */
export function isJustOpened(s: StateBody, initialKarma: number, epoch: number): boolean {
  return (
    s.joined &&
    s.nonce === 0 &&
    s.lastRequest === null &&
    s.balance === initialKarma &&
    s.rem === 0 &&
    s.credited.length === 0 &&
    s.epoch === epoch
  )
}

/** The pages of a state answer that verify, are addressed to `me` and are signed by `asked`, the peer asked. */
export function pagesSignedBy(
  verifier: Verifier,
  asked: string,
  account: string,
  me: string,
  pages: readonly unknown[]
): string[] {
  return pages.filter((p): p is string => {
    try {
      return openState(verifier, p, { account, to: me }).signer === asked
    } catch {
      return false
    }
  })
}

export class BankDuties {
  readonly member: Member
  readonly byzantine = new Set<ByzantineMode>()
  private readonly ctx: DaemonContext
  private readonly cfg: KarmaConfig
  private readonly view: DhtView
  private readonly peers: Peers
  readonly outbox: Table<OutboxRow>
  readonly caught: Table<CaughtRow>
  /** payers' long-polls for a credit: requestHash -> resolvers */
  private readonly waiters = new Map<string, Array<(receipt: string) => void>>()
  private readonly adopting = new Set<string>()
  private readonly resynced = new Map<string, number>()
  /** hand-over hints acted on, per account, within HINT_MS */
  private readonly hinted = new Map<string, number>()
  private hintWindow = { start: 0, count: 0 }
  private gapWaiters = 0
  private ticks = 0
  /** bank-set last seen per account in these books: members that entered it get a hand-over hint */
  private readonly lastBank = new Map<string, string[]>()

  constructor(
    ctx: DaemonContext,
    cfg: KarmaConfig,
    member: Member,
    view: DhtView,
    peers: Peers,
    outbox: Table<OutboxRow>,
    caught: Table<CaughtRow>
  ) {
    this.ctx = ctx
    this.cfg = cfg
    this.member = member
    this.view = view
    this.peers = peers
    this.outbox = outbox
    this.caught = caught
  }

  private get store() {
    return this.ctx.store
  }
  private get me(): string {
    return this.member.id
  }
  private now(): number {
    return (this.cfg.now ?? Date.now)()
  }

  // ---- joins ----

  /**
   * Opens a joining peer's account. A member without a synced row first asks
   * the old bank (mayOpen): a join proof can be replayed to a member that
   * entered bank(peer) after the account was used, and must not mint there.
   */
  async join(proof: unknown): Promise<{ account: string; balance: number; opened: boolean }> {
    const peer = openJoin(this.ctx.verifier, proof).body.peer
    return await this.withFreshView([peer], async ([bank]) => {
      if (!this.member.isSynced(peer)) await this.mayOpen(peer, bank)
      return await this.store.apply(() =>
        this.member.openAccount(proof, this.cfg.initialKarma, this.cfg.powBits, bank, !this.member.isSynced(peer))
      )
    })
  }

  /**
   * Before minting, the old bank of `peer` (the k peers nearest its key
   * without this member, from the cached view) is asked for its state. A state
   * a strict majority of it signed is adopted, and the join then opens
   * nothing. Without one, the join may mint only if a strict majority of the
   * old bank has no account, or has it as a join just opened it (a bank
   * answering a join that reached its members at the same moment); otherwise
   * it is refused for now (the joiner retries, a hand-over settles the row).
   */
  private async mayOpen(peer: string, bank: readonly string[]): Promise<void> {
    const old = oldBankOf(peer, await this.view.candidates(peer), this.me, this.cfg.k)
    let absent = 0
    const answers = await Promise.all(
      old.map(async m => {
        try {
          const r = await this.peers.call<{ state: unknown; more?: unknown }>(m, 'state', { account: peer }, KIND.churn)
          return pagesSignedBy(this.ctx.verifier, m, peer, this.me, [
            r.state,
            ...(Array.isArray(r.more) ? r.more.slice(0, MAX_STATE_PAGES - 1) : [])
          ])
        } catch (err) {
          if (err instanceof P2payError && err.code === ErrorCode.NOT_FOUND) absent++
          return []
        }
      })
    )
    try {
      await this.store.apply(() => this.member.adoptState(peer, answers.flat(), old, bank))
      return
    } catch (err) {
      if (!(err instanceof P2payError && err.code === ErrorCode.NOT_FOUND)) throw err
    }
    const epoch = this.member.epoch().epoch
    const justOpened = answers.filter(
      pages =>
        pages.length === 1 &&
        isJustOpened(
          openState(this.ctx.verifier, pages[0], { account: peer, to: this.me }).body,
          this.cfg.initialKarma,
          epoch
        )
    ).length
    if (absent + justOpened < this.needed) {
      fail(
        ErrorCode.NO_MAJORITY,
        `the old bank of ${peer} neither agrees on its state nor says the account is new: not opened here for now`,
        { absent, justOpened, needed: this.needed }
      )
    }
  }

  /**
   * Runs `fn` over the bank-sets of `accounts`; if this member finds itself
   * outside one (WRONG_BROKER), the cached sets may be stale: once more with
   * fresh DHT queries.
   */
  private async withFreshView<T>(accounts: string[], fn: (banks: string[][]) => Promise<T>): Promise<T> {
    try {
      return await fn(await Promise.all(accounts.map(async a => await this.view.bank(a))))
    } catch (err) {
      if (!(err instanceof P2payError && err.code === ErrorCode.WRONG_BROKER)) throw err
      return await fn(await Promise.all(accounts.map(async a => await this.view.bank(a, true))))
    }
  }

  // ---- bank(A): debit, then notices to bank(B) ----

  async debit(request: unknown): Promise<{ requestHash: string; receipt: string }> {
    if (this.byzantine.has('drop')) fail(ErrorCode.TIMEOUT, 'dropped')
    const req = openTransfer(this.ctx.verifier, request)
    await this.awaitTurn(req.body.from, req.body.nonce, req.body.ts)
    const { r, bankB } = await this.resyncOnGap(
      req.body.from,
      async () =>
        await this.withFreshView([req.body.from, req.body.to], async ([bankA, bankB]) => ({
          bankB,
          r: await this.store.apply(() => {
            const r = this.member.debit(request, bankA)
            if (!r.duplicate)
              this.outbox.set(r.requestHash, {
                from: req.body.from,
                to: req.body.to,
                requestHash: r.requestHash,
                notice: r.notice,
                request: req.b64,
                delivered: [],
                at: this.now()
              })
            return r
          })
        }))
    )
    // notices go out one-way, in the background: the payer waits on bank(B) itself, not on this member; the outbox row
    // stays until bank(B) says it credited the request or took the notice (tick)
    void this.pushNotices(bankB, r.notice, req)
    return { requestHash: r.requestHash, receipt: r.receipt }
  }

  /**
   * Requests of one payer go out on separate streams, so request n + 1 can
   * reach this member just before n: it waits for n to be applied here before
   * debit refuses it as a gap (which costs a resync). The wait ends
   * GAP_WAIT_MS after the time the payer signed into the request, not after
   * it arrived here: every member of the bank then stops holding it at about
   * the same moment. A member that got it late and waited on its own clock
   * could still be holding it after the others refused it and the payer was
   * told so, and would apply it once the payer's next request closes the
   * gap: a debit no majority made, which splits the bank until another
   * request with its nonce arrives.
   */
  private async awaitTurn(account: string, nonce: number, signedAt: number): Promise<void> {
    if (this.gapWaiters >= MAX_GAP_WAITERS) return
    this.gapWaiters++
    try {
      const deadline = Math.min(Date.now(), signedAt) + GAP_WAIT_MS // checkTransfer made ts an integer
      while (Date.now() < deadline) {
        const row = this.member.account(account)
        if (row == null || row.synced === false || !Number.isSafeInteger(nonce) || row.nonce + 1 >= nonce) return
        await sleep(GAP_POLL_MS)
      }
    } finally {
      this.gapWaiters--
    }
  }

  /**
   * A request whose nonce skips ahead means this member missed a debit the
   * majority applied (it was down, or a notice of the payer was lost); a
   * second request with the nonce of the last one applied here (FRAUD) may
   * mean this member applied a request the majority refused. Either way it
   * takes the account's state from the bank's majority again, at most every
   * RESYNC_MS per account, and refuses this time (the payer retries).
   */
  private async resyncOnGap<T>(account: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      const last = this.resynced.get(account) ?? 0
      const behind =
        err instanceof P2payError && err.code === ErrorCode.STALE_SEQ && err.details?.expected !== undefined
      // two requests with one nonce: this member may hold one a majority of the bank refused (a split bank)
      const split = err instanceof P2payError && err.code === ErrorCode.FRAUD
      if ((behind || split) && Date.now() - last > RESYNC_MS) {
        this.resynced.set(account, Date.now())
        void this.takeOver(account, true).catch(e =>
          this.ctx.log.info('resync failed', { account, err: asError(e).message })
        )
      }
      throw err
    }
  }

  /**
   * A debit's notice to every member of bank(B), one-way (half of a transfer's messages would otherwise be their
   * answers).
   */
  private async pushNotices(bankB: readonly string[], notice: string, request: Signed<TransferBody>): Promise<void> {
    const conflict = this.byzantine.has('conflict') ? conflictingNotice(this.ctx.signer, request) : undefined
    await Promise.all(
      bankB.map(async (m, i) => {
        try {
          await this.peers.send(
            m,
            'notice',
            { notice: conflict !== undefined && i % 2 === 0 ? conflict : notice },
            KIND.transfer
          )
        } catch {}
      })
    )
  }

  /** Sends a debit's notice, with answers, to the members of bank(B) that have not taken it. */
  private async sendNotices(requestHash: string, bankB: readonly string[], notice: string): Promise<void> {
    const row = this.outbox.get(requestHash)
    const targets = bankB.filter(m => row == null || !row.delivered.includes(m))
    const conflict = this.byzantine.has('conflict')
      ? conflictingNotice(
          this.ctx.signer,
          openTransfer(this.ctx.verifier, row?.request ?? openNotice(this.ctx.verifier, notice).notice.body.request)
        )
      : undefined
    const done: string[] = []
    await Promise.all(
      targets.map(async (m, i) => {
        try {
          const out = await this.peers.call<{ status?: string; reason?: string }>(
            m,
            'notice',
            { notice: conflict !== undefined && i % 2 === 0 ? conflict : notice },
            KIND.transfer
          )
          // a member that does not count this node in bank(A) yet (its view is behind) is asked again later
          if (!(out?.status === 'ignored' && out.reason === 'non-member')) done.push(m)
        } catch (err) {
          if (err instanceof P2payError && FINAL_FOR_TARGET.has(err.code)) done.push(m)
        }
      })
    )
    if (done.length === 0 && targets.length > 0) return
    const cur = this.outbox.get(requestHash)
    if (cur == null) return
    const delivered = [...new Set([...cur.delivered, ...done])].sort()
    const complete = bankB.every(m => delivered.includes(m))
    await this.store.apply(() => {
      if (complete) this.outbox.delete(requestHash)
      else this.outbox.set(requestHash, { ...cur, delivered })
    })
  }

  // ---- bank(B): credits ----

  async notice(notice: unknown): Promise<unknown> {
    if (this.byzantine.has('drop')) fail(ErrorCode.TIMEOUT, 'dropped')
    const late = this.member.lateNotice(notice)
    if (late !== undefined) return late
    const { notice: n, request } = openNotice(this.ctx.verifier, notice)
    const body = request?.body ?? n.body
    checkPeerId(body.from, 'from')
    checkPeerId(body.to, 'to')
    let [bankA, bankB] = await Promise.all([this.view.bank(body.from), this.view.bank(body.to)])
    if (!bankB.includes(this.me) || !bankA.includes(n.signer)) {
      // a stale cached view would refuse or ignore an honest notice: look again before deciding
      ;[bankA, bankB] = await Promise.all([this.view.bank(body.from, true), this.view.bank(body.to, true)])
    }
    const out = await this.store.apply(() => {
      const out = this.member.receiveNotice(notice, bankA, bankB)
      // evidence only from members of bank(A) about a payee this node banks for (one row per member and reason):
      // anyone can send a node notices, the table must not grow with them
      if (
        out.status === 'ignored' &&
        (out.reason === 'mismatch' || out.reason === 'forged') &&
        bankB.includes(this.me) &&
        bankA.includes(n.signer)
      ) {
        this.recordCaught({
          member: n.signer,
          reason: `${out.reason} debit notice`,
          account: body.from,
          requestHash: out.requestHash,
          evidence: n.b64,
          at: this.now()
        })
      }
      if (out.status === 'credited' && this.byzantine.has('double-credit')) {
        const a = this.member.t.accounts.get(body.to)!
        this.member.t.accounts.set(body.to, { ...a, balance: a.balance + body.amount })
      }
      return out
    })
    if (out.status === 'credited' || out.status === 'already-credited') this.wake(out.requestHash, out.receipt)
    // the payer learns of the credit without asking (one-way); it long-polls only members it did not hear from
    if (out.status === 'credited')
      void this.peers.send(body.from, 'creditReceipt', { receipt: out.receipt }, KIND.transfer).catch(() => {})
    // a credit to a row that is not synced (new here, or kept from an earlier stay in the bank): adopt the old bank's
    // state, the credit stays on top
    if (out.status !== 'ignored' && !this.member.isSynced(body.to)) this.resync(body.to)
    if (out.status === 'ignored' && (out.reason === 'mismatch' || out.reason === 'forged')) {
      this.ctx.log.warn('bank member signed a false notice', {
        member: n.signer,
        reason: out.reason,
        requestHash: out.requestHash
      })
    }
    return out
  }

  /** Which of these requests this member credited: a sender's outbox sends their notices here no more. */
  credited(hashes: unknown): { credited: string[] } {
    if (this.byzantine.has('drop')) fail(ErrorCode.TIMEOUT, 'dropped')
    if (!Array.isArray(hashes) || hashes.length > MAX_ASKED)
      fail(ErrorCode.BAD_REQUEST, `hashes must be a list of at most ${MAX_ASKED}`)
    return { credited: hashes.filter((h): h is string => isHash(h) && this.member.receiptFor(h) !== undefined) }
  }

  /**
   * The outbox rows past the grace period: each member of bank(B) that has
   * not taken one is asked, in one call for all of them, which it credited;
   * a credited request needs no notice there (a majority's notices did it).
   * One batch records the answers and drops the rows every member is done with.
   */
  private async markCredited(rows: readonly OutboxRow[]): Promise<void> {
    const byMember = new Map<string, string[]>()
    const banks = new Map<string, string[]>()
    for (const row of rows) {
      let bankB: string[]
      try {
        bankB = await this.view.bank(row.to)
      } catch {
        continue
      }
      banks.set(row.requestHash, bankB)
      for (const m of bankB) {
        if (row.delivered.includes(m)) continue
        const list = byMember.get(m)
        if (list == null) byMember.set(m, [row.requestHash])
        else if (list.length < MAX_ASKED) list.push(row.requestHash)
      }
    }
    const by = new Map<string, string[]>()
    await Promise.all(
      [...byMember].map(async ([m, hashes]) => {
        const asked = new Set(hashes)
        try {
          const r = await this.peers.call<{ credited?: unknown }>(m, 'credited', { hashes }, KIND.transfer)
          if (Array.isArray(r?.credited))
            for (const h of r.credited) if (asked.has(h)) by.set(h, [...(by.get(h) ?? []), m])
        } catch {}
      })
    )
    if (by.size === 0) return
    await this.store.apply(() => {
      for (const [h, members] of by) {
        const cur = this.outbox.get(h)
        if (cur == null) continue
        const delivered = [...new Set([...cur.delivered, ...members])].sort()
        if (banks.get(h)!.every(m => delivered.includes(m))) this.outbox.delete(h)
        else this.outbox.set(h, { ...cur, delivered })
      }
    })
  }

  /** A payer's long-poll: the credit receipt for a request once this member credited it, or TIMEOUT. */
  async awaitCredit(requestHash: unknown, waitMs: number): Promise<{ receipt: string }> {
    if (!isHash(requestHash)) fail(ErrorCode.BAD_REQUEST, 'requestHash must be a sha256 hex')
    if (this.byzantine.has('drop')) fail(ErrorCode.TIMEOUT, 'dropped')
    const now = this.creditReceipt(requestHash)
    if (now !== undefined) return { receipt: now }
    if (this.waiters.size >= MAX_WAITERS) fail(ErrorCode.TIMEOUT, 'too many waiting payers')
    return await new Promise((resolve, reject) => {
      const list = this.waiters.get(requestHash) ?? []
      const done = (receipt: string): void => {
        clearTimeout(t)
        resolve({ receipt })
      }
      const t = setTimeout(
        () => {
          const l = this.waiters.get(requestHash)?.filter(f => f !== done) ?? []
          if (l.length === 0) this.waiters.delete(requestHash)
          else this.waiters.set(requestHash, l)
          reject(new P2payError(ErrorCode.TIMEOUT, 'not credited here yet'))
        },
        Math.max(1, Math.min(waitMs, this.cfg.callTimeoutMs))
      )
      list.push(done)
      this.waiters.set(requestHash, list)
    })
  }

  private creditReceipt(requestHash: string): string | undefined {
    return this.member.receiptFor(requestHash)
  }

  private wake(requestHash: string, receipt: string): void {
    const list = this.waiters.get(requestHash)
    if (list == null) return
    this.waiters.delete(requestHash)
    for (const f of list) f(receipt)
  }

  // ---- reads ----

  async balance(accountArg: unknown, challengeArg: unknown, asker: string): Promise<{ answer: string }> {
    const account = checkPeerId(accountArg, 'account')
    const challenge = checkChallenge(challengeArg)
    await this.store.barrier() // never answer with a change that is not on disk yet
    if (this.byzantine.has('lie-balance')) {
      const row = this.member.account(account)
      if (row == null) fail(ErrorCode.NOT_FOUND, `no account ${account} in this member's books`)
      return {
        answer: makeBalance(this.ctx.signer, {
          account,
          balance: row.balance + LIE_OFFSET,
          nonce: row.nonce,
          epoch: this.member.epoch().epoch,
          asker,
          challenge
        }).b64
      }
    }
    return { answer: this.member.balanceOf(account, asker, challenge) }
  }

  // ---- churn ----

  /** `state` is the first page; `more` the further pages of credited hashes, if any. */
  async exportState(accountArg: unknown, to: string): Promise<{ state: string; more?: string[] }> {
    const account = checkPeerId(accountArg, 'account')
    await this.store.barrier()
    if (this.byzantine.has('forge-state')) {
      const row = this.member.account(account)
      if (row == null) fail(ErrorCode.NOT_FOUND, `no account ${account} in this member's books`)
      const s = openState(this.ctx.verifier, this.member.exportState(account, to), { account, to }).body
      return { state: makeState(this.ctx.signer, { ...s, balance: s.balance + LIE_OFFSET }).b64 }
    }
    const [state, ...more] = this.member.exportStates(account, to)
    return more.length > 0 ? { state, more } : { state }
  }

  /** takeOver(account, true) in the background, at most every RESYNC_MS per account. */
  private resync(account: string): void {
    const last = this.resynced.get(account) ?? 0
    if (Date.now() - last <= RESYNC_MS) return
    this.resynced.set(account, Date.now())
    void this.takeOver(account, true).catch(e =>
      this.ctx.log.info('resync failed', { account, err: asError(e).message })
    )
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
    const holds = this.member.isSynced(account)
    if (!holds && this.adopting.size < MAX_ADOPTING && this.hintAllowed(account)) {
      void this.takeOver(account)
        .catch(err => {
          this.ctx.log.info('hand-over not done yet', { account, err: asError(err).message })
        })
        // not done: the next hint for this account may trigger it again at once (the overall bound still holds)
        .finally(() => {
          if (!this.member.isSynced(account)) this.hinted.delete(account)
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
   * Takes over `account` as a new member of its bank (or resynchronises it):
   * the old bank is the k peers nearest the account's key among the DHT
   * query's answer, this node excluded, whether or not they answer; each is
   * asked for its signed state, and a missing or unverifiable answer, or one
   * signed by another peer than the one asked, is simply not a vote. Adopts
   * what a strict majority of that old bank signed.
   */
  async takeOver(
    account: string,
    resync = false
  ): Promise<{ account: string; balance: number; nonce: number; voters: string[] } | undefined> {
    if (this.adopting.has(account) || (!resync && this.member.isSynced(account))) return undefined
    this.adopting.add(account)
    try {
      const q = await this.askOldBank(account)
      if (q === undefined) return undefined
      const r = await this.store.apply(() =>
        !resync && this.member.isSynced(account)
          ? undefined
          : this.member.adoptState(account, q.answers, q.old, q.bankNow)
      )
      if (r !== undefined)
        this.ctx.log.info(resync ? 'resynchronised an account' : 'took over an account', {
          account,
          balance: r.balance,
          nonce: r.nonce,
          from: r.voters
        })
      return r
    } finally {
      this.adopting.delete(account)
    }
  }

  /**
   * Asks the old bank of `account` (oldBankOf over the DHT query) for its
   * signed state: the pages each member signed itself, and how many members
   * answered that they have no such account. Undefined if this node is not in
   * bank(account) as it computes it now.
   */
  private async askOldBank(
    account: string
  ): Promise<{ old: string[]; answers: string[]; absent: number; bankNow: string[] } | undefined> {
    const bankNow = await this.view.bank(account, true)
    if (!bankNow.includes(this.me)) return undefined
    const near = (await this.view.karmaPeersNear(bankKeyBytes(account))).filter(p => p !== this.me && p !== account)
    if (near.length < this.cfg.k) fail(ErrorCode.NOT_FOUND, `only ${near.length} peers near ${account}`)
    const old = oldBankOf(account, near, this.me, this.cfg.k)
    let absent = 0
    const answers = await Promise.all(
      old.map(async m => {
        try {
          const r = await this.peers.call<{ state: unknown; more?: unknown }>(m, 'state', { account }, KIND.churn)
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
    return { old, answers: answers.flat(), absent, bankNow }
  }

  // ---- housekeeping (timer) ----

  /** Resends outstanding notices, hints new bank members, forgets old records. */
  async tick(): Promise<void> {
    const now = this.now()
    // now and then every member is hinted again: a hint can be lost or dropped
    if (++this.ticks % REHINT_TICKS === 0) this.lastBank.clear()
    const grace = NOTICE_GRACE_SYNCS * this.cfg.syncMs
    await this.markCredited([...this.outbox.values()].filter(row => row.at <= now - grace))
    for (const row of [...this.outbox.values()]) {
      // kept until delivered (a repeated notice is harmless: credits are never forgotten while it could be accepted),
      // unless its request is older than the epoch before this one (then every member refuses it), or a majority
      // took it and the rest did not for OUTBOX_HORIZON_MS (a member that refuses for good cannot pin it)
      let epoch = 0
      try {
        epoch = openTransfer(this.ctx.verifier, row.request).body.epoch
      } catch {}
      if (
        epoch < this.member.epoch().epoch - 1 ||
        (row.at < now - OUTBOX_HORIZON_MS && row.delivered.length >= this.needed)
      ) {
        await this.store.apply(() => this.outbox.delete(row.requestHash))
        continue
      }
      if (row.at > now - grace) continue // its one-way notices may still be on their way
      try {
        await this.sendNotices(row.requestHash, await this.view.bank(row.to), row.notice)
      } catch {}
    }
    for (const account of [...this.member.t.accounts.map.keys()]) {
      let bank: string[]
      try {
        bank = await this.view.bank(account)
      } catch {
        continue
      }
      if (!bank.includes(this.me) && this.member.isSynced(account)) {
        // left the bank (as a fresh look confirms): the row goes stale, and is adopted afresh if this node enters again
        try {
          if (!(await this.view.bank(account, true)).includes(this.me))
            await this.store.apply(() => this.member.markUnsynced(account))
        } catch {}
      }
      const before = this.lastBank.get(account) ?? []
      for (const m of bank) {
        if (m === this.me || before.includes(m)) continue
        try {
          await this.peers.call(m, 'handoff', { account }, KIND.churn)
        } catch {}
      }
      this.lastBank.set(account, bank)
    }
    await this.store.apply(() => {
      this.member.prune(now - RECORD_HORIZON_MS)
      for (const [key, c] of [...this.caught.entries()]) if (c.at < now - RECORD_HORIZON_MS) this.caught.delete(key)
    })
    if (this.byzantine.has('replay-notices')) await this.replayNotices()
  }

  /** Byzantine mode replay-notices (test swarms only): every request this member debited, replayed to both banks. */
  private async replayNotices(): Promise<void> {
    for (const d of [...this.member.t.pending.values()]) {
      try {
        const [bankA, bankB] = await Promise.all([this.view.bank(d.from), this.view.bank(d.to)])
        await Promise.allSettled([
          ...bankA
            .filter(m => m !== this.me)
            .map(async m => await this.peers.call(m, 'debit', { request: d.request }, KIND.transfer)),
          ...bankB.map(async m => await this.peers.call(m, 'notice', { notice: d.notice }, KIND.transfer))
        ])
      } catch {}
    }
  }

  /** Members this node caught signing something false, with the signed evidence. */
  caughtList(): CaughtRow[] {
    return [...this.caught.values()].sort((a, b) => a.at - b.at)
  }

  /**
   * One row per member and reason (the latest evidence), at most MAX_CAUGHT rows, none older than RECORD_HORIZON_MS
   * (tick).
   */
  recordCaught(row: CaughtRow): void {
    const key = `${row.member}|${row.reason}`
    if (!this.caught.has(key) && this.caught.size >= MAX_CAUGHT) return
    this.caught.set(key, row)
  }

  get needed(): number {
    return majority(this.cfg.k)
  }
}
