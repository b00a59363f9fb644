// PPay (Yang & Garcia-Molina 2003): coins the broker sells to an owner, who
// assigns and reassigns them to holders; the broker's downtime path for an
// offline owner; layered coins; fraud proofs. The pure core is in core/, the
// libp2p and LevelDB side in net/; this file is the package's face: its types,
// its two factories (the broker's ledger, a node's wallet) and how daemons host them.
import type { SchemeFactory, SchemeModule } from '@p2pay/core'
import { cheatRoutes } from './cheats.ts'
import { LedgerService, type LedgerComponents, type LedgerInit } from './net/ledger-service.ts'
import { WalletService } from './net/wallet-service.ts'
import type { WalletComponents, WalletInit } from './net/wallet-context.ts'
import { LEDGER_OPTIONS, WALLET_OPTIONS, ledgerInit, walletInit } from './options.ts'

export * from './core/types.ts'
export * from './core/verify.ts'
export * from './core/ledger.ts'
export * from './core/ledger-records.ts'
export * from './core/wallet.ts'
export * from './core/wallet-records.ts'
export { PPayErrorCode } from './errors.ts'
export { PPAY_KINDS, type PPayKind } from './kinds.ts'
export { LEDGER_TABLES, WALLET_TABLES } from './net/tables.ts'
export { LEDGER_OPTIONS, WALLET_OPTIONS } from './options.ts'
export { LedgerService, type LedgerComponents, type LedgerInit }
export { WalletService, type WalletComponents, type WalletInit }
export type { PaidCoin, PayVia } from './net/wallet-payments.ts'
export { ppaySettler } from './net/ppay-settle.ts'

/** The broker's side: sells coins, cashes them, keeps the downtime log and the fraud proofs. */
export function ppayLedger(init: LedgerInit): SchemeFactory<LedgerComponents> {
  return components => new LedgerService(components, init)
}

/** A node's side: buys, pays, owns, holds and cashes coins. */
export function ppayWallet(init: WalletInit): SchemeFactory<WalletComponents> {
  return components => {
    const service = new WalletService(components, init)
    // fault injection for test swarms: mounted only by a daemon started with --allow-cheats
    return Object.assign(service, { cheats: () => cheatRoutes(service) })
  }
}

/** How `p2pay broker` hosts PPay. */
export const ppayLedgerModule = {
  name: 'ppay',
  options: LEDGER_OPTIONS,
  create: cfg => ppayLedger(ledgerInit(cfg))
} satisfies SchemeModule<Parameters<typeof ledgerInit>[0], LedgerComponents>

/** How `p2pay node` hosts PPay. */
export const ppayWalletModule = {
  name: 'ppay',
  options: WALLET_OPTIONS,
  create: cfg => ppayWallet(walletInit(cfg))
} satisfies SchemeModule<Parameters<typeof walletInit>[0], WalletComponents>
