// The account holder's side: join with a proof of work, pay, read balances by
// majority, keep the receipts of what it paid and was paid.
//
// A transfer A -> B: A signs the request (its next nonce), records it, sends it
// to every member of bank(A) and, at the same time, asks every member of
// bank(B) for the credit receipt (a long-poll answered once that member
// credited B). It is done once a strict majority of bank(A) signed debit
// receipts and a strict majority of bank(B) signed credit receipts, both sets
// as A computes them; then B gets the bundle. A request that neither
// completes nor is refused by a majority stays pending and is retried (same
// bytes, so members apply it once) before A signs anything else.
import { ErrorCode, P2payError, asError, fail, randomId, type DaemonContext, type Table } from '@p2pay/core'
import type { BankDuties } from './bank-duties.ts'
import type { DhtView } from './dht-view.ts'
import { checkPeerId } from './ids.ts'
import { majority, majorityValue } from './majority.ts'
import { Member } from './member.ts'
import {
  KIND,
  MAX_KARMA,
  TAG,
  makeJoin,
  makeTransfer,
  openBalance,
  openReceipt,
  openTransfer,
  peekSigned,
  type BalanceBody,
  type ReceiptBody,
  type Signed
} from './messages.ts'
import type { Peers } from './peers.ts'
import { solvePow } from './pow.ts'
import type { KarmaConfig } from './protocols.ts'

export interface SentRow {
  request: string
  requestHash: string
  to: string
  amount: number
  nonce: number
  status: 'pending' | 'done'
  at: number
  debitedBy?: string[]
  creditedBy?: string[]
}
export interface ReceivedRow {
  requestHash: string
  from: string
  amount: number
  nonce: number
  request: string
  debits: string[]
  credits: string[]
  at: number
}
export interface WalletRow {
  nonce: number
  joined: boolean
}

export interface TransferResult {
  requestHash: string
  from: string
  to: string
  amount: number
  nonce: number
  /** members of bank(A) whose signed debit receipt A holds */
  debitedBy: string[]
  /** members of bank(B) whose signed credit receipt A holds */
  creditedBy: string[]
  /** the payer's balance after the debit, as a majority of bank(A) signed it */
  balance?: number
  /** from the request reaching bank(A) to both majorities */
  ms: number
}

export interface AccountRead {
  account: string
  balance: number
  nonce: number
  epoch: number
  bank: string[]
  agreed: string[]
  /** members whose signed answer differs from the majority's */
  disagreed: string[]
  /** members that did not answer */
  silent: string[]
}

/** Refusals by a majority of bank(A) that end a request for good (the nonce is not used). */
const FINAL = new Set<string>([
  ErrorCode.INSUFFICIENT_FUNDS,
  ErrorCode.NOT_FOUND,
  ErrorCode.BAD_REQUEST,
  ErrorCode.REPLAY,
  ErrorCode.FRAUD,
  ErrorCode.BAD_SIGNATURE,
  ErrorCode.WRONG_SIGNER,
  ErrorCode.WRONG_TAG,
  ErrorCode.BAD_FRAME,
  ErrorCode.UNKNOWN_VERSION
])
const READ_ATTEMPTS = 5
/** how long a payer waits for bank(B) to push credit receipts before it long-polls the members it did not hear from */
const PUSH_WAIT_MS = 2000
/** requests with pushed receipts kept before relay takes them */
const MAX_PUSHED = 1024
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

export class KarmaAccount {
  private readonly ctx: DaemonContext
  private readonly cfg: KarmaConfig
  private readonly view: DhtView
  private readonly peers: Peers
  private readonly duties: BankDuties
  readonly sent: Table<SentRow>
  readonly received: Table<ReceivedRow>
  readonly wallet: Table<WalletRow>
  private queue: Promise<unknown> = Promise.resolve()
  /** payees whose account a majority of their bank confirmed */
  private readonly known = new Set<string>()
  /** credit receipts members of bank(B) pushed for this account's pending requests, until relay takes them */
  private readonly pushed = new Map<string, Array<Signed<ReceiptBody>>>()
  /** relays waiting on pushed credit receipts, by request hash */
  private readonly pushWaiters = new Map<string, (s: Signed<ReceiptBody>) => void>()

  constructor(
    ctx: DaemonContext,
    cfg: KarmaConfig,
    view: DhtView,
    peers: Peers,
    duties: BankDuties,
    t: { sent: Table<SentRow>; received: Table<ReceivedRow>; wallet: Table<WalletRow> }
  ) {
    this.ctx = ctx
    this.cfg = cfg
    this.view = view
    this.peers = peers
    this.duties = duties
    this.sent = t.sent
    this.received = t.received
    this.wallet = t.wallet
  }

  get me(): string {
    return this.ctx.signer.peerId
  }
  private get store() {
    return this.ctx.store
  }
  private get member(): Member {
    return this.duties.member
  }
  private get needed(): number {
    return majority(this.cfg.k)
  }

  /** One of this account's own operations at a time: its debits must reach its bank in nonce order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return run
  }

  // ---- join ----

  async join(): Promise<{ account: string; balance: number; bank: string[]; opened: number }> {
    return await this.serial(async () => {
      const difficulty = this.cfg.powBits
      const proof = makeJoin(this.ctx.signer, solvePow(this.me, difficulty), difficulty)
      const bank = await this.view.bank(this.me, true)
      const results = await Promise.allSettled(
        bank.map(async m => await this.peers.call<{ opened: boolean }>(m, 'join', { proof: proof.b64 }, KIND.join))
      )
      const ok = results.filter(r => r.status === 'fulfilled')
      if (ok.length < this.needed) throw majorityError(results, this.needed, 'join')
      const read = await this.read(this.me)
      await this.store.apply(() => this.wallet.set('self', { nonce: read.nonce, joined: true }))
      return {
        account: this.me,
        balance: read.balance,
        bank,
        opened: ok.filter(r => (r as PromiseFulfilledResult<{ opened: boolean }>).value.opened).length
      }
    })
  }

  // ---- reads ----

  /** The balance a strict majority of bank(account) signed for this reader's fresh challenge. */
  async read(account: string, fresh = false): Promise<AccountRead> {
    checkPeerId(account, 'account')
    let last: unknown
    let freshAbsent = false
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(50 * attempt)
      const freshNow = fresh || attempt > 1 || freshAbsent
      try {
        return await this.readOnce(account, freshNow)
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

  private async readOnce(account: string, fresh: boolean): Promise<AccountRead> {
    const bank = await this.view.bank(account, fresh)
    const challenge = randomId(12)
    const results = await Promise.allSettled(
      bank.map(async m => {
        const { answer } = await this.peers.call<{ answer: string }>(m, 'balance', { account, challenge }, KIND.read)
        const s = openBalance(this.ctx.verifier, answer, { account, asker: this.me, challenge })
        if (s.signer !== m) fail(ErrorCode.WRONG_SIGNER, 'balance answer signed by another member')
        return s
      })
    )
    const answers = results.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []))
    const verdict = majorityValue<BalanceBody, ReturnType<typeof Member.balanceValue>>(
      answers,
      bank,
      Member.balanceValue,
      this.cfg.k
    )
    if (verdict === undefined) {
      const e = majorityError(results, this.needed, 'read')
      if (e.code === ErrorCode.NOT_FOUND)
        throw new P2payError(ErrorCode.NOT_FOUND, `${account} has no karma account (a majority of its bank says so)`, {
          account
        })
      throw new P2payError(ErrorCode.NO_MAJORITY, `no strict majority of bank(${account}) agrees on its balance`, {
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
    // a member half-way through a transfer answers another nonce: only another balance for the same nonce and epoch is
    // a lie
    const lied = disagreed.filter(a => isLie(a.body, verdict.value))
    if (lied.length > 0) {
      await this.store.apply(() => {
        for (const d of lied)
          this.duties.recordCaught({
            member: d.signer,
            reason: 'balance answer differs from the majority',
            account,
            evidence: d.b64,
            at: Date.now()
          })
      })
    }
    this.known.add(account)
    return {
      account,
      ...verdict.value,
      bank,
      agreed: verdict.voters,
      disagreed: disagreed.map(d => d.signer).sort(),
      silent: bank.filter(m => !answers.some(a => a.signer === m)).sort()
    }
  }

  // ---- transfers ----

  async transfer(to: string, amount: number): Promise<TransferResult> {
    checkPeerId(to, 'to')
    if (to === this.me) fail(ErrorCode.BAD_REQUEST, 'a transfer to oneself moves nothing')
    if (!Number.isSafeInteger(amount) || amount < 1 || amount > MAX_KARMA)
      fail(ErrorCode.BAD_REQUEST, `amount must be an integer 1..${MAX_KARMA}`)
    return await this.serial(async () => {
      await this.finishPending()
      if (!this.known.has(to)) {
        try {
          await this.read(to)
        } catch (err) {
          if (err instanceof P2payError && err.code === ErrorCode.NOT_FOUND)
            fail(ErrorCode.NOT_FOUND, `unknown peer ${to}: no karma account`, { to })
          throw err
        }
      }
      const nonce = await this.nextNonce()
      const req = makeTransfer(this.ctx.signer, { to, amount, nonce, epoch: this.member.epoch().epoch, ts: Date.now() })
      await this.store.apply(() =>
        this.sent.set(req.hash, {
          request: req.b64,
          requestHash: req.hash,
          to,
          amount,
          nonce,
          status: 'pending',
          at: Date.now()
        })
      )
      return await this.complete(req.b64)
    })
  }

  private async nextNonce(): Promise<number> {
    let w = this.wallet.get('self')
    if (w == null) {
      const r = await this.read(this.me, true)
      w = { nonce: r.nonce, joined: true }
      await this.store.apply(() => this.wallet.set('self', w!))
    }
    return w.nonce + 1
  }

  /** Retries this account's own pending request, if any; throws if it still cannot complete. */
  private async finishPending(): Promise<void> {
    for (const row of [...this.sent.values()]) if (row.status === 'pending') await this.complete(row.request)
  }

  /** Relays the payer's own request and records the outcome. */
  private async complete(request: string): Promise<TransferResult> {
    const req = openTransfer(this.ctx.verifier, request)
    try {
      const r = await this.relay(request)
      // not awaited: until this is on disk the request merely looks pending, and a retry of it changes nothing
      void this.store
        .apply(() => {
          this.sent.set(req.hash, {
            ...this.sent.get(req.hash)!,
            status: 'done',
            debitedBy: r.debitedBy,
            creditedBy: r.creditedBy
          })
          this.wallet.set('self', {
            nonce: Math.max(req.body.nonce, this.wallet.get('self')?.nonce ?? 0),
            joined: true
          })
        })
        .catch(() => {})
      return r
    } catch (err) {
      if (err instanceof P2payError && FINAL.has(err.code)) {
        await this.store.apply(() => {
          this.sent.delete(req.hash)
          // our idea of the nonce was wrong (e.g. a lost data dir): ask the bank next time
          if (err.code === ErrorCode.REPLAY || err.code === ErrorCode.FRAUD) this.wallet.delete('self')
        })
      }
      throw err
    }
  }

  /**
   * Takes any signed request to bank(A) and waits for majorities on both
   * sides. Used for this node's own payments and to relay requests signed
   * elsewhere. Refusal by a majority throws the refusal's code; anything
   * short of both majorities throws NO_MAJORITY or TIMEOUT.
   */
  async relay(request: string): Promise<TransferResult> {
    const t0 = performance.now()
    const req = openTransfer(this.ctx.verifier, request)
    const { from, to, amount, nonce } = req.body
    const [bankA, bankB] = await Promise.all([this.view.bank(from), this.view.bank(to)])
    const need = this.needed
    const debits = new Map<string, Signed<any>>()
    const credits = new Map<string, Signed<any>>()
    const refusals: Array<PromiseSettledResult<unknown>> = []
    let settledDebits = 0
    let settledCredits = 0
    /** long-polls started (-1: none yet) */
    let polls = -1
    let poll: NodeJS.Timeout | undefined
    let allDebitsSettled = (): void => {}
    const debitsSettled = new Promise<void>(resolve => {
      allDebitsSettled = resolve
    })
    const outcome = await new Promise<'done' | 'refused' | 'short'>(resolve => {
      const check = (): void => {
        if (debits.size >= need && credits.size >= need) return resolve('done')
        if (refusals.length >= need && majorityError(refusals, need, 'transfer').code !== ErrorCode.NO_MAJORITY)
          return resolve('refused')
        if (settledDebits === bankA.length && debits.size < need)
          return resolve(refusals.length > 0 ? 'refused' : 'short')
        if (settledDebits === bankA.length && settledCredits === polls) resolve('short')
      }
      for (const m of bankA) {
        this.peers
          .call<{ receipt: string }>(m, 'debit', { request }, KIND.transfer)
          .then(r => {
            const s = openReceipt(this.ctx.verifier, r.receipt)
            if (s.signer === m && s.body.side === 'debit' && s.body.account === from && s.body.requestHash === req.hash)
              debits.set(m, s)
          })
          .catch(err => {
            refusals.push({ status: 'rejected', reason: err })
          })
          .finally(() => {
            settledDebits++
            if (settledDebits === bankA.length) allDebitsSettled()
            check()
          })
      }
      // credit receipts for this node's own requests are pushed by bank(B) as it credits; the members not heard from
      // within PUSH_WAIT_MS (and every member, for a request relayed for another payer) are long-polled
      const take = (s: Signed<ReceiptBody>): void => {
        if (bankB.includes(s.signer) && s.body.account === to && s.body.requestHash === req.hash) {
          credits.set(s.signer, s)
          check()
        }
      }
      for (const s of this.pushed.get(req.hash) ?? []) take(s)
      this.pushed.delete(req.hash)
      this.pushWaiters.set(req.hash, take)
      poll = setTimeout(
        () => {
          polls = bankB.filter(m => !credits.has(m)).length
          for (const m of bankB) {
            if (credits.has(m)) continue
            this.awaitCredit(m, req.hash, to)
              .then(s => {
                if (s !== undefined) credits.set(m, s)
              })
              .catch(() => {})
              .finally(() => {
                settledCredits++
                check()
              })
          }
          check()
        },
        from === this.me ? PUSH_WAIT_MS : 0
      )
    })
    clearTimeout(poll)
    this.pushWaiters.delete(req.hash)
    if (outcome === 'refused' && debits.size < need) throw refusalError(refusals, need, debits.size)
    if (debits.size < need)
      fail(ErrorCode.NO_MAJORITY, `only ${debits.size} of bank(${from}) debited (need ${need})`, {
        debitedBy: [...debits.keys()]
      })
    if (credits.size < need) {
      // bank(B) as cached may be stale, or notices are still on their way: one more wait, on fresh sets
      const fresh = await this.view.bank(to, true)
      await new Promise<void>(resolve => {
        const ask = fresh.filter(m => !credits.has(m))
        let settled = 0
        if (ask.length === 0) resolve()
        for (const m of ask) {
          this.awaitCredit(m, req.hash, to)
            .then(s => {
              if (s !== undefined) credits.set(m, s)
            })
            .catch(() => {})
            .finally(() => {
              settled++
              if (credits.size >= need || settled === ask.length) resolve()
            })
        }
      })
      for (const m of [...credits.keys()]) if (!fresh.includes(m) && !bankB.includes(m)) credits.delete(m)
    }
    if (credits.size < need)
      fail(
        ErrorCode.TIMEOUT,
        `debited by a majority, but only ${credits.size} of bank(${to}) confirmed the credit so far (need ${need}); it stays pending`,
        { debitedBy: [...debits.keys()], creditedBy: [...credits.keys()] }
      )
    const balanceAfter = (): number | undefined =>
      majorityValue([...debits.values()], bankA, (b: { balanceAfter?: number }) => b.balanceAfter ?? -1, this.cfg.k)
        ?.value
    // a member that has not applied a recent credit to A yet signs another balanceAfter: the rest of the answers decide
    if (balanceAfter() === undefined) await debitsSettled
    const after = balanceAfter()
    const result: TransferResult = {
      requestHash: req.hash,
      from,
      to,
      amount,
      nonce,
      debitedBy: [...debits.keys()].sort(),
      creditedBy: [...credits.keys()].sort(),
      ...(after !== undefined && after >= 0 ? { balance: after } : {}),
      ms: Math.round((performance.now() - t0) * 10) / 10
    }
    // B's copy of the receipts goes out after A has its answer: the transfer is complete either way
    void this.peers
      .send(
        to,
        'receipt',
        { request, debits: [...debits.values()].map(s => s.b64), credits: [...credits.values()].map(s => s.b64) },
        KIND.transfer
      )
      .catch(err => {
        this.ctx.log.info('payee not told of its receipt (it can read its balance)', { to, err: asError(err).message })
      })
    return result
  }

  /**
   * A credit receipt a member of bank(B) pushed (openReceipt checks it is the member's own): kept only for this
   * account's own pending requests; relay checks the rest.
   */
  takeCreditReceipt(receipt: unknown): void {
    // the members heard after the majority (the request is done here): dropped before their signature is checked
    const peek = peekSigned<ReceiptBody>(receipt, TAG.receipt)
    if (peek !== undefined && this.sent.get(peek.body.requestHash)?.status !== 'pending') return
    // one the peek could not read fails here; one it read is this account's pending request (the same bytes)
    const s = openReceipt(this.ctx.verifier, receipt)
    if (s.body.side !== 'credit') return
    const waiter = this.pushWaiters.get(s.body.requestHash)
    if (waiter !== undefined) {
      waiter(s)
      return
    }
    const list = this.pushed.get(s.body.requestHash) ?? []
    if (list.length >= 2 * this.cfg.k) return
    if (this.pushed.size >= MAX_PUSHED) this.pushed.delete(this.pushed.keys().next().value as string)
    this.pushed.set(s.body.requestHash, [...list, s])
  }

  /** Member m's signed credit receipt for the request, once it credited `to` (a long-poll). */
  private async awaitCredit(m: string, requestHash: string, to: string): Promise<Signed<any> | undefined> {
    const r = await this.peers.call<{ receipt: string }>(
      m,
      'awaitCredit',
      { requestHash, waitMs: this.cfg.callTimeoutMs - 500 },
      KIND.transfer
    )
    const s = openReceipt(this.ctx.verifier, r.receipt)
    return s.signer === m && s.body.side === 'credit' && s.body.account === to && s.body.requestHash === requestHash
      ? s
      : undefined
  }

  /** B's side: a bundle of majorities that its account was credited, checked against the sets B computes. */
  async acceptReceipt(args: {
    request?: unknown
    debits?: unknown
    credits?: unknown
  }): Promise<{ requestHash: string; stored: boolean }> {
    const req = openTransfer(this.ctx.verifier, args.request)
    if (req.body.to !== this.me) fail(ErrorCode.BAD_REQUEST, 'this receipt is for another payee')
    if (
      !Array.isArray(args.debits) ||
      !Array.isArray(args.credits) ||
      args.debits.length > 64 ||
      args.credits.length > 64
    )
      fail(ErrorCode.BAD_REQUEST, 'debits and credits must be lists of signed receipts')
    const [bankA, bankB] = await Promise.all([this.view.bank(req.body.from), this.view.bank(this.me)])
    const count = (list: unknown[], side: string, account: string, bank: string[]): string[] => {
      const by = new Map<string, string>()
      for (const b64 of list) {
        try {
          const s = openReceipt(this.ctx.verifier, b64)
          if (
            bank.includes(s.signer) &&
            s.body.side === side &&
            s.body.account === account &&
            s.body.requestHash === req.hash
          )
            by.set(s.signer, s.b64)
        } catch {}
      }
      return [...by.values()]
    }
    const debits = count(args.debits, 'debit', req.body.from, bankA)
    const credits = count(args.credits, 'credit', this.me, bankB)
    if (debits.length < this.needed || credits.length < this.needed)
      fail(ErrorCode.NO_MAJORITY, 'the receipt lacks a majority of bank(A) debits or bank(B) credits')
    if (this.received.has(req.hash)) return { requestHash: req.hash, stored: false }
    await this.store.apply(() =>
      this.received.set(req.hash, {
        requestHash: req.hash,
        from: req.body.from,
        amount: req.body.amount,
        nonce: req.body.nonce,
        request: req.b64,
        debits,
        credits,
        at: Date.now()
      })
    )
    return { requestHash: req.hash, stored: true }
  }
}

/**
 * What a payer makes of a request a majority of bank(A) refused while
 * `debited` members applied it: with none, the majority's refusal (final for
 * INSUFFICIENT_FUNDS and the like: the nonce is free again). With some, the
 * bank is split over the request; freeing the nonce would make them answer the
 * next request with it as fraud, so it is NO_MAJORITY: the same bytes are
 * retried until the bank agrees.
 */
export function refusalError(
  refusals: Array<PromiseSettledResult<unknown>>,
  need: number,
  debited: number
): P2payError {
  const e = majorityError(refusals, need, 'transfer')
  if (debited === 0 || e.code === ErrorCode.NO_MAJORITY) return e
  return new P2payError(
    ErrorCode.NO_MAJORITY,
    `${debited} member(s) of bank(A) debited the request and a majority refused it (${e.code}): it stays pending and is retried`,
    { refused: e.code, debited }
  )
}

/**
 * A minority balance answer that contradicts the majority's for the same nonce and epoch (not one merely behind or
 * ahead).
 */
export function isLie(
  answer: { balance: number; nonce: number; epoch: number },
  majority: { balance: number; nonce: number; epoch: number }
): boolean {
  return answer.nonce === majority.nonce && answer.epoch === majority.epoch && answer.balance !== majority.balance
}

/** The refusal shared by a strict majority, or NO_MAJORITY naming what came back. */
export function majorityError(results: Array<PromiseSettledResult<unknown>>, need: number, what: string): P2payError {
  const byCode = new Map<string, P2payError[]>()
  for (const r of results) {
    if (r.status !== 'rejected') continue
    const e =
      r.reason instanceof P2payError ? r.reason : new P2payError(ErrorCode.UNREACHABLE, asError(r.reason).message)
    byCode.set(e.code, [...(byCode.get(e.code) ?? []), e])
  }
  for (const [, errs] of byCode) if (errs.length >= need) return errs[0]
  const codes = Object.fromEntries([...byCode].map(([c, e]) => [c, e.length]))
  return new P2payError(ErrorCode.NO_MAJORITY, `no strict majority of the bank-set completed the ${what}`, {
    refusals: codes
  })
}
