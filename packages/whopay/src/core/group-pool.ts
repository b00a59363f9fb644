// BBS04 off the event loop: a small pool of worker threads (group-worker.ts) behind an async interface, bytes in and
// bytes out, so a daemon keeps answering while it signs, verifies and opens. Jobs wait in one bounded queue and go
// to the first idle worker. A worker that dies fails only the job it had, with a clear error, and is replaced.
// Each thread holds its own mcl-wasm (about 30 MiB resident with its isolate), so threads start with the first job
// that finds none idle (at most `size`) and end after a while without work: a daemon that never uses WhoPay starts
// none, and one that used it gives the memory back.
import { Worker } from 'node:worker_threads'
import { ErrorCode, P2payError } from '@p2pay/core'
import type { GroupJob, GroupOp, GroupReply } from './group-worker.ts'

/** BBS04 as a daemon uses it: every call takes and gives encoded keys and signatures. */
export interface GroupCrypto {
  /** A group signature of `msg` by the member key, encoded (BAD_REQUEST for malformed keys). */
  sign(gpk: Uint8Array, memberKey: Uint8Array, msg: Uint8Array): Promise<Uint8Array>
  /** Whether `sig` is a member's signature of `msg`; malformed bytes reject with BAD_REQUEST. */
  verify(gpk: Uint8Array, msg: Uint8Array, sig: Uint8Array): Promise<boolean>
  /** The signer's compressed A; the caller verifies first. BAD_REQUEST if the opener key is not this group's. */
  open(gpk: Uint8Array, openerKey: Uint8Array, sig: Uint8Array): Promise<Uint8Array>
  /**
   * Rejects BAD_REQUEST unless the group's key decodes (every point in its subgroup), is on the standard generators
   * and carries exactly the opener part `part` (h | u | v), whose points are checked too.
   */
  checkGroup(gpk: Uint8Array, part: Uint8Array): Promise<void>
  /** Whether the member key is of the group: e(A, w g2^x) = e(g1, g2). Malformed bytes reject with BAD_REQUEST. */
  checkMember(gpk: Uint8Array, memberKey: Uint8Array): Promise<boolean>
  /** Ends the workers; calls waiting or running reject with ABORTED, and so does every later call. */
  close(): Promise<void>
}

/** Worker threads of a pool when none is asked for: the machines here have two cores. */
export const DEFAULT_POOL_SIZE = 2
/** Jobs that may wait for a worker; one more is refused BUSY rather than held without bound. */
export const DEFAULT_MAX_QUEUE = 4096
/** A worker with no job for this long ends; the next job starts a new one. */
export const DEFAULT_IDLE_MS = 30_000
/**
 * A worker's old generation, MiB: it keeps about 7 MiB live, but mcl's start leaves some 15 MiB of garbage that an
 * idle worker, allocating little, would hold for good under V8's default limit (gigabytes); near this one it is
 * collected.
 */
const WORKER_OLD_SPACE_MIB = 32
/** Workers in a row that die before answering anything: past it the pool stops replacing them (a broken install). */
const MAX_FAILED_STARTS = 3
/** how long a pool whose workers would not start refuses calls before it tries again (memory may have come back) */
const BROKEN_RETRY_MS = 60_000

// a JavaScript first module, which turns the compile cache on in the thread (group-worker-entry.js)
const WORKER_URL = new URL('./group-worker-entry.js', import.meta.url)

interface Job {
  op: GroupOp
  args: Uint8Array[]
  resolve: (v: Uint8Array | boolean) => void
  reject: (e: Error) => void
}

interface Slot {
  worker: Worker
  job?: Job & { id: number }
  /** it answered at least one job: its death is a crash, not a failed start */
  answered: boolean
  /** ends the worker once it has been idle for idleMs */
  idle?: NodeJS.Timeout
  /** ended for idleness: its exit is no crash */
  ended?: boolean
}

export interface PoolStats {
  /** worker threads running now */
  size: number
  /** the most it starts */
  max: number
  busy: number
  queued: number
  /** workers replaced after a crash */
  restarts: number
  /** workers started, and ended after idleMs without a job */
  started: number
  ended: number
}

export interface PoolOptions {
  /** jobs that may wait for a worker */
  maxQueue?: number
  /** how long a worker may stay without a job before it ends */
  idleMs?: number
  /** how long the pool refuses calls after its workers would not start, before it tries again */
  brokenRetryMs?: number
  /** the worker's first module (a test's, to make one that cannot start) */
  workerUrl?: URL
}

export class GroupPool implements GroupCrypto {
  private readonly slots: Slot[] = []
  private readonly queue: Job[] = []
  private readonly maxQueue: number
  private readonly size: number
  private readonly idleMs: number
  private nextId = 1
  private restarts = 0
  private started = 0
  private ended = 0
  private failedStarts = 0
  private closed = false
  private broken?: P2payError
  private brokenUntil = 0
  private readonly brokenRetryMs: number
  private readonly workerUrl: URL

  constructor(size = DEFAULT_POOL_SIZE, opts: PoolOptions = {}) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError('a group pool needs at least one worker')
    this.size = size
    this.maxQueue = opts.maxQueue ?? DEFAULT_MAX_QUEUE
    this.idleMs = opts.idleMs ?? DEFAULT_IDLE_MS
    this.brokenRetryMs = opts.brokenRetryMs ?? BROKEN_RETRY_MS
    this.workerUrl = opts.workerUrl ?? WORKER_URL
  }

  async sign(gpk: Uint8Array, memberKey: Uint8Array, msg: Uint8Array): Promise<Uint8Array> {
    return (await this.run('sign', [gpk, memberKey, msg])) as Uint8Array
  }

  async verify(gpk: Uint8Array, msg: Uint8Array, sig: Uint8Array): Promise<boolean> {
    return (await this.run('verify', [gpk, msg, sig])) as boolean
  }

  async open(gpk: Uint8Array, openerKey: Uint8Array, sig: Uint8Array): Promise<Uint8Array> {
    return (await this.run('open', [gpk, openerKey, sig])) as Uint8Array
  }

  async checkGroup(gpk: Uint8Array, part: Uint8Array): Promise<void> {
    await this.run('check-group', [gpk, part])
  }

  async checkMember(gpk: Uint8Array, memberKey: Uint8Array): Promise<boolean> {
    return (await this.run('check-member', [gpk, memberKey])) as boolean
  }

  stats(): PoolStats {
    const busy = this.slots.filter(s => s.job != null).length
    return {
      size: this.slots.length,
      max: this.size,
      busy,
      queued: this.queue.length,
      restarts: this.restarts,
      started: this.started,
      ended: this.ended
    }
  }

  /** The worker threads now (one is replaced when it dies): for health checks and tests. */
  threads(): Worker[] {
    return this.slots.map(s => s.worker)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const stopped = new P2payError(ErrorCode.ABORTED, 'the group crypto pool is closed')
    for (const job of this.queue.splice(0)) job.reject(stopped)
    await Promise.all(
      this.slots.map(async slot => {
        clearTimeout(slot.idle)
        slot.job?.reject(stopped)
        slot.job = undefined
        await slot.worker.terminate()
      })
    )
  }

  private async run(op: GroupOp, args: Uint8Array[]): Promise<Uint8Array | boolean> {
    if (this.closed) throw new P2payError(ErrorCode.ABORTED, 'the group crypto pool is closed')
    if (this.broken != null) {
      if (performance.now() < this.brokenUntil) throw this.broken
      this.broken = undefined
      this.failedStarts = 0
    }
    for (const a of args)
      if (!(a instanceof Uint8Array)) throw new P2payError(ErrorCode.BAD_REQUEST, `group ${op}: arguments are bytes`)
    if (this.queue.length >= this.maxQueue)
      throw new P2payError(ErrorCode.BUSY, `${this.queue.length} group crypto jobs waiting: retry later`)
    // copies the worker owns: the caller's bytes may be views into a larger buffer it keeps using (a Buffer's
    // slice() is only a view of its pool, whose buffer must not move to a worker)
    const own = args.map(a => new Uint8Array(a))
    return await new Promise((resolve, reject) => {
      this.queue.push({ op, args: own, resolve, reject })
      this.dispatch()
    })
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find(s => s.job == null)
      if (slot == null) {
        if (this.slots.length >= this.size) return
        this.slots.push((slot = this.spawn()))
      }
      clearTimeout(slot.idle)
      const job = { ...this.queue.shift()!, id: this.nextId++ }
      slot.job = job
      slot.worker.ref()
      const msg: GroupJob = { id: job.id, op: job.op, args: job.args }
      slot.worker.postMessage(
        msg,
        job.args.map(a => a.buffer as ArrayBuffer)
      )
    }
  }

  /** A worker left without a job ends after idleMs, unless a job comes first. */
  private idleLater(slot: Slot): void {
    if (slot.job != null || this.closed) return
    clearTimeout(slot.idle)
    slot.idle = setTimeout(() => {
      if (slot.job != null || this.closed || !this.slots.includes(slot)) return
      slot.ended = true
      this.slots.splice(this.slots.indexOf(slot), 1)
      this.ended++
      void slot.worker.terminate()
    }, this.idleMs)
    slot.idle.unref()
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerUrl, { resourceLimits: { maxOldGenerationSizeMb: WORKER_OLD_SPACE_MIB } })
    const slot: Slot = { worker, answered: false }
    this.started++
    // an idle pool keeps no process alive: a worker holds the loop only while it has a job
    worker.unref()
    let cause: Error | undefined
    worker.on('message', (reply: GroupReply) => {
      const job = slot.job
      if (job == null || reply.id !== job.id) return
      slot.job = undefined
      slot.answered = true
      this.failedStarts = 0
      worker.unref()
      if (reply.ok) job.resolve(reply.result)
      else job.reject(new P2payError(reply.error.code, reply.error.message))
      this.dispatch()
      this.idleLater(slot)
    })
    worker.on('error', err => {
      cause = err
    })
    worker.on('exit', code => {
      if (this.closed || slot.ended === true) return
      clearTimeout(slot.idle)
      const why = cause != null ? `: ${cause.message}` : ''
      const err = new P2payError(ErrorCode.INTERNAL, `the group crypto worker died (exit code ${code})${why}`)
      slot.job?.reject(err)
      slot.job = undefined
      const at = this.slots.indexOf(slot)
      if (!slot.answered && ++this.failedStarts >= MAX_FAILED_STARTS) {
        if (at >= 0) this.slots.splice(at, 1)
        return this.breakDown(err)
      }
      this.restarts++
      const next = this.spawn()
      if (at >= 0) this.slots[at] = next
      else this.slots.push(next)
      this.dispatch()
      this.idleLater(next)
    })
    return slot
  }

  /** Workers do not even start: calls fail with the reason for a while, instead of respawning in a loop. */
  private breakDown(err: P2payError): void {
    this.broken = new P2payError(ErrorCode.INTERNAL, `group crypto unavailable: ${err.message}`)
    this.brokenUntil = performance.now() + this.brokenRetryMs
    for (const job of this.queue.splice(0)) job.reject(this.broken)
  }
}

/** A pool of up to `size` BBS04 worker threads, started on demand; a daemon closes it when it stops. */
export function groupPool(size = DEFAULT_POOL_SIZE, opts: PoolOptions = {}): GroupPool {
  return new GroupPool(size, opts)
}
