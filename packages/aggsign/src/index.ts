// AggSign (Catalano, Ruffo, Schifanella 2005): peers mint their own coins under
// a broker's certificate and pay by adding layers, every layer's BLS signature
// aggregated into the coin's one signature. This is the package's face: the
// pure core (core/), and the two factories the daemons host (net/): the
// broker's ledger and a node's wallet.
import type { SchemeFactory, SchemeModule } from '@p2pay/core'
import { cheatRoutes } from './cheats.ts'
import { LedgerService, type LedgerComponents, type LedgerInit } from './net/ledger-service.ts'
import { WalletService } from './net/wallet-service.ts'
import type { WalletComponents, WalletInit } from './net/wallet-context.ts'
import { LEDGER_OPTIONS, WALLET_OPTIONS, ledgerInit, walletInit } from './options.ts'

export * from './core/bls.ts'
export { AggsignErrorCode } from './errors.ts'
export { AGGSIGN_KINDS, type AggsignKind } from './kinds.ts'
export * from './core/messages.ts'
export * from './core/certificate.ts'
export * from './core/coin.ts'
export * from './core/counts.ts'
export * from './core/fraud.ts'
export * from './core/ledger.ts'
export * from './core/ledger-books.ts'
export * from './core/ledger-records.ts'
export * from './core/wallet.ts'
export * from './core/wallet-records.ts'
export { LEDGER_TABLES, WALLET_TABLES } from './tables.ts'
export { WALLET_NET_TABLES, type Certifying, type Delivery } from './net/tables.ts'
export { PROTOCOL as AGGSIGN_PROTOCOL, ACK_KIND as AGGSIGN_ACK_KIND } from './net/protocol.ts'
export { LEDGER_OPTIONS as AGGSIGN_LEDGER_OPTIONS, WALLET_OPTIONS as AGGSIGN_WALLET_OPTIONS } from './options.ts'
export { LedgerService, type LedgerComponents, type LedgerInit }
export { WalletService, type WalletComponents, type WalletInit }
export type { PaidCoin, PayManyResult } from './net/wallet-payments.ts'
export type { CashOutcome } from './net/wallet-cashing.ts'

/** The broker's side: certifies keys against escrow, cashes coins, convicts double spenders and over-minters. */
export function aggsignLedger(init: LedgerInit): SchemeFactory<LedgerComponents> {
  return components => new LedgerService(components, init)
}

/** A node's side: certifies its key, mints, pays by adding layers, accepts coins, cashes. */
export function aggsignWallet(init: WalletInit): SchemeFactory<WalletComponents> {
  return components => {
    const service = new WalletService(components, init)
    // fault injection for test swarms: mounted only by a daemon started with --allow-cheats
    return Object.assign(service, { cheats: () => cheatRoutes(service) })
  }
}

/** How `p2pay broker` hosts AggSign. */
export const aggsignLedgerModule = {
  name: 'aggsign',
  options: LEDGER_OPTIONS,
  create: cfg => aggsignLedger(ledgerInit(cfg))
} satisfies SchemeModule<Parameters<typeof ledgerInit>[0], LedgerComponents>

/** How `p2pay node` hosts AggSign. */
export const aggsignWalletModule = {
  name: 'aggsign',
  options: WALLET_OPTIONS,
  create: cfg => aggsignWallet(walletInit(cfg))
} satisfies SchemeModule<Parameters<typeof walletInit>[0], WalletComponents>
