// Circuit relay v2 for nodes behind NAT. A public daemon may serve as a relay; a
// daemon behind NAT keeps a connection to the relays it is given, holds a
// reservation on them and announces /p2p-circuit addresses through them, so
// peers that cannot dial it still reach it (and pay it) through a relay.
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2pEvents, PeerId, Startable, TopologyFilter, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/** reservations one relay holds at once; a reservation costs the relay one kept-open connection */
export const MAX_RESERVATIONS = 128
/** a reservation lasts an hour; the client refreshes it before it ends */
const RESERVATION_TTL_MS = 60 * 60_000
/** relayed connections (inbound hop streams) per client connection at once */
const MAX_HOP_STREAMS_PER_CONNECTION = 32
/** relayed connections the relay opens towards its reserved clients at once */
const MAX_STOP_STREAMS = 256
/** first wait before dialling a lost relay again; it doubles up to the cap */
const REDIAL_MIN_MS = 1_000
/** longest wait between dials of a lost relay: a relay back after a restart is found within this */
const REDIAL_MAX_MS = 30_000
/** one dial of a relay */
const DIAL_TIMEOUT_MS = 10_000

/** The word `--relay` takes to reserve on any relay found (the peer store, then the DHT) instead of named ones. */
export const ANY_RELAY = 'auto'

/**
 * The relay service. Relayed connections get no data or time limit: libp2p marks a
 * limited connection so that only protocols that opt in run on it, and p2pay's
 * RPC, DHT and file transfers must run on it whole. What bounds the relay is the
 * number of reservations and of relayed streams.
 */
export function relayServer(): ReturnType<typeof circuitRelayServer> {
  return circuitRelayServer({
    reservations: { maxReservations: MAX_RESERVATIONS, reservationTtl: RESERVATION_TTL_MS, applyDefaultLimit: false },
    maxInboundHopStreams: MAX_HOP_STREAMS_PER_CONNECTION,
    maxOutboundStopStreams: MAX_STOP_STREAMS
  })
}

export interface RelayClient {
  /** the circuit transport (every node has it: it dials /p2p-circuit addresses) */
  transport: ReturnType<typeof circuitRelayTransport>
  /** listen addresses that ask for reservations: one `/p2p-circuit` per relay wanted */
  listen: string[]
  /** keeps the named relays connected (a reservation lives only as long as its connection) */
  keeper?: (components: RelayKeeperComponents) => RelayKeeper
}

/**
 * The circuit transport and, when relays are given, what reserves a slot on them:
 * `relays` are multiaddrs ending in /p2p/<relay id>, or `auto` for any relay.
 */
export function relayClient(relays: string[]): RelayClient {
  const named = relays.filter(r => r !== ANY_RELAY).map(r => multiaddr(r))
  const ids = new Set(named.map(ma => relayPeer(ma).toString()))
  const any = relays.includes(ANY_RELAY)
  const wanted = named.length + (any ? 1 : 0)
  return {
    transport: circuitRelayTransport({
      maxInboundStopStreams: MAX_STOP_STREAMS,
      reservationCompletionTimeout: DIAL_TIMEOUT_MS,
      // with named relays only, a reservation is made on those and no other hop peer met on the way
      ...(any || ids.size === 0 ? {} : { discoveryFilter: onlyPeers(ids) })
    }),
    // plain /p2p-circuit rather than <relay>/p2p-circuit: a reservation lost with its relay is then sought again
    // when the relay is back, and a relay down at start does not stop the daemon from starting
    listen: Array.from({ length: wanted }, () => '/p2p-circuit'),
    ...(named.length > 0 ? { keeper: c => new RelayKeeper(c, named) } : {})
  }
}

/**
 * What a node behind NAT announces: its relayed addresses only. Its LAN addresses
 * mean nothing (or another host) elsewhere, and a dialler tries a peer's addresses
 * one after another, each for up to 6 s, so one that goes nowhere delays the relay.
 */
export function relayedOnly(addrs: Multiaddr[]): Multiaddr[] {
  return addrs.filter(a => a.getComponents().some(c => c.name === 'p2p-circuit'))
}

/** The relay's peer id: the last /p2p/ of its address. */
function relayPeer(ma: Multiaddr): PeerId {
  const id = ma.getComponents().findLast(c => c.name === 'p2p')?.value
  if (id == null) throw new TypeError(`a relay must be a multiaddr ending in /p2p/<peer id>, got ${ma.toString()}`)
  return peerIdFromString(id)
}

/**
 * A topology filter that passes only the given peers, once per connection (the
 * registrar adds a peer on connect and removes it on disconnect).
 */
function onlyPeers(ids: ReadonlySet<string>): TopologyFilter {
  const seen = new Set<string>()
  return {
    has: p => !ids.has(p.toString()) || seen.has(p.toString()),
    add: p => void seen.add(p.toString()),
    remove: p => void seen.delete(p.toString())
  }
}

export interface RelayKeeperComponents {
  connectionManager: Pick<ConnectionManager, 'openConnection' | 'getConnections'>
  events: TypedEventTarget<Libp2pEvents>
}

/**
 * Dials the named relays after start and again, with a growing wait, whenever the
 * connection to one is lost, until the node stops. The circuit transport then
 * reserves on each relay as it connects.
 */
export class RelayKeeper implements Startable {
  private readonly c: RelayKeeperComponents
  private readonly relays: Array<{ addr: Multiaddr; id: PeerId }>
  private ctl = new AbortController()
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>()

  constructor(components: RelayKeeperComponents, relays: Multiaddr[]) {
    this.c = components
    this.relays = relays.map(addr => ({ addr, id: relayPeer(addr) }))
  }

  start(): void {
    this.ctl = new AbortController()
    this.c.events.addEventListener('peer:disconnect', this.onDisconnect)
  }

  afterStart(): void {
    for (const r of this.relays) this.schedule(r, 0, REDIAL_MIN_MS)
  }

  stop(): void {
    this.ctl.abort()
    this.c.events.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const r = this.relays.find(x => x.id.equals(evt.detail))
    if (r != null) this.schedule(r, REDIAL_MIN_MS, REDIAL_MIN_MS)
  }

  /** one pending dial per relay: a disconnect during a wait does not add a second */
  private schedule(r: { addr: Multiaddr; id: PeerId }, waitMs: number, nextMs: number): void {
    const key = r.id.toString()
    if (this.ctl.signal.aborted || this.timers.has(key)) return
    const t = setTimeout(() => {
      this.timers.delete(key)
      if (this.ctl.signal.aborted || this.c.connectionManager.getConnections(r.id).length > 0) return
      const signal = AbortSignal.any([this.ctl.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)])
      this.c.connectionManager.openConnection(r.addr, { signal }).catch(() => {
        this.schedule(r, nextMs, Math.min(nextMs * 2, REDIAL_MAX_MS))
      })
    }, waitMs)
    t.unref()
    this.timers.set(key, t)
  }
}
