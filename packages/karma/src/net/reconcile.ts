// A member back from a time away reconciles before its rows are votes again.
// Away is: a start with books (it was stopped), a freeze (SIGSTOP, a suspended
// VM: its own beat finds a gap in its clock), or a time with no Karma peer
// connected (cut off). Meanwhile the other members dropped it from the sets
// they computed, the banks re-formed and went on without it, and its rows kept
// saying they were synced: answering reads and hand-overs from them lets a
// stale majority win. So, until one bank sync round with the other members of
// its banks (and a resync from each bank's majority) is done, its balance
// answers and state exports refuse (STALE_SEQ) and its credit receipts say
// unsynced (Member.reconciling).
import { asError, type Logger } from '@p2pay/core'
import { nowOf, type KarmaContext } from './context.ts'

/** the service's beat: a gap of FREEZE_GAP_MS between two beats means the process did not run */
const BEAT_MS = 1000
/**
 * a gap in the beat, or a time without any Karma peer connected, this long means this member was away: longer than
 * the event loop stalls under load, shorter than the time the others take to drop it (their pings, 60-90 s)
 */
export const FREEZE_GAP_MS = 10_000
/** sync rounds tried before a member that reaches too few of its fellows serves again anyway (a lone member) */
const MAX_ROUNDS = 30

export interface ReconcileSteps {
  /** a bank sync round with every other member of this node's banks: how many were asked, how many answered */
  syncRound: () => Promise<{ asked: number; answered: number }>
  /** each account resynchronised from its bank's majority (what the resync after start did) */
  resync: () => Promise<unknown>
  /** the member serves again: long-polls for credits made meanwhile get their receipts */
  done: () => void
}

export class Reconcile {
  private readonly ctx: KarmaContext
  private readonly steps: ReconcileSteps
  private readonly log: Logger
  private lastBeat = Date.now()
  /** since when no Karma peer is connected (undefined: some are) */
  private aloneSince: number | undefined
  private running = false
  /** bumped by every return: a round that began before the latest one does not end reconciling */
  private returns = 0
  /** why and when this member last began reconciling (status) */
  last?: { why: string; at: number; rounds: number; done?: number }

  constructor(ctx: KarmaContext, steps: ReconcileSteps) {
    this.ctx = ctx
    this.steps = steps
    this.log = ctx.log.child('reconcile')
  }

  /**
   * Starts the beat; a member that starts with books was away (it was stopped) and reconciles after `waitMs` (the
   * connections come back meanwhile).
   */
  start(waitMs: number): void {
    this.lastBeat = Date.now()
    this.ctx.life.every(BEAT_MS, 'karma beat', async () => {
      this.beat()
    })
    if (this.ctx.member.t.accounts.size > 0) this.begin('start', waitMs)
  }

  /**
   * Called before anything is served: after a freeze, the requests queued while the process stood still are read
   * before any timer runs, so the beat alone would notice the gap too late.
   */
  check(): void {
    if (Date.now() - this.lastBeat > FREEZE_GAP_MS) {
      this.lastBeat = Date.now()
      this.begin('freeze', this.ctx.cfg.syncMs)
    }
  }

  private beat(): void {
    this.check()
    this.lastBeat = Date.now()
    const peers = this.ctx.view.karmaConnected?.() ?? 1
    if (peers > 0 && this.aloneSince !== undefined && Date.now() - this.aloneSince > FREEZE_GAP_MS)
      this.begin('reconnect', this.ctx.cfg.syncMs)
    if (peers > 0) this.aloneSince = undefined
    else this.aloneSince ??= Date.now()
  }

  /** This member was away: it reconciles, after `waitMs`, before its rows are votes again. */
  begin(why: string, waitMs: number): void {
    const { member, life } = this.ctx
    if (member.t.accounts.size === 0 || life.stopped) return
    // a second return while reconciling (a freeze, then the time cut off it caused) restarts the rounds
    if (!member.reconciling) this.last = { why, at: nowOf(this.ctx), rounds: 0 }
    member.reconciling = true
    this.returns++
    this.log.info('back from a time away: reconciling before serving', { why })
    if (this.running) return
    this.running = true
    life.spawn('reconcile', async () => {
      try {
        await this.run(waitMs)
      } finally {
        this.running = false
      }
    })
  }

  private async run(waitMs: number): Promise<void> {
    const { member, life } = this.ctx
    for (let round = 0; !life.stopped; round++) {
      const seen = this.returns
      await life.sleep(waitMs)
      let ok = round + 1 >= MAX_ROUNDS
      try {
        const { asked, answered } = await this.steps.syncRound()
        await this.steps.resync()
        // a majority of the fellow members it shares rows with answered (or it shares none): it has caught up
        ok ||= 2 * answered > asked || asked === 0
      } catch (err) {
        if (!life.stopped) this.log.info('reconcile round failed', { err: asError(err).message })
      }
      if (this.last !== undefined) this.last.rounds = round + 1
      if (ok && seen === this.returns) {
        member.reconciling = false
        if (this.last !== undefined) this.last.done = nowOf(this.ctx)
        this.log.info('reconciled: serving again', { rounds: round + 1 })
        this.steps.done()
        return
      }
    }
  }
}
