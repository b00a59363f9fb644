// The background work of a service (ticks, retries, outboxes, handlers of
// inbound requests, calls out) under one AbortController, as kad-dht's
// reprovider and lodestar's node do it: `stop()` aborts the signal every piece
// of work was given, then waits until none of it runs any more, so that the
// daemon closes LevelDB only after the last write of its services.
import { ErrorCode, P2payError, asError } from '../errors.ts'
import type { Logger } from '../log.ts'

/** How long `stop()` waits for work in flight to settle after the abort before it gives up on it. */
export const STOP_GRACE_MS = 10_000

/** The reason every aborted piece of work sees. */
export const stopping = (): P2payError => new P2payError(ErrorCode.ABORTED, 'stopping')

export class Lifecycle {
  private readonly controller = new AbortController()
  private readonly tasks = new Map<Promise<unknown>, string>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly log?: Logger

  constructor(log?: Logger) {
    this.log = log
  }

  /** Aborted when the service stops: pass it to every wait, retry and call. */
  get signal(): AbortSignal {
    return this.controller.signal
  }

  get stopped(): boolean {
    return this.controller.signal.aborted
  }

  /** Throws ABORTED once the service is stopping. */
  check(): void {
    if (this.stopped) throw stopping()
  }

  /** Counts `p` as work in flight: `stop()` waits for it. */
  track<T>(what: string, p: Promise<T>): Promise<T> {
    this.tasks.set(p, what)
    void p.then(
      () => this.tasks.delete(p),
      () => this.tasks.delete(p)
    )
    return p
  }

  /** Runs `fn` as work in flight; refused with ABORTED once stopping. */
  async run<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.check()
    return await this.track(what, fn(this.signal))
  }

  /** Starts `fn` in the background; a failure is logged (an abort while stopping is not a failure). */
  spawn(what: string, fn: (signal: AbortSignal) => Promise<unknown>): void {
    if (this.stopped) return
    void this.track(what, fn(this.signal)).catch((err: unknown) => {
      if (!this.stopped) this.log?.warn(`${what} failed`, { err: asError(err) })
    })
  }

  /**
   * Runs `fn` every `ms` until stopped, never two runs at once (a run still
   * going when the next is due makes that one skip); the first run after `ms`,
   * or at once with `immediately`.
   */
  every(
    ms: number,
    what: string,
    fn: (signal: AbortSignal) => Promise<void>,
    opts: { immediately?: boolean } = {}
  ): void {
    let running = false
    const tick = (): void => {
      if (running || this.stopped) return
      running = true
      void this.track(what, fn(this.signal))
        .catch((err: unknown) => {
          if (!this.stopped) this.log?.warn(`${what} failed`, { err: asError(err) })
        })
        .finally(() => {
          running = false
        })
    }
    const timer = setInterval(tick, ms)
    timer.unref()
    this.timers.add(timer)
    if (opts.immediately === true) tick()
  }

  /** Runs `fn` once after `ms`, unless stopped first. */
  after(ms: number, what: string, fn: (signal: AbortSignal) => Promise<unknown>): void {
    if (this.stopped) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.spawn(what, fn)
    }, ms)
    timer.unref()
    this.timers.add(timer)
  }

  /** Waits `ms`, or rejects with ABORTED as soon as the service stops. */
  async sleep(ms: number): Promise<void> {
    await sleep(ms, this.signal)
  }

  /** Aborts every piece of work and refuses new work, without waiting (see `stop`). */
  abort(): void {
    if (!this.stopped) this.controller.abort(stopping())
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }

  /**
   * Aborts every piece of work and waits until none runs any more (at most
   * `graceMs`: work that ignores its signal is named in the log and left behind).
   */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.abort()
    const deadline = performance.now() + graceMs
    // work that settles may have started more before it saw the abort: wait until the set is empty
    while (this.tasks.size > 0) {
      const left = deadline - performance.now()
      if (left <= 0) {
        this.log?.warn('work still running after the stop grace', { tasks: [...new Set(this.tasks.values())] })
        return
      }
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.allSettled([...this.tasks.keys()]),
        new Promise(resolve => {
          timer = setTimeout(resolve, left)
        })
      ])
      clearTimeout(timer)
    }
  }

  /** Work in flight now, by name (for logs and tests). */
  running(): string[] {
    return [...this.tasks.values()]
  }
}

/** Waits `ms`, or rejects with the signal's reason (ABORTED when it is a stopping service's) once it aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) throw abortReason(signal)
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(abortReason(signal!))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** The P2payError an aborted signal stands for: its own reason if it is one, else ABORTED. */
export function abortReason(signal: AbortSignal): P2payError {
  return signal.reason instanceof P2payError ? signal.reason : stopping()
}
