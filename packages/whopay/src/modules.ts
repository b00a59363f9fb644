// How the daemons host WhoPay: the broker's ledger (with the group and its
// registry) and a node's wallet, each a factory over its components, and the
// tables each daemon lists in its bucket registry.
import type { SchemeFactory, SchemeModule } from '@p2pay/core'
import { cheatRoutes } from './cheats.ts'
import { GROUP_TABLES, MEMBER_TABLES } from './net/group-tables.ts'
import type { LedgerComponents, LedgerInit } from './net/ledger-context.ts'
import { LedgerService } from './net/ledger-service.ts'
import { LEDGER_NET_TABLES, WALLET_NET_TABLES } from './net/tables.ts'
import type { WalletComponents, WalletInit } from './net/wallet-context.ts'
import { WalletService } from './net/wallet-service.ts'
import { LEDGER_OPTIONS, WALLET_OPTIONS, ledgerInit, walletInit } from './options.ts'
import { LEDGER_TABLES, OWNER_TABLES, WALLET_TABLES } from './tables.ts'

/** Every table the broker keeps for WhoPay: the ledger's, the group's and registry, the coin states it keeps. */
export const WHOPAY_BROKER_TABLES = { ...LEDGER_TABLES, ...GROUP_TABLES, ...LEDGER_NET_TABLES }
/** Every table a node keeps for WhoPay: owned, held, invoiced, pending coins, the purse, the member key, states. */
export const WHOPAY_NODE_TABLES = { ...OWNER_TABLES, ...WALLET_TABLES, ...WALLET_NET_TABLES, ...MEMBER_TABLES }

/** The broker's side: sells coins, keeps the group and its registry, takes deposits, convicts double spenders. */
export function whopayLedger(init: LedgerInit): SchemeFactory<LedgerComponents> {
  return components => new LedgerService(components, init)
}

/** A node's side: joins, buys, owns, holds, pays through fresh identities, deposits, renews, withdraws. */
export function whopayWallet(init: WalletInit): SchemeFactory<WalletComponents> {
  return components => {
    const service = new WalletService(components, init)
    // fault injection for test swarms: mounted only by a daemon started with --allow-cheats
    return Object.assign(service, { cheats: () => cheatRoutes(service) })
  }
}

/** How `p2pay broker` hosts WhoPay. */
export const whopayLedgerModule = {
  name: 'whopay',
  options: LEDGER_OPTIONS,
  create: cfg => whopayLedger(ledgerInit(cfg))
} satisfies SchemeModule<Parameters<typeof ledgerInit>[0], LedgerComponents>

/** How `p2pay node` hosts WhoPay. */
export const whopayWalletModule = {
  name: 'whopay',
  options: WALLET_OPTIONS,
  create: cfg => whopayWallet(walletInit(cfg))
} satisfies SchemeModule<Parameters<typeof walletInit>[0], WalletComponents>
