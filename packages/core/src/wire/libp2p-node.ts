// One place that builds a p2pay libp2p node: TCP + Noise + Yamux, identify,
// ping and kad-dht in server mode on the private p2pay prefix.
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { bootstrap } from '@libp2p/bootstrap'
import type { PrivateKey } from '@libp2p/interface'

export const DHT_PROTOCOL = '/p2pay/kad/1.0.0'
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
}

export async function createP2payNode(opts: NodeOptions): Promise<Libp2p> {
  // identify push: protocols a service registers after start (Karma's) reach peers identified before
  const services: Record<string, any> = { identify: identify(), identifyPush: identifyPush(), ping: ping() }
  if (opts.dht !== false) {
    services.dht = kadDHT({ protocol: DHT_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper })
  }
  return createLibp2p({
    privateKey: opts.privateKey,
    addresses: {
      listen: opts.listen,
      ...(opts.announce != null && opts.announce.length > 0 ? { announce: opts.announce } : {})
    },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    // a 2 MiB window keeps a slow reader under the 4 MiB read buffer (see docs)
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: 2 * 2 ** 20 } })],
    connectionManager: { allow: opts.allow ?? ['/ip4/127.0.0.0/ipcidr/8'] },
    // every connection is pinged on a new stream, and a ping that times out aborts the connection: every 10 s (the
    // default) cost a 16-node swarm on 2 cores a tenth of its CPU, and under load aborted healthy connections
    connectionMonitor: { pingInterval: PING_INTERVAL_MS },
    peerDiscovery: opts.bootstrap != null && opts.bootstrap.length > 0 ? [bootstrap({ list: opts.bootstrap })] : [],
    services
  })
}
