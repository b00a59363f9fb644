// AggSign (Catalano, Ruffo, Schifanella 2005): peers mint their own coins under
// a broker's certificate and pay by adding layers, every layer's BLS signature
// aggregated into the coin's one signature. This is the package's face; the
// pure core is in core/.
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
