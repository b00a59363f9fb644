// The payments journal: every payment operation of the control API runs as
// an entry keyed by its id. A new id is written pending (synced) before the
// operation starts and final once it ends, so a retry with the same id returns
// the stored outcome instead of paying again, and a crash leaves a pending
// entry that `settleDue` resolves from the scheme's own records at the next
// start. Entries past their deadline are settled on the same tick.
import { randomId } from '../bytes.ts'
import { ErrorCode, P2payError, asError, fail } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { Store, Table } from '../store/store.ts'
import {
  FINAL_STATES,
  type PaymentEntry,
  type PaymentError,
  type PaymentRouteInfo,
  type PaymentSettler,
  type PaymentState,
  type SettleContext,
  type Settlement
} from './types.ts'

/** the deadline of a payment whose caller named none: long enough for every scheme's own retries of a slow peer */
export const DEFAULT_PAYMENT_DEADLINE_MS = 120_000
/** the shortest deadline a caller may name (tests use it); shorter could end an entry before its first message */
export const MIN_PAYMENT_DEADLINE_MS = 1000
/** the longest deadline a caller may name */
export const MAX_PAYMENT_DEADLINE_MS = 7 * 24 * 3600_000
/** a final entry is kept this long (a retry of its id within it gets its outcome), then forgotten */
export const KEEP_FINAL_MS = 90 * 24 * 3600_000
/** final entries past KEEP_FINAL_MS are looked for this often */
const PURGE_EVERY_MS = 3600_000
/** ids are the caller's: printable, short, never a path or a key of another table */
const ID_RE = /^[A-Za-z0-9_-]{8,80}$/

export interface JournalOptions {
  now?: () => number
  /** per scheme: what its records show about its payments */
  settlers?: ReadonlyMap<string, PaymentSettler>
  log?: Logger
}

/** An entry as the API shows it (without the scheme's full answer). */
export function paymentView(e: PaymentEntry): Omit<PaymentEntry, 'result'> {
  const { result: _result, ...rest } = e
  return rest
}

export function errorOf(err: unknown): PaymentError {
  if (err instanceof P2payError) return err.toJSON()
  return { code: ErrorCode.INTERNAL, message: asError(err).message }
}

export class PaymentJournal {
  readonly t: Table<PaymentEntry>
  private readonly store: Store
  private readonly now: () => number
  private readonly settlers: ReadonlyMap<string, PaymentSettler>
  private readonly log?: Logger
  /** ids whose operation runs in this process: a settle leaves them to it */
  private readonly inFlight = new Set<string>()
  /** the pending entries: a settle tick looks at these, not at every entry kept */
  private readonly pending = new Set<string>()
  private lastPurge = 0

  constructor(store: Store, t: Table<PaymentEntry>, opts: JournalOptions = {}) {
    this.store = store
    this.t = t
    this.now = opts.now ?? Date.now
    this.settlers = opts.settlers ?? new Map()
    this.log = opts.log
    for (const e of t.values()) if (e.state === 'pending') this.pending.add(e.id)
  }

  /** Resolves once every entry written so far is on disk: a read never shows what a crash could still undo. */
  async synced(): Promise<void> {
    await this.store.barrier()
  }

  get(id: string): PaymentEntry | undefined {
    return this.t.get(id)
  }

  /** Entries, newest first, optionally of one state, peer or scheme. */
  list(filter: { state?: string; peer?: string; scheme?: string; limit?: number } = {}): PaymentEntry[] {
    const out = [...this.t.values()].filter(
      e =>
        (filter.state == null || e.state === filter.state) &&
        (filter.peer == null || e.peer === filter.peer) &&
        (filter.scheme == null || e.scheme === filter.scheme)
    )
    out.sort((a, b) => b.created - a.created)
    return filter.limit != null ? out.slice(0, filter.limit) : out
  }

  /**
   * Runs `exec` as the payment `body.id` (one is made when none is given).
   * An id already final returns its outcome (its error, for a failure), an id
   * still pending answers its state; a new one is journaled before `exec` runs.
   */
  async run(
    info: PaymentRouteInfo,
    body: Record<string, unknown>,
    exec: (body: Record<string, unknown>) => Promise<unknown>,
    extra: { request?: string } = {}
  ): Promise<unknown> {
    // a caller that names no id gets the operation's own answer, as before there was a journal
    const named = body.id != null
    const id = body.id ?? randomId(16)
    if (typeof id !== 'string' || !ID_RE.test(id)) fail(ErrorCode.BAD_REQUEST, 'id must be 8..80 of [A-Za-z0-9_-]')
    const peer = info.peer?.(body)
    const amount = info.amount?.(body)
    const known = this.t.get(id)
    if (known != null) {
      if (known.scheme !== info.scheme || known.op !== info.op || known.peer !== peer || known.amount !== amount)
        fail(ErrorCode.BAD_REQUEST, `payment id ${id} was used for another payment (${known.scheme} ${known.op})`, {
          payment: paymentView(known)
        })
      return outcomeOf(known, named)
    }
    const deadlineMs = body.deadlineMs ?? DEFAULT_PAYMENT_DEADLINE_MS
    if (
      typeof deadlineMs !== 'number' ||
      !Number.isSafeInteger(deadlineMs) ||
      deadlineMs < MIN_PAYMENT_DEADLINE_MS ||
      deadlineMs > MAX_PAYMENT_DEADLINE_MS
    )
      fail(ErrorCode.BAD_REQUEST, `deadlineMs must be ${MIN_PAYMENT_DEADLINE_MS}..${MAX_PAYMENT_DEADLINE_MS}`)
    const now = this.now()
    const entry: PaymentEntry = {
      id,
      scheme: info.scheme,
      op: info.op,
      ...(peer != null ? { peer } : {}),
      ...(amount != null ? { amount } : {}),
      state: 'pending',
      created: now,
      updated: now,
      deadline: now + deadlineMs,
      ...(extra.request != null ? { request: extra.request } : {})
    }
    this.inFlight.add(id)
    this.pending.add(id)
    try {
      // synced before anything of the operation happens: a crash from here on leaves an entry to settle
      await this.store.apply(() => this.t.set(id, entry))
      const settler = this.settlers.get(info.scheme)
      let result: unknown
      try {
        if (settler?.before != null) {
          await settler.before(entry, AbortSignal.timeout(Math.max(1, entry.deadline - this.now())), body)
        }
        // the id goes to the scheme, which writes it on the rows it signs: a settle finds this payment's, no other's
        result = await exec({ ...body, id })
      } catch (err) {
        const error = errorOf(err)
        // ABORTED: the node is stopping mid-operation; the entry is settled after the restart
        const refused = { state: 'failed' as const, reason: error.message, error }
        // a settler that does not settle this operation (undefined) leaves it to the error, as no settler would;
        // one that fails to look leaves the entry pending for the next tick
        const settled =
          error.code === ErrorCode.ABORTED
            ? undefined
            : settler?.settle != null
              ? await settler.settle({ ...entry, error }, { ...this.context(), answering: true }).then(
                  s => s ?? refused,
                  () => undefined
                )
              : refused
        await this.finish(id, settled ?? { state: 'pending', reason: `after ${error.code}: ${error.message}`, error })
        const after = this.t.get(id)!
        // refused with nothing moved, and no id to answer a retry with: nothing to keep (bad input changes no state)
        if (!named && (after.state === 'failed' || after.state === 'expired') && after.result === undefined)
          await this.store.apply(() => this.t.delete(id))
        // still pending (the scheme goes on with it): the caller gets the operation's error, as it would have
        if (after.state === 'pending')
          throw new P2payError(
            error.code,
            error.message,
            named ? { ...error.details, payment: paymentView(after) } : error.details
          )
        return outcomeOf(after, named)
      }
      const settled = settler?.answered?.(entry, result) ?? { state: 'succeeded' as const }
      await this.finish(id, { ...settled, result: settled.result ?? result })
      return named ? outcomeOf(this.t.get(id)!, named) : result
    } finally {
      this.inFlight.delete(id)
    }
  }

  /**
   * Settles the pending entries no operation of this process runs: after a
   * crash or a stop, or left pending by their scheme's work under way. Past
   * its deadline an entry the scheme cannot settle expires.
   */
  async settleDue(signal?: AbortSignal): Promise<number> {
    let n = 0
    if (this.now() - this.lastPurge >= PURGE_EVERY_MS) {
      this.lastPurge = this.now()
      const forget = this.now() - KEEP_FINAL_MS
      const old = [...this.t.values()].filter(e => e.state !== 'pending' && e.updated < forget)
      if (old.length > 0) await this.store.apply(() => old.forEach(e => this.t.delete(e.id)))
    }
    for (const id of [...this.pending]) {
      if (signal?.aborted === true) break
      const e = this.t.get(id)
      if (e == null || e.state !== 'pending') {
        this.pending.delete(id)
        continue
      }
      if (this.inFlight.has(e.id)) continue
      const now = this.now()
      const settler = this.settlers.get(e.scheme)
      const ctx = this.context()
      let s: Settlement | undefined
      try {
        s = settler?.settle != null ? await settler.settle(e, ctx) : undefined
        if ((s == null || s.state === 'pending') && now >= e.deadline) {
          s = (settler?.expire != null ? await settler.expire(e, ctx) : undefined) ?? expiredUnknown(e)
        }
      } catch (err) {
        this.log?.warn('payment settle failed; retried next tick', { id: e.id, err: asError(err).message })
        continue
      }
      if (s == null || this.t.get(e.id)?.state !== 'pending') continue
      await this.finish(e.id, s)
      if (s.state !== 'pending') n++
    }
    return n
  }

  private context(): SettleContext {
    return { now: this.now(), entries: () => this.t.values() }
  }

  private async finish(id: string, s: Settlement): Promise<void> {
    const e = this.t.get(id)
    if (e == null) return
    // a tick that learnt nothing new writes nothing
    if (s.state === e.state && s.reason === e.reason && s.result === undefined && s.error === undefined) return
    const next: PaymentEntry = {
      ...e,
      state: s.state,
      updated: this.now(),
      ...(s.reason != null ? { reason: s.reason } : {}),
      ...(s.error != null ? { error: s.error } : {}),
      ...(s.result !== undefined ? { result: s.result } : {})
    }
    if (s.state === 'succeeded') delete next.error
    await this.store.apply(() => this.t.set(id, next))
    if (s.state !== 'pending') this.pending.delete(id)
    if (FINAL_STATES.has(s.state)) this.log?.info('payment settled', { id, state: s.state, reason: s.reason })
  }
}

/** A pending entry of a scheme that keeps no record of the operation: it ends, saying what is known. */
function expiredUnknown(e: PaymentEntry): Settlement {
  return {
    state: 'failed',
    reason:
      `interrupted by a stop or crash before ${e.scheme} ${e.op} answered; no ${e.scheme} record links it to ` +
      'this payment, so nothing of it is counted as paid',
    error: e.error ?? { code: ErrorCode.ABORTED, message: 'the operation was interrupted' }
  }
}

/** What a retry of an id gets: the stored answer, the stored error, or the state of a payment under way. */
export function outcomeOf(e: PaymentEntry, show = true): unknown {
  const payment = paymentView(e)
  if (e.state === 'succeeded') {
    const r = e.result
    if (!show) return r
    return r != null && typeof r === 'object' && !Array.isArray(r) ? { ...r, payment } : { result: r, payment }
  }
  if (e.state === 'pending') return show ? { ...(e.result as object | undefined), payment } : (e.result ?? { payment })
  const err = e.error ?? { code: ErrorCode.INTERNAL, message: e.reason ?? e.state }
  throw new P2payError(err.code, err.message, show ? { ...err.details, payment } : err.details)
}

export const isFinal = (s: PaymentState): boolean => FINAL_STATES.has(s)
