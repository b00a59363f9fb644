// Calls to other Karma nodes: one pipelined RpcClient per peer, and calls to
// this node itself (it is often in the bank-sets it computes) served by the
// same handlers without a network hop.
import { peerIdFromString } from '@libp2p/peer-id'
import { ErrorCode, P2payError, RpcClient, asError, type DaemonContext, type RpcHandler } from '@p2pay/core'
import { KARMA_PROTOCOL } from './protocols.ts'

/** libp2p's words for a connection that was closing when a stream was opened on it */
const CLOSING = /muxer is "clos(ed|ing)"|connection is (closed|closing)/i

export class Peers {
  private readonly ctx: DaemonContext
  private readonly handlers: Record<string, RpcHandler>
  private readonly timeoutMs: number
  private readonly clients = new Map<string, RpcClient>()

  constructor(ctx: DaemonContext, handlers: Record<string, RpcHandler>, timeoutMs: number) {
    this.ctx = ctx
    this.handlers = handlers
    this.timeoutMs = timeoutMs
  }

  get self(): string {
    return this.ctx.libp2p.peerId.toString()
  }

  async call<T = any>(peer: string, op: string, args: unknown, kind: string, timeoutMs = this.timeoutMs): Promise<T> {
    if (peer === this.self) return await this.local<T>(op, args, kind)
    const c = this.client(peer)
    try {
      return await c.call<T>(op, args, { kind, timeoutMs })
    } catch (err) {
      // the pipelined stream broke under the call, or the stream was opened on a connection that was closing (libp2p
      // picked it before it saw it go): once more, on a new stream; every Karma op is idempotent (a repeated debit,
      // notice or join returns what the first did)
      if (!(err instanceof P2payError && err.code === ErrorCode.UNREACHABLE)) throw err
      const closing = CLOSING.test(err.message)
      if (!closing && !err.message.startsWith('stream to ')) throw err
      if (closing) await this.dropConnections(peer)
      return await c.call<T>(op, args, { kind, timeoutMs })
    }
  }

  /** A one-way message: handed to the stream (or run here, for this node itself); no answer comes back. */
  async send(peer: string, op: string, args: unknown, kind: string): Promise<void> {
    if (peer === this.self) {
      await this.local(op, args, kind)
      return
    }
    await this.client(peer).send(op, args, { kind, timeoutMs: this.timeoutMs })
  }

  /**
   * libp2p keeps a connection whose muxer closed (the remote sent GoAway) in
   * its list until the socket closes, and keeps opening streams on it: close
   * this peer's connections so the next call dials afresh.
   */
  private async dropConnections(peer: string): Promise<void> {
    await Promise.all(
      this.ctx.libp2p.getConnections(peerIdFromString(peer)).map(async conn => {
        try {
          await conn.close({ signal: AbortSignal.timeout(1000) })
        } catch (err) {
          conn.abort(asError(err))
        }
      })
    )
  }

  private async local<T>(op: string, args: unknown, kind: string): Promise<T> {
    const h = this.handlers[op]
    if (h == null) throw new P2payError(ErrorCode.UNKNOWN_OP, `unknown op ${op}`)
    return (await h(args, { remotePeer: this.self, kind })) as T
  }

  private client(peer: string): RpcClient {
    let c = this.clients.get(peer)
    if (c == null) {
      c = new RpcClient(this.ctx.libp2p, peerIdFromString(peer), KARMA_PROTOCOL, { metrics: this.ctx.metrics })
      this.clients.set(peer, c)
    }
    return c
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map(async c => await c.close().catch(() => {})))
    this.clients.clear()
  }
}
