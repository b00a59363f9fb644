// The rows of the broker's AggSign ledger, what its calls return, and its configuration.
import type { Account, Table } from '@p2pay/core'
import type { Counts } from './counts.ts'
import type { FraudKind, FraudProof } from './fraud.ts'
import type { WireCoin } from './messages.ts'

export type { Account } from '@p2pay/core'

/** A certificate the broker signed, and the escrow held for it. */
export interface CertRecord {
  /** sha256 of the envelope: its name in coins, and the table key */
  hash: string
  peer: string
  key: string
  limit: number
  expiry: number
  serial: string
  /** the envelope, base64: a repeated request gets these exact bytes */
  cert: string
  /** what is held now: limit - paid - fraudPaid - released */
  escrow: number
  /** paid out to holders of its coins */
  paid: number
  /** paid out to holders its key cheated */
  fraudPaid: number
  /** handed back to the peer at expiry */
  released: number
  /** the values of the distinct coins cashed under it, the first time each: past `limit` is over-minting */
  minted: number
  /** when the escrow went back (set once) */
  releasedAt?: number
}

/** A chain of a coin the broker paid out on (or convicted on). */
export interface PaidChain {
  /** hashes of its messages, by depth */
  hashes: string[]
  holder: string
  coin: WireCoin
}

/** A coin the broker has seen cashed: every chain of it that was paid, first one first. */
export interface CoinRecord {
  id: string
  cert: string
  serial: number
  value: number
  minter: string
  chains: PaidChain[]
  at: number
}

export type CashResult =
  | {
      coin: string
      status: 'paid'
      holder: string
      /** credited to the holder */
      value: number
      /** 'coin': from the minter's escrow (and its balance, past its limit); 'compensation': from a cheater */
      from: 'coin' | 'compensation'
      culprit?: string
      fraud?: string
      /** what could not be paid: the one who owed it ran dry */
      shortfall?: number
      counts: Counts
    }
  | { coin: string; status: 'convicted'; holder: string; culprit: string; fraud: string; counts: Counts }

export interface FraudRecord {
  /** sha256 of the sorted tips (or `over-mint|cert`): one record per contradiction */
  id: string
  kind: FraudKind
  culprit: string
  /** the certificate of the key that signed both sides */
  cert: string
  depth: number
  proof: FraudProof
  detectedAt: number
  compensated: Array<{ holder: string; value: number }>
  shortfall: Array<{ holder: string; value: number }>
}

/** Running totals the audit checks the certificates against. */
export interface LedgerMeta {
  escrowed: number
  paid: number
  fraudPaid: number
  released: number
  /** owed to honest holders and never paid: recorded, not created */
  shortfall: number
}

export const EMPTY_META: LedgerMeta = { escrowed: 0, paid: 0, fraudPaid: 0, released: 0, shortfall: 0 }

export interface CertifyResult {
  certificate: string
  hash: string
  peer: string
  key: string
  limit: number
  expiry: number
  counts: Counts
}

export interface LedgerTables {
  /** the broker's accounts (PPay's ledger keeps them): certificates escrow from them, cashings pay into them */
  accounts: Table<Account>
  certs: Table<CertRecord>
  keys: Table<{ cert: string }>
  coins: Table<CoinRecord>
  serials: Table<{ coin: string }>
  payouts: Table<CashResult>
  frauds: Table<FraudRecord>
  meta: Table<LedgerMeta>
}

export interface LedgerConfig {
  maxLayers: number
  /** the longest a certificate may run, ms */
  maxCertTtlMs: number
  /** an expired coin is still cashed for this long; a certificate's escrow goes back after its expiry plus this */
  cashGraceMs: number
  now: () => number
}
