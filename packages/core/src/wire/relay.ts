// Circuit relay v2 for nodes behind NAT. A public daemon may serve as a relay; a
// daemon behind NAT keeps a connection to the relays it is given, holds a
// reservation on them and announces /p2p-circuit addresses through them, so
// peers that cannot dial it still reach it (and pay it) through a relay.
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2pEvents, PeerId, Startable, TopologyFilter, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, TransportManager } from '@libp2p/interface-internal'
import { peerIdOfAddr } from '../party.ts'

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
/** wait before asking again a relay that is connected but refused a reservation (full, say) */
const REFUSED_RETRY_MS = 5 * 60_000
/** how often each relay is checked: a reservation lost while its relay stays connected (a failed refresh) */
const CHECK_MS = 5 * 60_000
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
  /** listen addresses that ask for a reservation on any relay found (`auto`) */
  listen: string[]
  /** the node is behind NAT: it announces its relayed addresses only */
  natted: boolean
  /** keeps the named relays connected and a reservation on each */
  keeper?: (components: RelayKeeperComponents) => RelayKeeper
}

/**
 * The circuit transport and, when relays are given, what reserves a slot on them:
 * `relays` are multiaddrs ending in /p2p/<relay id>, or `auto` for any relay.
 */
export function relayClient(relays: string[]): RelayClient {
  const named = relays.filter(r => r !== ANY_RELAY).map(r => multiaddr(r))
  const any = relays.includes(ANY_RELAY)
  return {
    transport: circuitRelayTransport({
      maxInboundStopStreams: MAX_STOP_STREAMS,
      reservationCompletionTimeout: DIAL_TIMEOUT_MS,
      // without `auto`, hop peers met on the way are not reserved on: the named relays are (by the keeper)
      ...(any ? {} : { discoveryFilter: NO_PEER })
    }),
    listen: any ? ['/p2p-circuit'] : [],
    natted: relays.length > 0,
    ...(named.length > 0 ? { keeper: c => new RelayKeeper(c, named) } : {})
  }
}

/**
 * What a node behind NAT announces: its relayed addresses only. Its LAN addresses
 * mean nothing (or another host) elsewhere, and a dialler tries a peer's addresses
 * one after another, each for up to 6 s, so one that goes nowhere delays the relay.
 */
export function relayedOnly(addrs: Multiaddr[]): Multiaddr[] {
  return addrs.filter(isRelayed)
}

const isRelayed = (a: Multiaddr): boolean => a.getComponents().some(c => c.name === 'p2p-circuit')

/** A topology filter that lets no peer through (the registrar skips a peer the filter `has`). */
const NO_PEER: TopologyFilter = { has: () => true, add: () => {}, remove: () => {} }

export interface RelayKeeperComponents {
  connectionManager: Pick<ConnectionManager, 'openConnection' | 'getConnections'>
  transportManager: Pick<TransportManager, 'listen' | 'getAddrs'>
  events: TypedEventTarget<Libp2pEvents>
}

interface Relay {
  addr: Multiaddr
  id: PeerId
  /** what the node listens on to reserve there: <relay>/p2p-circuit */
  circuit: Multiaddr
}

/**
 * Dials each named relay after start and reserves a slot on it; does both again,
 * with a growing wait, whenever the connection to one is lost (a reservation
 * lives as long as its connection), and when a check finds no reservation on
 * it, until the node stops. A relay down at the start does not stop the node:
 * it is reserved on once it answers.
 */
export class RelayKeeper implements Startable {
  private readonly c: RelayKeeperComponents
  private readonly relays: Relay[]
  private ctl = new AbortController()
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>()
  private check?: ReturnType<typeof setInterval>

  constructor(components: RelayKeeperComponents, relays: Multiaddr[]) {
    this.c = components
    this.relays = relays.map(addr => ({
      addr,
      id: peerIdFromString(peerIdOfAddr(addr.toString(), '--relay')),
      circuit: addr.encapsulate('/p2p-circuit')
    }))
  }

  start(): void {
    this.ctl = new AbortController()
    this.c.events.addEventListener('peer:disconnect', this.onDisconnect)
  }

  afterStart(): void {
    for (const r of this.relays) this.schedule(r, 0, REDIAL_MIN_MS)
    this.check = setInterval(() => {
      for (const r of this.relays) if (!this.reserved(r)) this.schedule(r, 0, REDIAL_MIN_MS)
    }, CHECK_MS)
    this.check.unref()
  }

  stop(): void {
    this.ctl.abort()
    clearInterval(this.check)
    this.c.events.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const r = this.relays.find(x => x.id.equals(evt.detail))
    if (r != null) this.schedule(r, REDIAL_MIN_MS, REDIAL_MIN_MS)
  }

  /** whether the node holds a relayed address through `r` */
  private reserved(r: Relay): boolean {
    const prefix = `/p2p/${r.id.toString()}/p2p-circuit`
    return this.c.transportManager.getAddrs().some(a => isRelayed(a) && a.toString().includes(prefix))
  }

  /** one pending attempt per relay: a disconnect during a wait does not add a second */
  private schedule(r: Relay, waitMs: number, nextMs: number): void {
    const key = r.id.toString()
    if (this.ctl.signal.aborted || this.timers.has(key)) return
    const t = setTimeout(() => {
      this.timers.delete(key)
      this.attempt(r).catch(() => {
        // connected but refused: a relay that is full is not asked every few seconds
        const refused = this.c.connectionManager.getConnections(r.id).length > 0
        this.schedule(r, refused ? REFUSED_RETRY_MS : nextMs, Math.min(nextMs * 2, REDIAL_MAX_MS))
      })
    }, waitMs)
    t.unref()
    this.timers.set(key, t)
  }

  private async attempt(r: Relay): Promise<void> {
    if (this.ctl.signal.aborted) return
    if (this.c.connectionManager.getConnections(r.id).length === 0) {
      await this.c.connectionManager.openConnection(r.addr, {
        signal: AbortSignal.any([this.ctl.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)])
      })
    }
    // each listen adds a listener that the circuit transport keeps (empty once its relay is gone): one per
    // reconnection, and one per REFUSED_RETRY_MS (CHECK_MS) while a relay refuses
    if (!this.reserved(r)) await this.c.transportManager.listen([r.circuit])
  }
}
