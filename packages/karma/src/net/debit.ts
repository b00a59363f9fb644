// bank(A)'s duty: debit the payer once per signed request, in nonce order,
// and tell every member of bank(B). The debit and its outbox row are one
// batch; the notices then go out one-way in the background (their answers
// would be half of a transfer's messages), and the outbox row stays until
// bank(B) says it took them (outbox.ts).
import { ErrorCode, P2payError } from '@p2pay/core'
import { openTransfer } from '../core/messages.ts'
import { KIND } from '../kinds.ts'
import { nowOf, withFreshView, type KarmaContext } from './context.ts'
import type { HandOver } from './handover.ts'

/**
 * a request whose nonce is ahead waits this long for its predecessor (it usually only overtook it on another stream)
 */
const GAP_WAIT_MS = 2000
const GAP_POLL_MS = 10
const MAX_GAP_WAITERS = 256

export class Debits {
  private readonly ctx: KarmaContext
  private readonly handover: HandOver
  private gapWaiters = 0

  constructor(ctx: KarmaContext, handover: HandOver) {
    this.ctx = ctx
    this.handover = handover
  }

  async debit(request: unknown): Promise<{ requestHash: string; receipt: string }> {
    const { member, store, t } = this.ctx
    const req = openTransfer(this.ctx.verifier, request)
    await this.awaitTurn(req.body.from, req.body.nonce, req.body.ts)
    const { r, bankB } = await this.resyncOnGap(
      req.body.from,
      async () =>
        await withFreshView(this.ctx, [req.body.from, req.body.to], async ([bankA, bankB]) => ({
          bankB,
          r: await store.apply(() => {
            const r = member.debit(request, bankA, req)
            if (!r.duplicate)
              t.outbox.set(r.requestHash, {
                from: req.body.from,
                to: req.body.to,
                requestHash: r.requestHash,
                notice: r.notice,
                request: req.b64,
                delivered: [],
                // bank(B) as this member sees it now: each must take the notice, even if it is away at the next ticks
                targets: [...bankB].sort(),
                at: nowOf(this.ctx)
              })
            return r
          })
        }))
    )
    // the payer waits on bank(B) itself, not on this member; the outbox row stays until bank(B) took the notice
    this.ctx.life.spawn('notices', async () => {
      await this.pushNotices(bankB, r.notice)
    })
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
        const row = this.ctx.member.account(account)
        if (row == null || row.synced === false || !Number.isSafeInteger(nonce) || row.nonce + 1 >= nonce) return
        await this.ctx.life.sleep(GAP_POLL_MS)
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
   * takes the account's state from the bank's majority again (at most every
   * so often per account) and refuses this time (the payer retries).
   */
  private async resyncOnGap<T>(account: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      const behind =
        err instanceof P2payError && err.code === ErrorCode.STALE_SEQ && err.details?.expected !== undefined
      // two requests with one nonce: this member may hold one a majority of the bank refused (a split bank)
      const split = err instanceof P2payError && err.code === ErrorCode.FRAUD
      if (behind || split) this.handover.resync(account)
      throw err
    }
  }

  /** A debit's notice to every member of bank(B), one-way; a failure is the outbox's to retry. */
  private async pushNotices(bankB: readonly string[], notice: string): Promise<void> {
    await Promise.all(
      bankB.map(async m => {
        try {
          await this.ctx.peers.send(m, 'notice', { notice }, KIND.transfer)
        } catch {}
      })
    )
  }
}
