// Karma: bank-sets over kad-dht, majority voting, epochs. This package holds
// the I/O-free core; the libp2p service composes it with the DHT and a Store.
export * from './ids.ts'
export * from './bankset.ts'
export * from './pow.ts'
export * from './messages.ts'
export * from './majority.ts'
export * from './epoch.ts'
export * from './member.ts'
