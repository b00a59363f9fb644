// Calls to other Karma nodes, over core's ClientPool (a pipelined client per
// peer, every call under the service's signal; a call whose stream broke is
// made once more, since every Karma op is idempotent: a repeated debit,
// notice or join returns what the first did), and calls to this node itself
// (it is often in the bank-sets it computes), served by the same handlers
// without a network hop.
import { ClientPool, ErrorCode, P2payError, type Counters, type PoolNetwork, type RpcHandler } from '@p2pay/core'
import type { KarmaKind } from '../kinds.ts'
import { KARMA_PROTOCOL } from './protocols.ts'

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

  /** A one-way message: handed to the stream (or run here, for this node itself); no answer comes back. */
  async send(peer: string, op: string, args: unknown, kind: KarmaKind): Promise<void> {
    if (peer === this.self) {
      await this.local(op, args, kind)
      return
    }
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
