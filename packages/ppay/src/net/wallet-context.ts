// What the parts of the wallet service share: the pure Wallet over its tables,
// the store, the clients to the broker, payees and owners (all under the
// service's lifecycle), and the settings.
import { peerIdFromString } from '@libp2p/peer-id'
import {
  ClientPool,
  ErrorCode,
  P2payError,
  type BaseComponents,
  type Lifecycle,
  type Logger,
  type Party,
  type Store
} from '@p2pay/core'
import type { Wallet } from '../core/wallet.ts'
import type { PPayKind } from '../kinds.ts'

export interface WalletInit {
  maxLayers: number
  /** how long to wait for an owner before taking the broker's downtime path */
  ownerTimeoutMs: number
  /** how often queued deliveries and purchases are retried */
  retryIntervalMs: number
  now?: () => number
}

export interface WalletComponents extends BaseComponents<PPayKind> {
  /** the broker this node buys coins from and cashes them at */
  broker: Party
}

export interface WalletContext {
  wallet: Wallet
  store: Store
  c: WalletComponents
  log: Logger
  life: Lifecycle
  init: WalletInit
  /** node -> broker */
  broker: ClientPool<PPayKind>
  /** payer/owner -> payee */
  payees: ClientPool<PPayKind>
  /** holder -> owner */
  owners: ClientPool<PPayKind>
}

/**
 * Runs a call; if the peer is unreachable at the addresses we know (it may
 * have restarted on another port), asks the DHT for fresh ones and tries once more.
 */
export async function withLookup<T>(w: WalletContext, peer: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    const network = w.c.network
    if (!(err instanceof P2payError && err.code === ErrorCode.UNREACHABLE) || network.services.dht == null) throw err
    try {
      const found = await network.peerRouting.findPeer(peerIdFromString(peer), {
        signal: AbortSignal.any([w.life.signal, AbortSignal.timeout(w.init.ownerTimeoutMs)])
      })
      await network.peerStore.patch(found.id, { multiaddrs: found.multiaddrs })
    } catch {
      throw err
    }
    return await call()
  }
}

/** The addresses this node is connected to a peer on (passed along so an owner can reach the payee). */
export function addrsOf(w: WalletContext, peer: string): string[] {
  return w.c.network.getConnections(peerIdFromString(peer)).map(c => c.remoteAddr.toString())
}

/** Calls the broker's PPay protocol. */
export async function callBroker<T>(
  w: WalletContext,
  op: string,
  args: unknown,
  kind: PPayKind,
  timeoutMs?: number
): Promise<T> {
  return await w.broker.call<T>(w.c.broker, op, args, { kind, timeoutMs })
}
