// This node's view of bank-sets: kad-dht's closest peers to a key, filtered to
// peers that run the Karma protocol (a broker or TTP is a DHT server too but
// keeps no books), plus this node itself, ranked by bankSet. Every honest node
// with the same view computes the same set (libp2p-v3.md: counting the asker
// is what makes nodes agree).
//
// A query's answer is cached for `cacheMs` (a transfer needs bank(A) and
// bank(B) at every member, and a query touches most of a small swarm: queries,
// not signatures, are what a swarm spends its CPU on). Every set is computed
// afresh from that answer plus the Karma peers connected now, so a peer that
// arrives is in the sets at once; a peer that disconnects drops every cached
// answer it is in, so the next use asks the DHT again.
//
// Every DHT query and identify call ends when the service stops (its
// lifecycle signal), and so do the listeners on libp2p's events.
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Identify } from '@libp2p/identify'
import { peerIdFromString } from '@libp2p/peer-id'
import { ErrorCode, Lru, P2payError, asError, fail } from '@p2pay/core'
import { bankKeyBytes, bankSetFromQuery, closestToKey, epochKeyBytes } from '../core/bankset.ts'
import { KARMA_PROTOCOL } from './protocols.ts'

/** The parts of the libp2p node the view uses. */
export type ViewNetwork = Pick<
  Libp2p,
  'peerId' | 'getPeers' | 'getConnections' | 'dial' | 'peerStore' | 'services' | 'addEventListener'
>

const QUERY_TIMEOUT_MS = 10_000
const IDENTIFY_TIMEOUT_MS = 3_000
const FRESH_MS = 1_000
const REIDENTIFY_MS = 5_000
/** DHT answers kept at once: more accounts than a node banks for or pays, fewer than a flood of made-up ids */
export const MAX_CACHED = 4096
/**
 * A Karma peer out of sight (a partition, a crash, a stop) still counts in the old bank that decides whether a join
 * may mint for this long after it was last connected: it cannot answer, so it cannot say an account is new.
 */
export const AWAY_MS = 60 * 60_000

export class DhtView {
  private readonly libp2p: ViewNetwork
  private readonly signal: AbortSignal
  private readonly k: number
  private readonly cacheMs: number
  /**
   * key -> Karma peers the DHT returned near it. Bounded, least recently used out first: keys come from ids that
   * messages name, and anyone can name any number of them.
   */
  private readonly cache = new Lru<string, { set: string[]; at: number }>(MAX_CACHED)
  /** answers of queries that failed part way or found fewer than k peers */
  private readonly partial = new WeakSet<string[]>()
  private readonly inflight = new Map<string, Promise<string[]>>()
  /** peers known to run the Karma protocol (a "no" is not kept: a node registers Karma after it started) */
  private readonly speaks = new Set<string>()
  /** when a peer that did not list Karma was last asked again (identify) */
  private readonly asked = new Map<string, number>()
  /**
   * peers connected now (kept from connect/disconnect events: a PeerId's string form is recomputed on every toString)
   */
  private readonly connected = new Set<string>()
  /** Karma peers no longer connected, by when they went: in insertion order, oldest first (bounded) */
  private readonly gone = new Map<string, number>()
  /** bumped whenever `connected` or `speaks` changes: computed sets are reused until then */
  private version = 0
  private readonly sets = new Map<string, { near: string[]; version: number; set: string[] }>()
  /**
   * DHT queries run, by why they ran: a cold or expired cache, a fresh look, a hand-over's old bank (for tests and
   * metrics)
   */
  readonly queriesBy: Record<string, number> = {}

  /** `signal`: the service's lifecycle; it ends the view's queries and its listeners. */
  constructor(libp2p: ViewNetwork, k: number, cacheMs: number, signal: AbortSignal) {
    this.libp2p = libp2p
    this.k = k
    this.cacheMs = cacheMs
    this.signal = signal
    for (const p of libp2p.getPeers()) this.connected.add(p.toString())
    const opts = { signal }
    libp2p.addEventListener(
      'peer:connect',
      evt => {
        const id = evt.detail.toString()
        this.connected.add(id)
        this.gone.delete(id)
        this.version++
      },
      opts
    )
    libp2p.addEventListener(
      'peer:disconnect',
      evt => {
        const id = evt.detail.toString()
        this.connected.delete(id)
        if (this.speaks.has(id)) this.wentAway(id)
        this.version++
        this.forget(id)
      },
      opts
    )
    // a Karma peer never seen before joins every set it belongs in through connectedKarma()
    libp2p.addEventListener(
      'peer:identify',
      evt => {
        if (evt.detail.protocols.includes(KARMA_PROTOCOL)) this.speaksNow(evt.detail.peerId.toString())
      },
      opts
    )
    // an identify push (a peer that registered Karma after we met) updates the peer store without an identify event;
    // so does a peer that merely opened a Karma stream here (libp2p lists it as the opener's): only its identify
    // answer counts
    libp2p.addEventListener(
      'peer:update',
      evt => {
        const { id, protocols } = evt.detail.peer
        if (protocols.includes(KARMA_PROTOCOL) && !this.speaks.has(id.toString())) void this.speaksKarma(id)
      },
      opts
    )
  }

  get self(): string {
    return this.libp2p.peerId.toString()
  }

  /** DHT queries run in all */
  get queries(): number {
    return Object.values(this.queriesBy).reduce((a, b) => a + b, 0)
  }

  /**
   * bank(account) as this node computes it now. `fresh` skips the cache. Fewer than k Karma peers in sight (a
   * partition, a start) is UNREACHABLE, after one fresh look: a short set is no bank-set, and a member or payer acting
   * on one would refuse for good what it only cannot see (a set of the wrong size is BAD_REQUEST, final to a payer,
   * which would free a nonce the members it cannot reach applied, and to a sender's outbox). `sync`: no vote.
   */
  async bank(account: string, fresh = false): Promise<string[]> {
    const set = await this.bankInSight(account, fresh)
    if (set.length >= this.k) return set
    if (!fresh) return await this.bank(account, true)
    throw new P2payError(
      ErrorCode.UNREACHABLE,
      `only ${set.length} Karma peers in sight for bank(${account}): a bank-set has k = ${this.k}`,
      { account, sync: true }
    )
  }

  private async bankInSight(account: string, fresh: boolean): Promise<string[]> {
    const near = await this.nearAccount(account, fresh)
    // every member computes bank(A) and bank(B) for every message: ranking the candidates again only when they changed
    const memo = this.sets.get(account)
    if (memo != null && memo.near === near && memo.version === this.version) return memo.set
    const set = Object.freeze(
      bankSetFromQuery(account, [...near, ...this.connectedKarma()], this.self, this.k)
    ) as string[]
    if (this.sets.size >= 4096) this.sets.clear()
    this.sets.set(account, { near, version: this.version, set })
    return set
  }

  /**
   * Karma peers near bank(account)'s key as this node sees them now (cached answer plus connected peers), never this
   * node.
   */
  async candidates(account: string): Promise<string[]> {
    const all = new Set([...(await this.nearAccount(account, false)), ...this.connectedKarma()])
    all.delete(this.self)
    return [...all]
  }

  private async nearAccount(account: string, fresh: boolean): Promise<string[]> {
    return await this.cached(
      'bank|' + account,
      fresh,
      async () => await this.karmaPeersNear(bankKeyBytes(account), fresh ? 'bank-fresh' : 'bank')
    )
  }

  /** The k peers that coordinate epoch `epoch`. */
  async coordinators(epoch: number, fresh = false): Promise<string[]> {
    const near = await this.cached(
      'epoch|' + epoch,
      fresh,
      async () => await this.karmaPeersNear(epochKeyBytes(epoch), 'epoch')
    )
    return closestToKey(epochKeyBytes(epoch), new Set([...near, ...this.connectedKarma(), this.self]), this.k)
  }

  /**
   * Karma peers near the key: what the DHT query returns, plus the peers this
   * node is connected to and knows speak Karma. A query under load can time
   * out or leave out a peer that did not answer identify in time; a set
   * computed from such an answer would put the wrong members in a bank. Every
   * added peer is a live Karma peer, so the union can only bring the k nearest
   * closer to the true ones. Never this node (getClosestPeers leaves it out).
   */
  async karmaPeersNear(key: Uint8Array, why = 'near'): Promise<string[]> {
    const dht = (this.libp2p.services as { dht?: KadDHT }).dht
    if (dht == null) fail(ErrorCode.UNREACHABLE, 'this node runs no DHT: bank-sets cannot be computed')
    const found: PeerId[] = []
    let failure: unknown
    this.queriesBy[why] = (this.queriesBy[why] ?? 0) + 1
    try {
      for await (const ev of dht.getClosestPeers(key, { signal: this.limit(QUERY_TIMEOUT_MS) })) {
        if (ev.name === 'FINAL_PEER') found.push(ev.peer.id)
      }
    } catch (err) {
      failure = err
    }
    const ok = await Promise.all(found.map(async p => await this.speaksKarma(p)))
    const near = new Set([...found.filter((_, i) => ok[i]).map(p => p.toString()), ...this.connectedKarma()])
    near.delete(this.self)
    if (near.size === 0)
      throw new P2payError(
        ErrorCode.UNREACHABLE,
        `DHT query failed: ${failure === undefined ? 'no Karma peer found' : asError(failure).message}`
      )
    const answer = [...near]
    // a query that failed part way, or found fewer than k others, is kept for a second only
    if (failure !== undefined || answer.length < this.k) this.partial.add(answer)
    return answer
  }

  /** The service's signal, cut off after `ms`: for one DHT query or one identify. */
  private limit(ms: number): AbortSignal {
    return AbortSignal.any([this.signal, AbortSignal.timeout(ms)])
  }

  /** Whether `peer` runs Karma, so is a bank-set candidate (asked by identify when not known yet). */
  async isKarmaPeer(peer: string): Promise<boolean> {
    if (this.speaks.has(peer)) return true
    let id: PeerId
    try {
      id = peerIdFromString(peer)
    } catch {
      return false
    }
    return await this.speaksKarma(id)
  }

  /** Whether bank(account) is computed from a cached answer now, with no DHT query. */
  isCached(account: string): boolean {
    const hit = this.cache.peek('bank|' + account)
    return (
      hit != null && Date.now() - hit.at < (this.partial.has(hit.set) ? Math.min(FRESH_MS, this.cacheMs) : this.cacheMs)
    )
  }

  /** How many Karma peers are connected now. */
  karmaConnected(): number {
    return this.connectedKarma().length
  }

  /** Karma peers that were connected within AWAY_MS and are not now (a partition, a crash, a stop). */
  away(): string[] {
    const since = Date.now() - AWAY_MS
    return [...this.gone].filter(([id, at]) => at >= since && !this.connected.has(id)).map(([id]) => id)
  }

  private wentAway(id: string): void {
    this.gone.delete(id)
    this.gone.set(id, Date.now())
    if (this.gone.size > MAX_CACHED) this.gone.delete(this.gone.keys().next().value!)
  }

  /** Peers connected now that are known to speak Karma. */
  private connectedKarma(): string[] {
    return [...this.connected].filter(id => this.speaks.has(id))
  }

  private speaksNow(id: string): void {
    if (this.speaks.has(id)) return
    this.speaks.add(id)
    this.version++
  }

  private async cached(key: string, fresh: boolean, compute: () => Promise<string[]>): Promise<string[]> {
    const hit = this.cache.get(key)
    // "fresh" still reuses an answer under a second old: a burst of callers (or of junk messages) costs one query
    const maxAge = fresh || (hit != null && this.partial.has(hit.set)) ? Math.min(FRESH_MS, this.cacheMs) : this.cacheMs
    if (hit != null && Date.now() - hit.at < maxAge) return hit.set
    let p = this.inflight.get(key)
    if (p == null) {
      p = compute()
        .then(set => {
          this.cache.set(key, { set, at: Date.now() })
          return set
        })
        .finally(() => this.inflight.delete(key))
      this.inflight.set(key, p)
    }
    return await p
  }

  /** Drops cached sets that contain `peer` (it went away, or must be looked at again). */
  forget(peer: string): void {
    for (const [k, v] of [...this.cache.entries()]) if (v.set.includes(peer)) this.cache.delete(k)
  }

  clear(): void {
    this.cache.clear()
  }

  private async speaksKarma(peer: PeerId): Promise<boolean> {
    const id = peer.toString()
    if (this.speaks.has(id)) return true
    // not the peer store's list: it also names protocols a peer only opened streams on (see 'peer:update')
    let protocols: string[] = []
    const askedAt = this.asked.get(id) ?? 0
    if (Date.now() - askedAt > REIDENTIFY_MS) {
      // not seen to speak Karma yet (identify has not finished, or it registered Karma since): ask it now
      this.asked.set(id, Date.now())
      if (this.asked.size > 4096) this.asked.clear()
      try {
        const signal = this.limit(IDENTIFY_TIMEOUT_MS)
        const conn = this.libp2p.getConnections(peer)[0] ?? (await this.libp2p.dial(peer, { signal }))
        const identify = (this.libp2p.services as { identify?: Identify }).identify
        if (identify != null) protocols = (await identify.identify(conn, { signal })).protocols
      } catch {
        return false // unreachable now: not a candidate, and not remembered either way
      }
    }
    const yes = protocols.includes(KARMA_PROTOCOL)
    if (yes) this.speaksNow(id)
    return yes
  }
}
