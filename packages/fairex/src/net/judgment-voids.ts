// The one thing a verdict must cause elsewhere: the broker's AC voids the
// cheque of a banned provider. The verdict and its void job are written in the
// same synced batch (judgment-service.ts), and a job leaves the queue only once
// the AC has answered, so a judge killed between verdict and void still voids
// after its restart. Jobs are retried every interval, one pass at a time.
import {
  ErrorCode,
  P2payError,
  hasCode,
  type ClientPool,
  type Lifecycle,
  type Logger,
  type Party,
  type Store,
  type Table
} from '@p2pay/core'
import type { VoidResult } from '../core/accounting-records.ts'
import type { FairexKind } from '../kinds.ts'

/** A providerBan verdict the AC has yet to act on (or has answered), by cheque hash. */
export interface VoidJob {
  /** base64 verdict envelope */
  verdict: string
  /** base64 cheque envelope the verdict names */
  cheque: string
  /** base64 ban record of the verdict: the AC holds the provider's proceeds until it ends */
  ban?: string
  queuedAt: number
  voided?: { at: number; from: VoidResult['from']; refunded: number; shortfall: number }
  /** a refusal no retry can change (the serial paid or was voided on another cheque) */
  refused?: { at: number; code: string; message: string }
}

/** What the verdicts route shows of a verdict's void. */
export type VoidState =
  | ({ status: 'voided' } & NonNullable<VoidJob['voided']>)
  | ({ status: 'refused' } & NonNullable<VoidJob['refused']>)
  | { status: 'pending'; queuedAt: number; lastError?: string }

/** AC answers that will not change on a retry: the job is done (or can never be). */
const FINAL_VOID_REFUSALS = [
  ErrorCode.ALREADY_CASHED,
  ErrorCode.REPLAY,
  ErrorCode.NOT_FOUND,
  ErrorCode.WRONG_OWNER,
  ErrorCode.BAD_REQUEST
]

export interface VoidQueueOptions {
  voids: Table<VoidJob>
  store: Store
  /** clients of the AC protocol, under the service's lifecycle */
  ac: ClientPool<FairexKind>
  /** the broker whose AC voids the cheques */
  broker: Party
  life: Lifecycle
  log: Logger
  now: () => number
}

export class VoidQueue {
  private readonly o: VoidQueueOptions
  /** last failure per job, so a broker that stays down is logged once, not every interval */
  private readonly lastError = new Map<string, string>()
  private running?: Promise<void>
  private again = false

  constructor(o: VoidQueueOptions) {
    this.o = o
  }

  /** Jobs the AC has not answered yet. */
  pending(): number {
    let n = 0
    for (const j of this.o.voids.values()) if (j.voided == null && j.refused == null) n++
    return n
  }

  /** A new job for a providerBan verdict: call inside the verdict's state change. */
  queue(chequeHash: string, verdict: string, cheque: string, ban?: string): void {
    if (!this.o.voids.has(chequeHash))
      this.o.voids.set(chequeHash, { verdict, cheque, ...(ban != null ? { ban } : {}), queuedAt: this.o.now() })
  }

  stateOf(chequeHash: string): VoidState | undefined {
    const job = this.o.voids.get(chequeHash)
    if (job == null) return undefined
    if (job.voided != null) return { status: 'voided', ...job.voided }
    if (job.refused != null) return { status: 'refused', ...job.refused }
    return { status: 'pending', queuedAt: job.queuedAt, lastError: this.lastError.get(chequeHash) }
  }

  /** Runs a pass now, or right after the one under way: one pass at a time. */
  kick(): void {
    const life = this.o.life
    if (life.stopped) return
    if (this.running != null) {
      this.again = true
      return
    }
    const passes = async (): Promise<void> => {
      do {
        this.again = false
        await this.pass()
      } while (this.again && !life.stopped)
    }
    this.running = life
      .track('fairex voids', passes())
      .catch(err => {
        if (!life.stopped) this.o.log.error('void pass failed', { err })
      })
      .finally(() => {
        this.running = undefined
      })
  }

  private async pass(): Promise<void> {
    for (const [key, job] of [...this.o.voids.entries()]) {
      if (this.o.life.stopped) return
      if (job.voided == null && job.refused == null) await this.voidOne(key, job)
    }
  }

  private async voidOne(key: string, job: VoidJob): Promise<void> {
    const { store, voids, log, now } = this.o
    try {
      const r = await this.o.ac.call<VoidResult>(
        this.o.broker,
        'void',
        { verdict: job.verdict, cheque: job.cheque, ...(job.ban != null ? { ban: job.ban } : {}) },
        { kind: 'fairex-void', timeoutMs: 15_000 }
      )
      const voided = { at: now(), from: r.from, refunded: r.refunded, shortfall: r.shortfall }
      await store.apply(() => voids.set(key, { ...job, voided }))
      this.lastError.delete(key)
      const { provider, downloader, refunded, shortfall } = r
      log.info('cheque voided at the broker', { cheque: key, provider, downloader, refunded, shortfall })
    } catch (err) {
      if (hasCode(err, ...FINAL_VOID_REFUSALS)) {
        await store.apply(() =>
          voids.set(key, { ...job, refused: { at: now(), code: err.code, message: err.message } })
        )
        log.warn('broker refused the void for good', { cheque: key, code: err.code, message: err.message })
        return
      }
      if (this.o.life.stopped) return // the stop cut the call short: the job stays for the next run
      const text = err instanceof P2payError ? `${err.code}: ${err.message}` : String(err)
      if (this.lastError.get(key) !== text)
        log.warn('void at the broker failed, will retry', { cheque: key, err: text })
      this.lastError.set(key, text)
    }
  }
}
