// A holder's fresh identity. A node acting with a coin it did not buy talks to
// the coin's owner, the payee and the broker through a libp2p node of its own
// with a freshly generated Ed25519 key, one per coin transaction: it listens
// nowhere, runs no DHT and no other service (no identify: the peers it calls
// need nothing from it but the calls, and identify costs both sides work on
// every connection), and is stopped when the transaction ends, so the holder's
// long-term peer id never reaches those parties in that role. Where the peers
// listen comes with the call: a payee's address from the caller, an owner's
// from the delivery of the coin (its payer sends it). Only when nothing is known
// is it looked up by the daemon's own node (its peer store, else one DHT
// findPeer, which the peers near the sought one see made by the long-term id);
// only the fresh node connects to them.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import {
  ErrorCode,
  P2payError,
  RpcClient,
  asError,
  createP2payNode,
  dialAddrs,
  type CallOptions,
  type Counters,
  type Party
} from '@p2pay/core'

/** how long finding where a peer listens may take (peer store, then one DHT lookup) */
const FIND_TIMEOUT_MS = 5_000
/** how long stopping the fresh node may take before the transaction ends anyway */
const STOP_TIMEOUT_MS = 5_000

/** The daemon's own node, only to find where peers listen (it never dials them for a holder). */
export type AddressBook = Pick<Libp2p, 'peerStore' | 'peerRouting' | 'services'>

/** A transaction's fresh identity: calls to peers, each on its own stream from the fresh node. */
export interface AnonNode {
  /** the fresh peer id the peers see */
  readonly peerId: string
  call<T = unknown>(to: Party, protocol: string, op: string, args: unknown, opts?: CallOptions): Promise<T>
}

export interface FreshIdentityOptions {
  /** the daemon's node: where the peers listen is looked up through it */
  book: AddressBook
  /** the daemon's counters: a holder's messages count like any other */
  metrics?: Counters
  /** aborts the calls (the service stopping) */
  signal?: AbortSignal
}

/**
 * Runs `fn` with a fresh libp2p node under a freshly generated key, and stops
 * the node when `fn` ends, also on an error or an abort.
 */
export async function withFreshIdentity<T>(opts: FreshIdentityOptions, fn: (anon: AnonNode) => Promise<T>): Promise<T> {
  const privateKey = await generateKeyPair('Ed25519')
  let node: Libp2p
  try {
    node = await createP2payNode({ privateKey, listen: [], dht: false, dialOnly: true })
  } catch (err) {
    throw new P2payError(ErrorCode.INTERNAL, `cannot start a fresh identity: ${asError(err).message}`)
  }
  const clients = new Map<string, RpcClient>()
  const anon: AnonNode = {
    peerId: node.peerId.toString(),
    call: async <R>(to: Party, protocol: string, op: string, args: unknown, o: CallOptions = {}): Promise<R> => {
      const key = `${to.id}|${protocol}`
      let c = clients.get(key)
      if (c == null) {
        await learn(node, opts, to)
        c = new RpcClient(node, peerIdFromString(to.id), protocol, { metrics: opts.metrics })
        clients.set(key, c)
      }
      return await c.call<R>(op, args, { ...o, signal: o.signal ?? opts.signal })
    }
  }
  try {
    return await fn(anon)
  } finally {
    await Promise.allSettled([...clients.values()].map(async c => await c.close()))
    await Promise.race([node.stop(), new Promise(resolve => setTimeout(resolve, STOP_TIMEOUT_MS).unref())]).catch(
      () => {}
    )
  }
}

/** Gives the fresh node the addresses of `to`: the party's own, else what the daemon's node knows or finds. */
async function learn(node: Libp2p, opts: FreshIdentityOptions, to: Party): Promise<void> {
  const addrs: Multiaddr[] = dialAddrs(to).map(a => multiaddr(a))
  if (addrs.length === 0) addrs.push(...(await addressesOf(opts, to.id)))
  if (addrs.length === 0) throw new P2payError(ErrorCode.UNREACHABLE, `no address known for ${to.id}`)
  await node.peerStore.merge(peerIdFromString(to.id), { multiaddrs: addrs })
}

/**
 * Where `peer` listens, as the daemon's node knows it (connections, peer store), else by one DHT lookup: used only
 * when the call brings no address, since the lookup is made under the long-term id.
 */
export async function addressesOf(opts: FreshIdentityOptions, peer: string): Promise<Multiaddr[]> {
  const id = peerIdFromString(peer)
  const book = opts.book
  // an inbound connection's remote address is no place to dial: only the peer store's and the DHT's
  const known = await book.peerStore.get(id).then(
    p => p.addresses.map(a => a.multiaddr),
    () => []
  )
  if (known.length > 0) return known
  if ((book.services as { dht?: unknown }).dht == null) return []
  const limit = AbortSignal.any([AbortSignal.timeout(FIND_TIMEOUT_MS), ...(opts.signal != null ? [opts.signal] : [])])
  try {
    const found = await book.peerRouting.findPeer(id, { signal: limit })
    return found.multiaddrs
  } catch {
    return []
  }
}
