// Calls to other Karma nodes: one pipelined RpcClient per peer, and calls to
// this node itself (it is often in the bank-sets it computes) served by the
// same handlers without a network hop.
import { peerIdFromString } from '@libp2p/peer-id'
import { ErrorCode, P2payError, RpcClient, type DaemonContext, type RpcHandler } from '@p2pay/core'
import { KARMA_PROTOCOL } from './protocols.ts'

export class Peers {
  private readonly ctx: DaemonContext
  private readonly handlers: Record<string, RpcHandler>
  private readonly timeoutMs: number
  private readonly clients = new Map<string, RpcClient>()

  constructor (ctx: DaemonContext, handlers: Record<string, RpcHandler>, timeoutMs: number) {
    this.ctx = ctx
    this.handlers = handlers
    this.timeoutMs = timeoutMs
  }

  get self (): string { return this.ctx.libp2p.peerId.toString() }

  async call<T = any> (peer: string, op: string, args: unknown, kind: string, timeoutMs = this.timeoutMs): Promise<T> {
    if (peer === this.self) {
      const h = this.handlers[op]
      if (h == null) throw new P2payError(ErrorCode.UNKNOWN_OP, `unknown op ${op}`)
      return await h(args, { remotePeer: peer, kind }) as T
    }
    let c = this.clients.get(peer)
    if (c == null) {
      c = new RpcClient(this.ctx.libp2p, peerIdFromString(peer), KARMA_PROTOCOL, { metrics: this.ctx.metrics })
      this.clients.set(peer, c)
    }
    try {
      return await c.call<T>(op, args, { kind, timeoutMs })
    } catch (err) {
      // the pipelined stream broke under the call (its connection was closed, or replaced by a newer one): once more
      // on a new stream; every Karma op is idempotent (a repeated debit, notice or join returns what the first did)
      if (!(err instanceof P2payError && err.code === ErrorCode.UNREACHABLE && err.message.startsWith('stream to '))) throw err
      return await c.call<T>(op, args, { kind, timeoutMs })
    }
  }

  async close (): Promise<void> {
    await Promise.all([...this.clients.values()].map(async c => await c.close().catch(() => {})))
    this.clients.clear()
  }
}
