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
import {
  canonicalJson,
  ErrorCode,
  fail,
  fromB64,
  P2payError,
  sha256Hex,
  type Signer,
  type Table,
  type Verifier
} from '@p2pay/core'
import { checkPeerId } from './ids.ts'
import { majority, majorityValue } from './majority.ts'
import {
  applyAmount,
  checkFactor,
  checkMessageEpoch,
  GENESIS,
  rescaleBalance,
  type EpochState,
  type Factor
} from './epoch.ts'
import { checkDifficulty } from './pow.ts'
import {
  MAX_EXPORTED_CREDITS,
  MAX_KARMA,
  MAX_STATE_PAGES,
  checkChallenge,
  isUint,
  makeBalance,
  makeNotice,
  makeReceipt,
  makeReport,
  makeState,
  noticeOf,
  openHeartbeat,
  openJoin,
  openNotice,
  openState,
  openTransfer,
  peekSigned,
  TAG,
  type NoticeBody,
  type NoticeDefect,
  type Signed,
  type StateBody,
  type TransferBody
} from './messages.ts'

export interface AccountRow {
  balance: number
  /** remainder of the last rescale, in 1/den of this epoch's unit (epoch.ts) */
  rem: number
  /** nonce of the last transfer applied from this account; 0: none yet */
  nonce: number
  /** hash of that transfer request */
  lastRequest: string | null
  /** received its initial karma (a join proof was accepted) */
  joined: boolean
  /** this member's clock at the join: local, never compared between members */
  joinedAt: number | null
  /** last epoch the account signed something in (transfer, heartbeat, join); -1: never */
  activeEpoch: number
  /**
   * false: the row did not come from opening the account at its join or from
   * adopting the old bank's majority (it was created by a credit here, or this
   * member left the bank since); it must adopt before it debits or opens.
   * Absent (rows of older books): synced.
   */
  synced?: boolean
}

/** What a member of bank(A) did with a request: kept to answer retries with the same objects. */
export interface DebitRow {
  from: string
  to: string
  amount: number
  nonce: number
  epoch: number
  request: string
  notice: string
  receipt: string
  at: number
}

/** Votes of bank(A) for one request, as seen by a member of bank(B). */
export interface CreditRow {
  to: string
  status: 'counting' | 'credited'
  /** members of bank(A) whose valid notice arrived, sorted */
  voters: string[]
  at: number
  from?: string
  amount?: number
  nonce?: number
  /** epoch of the request (for credits known from churn: the epoch they were adopted in, never less) */
  epoch?: number
  receipt?: string
  /** known as credited from the old members' state (churn), not from votes seen here */
  adopted?: boolean
}

export interface MemberTables {
  accounts: Table<AccountRow>
  /** requestHash -> the request received and the notice and receipt signed for it */
  pending: Table<DebitRow>
  /** requestHash -> votes / credit */
  credits: Table<CreditRow>
  /** 'epoch' -> EpochState */
  meta: Table<EpochState>
}

export const MEMBER_TABLES: Array<keyof MemberTables> = ['accounts', 'pending', 'credits', 'meta']

export interface MemberConfig {
  /** bank-set size; every set passed in must have exactly k members */
  k: number
  now: () => number
}

export type IgnoreReason = 'non-member' | 'duplicate' | NoticeDefect

export type NoticeOutcome =
  | { status: 'counted'; requestHash: string; votes: number; needed: number }
  /** this notice completed the majority: B was credited here, now */
  | { status: 'credited'; requestHash: string; votes: number; needed: number; receipt: string }
  /** credited before: the receipt again, so the sender can stop resending */
  | { status: 'already-credited'; requestHash: string; receipt: string }
  | { status: 'ignored'; requestHash: string; reason: IgnoreReason }

export interface DebitResult {
  requestHash: string
  /** to every member of bank(B) */
  notice: string
  /** to A */
  receipt: string
  balance: number
  /** a retry of the request applied last: nothing changed, the same objects again */
  duplicate: boolean
}

const EMPTY: Omit<AccountRow, 'joinedAt'> = {
  balance: 0,
  rem: 0,
  nonce: 0,
  lastRequest: null,
  joined: false,
  activeEpoch: -1
}

export class Member {
  readonly t: MemberTables
  private readonly signer: Signer
  private readonly verifier: Verifier
  readonly cfg: MemberConfig
  /** notices ignored since start, by reason: Byzantine behaviour seen (in memory; for metrics) */
  readonly ignored: Record<IgnoreReason, number> = { 'non-member': 0, duplicate: 0, mismatch: 0, forged: 0 }

  constructor(t: MemberTables, signer: Signer, verifier: Verifier, cfg: MemberConfig) {
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
  private checkSet(set: unknown, account: string | undefined, what: string): readonly string[] {
    if (!Array.isArray(set) || set.length !== this.cfg.k)
      fail(ErrorCode.BAD_REQUEST, `${what} must list exactly k = ${this.cfg.k} members`)
    for (const m of set) checkPeerId(m, `a member of ${what}`)
    if (new Set(set).size !== set.length) fail(ErrorCode.BAD_REQUEST, `${what} lists a member twice`)
    if (account !== undefined && set.includes(account))
      fail(ErrorCode.BAD_REQUEST, `${what} cannot contain the account itself`)
    return set as string[]
  }

  private requireMember(set: unknown, account: string, what: string): readonly string[] {
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
      ...EMPTY,
      ...row,
      balance,
      joined: true,
      joinedAt: this.cfg.now(),
      activeEpoch: this.epoch().epoch,
      synced: true
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
  debit(requestB64: unknown, bankOfA: readonly string[]): DebitResult {
    const req = openTransfer(this.verifier, requestB64)
    const r = req.body
    this.requireMember(bankOfA, r.from, 'bank(A)')
    const row = this.t.accounts.get(r.from)
    if (row == null) fail(ErrorCode.NOT_FOUND, `no account ${r.from} in this member's books`)
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
      activeEpoch: Math.max(row.activeEpoch, r.epoch)
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
  receiveNotice(noticeB64: unknown, bankOfA: readonly string[], bankOfB: readonly string[]): NoticeOutcome {
    const { notice, request, defect } = openNotice(this.verifier, noticeB64)
    const requestHash = notice.body.requestHash
    const setA = this.checkSet(bankOfA, undefined, 'bank(A)')
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
    const acct = this.t.accounts.get(r.to) ?? { ...EMPTY, joinedAt: null, synced: false }
    const after = applyAmount(acct, r.amount, r.epoch, e)!
    if (after.balance > MAX_KARMA) fail(ErrorCode.BAD_REQUEST, 'balance would exceed the karma limit')
    const receipt = makeReceipt(this.signer, {
      account: r.to,
      requestHash,
      side: 'credit',
      epoch: e.epoch,
      balanceAfter: after.balance
    })
    this.t.accounts.set(r.to, { ...acct, ...after })
    this.t.credits.set(requestHash, { ...base, status: 'credited', receipt: receipt.b64, at: this.cfg.now() })
    return { status: 'credited', requestHash, votes, needed: this.needed, receipt: receipt.b64 }
  }

  /**
   * A notice for a request credited here on votes seen here, that says
   * exactly what that credit says (the k - majority notices arriving after a
   * credit): it can change nothing, so it is answered without checking its
   * signatures, which were most of a bank(B) member's verifications. Anything
   * else, a notice that differs (evidence of a lie) included, is undefined and
   * goes through receiveNotice.
   */
  lateNotice(noticeB64: unknown): NoticeOutcome | undefined {
    const n = peekSigned<NoticeBody>(noticeB64, TAG.notice)
    if (n === undefined) return undefined
    const b = n.body
    const row = typeof b.requestHash === 'string' ? this.t.credits.get(b.requestHash) : undefined
    if (row?.status !== 'credited' || row.adopted === true) return undefined
    try {
      // exactly what its signer's notice for the credited request says (a credit seen here holds the request's fields)
      if (canonicalJson(b) !== canonicalJson(noticeOf(n.signer, row as Required<CreditRow>, b.requestHash, b.request)))
        return undefined
      // last, being the dearest: the request it carries is the one credited (other bytes would make it a lie)
      if (sha256Hex(fromB64(b.request)) !== b.requestHash) return undefined
    } catch {
      return undefined
    }
    return { status: 'already-credited', requestHash: b.requestHash, receipt: this.receiptFor(b.requestHash)! }
  }

  private ignore(requestHash: string, reason: IgnoreReason): NoticeOutcome {
    this.ignored[reason]++
    return { status: 'ignored', requestHash, reason }
  }

  /**
   * The credit receipt for a request credited here, or undefined. For a credit
   * known from churn, or whose record was reduced to its hash (prune), it has
   * no balanceAfter (this member did not see the moment, or forgot it).
   */
  receiptFor(requestHash: string): string | undefined {
    const row = this.t.credits.get(requestHash)
    if (row?.status !== 'credited') return undefined
    return (
      row.receipt ??
      makeReceipt(this.signer, { account: row.to, requestHash, side: 'credit', epoch: this.epoch().epoch }).b64
    )
  }

  // ---- reads ----

  /** A signed answer to one reader's question; readers take the value a majority of the bank signed (majorityValue). */
  balanceOf(account: string, asker: string, challenge: string): string {
    checkPeerId(account, 'account')
    checkPeerId(asker, 'asker')
    checkChallenge(challenge)
    const row = this.t.accounts.get(account)
    if (row == null) fail(ErrorCode.NOT_FOUND, `no account ${account} in this member's books`)
    return makeBalance(this.signer, {
      account,
      balance: row.balance,
      nonce: row.nonce,
      epoch: this.epoch().epoch,
      asker,
      challenge
    }).b64
  }

  /** Fields of a balance answer that a majority must agree on. */
  static balanceValue(b: { balance: number; nonce: number; epoch: number }): {
    balance: number
    nonce: number
    epoch: number
  } {
    return { balance: b.balance, nonce: b.nonce, epoch: b.epoch }
  }

  // ---- epochs ----

  /** Marks the account active in the current epoch (its own signature for this epoch). */
  heartbeat(b64: unknown, bankOfPeer: readonly string[]): { account: string; epoch: number } {
    const hb = openHeartbeat(this.verifier, b64)
    const peer = hb.body.peer
    this.requireMember(bankOfPeer, peer, 'bank(peer)')
    const e = this.epoch().epoch
    if (hb.body.epoch !== e)
      fail(ErrorCode.STALE_SEQ, `heartbeat is for epoch ${hb.body.epoch}, this member is in epoch ${e}`, { epoch: e })
    const row = this.t.accounts.get(peer)
    if (row == null) fail(ErrorCode.NOT_FOUND, `no account ${peer} in this member's books`)
    if (row.activeEpoch !== e) this.t.accounts.set(peer, { ...row, activeEpoch: e })
    return { account: peer, epoch: e }
  }

  /** This member's signed report for the current epoch: accounts it banks for, how many were active, their karma. */
  epochReport(): string {
    const e = this.epoch().epoch
    let accounts = 0
    let active = 0
    let total = 0
    for (const a of this.t.accounts.values()) {
      accounts++
      if (a.activeEpoch === e) active++
      total += a.balance
    }
    return makeReport(this.signer, { epoch: e, accounts, active, total }).b64
  }

  /**
   * Moves to epoch `toEpoch` = current + 1, scaling every balance by num/den
   * (floor, remainder kept: see epoch.ts). Idempotent: asking again for the
   * epoch already reached with the same factor changes nothing.
   */
  rescale(
    toEpoch: number,
    factor: Factor
  ): { epoch: number; accounts: number; before: number; after: number; changed: boolean } {
    checkFactor(factor)
    const e = this.epoch()
    if (toEpoch === e.epoch && toEpoch > 0 && e.num === factor.num && e.den === factor.den) {
      const { balances, accounts } = this.totals()
      return { epoch: e.epoch, accounts, before: balances, after: balances, changed: false }
    }
    if (!Number.isSafeInteger(toEpoch) || toEpoch !== e.epoch + 1)
      fail(ErrorCode.STALE_SEQ, `cannot rescale to epoch ${toEpoch} from epoch ${e.epoch}`, { epoch: e.epoch })
    const next: Array<[string, AccountRow]> = []
    let before = 0
    let after = 0
    for (const [id, a] of this.t.accounts.entries()) {
      const s = rescaleBalance(a.balance, factor)
      if (s.balance > MAX_KARMA) fail(ErrorCode.BAD_REQUEST, `rescaling ${id} would exceed the karma limit`)
      before += a.balance
      after += s.balance
      next.push([id, { ...a, ...s }])
    }
    for (const [id, a] of next) this.t.accounts.set(id, a)
    this.t.meta.set('epoch', { epoch: toEpoch, num: factor.num, den: factor.den })
    return { epoch: toEpoch, accounts: next.length, before, after, changed: true }
  }

  // ---- churn ----

  /** This member's state of `account`, signed for the new member `to`: the first page of `exportStates`. */
  exportState(account: string, to: string): string {
    return this.exportStates(account, to)[0]
  }

  /**
   * This member's state of `account`, signed for the new member `to`, as one
   * or more signed pages that differ only in their slice of the credited
   * request hashes (every hash this member still keeps for the account: all
   * whose notice could still be accepted; see prune). At most
   * MAX_STATE_PAGES x MAX_EXPORTED_CREDITS hashes, the most recent first.
   */
  exportStates(account: string, to: string): string[] {
    checkPeerId(account, 'account')
    checkPeerId(to, 'to')
    const row = this.t.accounts.get(account)
    if (row == null) fail(ErrorCode.NOT_FOUND, `no account ${account} in this member's books`)
    const all = [...this.t.credits.entries()]
      .filter(([, c]) => c.to === account && c.status === 'credited')
      .sort((a, b) => b[1].at - a[1].at)
      .slice(0, MAX_STATE_PAGES * MAX_EXPORTED_CREDITS)
      .map(([h]) => h)
      .sort()
    const pages: string[] = []
    for (let i = 0; i === 0 || i < all.length; i += MAX_EXPORTED_CREDITS) {
      const credited = all.slice(i, i + MAX_EXPORTED_CREDITS)
      pages.push(
        makeState(this.signer, {
          account,
          to,
          epoch: this.epoch().epoch,
          balance: row.balance,
          rem: row.rem,
          nonce: row.nonce,
          lastRequest: row.lastRequest,
          joined: row.joined,
          credited,
          activeEpoch: row.activeEpoch
        }).b64
      )
    }
    return pages
  }

  /** Fields of a state export that a majority must agree on. */
  static stateValue(s: StateBody): Pick<StateBody, 'epoch' | 'balance' | 'rem' | 'nonce' | 'lastRequest' | 'joined'> {
    return {
      epoch: s.epoch,
      balance: s.balance,
      rem: s.rem,
      nonce: s.nonce,
      lastRequest: s.lastRequest,
      joined: s.joined
    }
  }

  /**
   * Takes over `account` from the members of its old bank (as this member
   * computes it): the state a strict majority of them signed, or a refusal.
   * A request hash counts as credited when a majority of the old members list
   * it, so a late notice for it is not credited again here. Answers that do not
   * verify, or are for another account or member, are skipped (an old member
   * may be the liar). Also serves a member that fell behind to resynchronise.
   */
  adoptState(
    account: string,
    answers: readonly unknown[],
    oldMembers: readonly string[],
    bankNow: readonly string[]
  ): { account: string; balance: number; nonce: number; voters: string[]; credited: number } {
    checkPeerId(account, 'account')
    const old = this.checkSet(oldMembers, account, 'the old bank')
    this.requireMember(bankNow, account, 'bank(account)')
    const maxAnswers = 4 * this.cfg.k * MAX_STATE_PAGES
    if (!Array.isArray(answers) || answers.length > maxAnswers)
      fail(ErrorCode.BAD_REQUEST, `answers must be a list of at most ${maxAnswers}`)
    const opened: Array<Signed<StateBody>> = []
    for (const a of answers) {
      try {
        opened.push(openState(this.verifier, a, { account, to: this.id }))
      } catch (err) {
        if (!(err instanceof P2payError)) throw err
      }
    }
    const verdict = majorityValue(opened, old, Member.stateValue, this.cfg.k)
    if (verdict === undefined)
      fail(
        ErrorCode.NOT_FOUND,
        `no strict majority (${this.needed} of ${this.cfg.k}) of the old bank agrees on the state of ${account}`,
        { reason: 'no-majority', answers: opened.length, needed: this.needed }
      )
    const s = verdict.value
    const e = this.epoch()
    if (s.epoch !== e.epoch)
      fail(ErrorCode.STALE_SEQ, `the old bank reports epoch ${s.epoch}, this member is in epoch ${e.epoch}`, {
        epoch: e.epoch
      })
    // a hash is credited if a majority of old members list it (in any of their answers)
    const listedBy = new Map<string, Set<string>>()
    for (const o of opened) {
      if (!old.includes(o.signer)) continue
      for (const h of o.body.credited) {
        const by = listedBy.get(h) ?? new Set<string>()
        by.add(o.signer)
        listedBy.set(h, by)
      }
    }
    const credited = [...listedBy].filter(([, by]) => by.size >= this.needed).map(([h]) => h)
    const listed = new Set(credited)
    // activity: the highest epoch at least a majority of the old bank vouch for (a minority cannot raise it)
    const byVoter = new Map<string, number>()
    for (const o of opened)
      if (verdict.voters.includes(o.signer))
        byVoter.set(o.signer, Math.min(byVoter.get(o.signer) ?? Infinity, o.body.activeEpoch))
    const vouched = [...byVoter.values()].sort((a, b) => b - a)[this.needed - 1] ?? -1
    const prev = this.t.accounts.get(account)
    // a synced row never goes back to fewer debits: the old bank's answers may predate a debit applied here since
    // (a debit the majority refused stays until the payer's retries settle it or another request with its nonce
    // arrives)
    if (prev != null && prev.synced !== false && s.nonce < prev.nonce)
      fail(
        ErrorCode.STALE_SEQ,
        `the old bank reports nonce ${s.nonce} of ${account}, this member applied ${prev.nonce}`,
        { nonce: prev.nonce }
      )
    const now = this.cfg.now()
    let next: AccountRow = {
      balance: s.balance,
      rem: s.rem,
      nonce: s.nonce,
      lastRequest: s.lastRequest,
      joined: s.joined,
      joinedAt: prev?.joinedAt ?? (s.joined ? now : null),
      activeEpoch: Math.max(prev?.activeEpoch ?? -1, Math.min(vouched, e.epoch)),
      synced: true
    }
    // credits this member applied on a majority of bank(A) that the old bank's state does not hold yet
    // (their notices are still on the way there): applied again on top, so they are not lost here
    // (only while their notices are still accepted: older ones the old bank may have forgotten). A
    // credit reduced to its hash stays credited as it is: counting it again could credit it twice.
    for (const [h, c] of this.t.credits.entries()) {
      if (c.to !== account || c.status !== 'credited' || listed.has(h)) continue
      if (c.amount === undefined || c.epoch === undefined || c.epoch < e.epoch - 1 || c.voters.length < this.needed)
        continue
      const after = applyAmount(next, c.amount, c.epoch, e)
      if (after !== undefined && after.balance <= MAX_KARMA) next = { ...next, ...after }
    }
    this.t.accounts.set(account, next)
    for (const h of credited) {
      const c = this.t.credits.get(h)
      if (c?.status !== 'credited')
        this.t.credits.set(h, {
          ...c,
          to: account,
          status: 'credited',
          voters: c?.voters ?? [],
          at: now,
          epoch: Math.max(c?.epoch ?? 0, e.epoch),
          adopted: true
        })
    }
    return { account, balance: next.balance, nonce: s.nonce, voters: verdict.voters, credited: credited.length }
  }

  /** Whether this member's row of `account` may be debited and opened as it is (see AccountRow.synced). */
  isSynced(account: string): boolean {
    const row = this.t.accounts.get(account)
    return row != null && row.synced !== false
  }

  /** This member left bank(account): its row goes stale, and is adopted afresh if it enters again. */
  markUnsynced(account: string): boolean {
    const row = this.t.accounts.get(account)
    if (row == null || row.synced === false) return false
    this.t.accounts.set(account, { ...row, synced: false })
    return true
  }

  // ---- housekeeping and audit ----

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
  prune(before: number): { pending: number; credits: number } {
    const e = this.epoch().epoch
    let pending = 0
    let credits = 0
    for (const [h, d] of [...this.t.pending.entries()])
      if (d.at < before) {
        this.t.pending.delete(h)
        pending++
      }
    for (const [h, c] of [...this.t.credits.entries()]) {
      if (c.status !== 'credited') {
        if (c.at < before) {
          this.t.credits.delete(h)
          credits++
        }
        continue
      }
      // no epoch (an older record known from churn): the current one is an upper bound for the request's
      const epoch = c.epoch ?? e
      if (epoch < e - 1) {
        this.t.credits.delete(h)
        credits++
        continue
      }
      if (
        c.at < before &&
        (c.voters.length > 0 || c.receipt !== undefined || c.from !== undefined || c.epoch === undefined)
      ) {
        this.t.credits.set(h, {
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

  /** Sum of balances and number of accounts in this member's books. */
  totals(): { balances: number; accounts: number } {
    let balances = 0
    for (const a of this.t.accounts.values()) balances += a.balance
    return { balances, accounts: this.t.accounts.size }
  }
}
