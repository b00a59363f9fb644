// The rows of a node's AggSign wallet and its configuration.
import type { Table } from '@p2pay/core'
import type { CertInfo } from './certificate.ts'
import type { WireCoin } from './messages.ts'

/** This node's BLS key, its certificate once the broker signed it, and what it minted under it. */
export interface WalletKey {
  /** base64 of the 32-byte secret key */
  sk: string
  /** base64 of the 48-byte public key */
  pk: string
  /** the certificate envelope, base64, and its hash */
  cert?: string
  certHash?: string
  limit?: number
  expiry?: number
  /** the serial the next coin gets */
  nextSerial: number
  /** the value minted under the certificate so far */
  minted: number
}

/** A certificate this node verified once: the envelope and what it says. */
export interface KnownCert {
  cert: string
  info: CertInfo
}

export interface MintedCoin {
  serial: number
  id: string
  value: number
  expiry: number
  at: number
}

/**
 * A coin this node holds ('held'), gave away ('spent'), cashed, or gave back
 * to its minter for a fresh one ('renewed'), with the latest chain it knows.
 */
export interface HeldCoin {
  id: string
  coin: WireCoin
  depth: number
  value: number
  expiry: number
  status: 'held' | 'spent' | 'cashed' | 'renewed'
  at: number
}

/** A coin this node (its minter) took back by its renewal layer, and the fresh coin it paid for it. */
export interface RenewedCoin {
  /** the old coin's id */
  old: string
  /** hash of the renewal layer's message: the same renewal again gets the same answer */
  tip: string
  /** the fresh coin's id, and the coin as paid to the holder (layer 1) */
  id: string
  coin: WireCoin
  value: number
  at: number
}

export interface WalletTables {
  key: Table<WalletKey>
  certs: Table<KnownCert>
  minted: Table<MintedCoin>
  held: Table<HeldCoin>
  renewed: Table<RenewedCoin>
}

export interface WalletConfig {
  broker: string
  maxLayers: number
  now: () => number
}
