// Epoch boundaries on the network. Every node, at the same wall-clock
// boundaries (multiples of epochMs):
//   1. sends its signed report for epoch e (accounts it banks for, how many
//      were active in e, their karma) to the coordinators of e: the k peers
//      closest to H("karma-epoch|" + e), computed like a bank-set;
//   2. after a collection window asks each coordinator for its signed factor:
//      a coordinator freezes its estimate (estimateFromReports over the latest
//      report of each Karma peer, within bounds, each weighing no more than an
//      honest member: epoch-reports.ts) at the first such question of a round
//      and answers that round with the same signed factor after;
//   3. applies the factor a strict majority of the coordinators signed, moving
//      its books to e + 1 (Member.rescale), so honest members apply one factor;
//   4. sends a signed heartbeat for e + 1 to bank(self): that is what makes its
//      own account count as active in e + 1.
// Coordinators that disagree (they froze on different report sets) give no
// majority: the epoch is tried again at the next boundary, as a new round
// (`attempt` = the boundary's index, the same on every node) over the reports
// that arrived by then.
//
// Every wait and timer of a round is the service's (its lifecycle): a stop
// ends them, and no round starts after it.
import { ErrorCode, P2payError, asError, fail, isUint, type Logger } from '@p2pay/core'
import { estimateFromReports, rescaleFactor, type Factor } from '../core/epoch.ts'
import { checkReportBounds, maxActivePerMember, sizeFromClosest } from '../core/epoch-reports.ts'
import { epochKeyBytes } from '../core/bankset.ts'
import {
  makeFactor,
  makeHeartbeat,
  openFactor,
  openHeartbeat,
  openReport,
  type ReportBody
} from '../core/epoch-messages.ts'
import { majorityValue } from '../core/majority.ts'
import type { Signed } from '../core/messages.ts'
import { KarmaErrorCode } from '../errors.ts'
import { KIND } from '../kinds.ts'
import type { KarmaContext } from './context.ts'

const MAX_REPORTS_PER_EPOCH = 100_000
const MAX_ROUNDS_PER_EPOCH = 32

export class EpochService {
  private readonly ctx: KarmaContext
  private readonly log: Logger
  /** as a coordinator: reports received per epoch, and the factor frozen for it */
  private readonly reports = new Map<number, Map<string, Signed<ReportBody>>>()
  /** `${epoch}|${attempt}` -> the signed factor this coordinator gave in that round */
  private readonly frozen = new Map<string, string>()
  /**
   * epoch -> the factor a majority signed and this node applied: a later round
   * for a finished epoch (a node catching up) is answered with it, so every
   * node rescales an epoch by one factor
   */
  private readonly applied = new Map<number, Factor>()
  private running = false
  /** the epoch whose heartbeat every member of bank(self) took */
  private beaten = -1
  last?: { epoch: number; factor?: Factor; error?: string }

  constructor(ctx: KarmaContext) {
    this.ctx = ctx
    this.log = ctx.log.child('epoch')
  }

  private get cfg(): KarmaContext['cfg'] {
    return this.ctx.cfg
  }
  private get member(): KarmaContext['member'] {
    return this.ctx.member
  }

  // ---- bank member side ----

  /** A peer's signed heartbeat: marks its account active in the current epoch, in the books of its bank. */
  async takeHeartbeat(heartbeat: unknown): Promise<{ account: string; epoch: number }> {
    const peer = openHeartbeat(this.ctx.verifier, heartbeat).body.peer
    const bank = await this.ctx.view.bank(peer)
    return await this.ctx.store.apply(() => this.member.heartbeat(heartbeat, bank))
  }

  // ---- coordinator side ----

  /**
   * Takes a report from the peer that signed it only (one per peer, the latest): nobody files reports for others. The
   * peer must run Karma (a bank-set candidate, WRONG_BROKER otherwise) and claim no more active accounts than a member
   * can bank for in a network of the size this coordinator's view suggests (BAD_REQUEST): see epoch-reports.ts.
   */
  async takeReport(report: unknown, from: string): Promise<{ epoch: number; reports: number }> {
    const r = openReport(this.ctx.verifier, report)
    if (r.signer !== from) fail(ErrorCode.WRONG_SIGNER, 'a report is accepted only from the peer that signed it')
    const e = r.body.epoch
    const cur = this.member.epoch().epoch
    if (e < cur - 1 || e > cur + 1) fail(ErrorCode.STALE_SEQ, `report for epoch ${e}, this coordinator is in ${cur}`)
    if (from !== this.ctx.me && !(await this.ctx.view.isKarmaPeer(from)))
      fail(ErrorCode.WRONG_BROKER, 'epoch reports are taken only from Karma peers (bank-set members)')
    const size = sizeFromClosest(epochKeyBytes(e), await this.ctx.view.coordinators(e))
    checkReportBounds(r.body, maxActivePerMember(this.cfg.k, size))
    const list = this.reports.get(e) ?? new Map<string, Signed<ReportBody>>()
    if (list.size >= MAX_REPORTS_PER_EPOCH && !list.has(r.signer)) fail(ErrorCode.BAD_REQUEST, 'too many reports')
    list.set(r.signer, r) // the latest: a member's books change during an epoch
    this.reports.set(e, list)
    return { epoch: e, reports: list.size }
  }

  factor(epoch: unknown, attempt: unknown): { factor: string } {
    if (!isUint(epoch) || !isUint(attempt))
      fail(ErrorCode.BAD_REQUEST, 'epoch and attempt must be non-negative integers')
    // an epoch this node finished: the factor it applied, whatever the round
    const done = this.applied.get(epoch)
    if (done !== undefined)
      return {
        factor: makeFactor(this.ctx.signer, {
          epoch,
          attempt,
          num: done.num,
          den: done.den,
          reports: this.reports.get(epoch)?.size ?? 0
        }).b64
      }
    const cur = this.member.epoch().epoch
    if (epoch < cur - 1 || epoch > cur + 1)
      fail(ErrorCode.STALE_SEQ, `factor for epoch ${epoch}, this coordinator is in ${cur}`)
    const key = `${epoch}|${attempt}`
    let f = this.frozen.get(key)
    if (f === undefined) {
      // bounded per epoch, and nothing is evicted: a flood of attempt numbers cannot make a live round answer twice
      let rounds = 0
      for (const k of this.frozen.keys()) if (k.startsWith(`${epoch}|`)) rounds++
      if (rounds >= MAX_ROUNDS_PER_EPOCH)
        fail(ErrorCode.BAD_REQUEST, `no more than ${MAX_ROUNDS_PER_EPOCH} rounds for one epoch`)
      const est = estimateFromReports(this.reports.get(epoch)?.values() ?? [], epoch)
      const factor = rescaleFactor(est.totalKarma, est.activePeers, this.cfg.initialKarma)
      f = makeFactor(this.ctx.signer, { epoch, attempt, num: factor.num, den: factor.den, reports: est.used }).b64
      this.frozen.set(key, f)
      for (const k of [...this.frozen.keys()]) if (Number(k.split('|')[0]) < epoch - 2) this.frozen.delete(k)
      for (const e of this.reports.keys()) if (e < epoch - 2) this.reports.delete(e)
    }
    return { factor: f }
  }

  // ---- every node ----

  /** Runs a round at every boundary (epochs on), and sends this epoch's heartbeat now. */
  start(): void {
    if (this.cfg.epochMs <= 0) return
    const schedule = (): void => {
      const now = Date.now()
      const next = Math.ceil((now + 1) / this.cfg.epochMs) * this.cfg.epochMs
      this.ctx.life.after(next - now, 'epoch round', async () => {
        await this.round(next / this.cfg.epochMs).catch(() => {})
        schedule()
      })
    }
    schedule()
    this.ctx.life.spawn('heartbeat', async () => await this.heartbeat().catch(() => {}))
  }

  /** One epoch boundary as described at the top (the service's work: refused once it stops). */
  async round(attempt = 0, ending?: number): Promise<{ epoch: number; factor?: Factor; skipped?: boolean }> {
    return await this.ctx.life.run('epoch round', async () => await this.roundNow(attempt, ending))
  }

  private async roundNow(
    attempt: number,
    ending?: number
  ): Promise<{ epoch: number; factor?: Factor; skipped?: boolean }> {
    if (!isUint(attempt)) fail(ErrorCode.BAD_REQUEST, 'attempt must be a non-negative integer')
    const e = this.member.epoch().epoch
    // a round for a given epoch is idempotent: a node that finished it already does nothing
    if (ending !== undefined) {
      if (!isUint(ending)) fail(ErrorCode.BAD_REQUEST, 'epoch must be a non-negative integer')
      if (ending < e) return { epoch: e, skipped: true }
      if (ending > e) fail(ErrorCode.STALE_SEQ, `this node is in epoch ${e}, not ${ending}`, { epoch: e })
    }
    if (this.running) fail(ErrorCode.BAD_REQUEST, 'an epoch round is running')
    this.running = true
    try {
      const coordinators = await this.ctx.view.coordinators(e, true)
      const report = this.member.epochReport()
      await Promise.allSettled(
        coordinators.map(async c => await this.ctx.peers.call(c, 'report', { report }, KIND.epoch))
      )
      await this.ctx.life.sleep(this.window())
      const answers = await Promise.allSettled(
        coordinators.map(async c => {
          const s = openFactor(
            this.ctx.verifier,
            (await this.ctx.peers.call<{ factor: string }>(c, 'factor', { epoch: e, attempt }, KIND.epoch)).factor,
            e,
            attempt
          )
          if (s.signer !== c) fail(ErrorCode.WRONG_SIGNER, 'factor signed by another peer')
          return s
        })
      )
      const signed = answers.flatMap(a => (a.status === 'fulfilled' ? [a.value] : []))
      const verdict = majorityValue(signed, coordinators, b => ({ num: b.num, den: b.den }), this.cfg.k)
      if (verdict === undefined)
        throw new P2payError(
          KarmaErrorCode.NO_MAJORITY,
          `no strict majority of the coordinators of epoch ${e} signed one factor`,
          { answers: signed.length }
        )
      const r = await this.ctx.store.apply(() => this.member.rescale(e + 1, verdict.value))
      this.log.info('epoch', {
        epoch: r.epoch,
        num: verdict.value.num,
        den: verdict.value.den,
        accounts: r.accounts,
        before: r.before,
        after: r.after
      })
      this.last = { epoch: r.epoch, factor: verdict.value }
      this.applied.set(e, verdict.value)
      for (const old of this.applied.keys()) if (old < e - 8) this.applied.delete(old)
      // after the others had time to move to e + 1 too: a member still in e refuses an e + 1 heartbeat
      this.ctx.life.after(this.window(), 'heartbeat', async () => await this.heartbeat().catch(() => {}))
      return { epoch: r.epoch, factor: verdict.value }
    } catch (err) {
      this.last = { epoch: e, error: asError(err).message }
      if (!this.ctx.life.stopped)
        this.log.warn('epoch round failed; tried again at the next boundary', { epoch: e, err: asError(err).message })
      throw err
    } finally {
      this.running = false
    }
  }

  /** Time for reports to reach the coordinators (rounds started by hand: no epoch length to go by). */
  private window(): number {
    return this.cfg.epochMs > 0 ? Math.min(2000, Math.max(200, Math.floor(this.cfg.epochMs / 5))) : 1500
  }

  /** Tells bank(self) that this account is active in the current epoch. */
  async heartbeat(attempts = 4): Promise<number> {
    const epoch = this.member.epoch().epoch
    const hb = makeHeartbeat(this.ctx.signer, epoch).b64
    const bank = await this.ctx.view.bank(this.ctx.me)
    let ok = 0
    let left = bank
    for (let attempt = 0; attempt < attempts && left.length > 0; attempt++) {
      if (attempt > 0) await this.ctx.life.sleep(500)
      const r = await Promise.allSettled(
        left.map(async m => await this.ctx.peers.call(m, 'heartbeat', { heartbeat: hb }, KIND.epoch))
      )
      ok += r.filter(x => x.status === 'fulfilled').length
      // a member still in the previous epoch (STALE_SEQ), or that has not taken the account over yet, refuses it for
      // now
      left = left.filter((_, i) => r[i].status === 'rejected')
    }
    if (left.length === 0) this.beaten = Math.max(this.beaten, epoch)
    return ok
  }

  /**
   * From the housekeeping tick: this epoch's heartbeat again until every member of bank(self) took it (epochs on, or
   * run by hand).
   */
  async heartbeatIfDue(): Promise<void> {
    const e = this.member.epoch().epoch
    if ((e === 0 && this.cfg.epochMs <= 0) || this.beaten >= e) return
    await this.heartbeat(1)
  }
}
