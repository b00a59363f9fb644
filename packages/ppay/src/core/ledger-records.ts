// The rows of the broker's PPay ledger and its configuration.
import type { Account, Table } from '@p2pay/core'
import type { FraudProof, Transfer } from './types.ts'

export type { Account } from '@p2pay/core'
export interface CoinRecord {
  owner: string
  value: number
  expiry: number
  status: 'out' | 'paid'
  paidTo?: string
  /** the transfers (`pos|signer` -> hash) of the chain the coin paid out on; other branches diverge from it */
  paidChain?: Record<string, string>
}
export interface DowntimeEntry {
  n: number
  owner: string
  sn: string
  assign: string
  request: string
  at: number
}
export interface Meta {
  toppedUp: number
  downtime: Record<string, number>
}

export interface LedgerTables {
  accounts: Table<Account>
  coins: Table<CoinRecord>
  buys: Table<{ hash: string; coins: string[] }>
  cashes: Table<CashResult>
  evidence: Table<Transfer>
  payouts: Table<{ value: number; from: string }>
  frauds: Table<FraudProof>
  downtime: Table<DowntimeEntry>
  downtimeByRequest: Table<{ owner: string; n: number }>
  meta: Table<Meta>
}

export interface LedgerConfig {
  coinTtlMs: number
  cashGraceMs: number
  maxLayers: number
  maxCoinsPerBuy: number
  now: () => number
}

export type CashResult =
  | {
      sn: string
      status: 'paid'
      value: number
      holder: string
      from: 'coin' | 'compensation'
      culprit?: string
      unpaid?: number
    }
  | { sn: string; status: 'refused'; code: string; message: string; fraud?: string }

export type DowntimeResult =
  | { status: 'ok'; assign: string; request: string }
  | { status: 'refused'; code: string; message: string; fraud?: string }
