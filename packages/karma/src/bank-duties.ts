// What a node does as a member of other peers' bank-sets: opens accounts,
// debits payers and tells bank(B), credits payees on a majority of bank(A),
// answers signed balance reads, and hands accounts over when a bank-set
// changes. Every state change runs the pure Member inside `store.apply`, so
// it is one synced LevelDB batch before any reply or notice leaves.
//
// Notices wait in an outbox (persisted with the debit itself) until every
// member of bank(B), as this node computes it at the time, took them (for at
// most OUTBOX_HORIZON_MS): a crash or an unreachable member delays a credit.
import { ErrorCode, P2payError, asError, fail, type DaemonContext, type Table } from '@p2pay/core'
import { bankKeyBytes, bankSet, MAX_K } from './bankset.ts'
import { conflictingNotice, LIE_OFFSET, type ByzantineMode } from './byzantine.ts'
import type { DhtView } from './dht-view.ts'
import { checkPeerId } from './ids.ts'
import { majority } from './majority.ts'
import { Member } from './member.ts'
import { KIND, makeBalance, openJoin, openNotice, openTransfer, checkChallenge, isHash } from './messages.ts'
import type { Peers } from './peers.ts'
import { OUTBOX_HORIZON_MS, RECORD_HORIZON_MS, type KarmaConfig } from './protocols.ts'

export interface OutboxRow { from: string, to: string, requestHash: string, notice: string, request: string, delivered: string[], at: number }
export interface CaughtRow { member: string, reason: string, account?: string, requestHash?: string, evidence: string, at: number }

const MAX_WAITERS = 10_000
const RESYNC_MS = 10_000
const MAX_ADOPTING = 8
const REHINT_TICKS = 30
/** Errors after which a notice is not sent to that member again. */
const FINAL_FOR_TARGET = new Set<string>([ErrorCode.WRONG_BROKER, ErrorCode.BAD_REQUEST, ErrorCode.BAD_SIGNATURE, ErrorCode.WRONG_SIGNER, ErrorCode.WRONG_TAG, ErrorCode.BAD_FRAME])

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
  private ticks = 0
  /** bank-set last seen per account in these books: members that entered it get a hand-over hint */
  private readonly lastBank = new Map<string, string[]>()

  constructor (ctx: DaemonContext, cfg: KarmaConfig, member: Member, view: DhtView, peers: Peers, outbox: Table<OutboxRow>, caught: Table<CaughtRow>) {
    this.ctx = ctx
    this.cfg = cfg
    this.member = member
    this.view = view
    this.peers = peers
    this.outbox = outbox
    this.caught = caught
  }

  private get store () { return this.ctx.store }
  private get me (): string { return this.member.id }
  private now (): number { return (this.cfg.now ?? Date.now)() }

  // ---- joins ----

  async join (proof: unknown): Promise<{ account: string, balance: number, opened: boolean }> {
    const peer = openJoin(this.ctx.verifier, proof).body.peer
    return await this.withFreshView([peer], async ([bank]) => await this.store.apply(() => this.member.openAccount(proof, this.cfg.initialKarma, this.cfg.powBits, bank)))
  }

  /**
   * Runs `fn` over the bank-sets of `accounts`; if this member finds itself
   * outside one (WRONG_BROKER), the cached sets may be stale: once more with
   * fresh DHT queries.
   */
  private async withFreshView<T> (accounts: string[], fn: (banks: string[][]) => Promise<T>): Promise<T> {
    try {
      return await fn(await Promise.all(accounts.map(async a => await this.view.bank(a))))
    } catch (err) {
      if (!(err instanceof P2payError && err.code === ErrorCode.WRONG_BROKER)) throw err
      return await fn(await Promise.all(accounts.map(async a => await this.view.bank(a, true))))
    }
  }

  // ---- bank(A): debit, then notices to bank(B) ----

  async debit (request: unknown): Promise<{ requestHash: string, receipt: string }> {
    if (this.byzantine.has('drop')) fail(ErrorCode.TIMEOUT, 'dropped')
    const req = openTransfer(this.ctx.verifier, request)
    const { r, bankB } = await this.resyncOnGap(req.body.from, async () => await this.withFreshView([req.body.from, req.body.to], async ([bankA, bankB]) => ({
      bankB,
      r: await this.store.apply(() => {
        const r = this.member.debit(request, bankA)
        if (!r.duplicate) this.outbox.set(r.requestHash, { from: req.body.from, to: req.body.to, requestHash: r.requestHash, notice: r.notice, request: req.b64, delivered: [], at: this.now() })
        return r
      })
    })))
    // notices go out in the background: the payer waits on bank(B) itself, not on this member
    void this.sendNotices(r.requestHash, bankB, r.notice, r.duplicate).catch(err => this.ctx.log.warn('notices not sent; the outbox retries', { requestHash: r.requestHash, err: asError(err).message }))
    return { requestHash: r.requestHash, receipt: r.receipt }
  }

  /**
   * A request whose nonce skips ahead means this member missed a debit the
   * majority applied (it was down, or a notice of the payer was lost): it
   * takes the account's state from the bank's majority again, at most every
   * RESYNC_MS per account, and refuses this time (the payer retries).
   */
  private async resyncOnGap<T> (account: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      const last = this.resynced.get(account) ?? 0
      if (err instanceof P2payError && err.code === ErrorCode.STALE_SEQ && err.details?.expected !== undefined && Date.now() - last > RESYNC_MS) {
        this.resynced.set(account, Date.now())
        void this.takeOver(account, true).catch(e => this.ctx.log.info('resync failed', { account, err: asError(e).message }))
      }
      throw err
    }
  }

  /** Sends a debit's notice to the members of bank(B) that have not taken it (all of them on a payer's retry). */
  private async sendNotices (requestHash: string, bankB: readonly string[], notice: string, all: boolean): Promise<void> {
    const row = this.outbox.get(requestHash)
    const targets = bankB.filter(m => all || row == null || !row.delivered.includes(m))
    const conflict = this.byzantine.has('conflict') ? conflictingNotice(this.ctx.signer, openTransfer(this.ctx.verifier, row?.request ?? openNotice(this.ctx.verifier, notice).notice.body.request)) : undefined
    const done: string[] = []
    await Promise.all(targets.map(async (m, i) => {
      try {
        await this.peers.call(m, 'notice', { notice: conflict !== undefined && i % 2 === 0 ? conflict : notice }, KIND.transfer)
        done.push(m)
      } catch (err) {
        if (err instanceof P2payError && FINAL_FOR_TARGET.has(err.code)) done.push(m)
      }
    }))
    if (done.length === 0) return
    const cur = this.outbox.get(requestHash)
    if (cur == null) return
    const delivered = [...new Set([...cur.delivered, ...done])].sort()
    const complete = bankB.every(m => delivered.includes(m))
    await this.store.apply(() => { if (complete) this.outbox.delete(requestHash); else this.outbox.set(requestHash, { ...cur, delivered }) })
  }

  // ---- bank(B): credits ----

  async notice (notice: unknown): Promise<unknown> {
    if (this.byzantine.has('drop')) fail(ErrorCode.TIMEOUT, 'dropped')
    const { notice: n, request } = openNotice(this.ctx.verifier, notice)
    const body = request?.body ?? n.body
    checkPeerId(body.from, 'from')
    checkPeerId(body.to, 'to')
    let [bankA, bankB] = await Promise.all([this.view.bank(body.from), this.view.bank(body.to)])
    if (!bankB.includes(this.me) || !bankA.includes(n.signer)) {
      // a stale cached view would refuse or ignore an honest notice: look again before deciding
      [bankA, bankB] = await Promise.all([this.view.bank(body.from, true), this.view.bank(body.to, true)])
    }
    const out = await this.store.apply(() => {
      const out = this.member.receiveNotice(notice, bankA, bankB)
      if (out.status === 'ignored' && (out.reason === 'mismatch' || out.reason === 'forged')) {
        this.caught.set(`${n.signer}|${out.requestHash}`, { member: n.signer, reason: `${out.reason} debit notice`, account: body.from, requestHash: out.requestHash, evidence: n.b64, at: this.now() })
      }
      if (out.status === 'credited' && this.byzantine.has('double-credit')) {
        const a = this.member.t.accounts.get(body.to)!
        this.member.t.accounts.set(body.to, { ...a, balance: a.balance + body.amount })
      }
      return out
    })
    if (out.status === 'credited' || out.status === 'already-credited') this.wake(out.requestHash, out.receipt)
    if (out.status === 'ignored' && (out.reason === 'mismatch' || out.reason === 'forged')) {
      this.ctx.log.warn('bank member signed a false notice', { member: n.signer, reason: out.reason, requestHash: out.requestHash })
    }
    return out
  }

  /** A payer's long-poll: the credit receipt for a request once this member credited it, or TIMEOUT. */
  async awaitCredit (requestHash: unknown, waitMs: number): Promise<{ receipt: string }> {
    if (!isHash(requestHash)) fail(ErrorCode.BAD_REQUEST, 'requestHash must be a sha256 hex')
    if (this.byzantine.has('drop')) fail(ErrorCode.TIMEOUT, 'dropped')
    const now = this.creditReceipt(requestHash)
    if (now !== undefined) return { receipt: now }
    if (this.waiters.size >= MAX_WAITERS) fail(ErrorCode.TIMEOUT, 'too many waiting payers')
    return await new Promise((resolve, reject) => {
      const list = this.waiters.get(requestHash) ?? []
      const done = (receipt: string): void => { clearTimeout(t); resolve({ receipt }) }
      const t = setTimeout(() => {
        const l = this.waiters.get(requestHash)?.filter(f => f !== done) ?? []
        if (l.length === 0) this.waiters.delete(requestHash); else this.waiters.set(requestHash, l)
        reject(new P2payError(ErrorCode.TIMEOUT, 'not credited here yet'))
      }, Math.max(1, Math.min(waitMs, this.cfg.callTimeoutMs)))
      list.push(done)
      this.waiters.set(requestHash, list)
    })
  }

  private creditReceipt (requestHash: string): string | undefined {
    const row = this.member.t.credits.get(requestHash)
    return row?.status === 'credited' && row.receipt !== undefined ? row.receipt : undefined
  }

  private wake (requestHash: string, receipt: string): void {
    const list = this.waiters.get(requestHash)
    if (list == null) return
    this.waiters.delete(requestHash)
    for (const f of list) f(receipt)
  }

  // ---- reads ----

  async balance (accountArg: unknown, challengeArg: unknown, asker: string): Promise<{ answer: string }> {
    const account = checkPeerId(accountArg, 'account')
    const challenge = checkChallenge(challengeArg)
    await this.store.barrier() // never answer with a change that is not on disk yet
    if (this.byzantine.has('lie-balance')) {
      const row = this.member.account(account)
      if (row == null) fail(ErrorCode.NOT_FOUND, `no account ${account} in this member's books`)
      return { answer: makeBalance(this.ctx.signer, { account, balance: row.balance + LIE_OFFSET, nonce: row.nonce, epoch: this.member.epoch().epoch, asker, challenge }).b64 }
    }
    return { answer: this.member.balanceOf(account, asker, challenge) }
  }

  // ---- churn ----

  async exportState (accountArg: unknown, to: string): Promise<{ state: string }> {
    const account = checkPeerId(accountArg, 'account')
    await this.store.barrier()
    return { state: this.member.exportState(account, to) }
  }

  /** A hint that this node entered bank(account): it checks that itself, then takes the state over. */
  handoff (accountArg: unknown): { account: string, holds: boolean } {
    const account = checkPeerId(accountArg, 'account')
    const holds = this.member.account(account) !== undefined
    // hints are unauthenticated: a bounded number of hand-overs at a time, the rest are dropped (the sender hints again)
    if (!holds && this.adopting.size < MAX_ADOPTING) void this.takeOver(account).catch(err => this.ctx.log.info('hand-over not done yet', { account, err: asError(err).message }))
    return { account, holds }
  }

  /**
   * Takes over `account` as a new member of its bank: asks the peers nearest
   * the account's key for their signed state, takes the 2k nearest that hold
   * it as the old bank (padded with the nearest others: they do not vote), and
   * adopts what a strict majority of that old bank signed.
   */
  async takeOver (account: string, resync = false): Promise<{ account: string, balance: number, nonce: number, voters: string[] } | undefined> {
    if (this.adopting.has(account) || (!resync && this.member.account(account) !== undefined)) return undefined
    this.adopting.add(account)
    try {
      const bankNow = await this.view.bank(account, true)
      if (!bankNow.includes(this.me)) return undefined
      const near = (await this.view.karmaPeersNear(bankKeyBytes(account))).filter(p => p !== this.me && p !== account)
      if (near.length < this.cfg.k) fail(ErrorCode.NOT_FOUND, `only ${near.length} peers near ${account}`)
      const ranked = bankSet(account, near, Math.min(near.length, MAX_K)).slice(0, 2 * this.cfg.k)
      const answers = await Promise.all(ranked.map(async m => {
        try { return (await this.peers.call<{ state: string }>(m, 'state', { account }, KIND.churn)).state } catch { return undefined }
      }))
      const holders = ranked.filter((_, i) => answers[i] !== undefined)
      const old = [...holders, ...ranked.filter((_, i) => answers[i] === undefined)].slice(0, this.cfg.k)
      const r = await this.store.apply(() => !resync && this.member.account(account) !== undefined
        ? undefined
        : this.member.adoptState(account, answers.filter((a): a is string => a !== undefined), old, bankNow))
      if (r !== undefined) this.ctx.log.info(resync ? 'resynchronised an account' : 'took over an account', { account, balance: r.balance, nonce: r.nonce, from: r.voters })
      return r
    } finally {
      this.adopting.delete(account)
    }
  }

  // ---- housekeeping (timer) ----

  /** Resends outstanding notices, hints new bank members, forgets old records. */
  async tick (): Promise<void> {
    const now = this.now()
    // now and then every member is hinted again: a hint can be lost or dropped
    if (++this.ticks % REHINT_TICKS === 0) this.lastBank.clear()
    for (const row of [...this.outbox.values()]) {
      if (now - row.at > OUTBOX_HORIZON_MS) { await this.store.apply(() => this.outbox.delete(row.requestHash)); continue }
      try { await this.sendNotices(row.requestHash, await this.view.bank(row.to), row.notice, false) } catch {}
    }
    for (const account of [...this.member.t.accounts.map.keys()]) {
      let bank: string[]
      try { bank = await this.view.bank(account) } catch { continue }
      const before = this.lastBank.get(account) ?? []
      for (const m of bank) {
        if (m === this.me || before.includes(m)) continue
        try { await this.peers.call(m, 'handoff', { account }, KIND.churn) } catch {}
      }
      this.lastBank.set(account, bank)
    }
    await this.store.apply(() => this.member.prune(now - RECORD_HORIZON_MS))
  }

  /** Members this node caught signing something false, with the signed evidence. */
  caughtList (): CaughtRow[] { return [...this.caught.values()].sort((a, b) => a.at - b.at) }

  recordCaught (row: CaughtRow): void { this.caught.set(`${row.member}|${row.requestHash ?? row.account ?? ''}|${row.reason}`, row) }

  get needed (): number { return majority(this.cfg.k) }
}

