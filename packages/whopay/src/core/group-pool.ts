// BBS04 off the event loop: a small pool of worker threads (group-worker.ts) behind an async interface, bytes in and
// bytes out, so a daemon keeps answering while it signs, verifies and opens. Jobs wait in one bounded queue and go
// to the first idle worker. A worker that dies fails only the job it had, with a clear error, and is replaced.
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
  /** Ends the workers; calls waiting or running reject with ABORTED, and so does every later call. */
  close(): Promise<void>
}

/** Worker threads of a pool when none is asked for: the machines here have two cores. */
export const DEFAULT_POOL_SIZE = 2
/** Jobs that may wait for a worker; one more is refused BUSY rather than held without bound. */
export const DEFAULT_MAX_QUEUE = 4096
/** Workers in a row that die before answering anything: past it the pool stops replacing them (a broken install). */
const MAX_FAILED_STARTS = 3

const WORKER_URL = new URL('./group-worker.ts', import.meta.url)

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
}

export interface PoolStats {
  size: number
  busy: number
  queued: number
  /** workers replaced after a crash */
  restarts: number
}

export class GroupPool implements GroupCrypto {
  private readonly slots: Slot[] = []
  private readonly queue: Job[] = []
  private readonly maxQueue: number
  private nextId = 1
  private restarts = 0
  private failedStarts = 0
  private closed = false
  private broken?: P2payError

  constructor(size = DEFAULT_POOL_SIZE, opts: { maxQueue?: number } = {}) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError('a group pool needs at least one worker')
    this.maxQueue = opts.maxQueue ?? DEFAULT_MAX_QUEUE
    for (let i = 0; i < size; i++) this.slots.push(this.spawn())
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

  stats(): PoolStats {
    const busy = this.slots.filter(s => s.job != null).length
    return { size: this.slots.length, busy, queued: this.queue.length, restarts: this.restarts }
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
        slot.job?.reject(stopped)
        slot.job = undefined
        await slot.worker.terminate()
      })
    )
  }

  private async run(op: GroupOp, args: Uint8Array[]): Promise<Uint8Array | boolean> {
    if (this.closed) throw new P2payError(ErrorCode.ABORTED, 'the group crypto pool is closed')
    if (this.broken != null) throw this.broken
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
    for (const slot of this.slots) {
      if (this.queue.length === 0) return
      if (slot.job != null) continue
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

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL)
    const slot: Slot = { worker, answered: false }
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
    })
    worker.on('error', err => {
      cause = err
    })
    worker.on('exit', code => {
      if (this.closed) return
      const why = cause != null ? `: ${cause.message}` : ''
      const err = new P2payError(ErrorCode.INTERNAL, `the group crypto worker died (exit code ${code})${why}`)
      slot.job?.reject(err)
      slot.job = undefined
      if (!slot.answered && ++this.failedStarts >= MAX_FAILED_STARTS) return this.breakDown(err)
      this.restarts++
      this.slots[this.slots.indexOf(slot)] = this.spawn()
      this.dispatch()
    })
    return slot
  }

  /** Workers do not even start: every call from now on fails with the reason, instead of respawning forever. */
  private breakDown(err: P2payError): void {
    this.broken = new P2payError(ErrorCode.INTERNAL, `group crypto unavailable: ${err.message}`)
    for (const job of this.queue.splice(0)) job.reject(this.broken)
  }
}

/** A pool of `size` BBS04 worker threads; a daemon closes it when it stops. */
export function groupPool(size = DEFAULT_POOL_SIZE, opts: { maxQueue?: number } = {}): GroupPool {
  return new GroupPool(size, opts)
}
