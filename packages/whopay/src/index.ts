// WhoPay (Wei, Chen, Smith, Vo 2006): anonymous transferable coins. BBS04's arithmetic (core/bbs04.ts) loads
// mcl-wasm, about 20 MiB resident per thread: this index only names its sizes and types, and the daemons load it
// where a group is used (the worker pool, the broker's group, the judge).
export * from './core/bbs04-params.ts'
export type {
  GroupPublicKey,
  GroupSignature,
  IssuerKey,
  MemberKey,
  MemberLookup,
  OpenerKey,
  OpenerPart,
  RandomSource
} from './core/bbs04.ts'
// core
export * from './errors.ts'
export * from './kinds.ts'
export * from './core/messages.ts'
export * from './core/holder.ts'
export * from './core/coin.ts'
export * from './core/evidence.ts'
export * from './core/ledger.ts'
export * from './core/ledger-records.ts'
export * from './core/ledger-books.ts'
export * from './core/ledger-fraud.ts'
export * from './core/owner.ts'
export * from './core/wallet.ts'
export * from './core/coin-state.ts'
export { OWNER_TABLES, WALLET_TABLES, COIN_STATE_TABLES } from './tables.ts'
// group
export * from './core/group-pool.ts'
export * from './core/group-envelopes.ts'
export type { Commit, OpenerConfig, OpenerRecord, OpenerTables, Opening, OpeningCase } from './core/opener.ts'
export * from './net/group-tables.ts'
export * from './net/group-protocols.ts'
export {
  GroupService,
  type GroupServiceComponents,
  type GroupServiceInit,
  type OpenResult
} from './net/group-service.ts'
export {
  GroupClient,
  checksHere,
  fetchGroup,
  type GroupChecks,
  type GroupClientComponents,
  type GroupClientInit
} from './net/group-client.ts'
export type { GroupInfo, Membership } from './net/group-client.ts'
export { OpenerService, whopayOpener, whopayOpenerModule } from './net/opener-service.ts'
export type { OpenerComponents, OpenerInit } from './net/opener-service.ts'
// net: the broker's ledger, a node's wallet (owner, holder, payee), coin states in the DHT, fresh identities
export { LEDGER_TABLES } from './tables.ts'
export { LEDGER_NET_TABLES, WALLET_NET_TABLES } from './net/tables.ts'
export type { Pending } from './net/tables.ts'
export * from './net/protocols.ts'
export { withFreshIdentity, type AnonNode, type FreshIdentityOptions } from './net/anon-dial.ts'
export { CoinStateClient, DEFAULT_KEEPERS, type CoinStateView, type PublishResult } from './net/coin-state-client.ts'
export { CoinStateStore, MAX_STATE_RECORDS, type PutAnswer } from './net/coin-state-service.ts'
export { COIN_STATE_KIND, openRecord, type CoinState, type WireRecord } from './net/coin-state-record.ts'
export { LEDGER_OPTIONS as WHOPAY_LEDGER_OPTIONS, WALLET_OPTIONS as WHOPAY_WALLET_OPTIONS } from './options.ts'
export { LedgerService } from './net/ledger-service.ts'
export type { LedgerComponents, LedgerInit } from './net/ledger-context.ts'
export { WalletService } from './net/wallet-service.ts'
export { SIDE_KINDS as WHOPAY_SIDE_KINDS, type WalletComponents, type WalletInit } from './net/wallet-context.ts'
export type { PaidCoin, PayManyResult } from './net/wallet-payments.ts'
export type { DepositOutcome } from './net/wallet-deposit.ts'
export { whopayLedger, whopayWallet, whopayLedgerModule, whopayWalletModule } from './modules.ts'
export { WHOPAY_BROKER_TABLES, WHOPAY_NODE_TABLES } from './modules.ts'
