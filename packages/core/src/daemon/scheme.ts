// The scheme contract, in the shape of js-libp2p's service factories
// (protocol-ping: `ping(init) => (components) => PingService`): a scheme
// package exports, for each role it plays, a factory `scheme(init)` that takes
// the narrow components it uses and returns a SchemeService. A daemon is a list
// of SchemeModules plus its own identity, store and control API; adding a
// scheme is adding a package and one line to each daemon that hosts it.
import type { Libp2p } from '@libp2p/interface'
import type { Logger } from '../log.ts'
import type { Lifecycle } from './lifecycle.ts'
import type { Counters } from '../metrics.ts'
import type { Signer, Verifier } from '../crypto/signed.ts'
import type { Store } from '../store/store.ts'
import type { TableSpecs } from '../store/tables.ts'
import type { Spec } from './config.ts'
import type { Routes } from './control-api.ts'

export interface SchemeService {
  /** the first segment of its routes (`/v1/<name>/...`) and of its CLI commands, and its log scope */
  readonly name: string
  /** the LevelDB tables it keeps: each bucket is in the registry of every daemon that hosts it */
  readonly tables: TableSpecs
  /** the transaction kinds it counts messages and signatures under (the union its Counters take) */
  readonly kinds: readonly string[]
  /** its background work, calls and handlers: `stop()` aborts it and waits for what is in flight */
  readonly life: Lifecycle
  /** loads its tables, registers its protocols and starts its background work */
  start(): Promise<void>
  /** aborts its background work and its calls, waits for the work in flight; the store is still open */
  stop(): Promise<void>
  /** control-API routes, relative to `/v1/<name>` (`'POST /pay'`) */
  routes(): Routes
  /** faulty behaviour for test swarms, under `/v1/<name>/cheat/...`; asked only on a daemon run with --allow-cheats */
  cheats?(): Routes
  /** what `GET /v1/status` shows under the scheme's name */
  status?(): unknown
  /** for the broker's conservation audit: money this scheme holds outside account balances */
  audit?(): SchemeAudit
}

/** A broker-side scheme's part of the conservation audit. */
export interface SchemeAudit {
  /** value in the scheme's custody outside the accounts (unpaid coins, escrow): balances + all custody = topped up */
  custody: number
  /** the scheme's own books are consistent (each escrow matches what left it, nothing negative) */
  holds: boolean
  /** anything else the audit shows for this scheme */
  [detail: string]: unknown
}

/** A broker account: what its holder has at the broker, in whole units. */
export interface Account {
  balance: number
}

/**
 * The broker's accounts, where money enters (topup, the stand-in for a real
 * payment rail) and which every broker-side scheme debits and credits; one
 * hosted scheme keeps them (PPay's ledger), the broker's money routes use them.
 */
export interface AccountKeeper {
  topup(account: unknown, amount: unknown): Promise<{ account: string; balance: number }>
  balance(account: string): Promise<number>
  balances(): Promise<Record<string, number>>
  /** money topped up in all, and the sum of the balances now */
  totals(): { toppedUp: number; balances: number }
}

export type SchemeFactory<C> = (components: C) => SchemeService

/**
 * How a daemon hosts a scheme: the flags the scheme adds to the daemon's own,
 * and its factory for their values. `Cfg` is what it reads of the daemon's
 * resolved options, `C` the components it needs.
 */
export interface SchemeModule<Cfg, C> {
  readonly name: string
  readonly options: Spec
  /** checks the values (BAD_REQUEST) and makes the factory */
  create(cfg: Cfg): SchemeFactory<C>
}

/** The libp2p node as schemes see it; each names the parts it uses (`Pick<Network, ...>`). */
export type Network = Libp2p

/**
 * What every daemon gives every scheme it hosts. The logger is the scheme's own
 * (a child named after it); the counters are typed by the scheme's kinds.
 */
export interface BaseComponents<K extends string = string> {
  network: Network
  store: Store
  signer: Signer<K>
  verifier: Verifier<K>
  metrics: Counters<K> & { gauge(name: string, read: () => number, help?: string): void }
  logger: Logger
}

/** Whether a hosted scheme keeps the broker's accounts. */
export function isAccountKeeper<T>(s: T): s is T & AccountKeeper {
  const k = s as Partial<AccountKeeper> | undefined
  return typeof k?.topup === 'function' && typeof k.totals === 'function' && typeof k.balances === 'function'
}

/** Mounts a scheme's routes under `/v1/<name>` (and its cheats under `/v1/<name>/cheat`). */
export function mountRoutes(name: string, routes: Routes, base = `/v1/${name}`): Routes {
  const out: Routes = {}
  for (const [key, route] of Object.entries(routes)) {
    const space = key.indexOf(' ')
    const method = key.slice(0, space)
    const path = key.slice(space + 1)
    if (!path.startsWith('/')) throw new TypeError(`route ${key} of ${name} must start with /`)
    out[`${method} ${base}${path}`] = route
  }
  return out
}
