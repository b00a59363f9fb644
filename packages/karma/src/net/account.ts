// The account holder's side of a node: join with a proof of work, pay, read
// balances by majority, keep the receipts of what it paid and was paid.
// Joins and reads are in account-reads.ts, transfers in account-transfers.ts;
// this is the holder's face and the state its parts share, and what it
// answers as a payee (a bundle of receipts) and as a payer (a credit receipt
// pushed by a member of bank(B)).
import { fail, isHash, ErrorCode, Lru, type Logger } from '@p2pay/core'
import { openCreditFrom, receiptsOf, type AccountRead, type TransferResult } from '../core/account.ts'
import { majority } from '../core/majority.ts'
import { openReceipt, openTransfer, peekSigned, TAG, type ReceiptBody, type Signed } from '../core/messages.ts'
import { KarmaErrorCode } from '../errors.ts'
import { joinAccount, readAccount } from './account-reads.ts'
import { relay, transfer } from './account-transfers.ts'
import type { KarmaContext } from './context.ts'

/** requests with pushed receipts kept before relay takes them */
const MAX_PUSHED = 1024
/** receipts a payee takes in one bundle, per side */
const MAX_BUNDLE = 64
/** this account's completed requests whose credit receipts are kept for bank(A)'s outboxes (k receipts each) */
const MAX_KEPT = 1024
/** request hashes per `creditsOf` question */
export const MAX_CREDITS_ASKED = 128
/** a `creditsOf` answer stops adding requests at this many bytes of receipts (a frame is 1 MiB; a receipt 0.5 KiB) */
const MAX_CREDITS_REPLY = 512 * 1024

/** A completed request's credit receipts, each checked, by the member of bank(B) (as the relay saw it) signing it. */
export interface Kept {
  to: string
  bank: readonly string[]
  receipts: Map<string, string>
}

export class AccountHolder {
  readonly ctx: KarmaContext
  readonly log: Logger
  private queue: Promise<unknown> = Promise.resolve()
  /** payees whose account a majority of their bank confirmed */
  readonly known = new Set<string>()
  /** credit receipts members of bank(B) pushed for this account's pending requests, until relay takes them */
  readonly pushed = new Map<string, Array<Signed<ReceiptBody>>>()
  /** relays waiting on pushed credit receipts, by request hash */
  readonly pushWaiters = new Map<string, (s: Signed<ReceiptBody>) => void>()
  /**
   * the credit receipts of this account's completed requests, by request hash: bank(A)'s members ask for them
   * (`creditsOf`) before asking every member of bank(B) whether it credited, and check each one again themselves (in
   * memory only: after a restart they ask bank(B) as before)
   */
  readonly kept = new Lru<string, Kept>(MAX_KEPT)

  constructor(ctx: KarmaContext) {
    this.ctx = ctx
    this.log = ctx.log.child('account')
  }

  get me(): string {
    return this.ctx.me
  }
  get needed(): number {
    return majority(this.ctx.cfg.k)
  }

  /** One of this account's own operations at a time: its debits must reach its bank in nonce order. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return run
  }

  // each runs as the service's work: refused once it stops, and waited for by stop()

  async join(): Promise<{ account: string; balance: number; bank: string[]; opened: number }> {
    return await this.ctx.life.run('join', async () => await joinAccount(this))
  }

  /** The balance a strict majority of bank(account) signed for this reader's fresh challenge. */
  async read(account: string, fresh = false): Promise<AccountRead> {
    return await this.ctx.life.run('read', async () => await readAccount(this, account, fresh))
  }

  /** Pays `to`: signs the next request, records it, and relays it until both majorities answered. */
  async transfer(to: string, amount: number, payment?: string): Promise<TransferResult> {
    return await this.ctx.life.run('transfer', async () => await transfer(this, to, amount, payment))
  }

  /** Takes any signed request to bank(A) and waits for majorities on both sides (for this node or another payer). */
  async relay(request: unknown): Promise<TransferResult> {
    return await this.ctx.life.run('relay', async () => await relay(this, request))
  }

  /**
   * A credit receipt a member of bank(B) pushed (openReceipt checks it is the member's own): kept only for this
   * account's own pending requests; relay checks the rest.
   */
  takeCreditReceipt(receipt: unknown): void {
    // the members heard after the majority (the request is done here): kept for bank(A)'s outboxes when checked, or
    // dropped, before their signature is checked
    const peek = peekSigned<ReceiptBody>(receipt, TAG.receipt)
    if (peek !== undefined && this.kept.peek(peek.body.requestHash) != null) {
      this.keep(peek.body.requestHash, receipt)
      return
    }
    if (peek !== undefined && this.ctx.t.sent.get(peek.body.requestHash)?.status !== 'pending') return
    // one the peek could not read fails here; one it read is this account's pending request (the same bytes)
    const s = openReceipt(this.ctx.verifier, receipt)
    // a member that credited into a row it has not synced: no vote
    if (s.body.side !== 'credit' || s.body.unsynced === true) return
    const waiter = this.pushWaiters.get(s.body.requestHash)
    if (waiter !== undefined) {
      waiter(s)
      return
    }
    const list = this.pushed.get(s.body.requestHash) ?? []
    if (list.length >= 2 * this.ctx.cfg.k) return
    if (this.pushed.size >= MAX_PUSHED) this.pushed.delete(this.pushed.keys().next().value as string)
    this.pushed.set(s.body.requestHash, [...list, s])
  }

  /**
   * Adds a late credit receipt of a completed request of this account to those kept, once checked: a member of
   * bank(B) as the relay saw it, not kept yet, crediting this payee with this request (a vote or not: bank(A) only
   * learns that the member took the notice). Anything else is dropped: what is kept is bounded by k receipts a request.
   */
  keep(requestHash: string, receipt: unknown): void {
    const kept = this.kept.peek(requestHash)
    if (kept == null) return
    const members = kept.bank.filter(m => !kept.receipts.has(m))
    const s = openCreditFrom(this.ctx.verifier, receipt, { account: kept.to, requestHash, members })
    if (s !== undefined) kept.receipts.set(s.signer, s.b64)
  }

  /**
   * Credit receipts kept for these requests of this account (a question of bank(A)'s outboxes, which check them
   * again), up to MAX_CREDITS_REPLY bytes: the requests left out are asked of bank(B).
   */
  creditsOf(hashes: unknown): { receipts: Record<string, string[]> } {
    if (!Array.isArray(hashes) || hashes.length > MAX_CREDITS_ASKED)
      fail(ErrorCode.BAD_REQUEST, `hashes must be a list of at most ${MAX_CREDITS_ASKED}`)
    const receipts: Record<string, string[]> = {}
    let bytes = 0
    for (const h of hashes) {
      const kept = isHash(h) ? this.kept.peek(h) : undefined
      if (kept == null) continue
      const list = [...kept.receipts.values()]
      bytes += list.reduce((n, r) => n + r.length, 0)
      if (bytes > MAX_CREDITS_REPLY) break
      receipts[h] = list
    }
    return { receipts }
  }

  /** B's side: a bundle of majorities that its account was credited, checked against the sets B computes. */
  async acceptReceipt(args: {
    request?: unknown
    debits?: unknown
    credits?: unknown
  }): Promise<{ requestHash: string; stored: boolean }> {
    const { verifier, view, store, t } = this.ctx
    const req = openTransfer(verifier, args.request)
    if (req.body.to !== this.me) fail(ErrorCode.BAD_REQUEST, 'this receipt is for another payee')
    if (
      !Array.isArray(args.debits) ||
      !Array.isArray(args.credits) ||
      args.debits.length > MAX_BUNDLE ||
      args.credits.length > MAX_BUNDLE
    )
      fail(ErrorCode.BAD_REQUEST, 'debits and credits must be lists of signed receipts')
    const [bankA, bankB] = await Promise.all([view.bank(req.body.from), view.bank(this.me)])
    const requestHash = req.hash
    const debits = receiptsOf(verifier, args.debits, {
      side: 'debit',
      account: req.body.from,
      requestHash,
      bank: bankA
    })
    const credits = receiptsOf(verifier, args.credits, { side: 'credit', account: this.me, requestHash, bank: bankB })
    if (debits.length < this.needed || credits.length < this.needed)
      fail(KarmaErrorCode.NO_MAJORITY, 'the receipt lacks a majority of bank(A) debits or bank(B) credits')
    if (t.received.has(req.hash)) return { requestHash, stored: false }
    await store.apply(() =>
      t.received.set(req.hash, {
        requestHash,
        from: req.body.from,
        amount: req.body.amount,
        nonce: req.body.nonce,
        request: req.b64,
        debits,
        credits,
        at: Date.now()
      })
    )
    return { requestHash, stored: true }
  }
}
