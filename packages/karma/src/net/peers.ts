// Calls to other Karma nodes, over core's ClientPool (a pipelined client per
// peer, every call under the service's signal; a call whose stream broke is
// made once more, since every Karma op is idempotent: a repeated debit,
// notice or join returns what the first did), and calls to this node itself
// (it is often in the bank-sets it computes), served by the same handlers
// without a network hop.
import { ClientPool, ErrorCode, P2payError, type Counters, type PoolNetwork, type RpcHandler } from '@p2pay/core'
import type { KarmaKind } from '../kinds.ts'
import { BATCHABLE_OPS, KARMA_PROTOCOL, MAX_BATCH, type BatchableOp } from './protocols.ts'

interface Queued {
  items: unknown[]
  done: PromiseWithResolvers<void>
}

export interface PeersOptions {
  /** this node's peer id */
  self: string
  /** the handlers this node serves: a call to itself runs them here */
  handlers: Readonly<Record<string, RpcHandler>>
  /** the limit of one call to one peer */
  timeoutMs: number
  metrics?: Counters<KarmaKind>
  /** the service's lifecycle signal: every call ends with ABORTED once it aborts */
  signal: AbortSignal
}

export class Peers {
  readonly self: string
  private readonly pool: ClientPool<KarmaKind>
  private readonly handlers: Readonly<Record<string, RpcHandler>>
  private readonly signal: AbortSignal
  /** posts waiting for the end of this turn, by peer, op and kind */
  private readonly queued = new Map<string, Queued>()
  /** one-way messages posted, and the frames they went out in */
  readonly stats = { messages: 0, frames: 0 }

  constructor(network: PoolNetwork, opts: PeersOptions) {
    this.self = opts.self
    this.handlers = opts.handlers
    this.signal = opts.signal
    this.pool = new ClientPool<KarmaKind>(network, {
      protocol: KARMA_PROTOCOL,
      metrics: opts.metrics,
      defaultTimeoutMs: opts.timeoutMs,
      signal: opts.signal,
      retryBrokenStream: true
    })
  }

  async call<T = any>(peer: string, op: string, args: unknown, kind: KarmaKind, timeoutMs?: number): Promise<T> {
    if (peer === this.self) return await this.local<T>(op, args, kind)
    return await this.pool.call<T>(peer, op, args, { kind, timeoutMs })
  }

  /**
   * A one-way message of an op that may share a frame (BATCHABLE_OPS): the messages sent to one peer for one op within
   * this turn of the event loop go out as one `many` frame (a lone one as a plain one-way message) at its end. Many
   * debits applied by one synced write send their notices in one turn, so under load each pair of members exchanges
   * fewer, fuller frames, each costing one Noise encryption, one yamux frame and window update and one socket write
   * instead of several. Resolves once the frame is handed to the stream.
   */
  private async post(peer: string, op: BatchableOp, args: unknown, kind: KarmaKind): Promise<void> {
    const key = `${peer}|${op}|${kind}`
    let q = this.queued.get(key)
    if (q == null) {
      const fresh: Queued = { items: [], done: Promise.withResolvers<void>() }
      q = fresh
      this.queued.set(key, fresh)
      setImmediate(() => {
        if (this.queued.get(key) === fresh) this.queued.delete(key)
        fresh.done.resolve(this.flush(peer, op, kind, fresh.items))
      })
    }
    q.items.push(args)
    const done = q.done.promise
    if (q.items.length >= MAX_BATCH) this.queued.delete(key) // full: later posts start a new frame
    return await done
  }

  private async flush(peer: string, op: BatchableOp, kind: KarmaKind, items: unknown[]): Promise<void> {
    this.stats.frames++
    this.stats.messages += items.length
    if (items.length === 1) return await this.pool.send(peer, op, items[0], { kind })
    await this.pool.send(peer, 'many', { op, list: items }, { kind })
  }

  /** A one-way message: handed to the stream (or run here, for this node itself); no answer comes back. */
  async send(peer: string, op: string, args: unknown, kind: KarmaKind): Promise<void> {
    if (peer === this.self) {
      await this.local(op, args, kind)
      return
    }
    if (BATCHABLE_OPS.includes(op)) return await this.post(peer, op as BatchableOp, args, kind)
    await this.pool.send(peer, op, args, { kind })
  }

  private async local<T>(op: string, args: unknown, kind: KarmaKind): Promise<T> {
    const h = Object.hasOwn(this.handlers, op) ? this.handlers[op] : undefined
    if (h == null) throw new P2payError(ErrorCode.UNKNOWN_OP, `unknown op ${op}`)
    return (await h(args, { remotePeer: this.self, kind, signal: this.signal })) as T
  }

  async close(): Promise<void> {
    await this.pool.close()
  }
}
