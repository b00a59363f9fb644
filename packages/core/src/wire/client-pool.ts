// RPC clients to many peers over one protocol, for one service: a client per
// peer (bounded: the least recently used is closed past `maxClients`), every
// call under the service's signal, and the two retries libp2p makes necessary.
//
// - A stream opened on a connection that was already closing (the remote sent
//   GoAway, libp2p has not noticed yet) fails before anything is sent: the
//   peer's connections are closed and the call made once more, always.
// - A stream that breaks under a call may have delivered it: the call is made
//   once more on a new stream only for services whose ops are idempotent
//   (`retryBrokenStream`), where a repeat returns what the first did.
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ErrorCode, P2payError, asError } from '../errors.ts'
import type { Counters } from '../metrics.ts'
import { dialTarget, type Party } from '../party.ts'
import { isPeerId } from '../validate.ts'
import { RpcClient, type CallOptions } from './rpc.ts'

export type PoolNetwork = Pick<Libp2p, 'dialProtocol' | 'getConnections' | 'peerStore'>

export interface ClientPoolOptions {
  protocol: string
  metrics?: Counters
  maxFrame?: number
  defaultTimeoutMs?: number
  /** every call ends with ABORTED once this aborts (the service's lifecycle signal) */
  signal?: AbortSignal
  /** clients kept open at most; the least recently used is closed beyond */
  maxClients?: number
  /** every op is idempotent: a call whose stream broke under it is made once more */
  retryBrokenStream?: boolean
}

const DEFAULT_MAX_CLIENTS = 512

export class ClientPool<K extends string = string> {
  private readonly network: PoolNetwork
  private readonly opts: ClientPoolOptions
  /** insertion order is use order: the first entry is the least recently used */
  private readonly clients = new Map<string, RpcClient<K>>()

  constructor(network: PoolNetwork, opts: ClientPoolOptions) {
    this.network = network
    this.opts = opts
  }

  /** The client for a peer (by id, or a party whose address is dialled). */
  client(to: string | Party): RpcClient<K> {
    const p = typeof to === 'string' ? { id: to } : to
    const key = `${p.id}|${p.addr ?? ''}`
    let c = this.clients.get(key)
    if (c != null) {
      this.clients.delete(key)
      this.clients.set(key, c)
      return c
    }
    c = new RpcClient<K>(this.network, dialTarget(p), this.opts.protocol, {
      metrics: this.opts.metrics,
      maxFrame: this.opts.maxFrame,
      defaultTimeoutMs: this.opts.defaultTimeoutMs
    })
    this.clients.set(key, c)
    if (this.clients.size > (this.opts.maxClients ?? DEFAULT_MAX_CLIENTS)) {
      // the least recently used idle client goes: one with calls in flight keeps its stream until they end
      for (const [oldKey, old] of this.clients) {
        if (old === c || old.busy) continue
        this.clients.delete(oldKey)
        void old.close().catch(() => {})
        break
      }
    }
    return c
  }

  /** Tells the peer store where a peer listens (addresses given by a caller), for the next dial. */
  learn(peer: string, addrs: readonly string[]): void {
    if (addrs.length === 0 || !isPeerId(peer)) return
    const id = peerIdFromString(peer)
    // addresses are hints (some stored in an outbox, some sent by a peer): one that does not parse is dropped
    const multiaddrs = addrs.flatMap(a => {
      try {
        return [multiaddr(a)]
      } catch {
        return []
      }
    })
    void this.network.peerStore.merge(id, { multiaddrs }).catch(() => {})
  }

  async call<T = unknown>(to: string | Party, op: string, args: unknown, options: CallOptions<K> = {}): Promise<T> {
    const opts = { ...options, signal: options.signal ?? this.opts.signal }
    try {
      return await this.client(to).call<T>(op, args, opts)
    } catch (err) {
      if (!(await this.retryable(to, err))) throw err
      return await this.client(to).call<T>(op, args, opts)
    }
  }

  /** A one-way message: resolves once it is handed to the stream. */
  async send(to: string | Party, op: string, args: unknown, options: CallOptions<K> = {}): Promise<void> {
    const opts = { ...options, signal: options.signal ?? this.opts.signal }
    try {
      await this.client(to).send(op, args, opts)
    } catch (err) {
      if (!(await this.retryable(to, err))) throw err
      await this.client(to).send(op, args, opts)
    }
  }

  /** Whether a failed call is worth one more try, after closing a peer's closing connections. */
  private async retryable(to: string | Party, err: unknown): Promise<boolean> {
    if (!(err instanceof P2payError) || err.code !== ErrorCode.UNREACHABLE) return false
    if (this.opts.signal?.aborted === true) return false
    if (err.details?.stage === 'open' && err.details.closing === true) {
      await this.dropConnections(typeof to === 'string' ? to : to.id)
      return true
    }
    return err.details?.stage === 'stream' && this.opts.retryBrokenStream === true
  }

  /**
   * libp2p keeps a connection whose muxer closed (the remote sent GoAway) in
   * its list until the socket closes, and keeps opening streams on it: close
   * this peer's connections so the next call dials afresh.
   */
  private async dropConnections(peer: string): Promise<void> {
    await Promise.all(
      this.network.getConnections(peerIdFromString(peer)).map(async conn => {
        try {
          await conn.close({ signal: AbortSignal.timeout(1000) })
        } catch (err) {
          conn.abort(asError(err))
        }
      })
    )
  }

  /** Closes every client's stream (a call in flight fails at once instead of waiting for its timeout). */
  async close(): Promise<void> {
    const all = [...this.clients.values()]
    this.clients.clear()
    await Promise.all(all.map(async c => await c.close().catch(() => {})))
  }
}
