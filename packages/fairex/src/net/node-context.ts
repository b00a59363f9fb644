// What the parts of a node's file market share: its tables, the store, the
// clients to the AC (the broker), the TTP, the judge and other providers (all
// under the service's lifecycle), the ban cache, the purchases under way, and
// the settings.
import type { BaseComponents, ClientPool, Lifecycle, Logger, Party, Store, TablesOf } from '@p2pay/core'
import type { ProviderSale } from '../core/sale-provider.ts'
import type { SaleForm } from '../core/sale-messages.ts'
import type { FairexKind } from '../kinds.ts'
import type { BanCache } from './bans.ts'
import type { CertificateWallet } from './certificates.ts'
import type { FAIREX_NODE_TABLES } from './tables.ts'

export interface FairexNodeInit {
  /** the TTP this node names in its purchases and accepts in its sales; without one it neither buys nor sells */
  ttp?: Party
  /** the judge of fixed-form sales */
  judge?: Party
  /** form of sales this node makes as a provider unless a share says otherwise */
  form: SaleForm
  /** how far a request's timestamp may be from this node's clock */
  maxSkewMs: number
  /** deposit the queue once its oldest cheque has waited this long; 0: only when asked */
  autoDepositMs: number
  /** what one capital certificate escrows when buying; 0 (or absent): one certificate per purchase, for its price */
  certValue?: number
  /** how often unfinished purchases are resumed, bans refreshed and the deposit queue looked at */
  retryIntervalMs: number
}

export type FairexNodeComponents = BaseComponents<FairexKind> & {
  /** the broker: the file market's accounting centre */
  broker: Party
}

export type NodeTables = TablesOf<typeof FAIREX_NODE_TABLES>

/** A purchase under way, for the CLI's progress bar. */
export interface Progress {
  serial: string
  provider: string
  fileId: string
  received: number
  total: number
  startedAt: number
}

export interface NodeContext {
  t: NodeTables
  store: Store
  c: FairexNodeComponents
  log: Logger
  life: Lifecycle
  init: FairexNodeInit
  /** this node's peer id */
  me: string
  /** node -> accounting centre (the broker) */
  ac: ClientPool<FairexKind>
  /** downloader -> TTP, provider -> TTP */
  ttp: ClientPool<FairexKind>
  /** downloader -> judge */
  judge: ClientPool<FairexKind>
  /** downloader -> provider's catalog */
  catalog: ClientPool<FairexKind>
  bans: BanCache
  /** the capital certificates purchases are paid with */
  certs: CertificateWallet
  /** purchases under way, by serial */
  progress: Map<string, Progress>
  /** purchases whose stream is still open: not for the retry loop */
  active: Set<string>
  /** purchases whose key is being recovered now */
  resolving: Set<string>
  /**
   * The key a sale seals into Z (and hands over in 2.4): K. A step of its own,
   * so that a test swarm can play the paper's dishonest provider around it.
   */
  keyToSeal: (sale: ProviderSale) => Uint8Array
}
