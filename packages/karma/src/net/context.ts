// What the parts of the Karma service share: the pure Member over its tables,
// the tables beside it, the store, the keys, this node's view of bank-sets,
// its calls to other nodes, and the service's lifecycle. Unit tests build one
// from stubs.
import {
  ErrorCode,
  P2payError,
  type BaseComponents,
  type Lifecycle,
  type Logger,
  type Signer,
  type Store,
  type Verifier
} from '@p2pay/core'
import type { KarmaConfig } from '../core/config.ts'
import type { Member } from '../core/member.ts'
import type { KarmaKind } from '../kinds.ts'
import type { DhtView } from './dht-view.ts'
import type { Peers } from './peers.ts'
import type { ServiceTables } from './tables.ts'

/** What a daemon gives the Karma service. */
export type KarmaComponents = BaseComponents<KarmaKind>

/** Bank-sets as this node computes them (a DhtView). */
export type BankView = Pick<DhtView, 'bank' | 'candidates' | 'karmaPeersNear' | 'coordinators' | 'isKarmaPeer'> &
  Partial<Pick<DhtView, 'karmaConnected' | 'isCached' | 'away'>>

/** Calls to Karma nodes, this one included (Peers). */
export type KarmaCalls = Pick<Peers, 'call' | 'send'>

export interface KarmaContext {
  /** this node: an account holder, and a member of the banks of the accounts whose keys lie near it */
  readonly me: string
  readonly cfg: KarmaConfig
  /** this node's books as a bank member */
  readonly member: Member
  readonly t: ServiceTables
  readonly store: Pick<Store, 'apply' | 'barrier'>
  readonly signer: Signer<KarmaKind>
  readonly verifier: Verifier<KarmaKind>
  readonly log: Logger
  /** every tick, wait, background task and call of the service ends on its signal; stop() waits for them */
  readonly life: Lifecycle
  readonly view: BankView
  readonly peers: KarmaCalls
}

/** This node's clock (a test's clock when it set one). */
export const nowOf = (ctx: Pick<KarmaContext, 'cfg'>): number => (ctx.cfg.now ?? Date.now)()

/**
 * Runs `fn` over the bank-sets of `accounts`; if this member finds itself
 * outside one (WRONG_BROKER), the cached sets may be stale: once more with
 * fresh DHT queries.
 */
export async function withFreshView<T>(
  ctx: Pick<KarmaContext, 'view'>,
  accounts: string[],
  fn: (banks: string[][]) => Promise<T>
): Promise<T> {
  try {
    return await fn(await Promise.all(accounts.map(async a => await ctx.view.bank(a))))
  } catch (err) {
    if (!(err instanceof P2payError && err.code === ErrorCode.WRONG_BROKER)) throw err
    return await fn(await Promise.all(accounts.map(async a => await ctx.view.bank(a, true))))
  }
}
