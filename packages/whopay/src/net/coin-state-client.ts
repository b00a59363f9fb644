// The real-time double-spend check over the DHT (the paper's extension): a
// coin's record is kept by the k peers closest to sha256('whopay|' + coin) in
// the kad-dht that serve the coin-state protocol (this node among them when it
// is one of the closest: closest among what the query returns and itself, so
// every node computes the same set). A query that finds fewer peers than a
// k-bucket holds has found every DHT server there is: for a while after it,
// the keepers of any coin are ranked from that list without asking the
// network again (a network that size is what every query would walk whole).
// `check` reads the newest record they keep
// (and any two that conflict); `publish` hands them a newer one. A node or
// broker run with --whopay-realtime false does neither: fraud is then found at
// deposit only (the paper's basic version).
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { Lru, sha256, utf8, type ClientPool, type Logger, type Verifier } from '@p2pay/core'
import {
  COIN_STATE_KIND,
  compareState,
  conflicts,
  openRecord,
  type CoinState,
  type WireRecord
} from './coin-state-record.ts'
import type { CoinStateStore, PutAnswer } from './coin-state-service.ts'

/** peers keeping each coin's record */
export const DEFAULT_KEEPERS = 3
/** one DHT query for a coin's closest peers */
const QUERY_TIMEOUT_MS = 5_000
/** one get or put at a keeper */
const CALL_TIMEOUT_MS = 3_000
/** a coin's keepers are reused this long: an owner checks, signs and publishes within it */
const KEEPERS_FRESH_MS = 10_000
/** a peer that does not serve the protocol (the judge, a peer gone) is not asked again for this long */
const SKIP_MS = 30_000
/** opened records a client remembers */
const OPENED_KEPT = 256
/** a query that found the whole network (fewer peers than a k-bucket) stands for every coin this long */
const WHOLE_FRESH_MS = 10_000

export type StateNetwork = Pick<Libp2p, 'peerId' | 'services'>

export interface CoinStateClientDeps {
  network: StateNetwork
  /** calls to keepers, under the service's signal */
  pool: ClientPool<string>
  /** this node's own store, when it serves the protocol */
  local?: CoinStateStore
  verifier: Verifier<string>
  broker: string
  k: number
  /** false: no DHT at all (--whopay-realtime false) */
  realtime: boolean
  signal: AbortSignal
  log: Logger
}

/** What the keepers hold for a coin. */
export interface CoinStateView {
  newest?: CoinState
  /** two records at one place answering different requests: evidence of a double spend */
  conflict?: [CoinState, CoinState]
  /** keepers that answered */
  answered: number
}

export interface PublishResult {
  /** keepers that kept it (or had it) */
  stored: number
  /** a keeper holds a newer record than the one published */
  newer?: CoinState
  /** a keeper holds a record that conflicts with the one published: [kept, published] */
  conflict?: [CoinState, CoinState]
}

/** sha256 of the peer id's multihash bytes, as kad-dht's own ids. */
const kadIdOf = (peer: string): Uint8Array => sha256(peerIdFromString(peer).toMultihash().bytes)

function closer(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = (a[i] ^ target[i]) - (b[i] ^ target[i])
    if (d !== 0) return d
  }
  return 0
}

export class CoinStateClient {
  private readonly d: CoinStateClientDeps
  private readonly keepersOf = new Lru<string, { peers: string[]; at: number }>(4096)
  private readonly skip = new Lru<string, number>(1024)
  /** every DHT server, as the last query that found fewer than a k-bucket's worth of them saw it */
  private whole?: { peers: string[]; at: number }
  /** kad ids of the peers ranked (a peer id's sha256 is the same every time: computed once per peer) */
  private readonly kadIds = new Lru<string, Uint8Array>(1024)
  /**
   * records opened lately, by their bytes as received: the k keepers mostly answer one record, and an owner reads
   * back what it is about to publish
   */
  private readonly opened = new Lru<string, CoinState>(OPENED_KEPT)

  constructor(d: CoinStateClientDeps) {
    this.d = d
  }

  get realtime(): boolean {
    return this.d.realtime
  }

  /** The DHT key a coin's record lives at (the DHT hashes it: its kad id is sha256('whopay|' + coin)). */
  static keyOf(coin: string): Uint8Array {
    return utf8('whopay|' + coin)
  }

  /** The peers to ask for `coin`, closest first (more than k: the first k that answer keep it). */
  async keepers(coin: string): Promise<string[]> {
    const hit = this.keepersOf.get(coin)
    if (hit != null && Date.now() - hit.at < KEEPERS_FRESH_MS) return hit.peers
    const self = this.d.network.peerId.toString()
    const whole = this.whole != null && Date.now() - this.whole.at < WHOLE_FRESH_MS ? this.whole.peers : undefined
    const found = new Set<string>(whole ?? (await this.closestPeers(coin)))
    if (this.d.local != null) found.add(self)
    const target = sha256(CoinStateClient.keyOf(coin))
    const peers = [...found].sort((a, b) => closer(target, this.kadIdOf(a), this.kadIdOf(b)))
    this.keepersOf.set(coin, { peers, at: Date.now() })
    return peers
  }

  /** The DHT's closest peers to the coin's key; a query that ends whole with fewer than k-bucket peers is kept. */
  private async closestPeers(coin: string): Promise<string[]> {
    const dht = (this.d.network.services as { dht?: KadDHT }).dht
    if (dht == null) return []
    const found: string[] = []
    // a peer that failed to answer may be one the list lacks: such a query stands for its own coin only
    let failed = false
    const signal = AbortSignal.any([this.d.signal, AbortSignal.timeout(QUERY_TIMEOUT_MS)])
    try {
      for await (const ev of dht.getClosestPeers(CoinStateClient.keyOf(coin), { signal })) {
        if (ev.name === 'FINAL_PEER') found.push((ev.peer.id as PeerId).toString())
        else if (ev.name === 'QUERY_ERROR') failed = true
      }
    } catch (err) {
      this.d.log.child('coin-state').debug('closest peers query ended early', { coin, err })
      return found
    }
    if (!failed && found.length > 0 && found.length < dht.k) this.whole = { peers: found, at: Date.now() }
    return found
  }

  /** openRecord, once per exact bytes received (the same bytes open to the same state; any other bytes are opened) */
  private open(rec: unknown): CoinState {
    const r = rec as Partial<WireRecord> | undefined
    if (typeof r?.cert !== 'string' || typeof r.env !== 'string') return openRecord(this.d.verifier, this.d.broker, rec)
    const key = `${r.cert}|${r.env}`
    let s = this.opened.get(key)
    if (s == null) this.opened.set(key, (s = openRecord(this.d.verifier, this.d.broker, rec)))
    return s
  }

  private kadIdOf(peer: string): Uint8Array {
    let id = this.kadIds.get(peer)
    if (id == null) this.kadIds.set(peer, (id = kadIdOf(peer)))
    return id
  }

  /** Calls `fn` at each of the coin's first k keepers that answer (this node's store directly). */
  private async atKeepers<T>(coin: string, fn: (peer: string) => Promise<T>): Promise<T[]> {
    const now = Date.now()
    const peers = (await this.keepers(coin)).filter(p => (this.skip.peek(p) ?? 0) < now)
    const out: T[] = []
    let next = 0
    // in order, k at a time: a keeper that fails is replaced by the next closest
    while (out.length < this.d.k && next < peers.length && !this.d.signal.aborted) {
      const batch = peers.slice(next, next + this.d.k - out.length)
      next += batch.length
      const got = await Promise.allSettled(batch.map(async p => await fn(p)))
      got.forEach((r, i) => {
        if (r.status === 'fulfilled') out.push(r.value)
        else this.skip.set(batch[i], Date.now() + SKIP_MS)
      })
    }
    return out
  }

  /** The newest record the keepers hold for `coin`, and any conflicting pair among them. */
  async check(coin: string): Promise<CoinStateView> {
    if (!this.d.realtime) return { answered: 0 }
    const self = this.d.network.peerId.toString()
    const records = await this.atKeepers(coin, async peer => {
      if (peer === self && this.d.local != null) return this.d.local.get(coin)?.wire
      const r = await this.d.pool.call<{ record?: WireRecord }>(
        peer,
        'get',
        { coin },
        { kind: COIN_STATE_KIND, timeoutMs: CALL_TIMEOUT_MS }
      )
      return r.record
    })
    const view: CoinStateView = { answered: records.length }
    for (const w of records) {
      if (w == null) continue
      let s: CoinState
      try {
        s = this.open(w)
      } catch {
        continue // a keeper's junk is no state
      }
      if (s.coin !== coin) continue
      if (view.newest != null && conflicts(view.newest, s)) view.conflict ??= [view.newest, s]
      if (view.newest == null || compareState(s, view.newest) > 0) view.newest = s
    }
    return view
  }

  /** Hands `record` to the coin's keepers; says what they had that is newer or conflicts. */
  async publish(record: WireRecord): Promise<PublishResult> {
    if (!this.d.realtime) return { stored: 0 }
    const mine = this.open(record)
    const self = this.d.network.peerId.toString()
    const answers = await this.atKeepers(mine.coin, async peer => {
      if (peer === self && this.d.local != null) return await this.d.local.put(record)
      return await this.d.pool.call<PutAnswer>(
        peer,
        'put',
        { record },
        { kind: COIN_STATE_KIND, timeoutMs: CALL_TIMEOUT_MS }
      )
    })
    const out: PublishResult = { stored: 0 }
    for (const a of answers) {
      if (a.status === 'stored' || a.status === 'same') {
        out.stored++
        continue
      }
      let kept: CoinState
      try {
        kept = this.open(a.record)
      } catch {
        continue
      }
      if (kept.coin !== mine.coin) continue
      if (conflicts(kept, mine)) out.conflict ??= [kept, mine]
      else if (compareState(kept, mine) > 0 && (out.newer == null || compareState(kept, out.newer) > 0))
        out.newer = kept
    }
    if (out.stored === 0 && answers.length === 0)
      this.d.log.child('coin-state').warn('no keeper reachable for a coin state', { coin: mine.coin })
    return out
  }
}
