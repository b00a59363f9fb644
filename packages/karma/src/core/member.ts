// One bank member's books: the state machine of a peer that is in bank(X) for
// the accounts X it banks for. Pure and synchronous over in-memory tables;
// every method validates everything before it changes anything, so the service
// can run each call inside `store.apply` (one atomic batch, nothing on throw).
//
// Bank sets are always passed in as THIS member computes them (bankSet over its
// DHT query + itself); nothing a message says about who is in a bank is
// believed. A transfer A -> B:
//   1. A signs a request (nonce = its next sequence) and sends it to bank(A);
//   2. each member of bank(A) `debit`s A once and signs a notice, which it sends
//      to every member of bank(B) (k x k messages), and a receipt for A;
//   3. each member of bank(B) `receiveNotice`s them and credits B once, when a
//      strict majority of bank(A) sent valid notices for the same request.
// Debits of one account are applied strictly in nonce order, so honest members
// apply the same debits in the same order; credits commute. A refusal changes
// nothing, so the payer (or service) retries the same signed request until a
// majority of its bank has applied it.
// Rows: member-records.ts. Hand-overs: handover.ts. Balance answers, epochs and
// pruning: member-upkeep.ts. The methods here of the same names call them.
import { checkPeerId, ErrorCode, fail, isUint, type Signer, type Verifier } from '@p2pay/core'
import type { KarmaKind } from '../kinds.ts'
import { majority } from './majority.ts'
import { applyAmount, checkMessageEpoch, GENESIS, type EpochState, type Factor } from './epoch.ts'
import { adoptState, exportStates, stateValue } from './handover.ts'
import {
  EMPTY_ACCOUNT,
  type AccountRow,
  type CreditRow,
  type DebitResult,
  type IgnoreReason,
  type MemberConfig,
  type MemberTables,
  type NoticeOutcome
} from './member-records.ts'
import { balanceOf, balanceValue, epochReport, prune, rescale, takeHeartbeat } from './member-upkeep.ts'
import {
  MAX_KARMA,
  makeNotice,
  makeReceipt,
  openNoticeOnce,
  openTransferOnce,
  type OpenedNotice,
  type Signed,
  type TransferBody
} from './messages.ts'
import { checkDifficulty } from './pow.ts'
import { lateNotice } from './late-notice.ts'
import { openJoin } from './state-messages.ts'
import { addEvent, rowWithEvent } from './history.ts'

export class Member {
  readonly t: MemberTables
  readonly signer: Signer<KarmaKind>
  readonly verifier: Verifier<KarmaKind>
  readonly cfg: MemberConfig
  /** notices ignored since start, by reason: faulty or lying members seen (in memory; for metrics) */
  readonly ignored: Record<IgnoreReason, number> = { 'non-member': 0, duplicate: 0, mismatch: 0, forged: 0 }
  /**
   * Back from a time away (a start with books, a freeze, a reconnect) and not caught up with the banks yet: no row
   * here is a vote (balance answers and state exports refuse, credit receipts say unsynced). In memory: the service
   * sets it and clears it after a bank sync round (net/reconcile.ts).
   */
  reconciling = false

  constructor(t: MemberTables, signer: Signer<KarmaKind>, verifier: Verifier<KarmaKind>, cfg: MemberConfig) {
    if (!Number.isSafeInteger(cfg.k) || cfg.k < 1) throw new RangeError('k must be a positive integer')
    this.t = t
    this.signer = signer
    this.verifier = verifier
    this.cfg = cfg
  }

  get id(): string {
    return this.signer.peerId
  }
  get needed(): number {
    return majority(this.cfg.k)
  }
  epoch(): EpochState {
    return this.t.meta.get('epoch') ?? GENESIS
  }
  account(id: string): AccountRow | undefined {
    return this.t.accounts.get(id)
  }

  /** A set as the caller computed it: k distinct canonical peer ids, never the account itself. */
  checkSet(set: unknown, account: string | undefined, what: string): readonly string[] {
    if (!Array.isArray(set) || set.length !== this.cfg.k)
      fail(ErrorCode.BAD_REQUEST, `${what} must list exactly k = ${this.cfg.k} members`)
    for (const m of set) checkPeerId(m, `a member of ${what}`)
    if (new Set(set).size !== set.length) fail(ErrorCode.BAD_REQUEST, `${what} lists a member twice`)
    if (account !== undefined && set.includes(account))
      fail(ErrorCode.BAD_REQUEST, `${what} cannot contain the account itself`)
    return set as string[]
  }

  /** The set as checkSet takes it, with this member in it (WRONG_BROKER otherwise). */
  requireMember(set: unknown, account: string, what: string): readonly string[] {
    const s = this.checkSet(set, account, what)
    if (!s.includes(this.id)) fail(ErrorCode.WRONG_BROKER, `this peer is not in ${what} as it computes it`, { account })
    return s
  }

  // ---- joining ----

  /**
   * Opens the account of a new peer with `initialKarma` (minted) once it
   * solved the join puzzle with at least `difficulty` bits. Idempotent: a
   * peer that already joined keeps its balance. A peer that was paid before it
   * joined gets the initial karma on top. Without a synced row here, it mints
   * only when `unknownToOldBank` (a strict majority of the old bank answered
   * that it has no such account: the bank's first open); otherwise it refuses
   * with STALE_SEQ (details.sync), and this member adopts the old bank's state first (a join
   * replayed to a member that lacks the row would mint again).
   */
  openAccount(
    joinB64: unknown,
    initialKarma: number,
    difficulty: number,
    bankOfPeer: readonly string[],
    unknownToOldBank = false
  ): { account: string; balance: number; opened: boolean } {
    checkDifficulty(difficulty)
    if (!isUint(initialKarma) || initialKarma > MAX_KARMA)
      fail(ErrorCode.BAD_REQUEST, 'initial karma must be a karma amount')
    const join = openJoin(this.verifier, joinB64)
    const peer = join.body.peer
    if (join.body.difficulty < difficulty)
      fail(ErrorCode.BAD_REQUEST, `join proof has ${join.body.difficulty} bits of work, ${difficulty} required`)
    this.requireMember(bankOfPeer, peer, 'bank(peer)')
    const row = this.t.accounts.get(peer)
    const synced = row != null && row.synced !== false
    if (synced && row.joined) {
      // adopted just before (the old bank opened it first): the join is the account's own signature, so it is active,
      // as at the members that opened it; only a row never seen active here, so a replayed join marks nothing again
      if (row.activeEpoch === -1) this.t.accounts.set(peer, { ...row, activeEpoch: this.epoch().epoch })
      return { account: peer, balance: row.balance, opened: false }
    }
    if (!synced && !unknownToOldBank)
      fail(ErrorCode.STALE_SEQ, `${peer} is not synced in this member's books: adopt the old bank's state first`, {
        account: peer,
        sync: true
      })
    const balance = (row?.balance ?? 0) + initialKarma
    if (balance > MAX_KARMA) fail(ErrorCode.BAD_REQUEST, 'balance would exceed the karma limit')
    this.t.accounts.set(peer, {
      ...EMPTY_ACCOUNT,
      ...row,
      balance,
      joined: true,
      joinedAt: this.cfg.now(),
      activeEpoch: this.epoch().epoch,
      synced: true,
      history: rowWithEvent(row, 'join', peer, this.epoch().epoch)
    })
    return { account: peer, balance, opened: true }
  }

  // ---- bank(A): debits ----

  /**
   * Applies A's signed request once: nonce must be exactly the last applied + 1
   * (a gap means this member missed a debit; applying anyway would let its
   * balance silently diverge from its peers'). Returns the notice for bank(B)
   * and the receipt for A. A retry of the request applied last gets the same
   * objects again; two different requests with one nonce are A's fraud.
   */
  debit(requestB64: unknown, bankOfA: readonly string[], opened?: Signed<TransferBody>): DebitResult {
    const req = openTransferOnce(this.verifier, requestB64, opened)
    const r = req.body
    this.requireMember(bankOfA, r.from, 'bank(A)')
    const row = this.t.accounts.get(r.from)
    // sync: a member new in the bank has no row either, so this refusal is no vote (refusalVotes)
    if (row == null)
      fail(ErrorCode.NOT_FOUND, `no account ${r.from} in this member's books`, { account: r.from, sync: true })
    if (row.synced === false)
      fail(
        ErrorCode.STALE_SEQ,
        `${r.from} is not synced in this member's books: it adopts the old bank's state first`,
        { account: r.from, expected: row.nonce + 1, sync: true }
      )
    if (r.nonce === row.nonce && row.nonce > 0) {
      if (req.hash === row.lastRequest) return this.again(req, row)
      const first = this.t.pending.get(row.lastRequest ?? '')
      fail(ErrorCode.FRAUD, `${r.from} signed two different transfers with nonce ${r.nonce}`, {
        account: r.from,
        nonce: r.nonce,
        first: row.lastRequest,
        second: req.hash,
        evidence: first != null ? [first.request, req.b64] : [req.b64]
      })
    }
    if (r.nonce <= row.nonce)
      fail(ErrorCode.REPLAY, `nonce ${r.nonce} of ${r.from} was used already (last applied ${row.nonce})`, {
        expected: row.nonce + 1
      })
    if (r.nonce > row.nonce + 1)
      fail(ErrorCode.STALE_SEQ, `nonce ${r.nonce} skips ahead: this member applied up to ${row.nonce}`, {
        expected: row.nonce + 1
      })
    const e = this.epoch()
    const after = applyAmount(row, -r.amount, r.epoch, e)
    if (after === undefined)
      fail(ErrorCode.INSUFFICIENT_FUNDS, `balance ${row.balance} < ${r.amount}`, { balance: row.balance })
    const notice = makeNotice(this.signer, req)
    const receipt = makeReceipt(this.signer, {
      account: r.from,
      requestHash: req.hash,
      side: 'debit',
      epoch: e.epoch,
      balanceAfter: after.balance
    })
    this.t.accounts.set(r.from, {
      ...row,
      ...after,
      nonce: r.nonce,
      lastRequest: req.hash,
      activeEpoch: Math.max(row.activeEpoch, r.epoch),
      history: addEvent(row.history, 'debit', req.hash, e.epoch)
    })
    this.t.pending.set(req.hash, {
      from: r.from,
      to: r.to,
      amount: r.amount,
      nonce: r.nonce,
      epoch: r.epoch,
      request: req.b64,
      notice: notice.b64,
      receipt: receipt.b64,
      at: this.cfg.now()
    })
    return { requestHash: req.hash, notice: notice.b64, receipt: receipt.b64, balance: after.balance, duplicate: false }
  }

  /**
   * The objects for a request applied already. Without a record (pruned, or adopted in churn) they are signed afresh:
   * the notice is deterministic, the receipt then has no balanceAfter.
   */
  private again(req: Signed<TransferBody>, row: AccountRow): DebitResult {
    const done = this.t.pending.get(req.hash)
    if (done != null)
      return {
        requestHash: req.hash,
        notice: done.notice,
        receipt: done.receipt,
        balance: row.balance,
        duplicate: true
      }
    const notice = makeNotice(this.signer, req)
    const receipt = makeReceipt(this.signer, {
      account: req.body.from,
      requestHash: req.hash,
      side: 'debit',
      epoch: this.epoch().epoch
    })
    return { requestHash: req.hash, notice: notice.b64, receipt: receipt.b64, balance: row.balance, duplicate: true }
  }

  // ---- bank(B): credits ----

  /**
   * Counts a notice from a member of bank(A) and credits B once a strict
   * majority of bank(A) (as this member computes it) sent valid notices for
   * the same request. Notices from non-members, repeats from one member, and
   * members' signed lies (a request A never signed, or content that is not the
   * request's) are ignored and counted in `ignored`. A broken envelope throws.
   */
  receiveNotice(
    noticeB64: unknown,
    bankOfA: readonly string[],
    bankOfB: readonly string[],
    opened?: OpenedNotice
  ): NoticeOutcome {
    const { notice, request, defect } = openNoticeOnce(this.verifier, noticeB64, opened)
    const requestHash = notice.body.requestHash
    const setA = this.checkSet(bankOfA, undefined, 'bank(A)')
    // a member out of bank(B) says so first, whoever signed: the sender's outbox then needs to send it no more (a
    // sender that left bank(A) since the debit would otherwise be told 'non-member' by it until the outbox horizon)
    if (request !== undefined && defect === undefined) this.requireMember(bankOfB, request.body.to, 'bank(B)')
    if (!setA.includes(notice.signer)) return this.ignore(requestHash, 'non-member')
    if (defect !== undefined || request === undefined) return this.ignore(requestHash, defect ?? 'forged')
    const r = request.body
    if (setA.includes(r.from)) fail(ErrorCode.BAD_REQUEST, 'bank(A) cannot contain A itself')
    this.requireMember(bankOfB, r.to, 'bank(B)')
    const e = this.epoch()
    const row = this.t.credits.get(requestHash)
    if (row?.status === 'credited')
      return { status: 'already-credited', requestHash, receipt: this.receiptFor(requestHash)! }
    if (row?.voters.includes(notice.signer) === true) return this.ignore(requestHash, 'duplicate')
    checkMessageEpoch(r.epoch, e)
    const voters = [...(row?.voters ?? []), notice.signer].sort()
    // votes that count: from members of bank(A) as this member computes it NOW
    const votes = voters.filter(v => setA.includes(v)).length
    const base: CreditRow = {
      ...row,
      to: r.to,
      from: r.from,
      amount: r.amount,
      nonce: r.nonce,
      epoch: r.epoch,
      status: 'counting',
      voters,
      at: row?.at ?? this.cfg.now()
    }
    if (votes < this.needed) {
      this.t.credits.set(requestHash, base)
      return { status: 'counted', requestHash, votes, needed: this.needed }
    }
    // a row created by a credit is not synced: the member adopts the old bank's state, and this credit on top
    const acct = this.t.accounts.get(r.to) ?? { ...EMPTY_ACCOUNT, joinedAt: null, synced: false }
    const after = applyAmount(acct, r.amount, r.epoch, e)!
    if (after.balance > MAX_KARMA) fail(ErrorCode.BAD_REQUEST, 'balance would exceed the karma limit')
    // credited into a row that may lack what the bank did meanwhile: the receipt says so, and is no vote
    const unsynced = acct.synced === false || this.reconciling ? ({ unsynced: true } as const) : {}
    const receipt = makeReceipt(this.signer, {
      account: r.to,
      requestHash,
      side: 'credit',
      epoch: e.epoch,
      balanceAfter: after.balance,
      ...unsynced
    })
    this.t.accounts.set(r.to, {
      ...acct,
      ...after,
      history: rowWithEvent(this.t.accounts.get(r.to), 'credit', requestHash, e.epoch)
    })
    this.t.credits.set(requestHash, {
      ...base,
      status: 'credited',
      receipt: receipt.b64,
      at: this.cfg.now(),
      ...unsynced
    })
    return { status: 'credited', requestHash, votes, needed: this.needed, receipt: receipt.b64 }
  }

  /**
   * A notice after the credit that says exactly what the credit says, answered without checking its signatures, or
   * undefined: it goes through receiveNotice (late-notice.ts).
   */
  lateNotice(noticeB64: unknown): NoticeOutcome | undefined {
    return lateNotice(this, noticeB64)
  }

  /** Counts a notice ignored for `reason` (faulty or lying members seen). */
  ignore(requestHash: string, reason: IgnoreReason): NoticeOutcome {
    this.ignored[reason]++
    return { status: 'ignored', requestHash, reason }
  }

  /**
   * The credit receipt for a request credited here, or undefined. For a credit
   * known from churn, or whose record was reduced to its hash (prune), it has
   * no balanceAfter (this member did not see the moment, or forgot it); nor has
   * one made into an unsynced row, signed afresh once the row is synced (it
   * holds the credit: an adoption keeps the credits applied here on top).
   */
  receiptFor(requestHash: string): string | undefined {
    const row = this.t.credits.get(requestHash)
    if (row?.status !== 'credited') return undefined
    const serves = this.serves(row.to)
    if (row.receipt != null && (row.unsynced !== true || !serves)) return row.receipt
    const r = { account: row.to, requestHash, side: 'credit', epoch: this.epoch().epoch } as const
    return makeReceipt(this.signer, serves ? r : { ...r, unsynced: true }).b64
  }

  // ---- reads, epochs (member-upkeep.ts) ----

  /** A signed answer to one reader's question; readers take the value a majority of the bank signed (majorityValue). */
  balanceOf(account: string, asker: string, challenge: string): string {
    return balanceOf(this, account, asker, challenge)
  }

  /** Fields of a balance answer that a majority must agree on. */
  static readonly balanceValue = balanceValue

  /** Marks the account active in the current epoch (its own signature for this epoch). */
  heartbeat(b64: unknown, bankOfPeer: readonly string[]): { account: string; epoch: number } {
    return takeHeartbeat(this, b64, bankOfPeer)
  }

  /** This member's signed report for the current epoch: accounts it banks for, how many were active, their karma. */
  epochReport(): string {
    return epochReport(this)
  }

  /** Moves to epoch `toEpoch` = current + 1, scaling every balance by num/den (idempotent). */
  rescale(toEpoch: number, factor: Factor): ReturnType<typeof rescale> {
    return rescale(this, toEpoch, factor)
  }

  // ---- churn (handover.ts) ----

  /** This member's state of `account`, signed for the new member `to`: the first page of `exportStates`. */
  exportState(account: string, to: string): string {
    return exportStates(this, account, to)[0]
  }

  /** This member's state of `account`, signed for the new member `to`, as one or more pages of credited hashes. */
  exportStates(account: string, to: string): string[] {
    return exportStates(this, account, to)
  }

  /** Fields of a state export that a majority must agree on. */
  static readonly stateValue = stateValue

  /** Takes over `account` from the state a strict majority of its old bank signed, or refuses (changing nothing). */
  adoptState(
    account: string,
    answers: readonly unknown[],
    oldMembers: readonly string[],
    bankNow: readonly string[]
  ): ReturnType<typeof adoptState> {
    return adoptState(this, account, answers, oldMembers, bankNow)
  }

  /** Whether this member's row of `account` may be debited and opened as it is (see AccountRow.synced). */
  isSynced(account: string): boolean {
    const row = this.t.accounts.get(account)
    return row != null && row.synced !== false
  }

  /** Whether this member's row of `account` is a vote: synced, and this member is not reconciling. */
  serves(account: string): boolean {
    return !this.reconciling && this.isSynced(account)
  }

  /** This member left bank(account): its row goes stale, and is adopted afresh if it enters again. */
  markUnsynced(account: string): boolean {
    const row = this.t.accounts.get(account)
    if (row == null || row.synced === false) return false
    this.t.accounts.set(account, { ...row, synced: false })
    return true
  }

  // ---- housekeeping and audit ----

  /** Forgets records older than `before`, but never a credit whose notice could still be accepted. */
  prune(before: number): { pending: number; credits: number } {
    return prune(this, before)
  }

  /** Sum of balances and number of accounts in this member's books. */
  totals(): { balances: number; accounts: number } {
    let balances = 0
    for (const a of this.t.accounts.values()) balances += a.balance
    return { balances, accounts: this.t.accounts.size }
  }
}
