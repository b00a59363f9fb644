// What the parts of a node's AggSign service share: the pure Wallet over its
// tables, the outbox, the store, the clients to the broker and to payees, and
// the settings.
import type { BaseComponents, ClientPool, Lifecycle, Logger, Party, Store, Table } from '@p2pay/core'
import type { Counts } from '../core/counts.ts'
import type { WireCoin } from '../core/messages.ts'
import type { Wallet } from '../core/wallet.ts'
import type { AggsignKind } from '../kinds.ts'
import type { Certifying, Delivery, Renewal } from './tables.ts'

export interface WalletInit {
  maxLayers: number
  /** how long a payee has to verify, store and acknowledge a coin */
  payTimeoutMs: number
  /** how often coins paid on but not acknowledged are sent again */
  retryIntervalMs: number
  now?: () => number
}

export interface WalletComponents extends BaseComponents<AggsignKind> {
  /** the broker that certifies this node's key and cashes its coins */
  broker: Party
}

export interface WalletContext {
  wallet: Wallet
  outbox: Table<Delivery>
  certifying: Table<Certifying>
  renewing: Table<Renewal>
  store: Store
  c: WalletComponents
  log: Logger
  life: Lifecycle
  init: WalletInit
  /** node -> broker */
  broker: ClientPool<AggsignKind>
  /** payer -> payee */
  payees: ClientPool<AggsignKind>
  /** the coin as it was before this node paid it on (kept only for the cheat routes) */
  before?: Map<string, WireCoin>
}

/** Feeds the Table I counters with what a core call did (its messages are counted by the RPC layer). */
export function count(w: WalletContext, kind: AggsignKind, n: Counts): void {
  for (let i = 0; i < n.signed; i++) w.c.metrics.signed(kind)
  for (let i = 0; i < n.verified; i++) w.c.metrics.verified(kind)
}
