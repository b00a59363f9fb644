// What a node does as a member of other peers' bank-sets, one object or
// function per duty: opening accounts (join.ts), debiting payers and telling
// bank(B) (debit.ts), crediting payees on a majority of bank(A) (credit.ts),
// signed balance answers (reads.ts), hand-overs when a bank-set changes
// (handover.ts), and the housekeeping tick (outbox.ts, handover.ts). Every
// state change runs the pure Member inside `store.apply`, so it is one synced
// LevelDB batch before any reply or notice leaves.
import { Lru } from '@p2pay/core'
import type { CaughtRow } from '../core/member-records.ts'
import { BankSync } from './bank-sync.ts'
import { caughtList } from './caught.ts'
import { nowOf, type KarmaContext } from './context.ts'
import { Credits } from './credit.ts'
import { Debits } from './debit.ts'
import { HandOver } from './handover.ts'
import { join } from './join.ts'
import { NOTICE_GRACE_SYNCS, forgetOld, tickOutbox } from './outbox.ts'
import { balanceAnswer } from './reads.ts'
import { Reconcile } from './reconcile.ts'

export class BankDuties {
  readonly ctx: KarmaContext
  readonly handover: HandOver
  readonly debits: Debits
  readonly credits: Credits
  readonly sync: BankSync
  readonly reconcile: Reconcile
  /** outbox rows whose payer was asked for bank(B)'s credit receipts already (once each) */
  private readonly askedPayers = new Lru<string, true>(4096)

  constructor(ctx: KarmaContext) {
    this.ctx = ctx
    this.handover = new HandOver(ctx)
    this.debits = new Debits(ctx, this.handover)
    this.credits = new Credits(ctx, this.handover)
    this.sync = new BankSync(ctx, this.debits, this.credits, NOTICE_GRACE_SYNCS * ctx.cfg.syncMs)
    // a row that became synced (an adoption, the end of a reconcile) makes the receipts of credits into it votes
    this.handover.onSynced = () => this.credits.wakeSynced()
    this.reconcile = new Reconcile(ctx, {
      syncRound: async () => await this.sync.tick(),
      resync: async () => await this.handover.resyncAll(),
      done: () => this.credits.wakeSynced()
    })
  }

  /** Opens a joining peer's account (or adopts it from the old bank first). */
  async join(proof: unknown): Promise<{ account: string; balance: number; opened: boolean }> {
    return await join(this.ctx, this.handover, proof)
  }

  async balance(account: unknown, challenge: unknown, asker: string): Promise<{ answer: string }> {
    if (typeof account === 'string') this.handover.checkNotAwaited(account)
    return await balanceAnswer(this.ctx, account, challenge, asker)
  }

  /** Resends outstanding notices, hints new bank members, forgets old records. */
  async tick(): Promise<void> {
    await this.ctx.life.run('karma housekeeping', async () => {
      const now = nowOf(this.ctx)
      await tickOutbox(this.ctx, now, this.askedPayers)
      await this.credits.pullMissing(now, NOTICE_GRACE_SYNCS * this.ctx.cfg.syncMs)
      await this.handover.tick()
      await this.handover.resyncUnsettled()
      await this.sync.tick()
      await forgetOld(this.ctx, now)
    })
  }

  /** Members this node caught signing something false, with the signed evidence. */
  caughtList(): CaughtRow[] {
    return caughtList(this.ctx.t)
  }
}
