// One place that builds a p2pay libp2p node: TCP + Noise + Yamux, identify,
// ping and kad-dht in server mode on the private p2pay prefix; the circuit relay
// transport and DCUtR on every node, and the relay service when asked for.
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { bootstrap } from '@libp2p/bootstrap'
import { dcutr } from '@libp2p/dcutr'
import { relayClient, relayServer, relayedOnly } from './relay.ts'
import type { PrivateKey } from '@libp2p/interface'

export const DHT_PROTOCOL = '/p2pay/kad/1.0.0'
/** exempt from the per-IP inbound limit unless told otherwise: test swarms share 127.0.0.1 */
export const LOOPBACK = '/ip4/127.0.0.0/ipcidr/8'
/** liveness pings per connection (a closed socket is noticed at once; this catches silent ones) */
const PING_INTERVAL_MS = 60_000

export interface NodeOptions {
  privateKey: PrivateKey
  listen: string[]
  announce?: string[]
  bootstrap?: string[]
  /** Multiaddr prefixes exempt from the per-IP inbound rate limit (test swarms share 127.0.0.1). */
  allow?: string[]
  dht?: boolean
  /** serve as a circuit relay v2 for nodes behind NAT */
  relayServer?: boolean
  /** relays to hold a reservation on (multiaddrs ending in /p2p/<id>, or `auto`): this node is behind NAT */
  relays?: string[]
  /**
   * a node that only dials a few peers for a while and serves nothing: TCP, Noise and Yamux without identify, ping,
   * DCUtR, the relay transport or the connection monitor (each costs its peers work on every connection)
   */
  dialOnly?: boolean
}

export async function createP2payNode(opts: NodeOptions): Promise<Libp2p> {
  if (opts.dialOnly === true)
    return await createLibp2p({
      privateKey: opts.privateKey,
      addresses: { listen: opts.listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: 2 * 2 ** 20 } })],
      connectionMonitor: { enabled: false }
    })
  // identify push: protocols a service registers after start (Karma's) reach peers identified before
  const services: Record<string, any> = { identify: identify(), identifyPush: identifyPush(), ping: ping() }
  if (opts.dht !== false) {
    services.dht = kadDHT({ protocol: DHT_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper })
  }
  const relay = relayClient(opts.relays ?? [])
  // a direct connection instead of a relayed one where both sides can punch through (public addresses only)
  services.dcutr = dcutr()
  if (relay.keeper != null) services.relayKeeper = relay.keeper
  if (opts.relayServer === true) services.relay = relayServer()
  const node = await createLibp2p({
    privateKey: opts.privateKey,
    addresses: {
      listen: [...opts.listen, ...relay.listen],
      ...(opts.announce != null && opts.announce.length > 0
        ? { announce: opts.announce }
        : relay.natted
          ? { announceFilter: relayedOnly }
          : {})
    },
    transports: [tcp(), relay.transport],
    connectionEncrypters: [noise()],
    // a 2 MiB window keeps a slow reader under the 4 MiB read buffer (see docs)
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: 2 * 2 ** 20 } })],
    connectionManager: { allow: opts.allow ?? [LOOPBACK] },
    // every connection is pinged on a new stream, and a ping that times out aborts the connection: every 10 s (the
    // default) cost a 16-node swarm on 2 cores a tenth of its CPU, and under load aborted healthy connections
    connectionMonitor: { pingInterval: PING_INTERVAL_MS },
    peerDiscovery: opts.bootstrap != null && opts.bootstrap.length > 0 ? [bootstrap({ list: opts.bootstrap })] : [],
    services
  })
  forgetStrangers(node)
  return node
}

/**
 * A peer that never ran identify (no agent version) and carries no tag is dropped from the peer store when it
 * disconnects: a WhoPay holder calls from a fresh dial-only identity per transaction, and each would otherwise stay
 * in memory for good. A real peer that left before identify finished is learnt again on its next connection.
 */
function forgetStrangers(node: Libp2p): void {
  node.addEventListener('peer:disconnect', evt => {
    const id = evt.detail
    void node.peerStore
      .get(id)
      .then(async peer => {
        if (peer.metadata.has('AgentVersion') || peer.tags.size > 0 || node.getConnections(id).length > 0) return
        await node.peerStore.delete(id)
      })
      .catch(() => {})
  })
}
