// The coin-state protocol every node serves: it keeps the newest record of the
// coins whose key it is among the k closest peers to. `get { coin }` gives the
// record kept; `put { record }` keeps a record newer than the one kept, answers
// `conflict` with the kept one when both sit at the same place and answer
// different requests (the pair is evidence), and the kept one when it is newer.
// Records are checked against the bytes received before anything is kept; the
// table is bounded (the least recently written goes first), each change one
// synced write before the answer.
import {
  ErrorCode,
  Lru,
  Verifier,
  VerifiedCache,
  fail,
  nodeEd25519,
  serveRpc,
  type Counters,
  type Lifecycle,
  type Logger,
  type Network,
  type Store,
  type Table
} from '@p2pay/core'
import { compareState, conflicts, openRecord, type CoinState, type WireRecord } from './coin-state-record.ts'
import { COIN_STATE_PROTOCOL } from './protocols.ts'

/** records one node keeps at most: far more coins than a small swarm's k-share, a bound on what others make it keep */
export const MAX_STATE_RECORDS = 200_000

/** What a node keeps per coin. */
export interface KeptState {
  cert: string
  env: string
  /** when it was written here */
  at: number
}

/**
 * The verifier of coin states: a cache of its own, so what a node checks as a keeper of others' records is not
 * taken for checked when the same certificate or binding reaches it as a payee (Table I counts the payee's checks).
 */
export function coinStateVerifier(metrics?: Counters<string>): Verifier<string> {
  return new Verifier<string>(nodeEd25519(), metrics, new VerifiedCache(STATE_VERIFIED_CACHE))
}

/** envelopes of coin states whose signatures a node remembers having checked */
const STATE_VERIFIED_CACHE = 50_000
/** opened records kept in memory beside the table: a get of a record already opened answers without opening it again */
const OPENED_KEPT = 4096

export type PutAnswer =
  | { status: 'stored' }
  | { status: 'same' }
  | { status: 'newer'; record: WireRecord }
  | { status: 'conflict'; record: WireRecord }

export interface CoinStateDeps {
  network: Pick<Network, 'handle' | 'unhandle'>
  store: Store
  table: Table<KeptState>
  verifier: Verifier<string>
  broker: string
  life: Lifecycle
  log: Logger
  metrics?: Counters<string>
}

export class CoinStateStore {
  private readonly d: CoinStateDeps
  /** coin ids, least recently written first */
  private readonly order = new Map<string, true>()
  /** the last opening of the record kept per coin, checked against the table's bytes before it stands for them */
  private readonly opened = new Lru<string, CoinState>(OPENED_KEPT)

  constructor(d: CoinStateDeps) {
    this.d = d
    const byAge = [...d.table.entries()].sort((a, b) => a[1].at - b[1].at)
    for (const [coin] of byAge) this.order.set(coin, true)
  }

  get size(): number {
    return this.d.table.size
  }

  /**
   * The record kept for `coin`, opened from the table's bytes (a record on disk is trusted no more than one on the
   * wire); an opening of the very same bytes stands.
   */
  get(coin: string): CoinState | undefined {
    const kept = this.d.table.get(coin)
    if (kept == null) return undefined
    const o = this.opened.get(coin)
    if (o != null && o.wire.cert === kept.cert && o.wire.env === kept.env) return o
    const s = openRecord(this.d.verifier, this.d.broker, kept)
    this.opened.set(coin, s)
    return s
  }

  /** Keeps `record` if it is newer; the answer says what was kept. */
  async put(record: unknown): Promise<PutAnswer> {
    const s = openRecord(this.d.verifier, this.d.broker, record)
    return await this.d.store.apply(() => this.keep(s))
  }

  /** Inside a store change: keeps `s` if newer than the kept record. */
  keep(s: CoinState): PutAnswer {
    const kept = this.get(s.coin)
    if (kept != null) {
      if (conflicts(kept, s)) return { status: 'conflict', record: kept.wire }
      const c = compareState(s, kept)
      if (c < 0) return { status: 'newer', record: kept.wire }
      if (c === 0) return { status: 'same' }
    }
    this.d.table.set(s.coin, { ...s.wire, at: Date.now() })
    this.opened.set(s.coin, s)
    this.order.delete(s.coin)
    this.order.set(s.coin, true)
    while (this.order.size > MAX_STATE_RECORDS) {
      const oldest = this.order.keys().next().value as string
      this.order.delete(oldest)
      this.d.table.delete(oldest)
      this.opened.delete(oldest)
    }
    return { status: 'stored' }
  }

  async serve(): Promise<void> {
    await serveRpc(
      this.d.network,
      COIN_STATE_PROTOCOL,
      {
        get: args => {
          if (typeof args.coin !== 'string' || args.coin.length > 128) fail(ErrorCode.BAD_REQUEST, 'coin is required')
          return { record: this.get(args.coin)?.wire }
        },
        put: async args => await this.put(args.record)
      },
      {
        metrics: this.d.metrics,
        life: this.d.life,
        kindOf: () => 'whopay-state',
        onError: (err, op) => this.d.log.child('coin-state').error('rpc handler failed', { op, err })
      }
    )
  }

  async unserve(): Promise<void> {
    await this.d.network.unhandle(COIN_STATE_PROTOCOL)
  }
}
