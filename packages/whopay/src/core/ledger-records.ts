// The rows of the broker's WhoPay ledger, what its calls return, and its configuration.
import type { Account, Table } from '@p2pay/core'
import type { Evidence, OwnerEvidence } from './evidence.ts'
import type { HolderSigned, HolderTag } from './messages.ts'

export type { Account } from '@p2pay/core'

/** The requests table's key: a coin's (gen, seq). */
export const reqKey = (coin: string, gen: number, seq: number): string => `${coin}|${gen}|${seq}`

/** A coin the broker sold: its current certificate and what the broker knows of who holds it. */
export interface CoinRecord {
  coin: string
  owner: string
  value: number
  expiry: number
  serial: string
  gen: number
  /** the current certificate, base64 (a repeated purchase or renewal gets these bytes) */
  cert: string
  /** every certificate of the coin by gen, base64: evidence about an older generation needs its certificate */
  certs: Record<string, string>
  /** the highest seq the broker knows a holder at, this gen (0: the owner, with the coin key) */
  seq: number
  holder: string
  /** the binding naming `holder` at `seq`, base64 (none at seq 0) */
  binding?: string
  /** outstanding: in custody; deposited: paid into a purse */
  state: 'outstanding' | 'deposited'
  /** the broker's `whopay/spent` envelopes, base64, by gen: a deposit, or a renewal of that gen */
  spent: Record<string, string>
  boughtAt: number
}

/** A holder request the broker has seen at one (coin, gen, seq): the one it holds the key to in any conflict. */
export interface SeenRequest extends HolderSigned {
  tag: HolderTag
  /** where it sends the coin: the new holder key or the purse */
  to: string
  /** the binding it came in, when the broker learnt it from one (base64) */
  binding?: string
}

export interface PurseRecord {
  balance: number
}

export interface FraudRecord {
  /** the evidence hash */
  id: string
  kind: 'holder' | 'owner'
  coin: string
  gen: number
  seq: number
  /** the convicted peer (the first of `cheaters`) */
  cheater: string
  /** every peer convicted: two when the openings name two members (a coin key shared between them) */
  cheaters: string[]
  evidence: Evidence | OwnerEvidence
  /** the judge's opening envelopes (base64), for a holder double spend */
  openings: string[]
  detectedAt: number
  /** the broker's `whopay/conviction` envelope, base64 (ConvictionBody) */
  conviction?: string
  /** taken back from the purse the cheater's own deposit credited, into the honest purse */
  reclaimed?: Array<{ from: string; purse: string; value: number }>
  /** paid from the cheaters' accounts (`from`: whose, in the order taken) */
  compensated: Array<{ purse: string; value: number; from?: string }>
  shortfall: Array<{ purse: string; value: number }>
}

/** Running totals the audit checks the coins and purses against. */
export interface LedgerMeta {
  /** value of the coins sold */
  purchased: number
  /** value of the coins deposited into purses */
  deposited: number
  /** value of the coins their owners deposited at seq 0: paid into the owner's account, never a purse */
  redeemed: number
  /** moved from a cheater's purse (its own deposit of the coin) into the honest holder's purse */
  reclaimed: number
  /** moved from purses to accounts */
  withdrawn: number
  /** moved from cheaters' accounts into honest holders' purses */
  fraudPaid: number
  /** owed to honest holders and never paid: recorded, not created */
  shortfall: number
}

export const EMPTY_META: LedgerMeta = {
  purchased: 0,
  deposited: 0,
  redeemed: 0,
  reclaimed: 0,
  withdrawn: 0,
  fraudPaid: 0,
  shortfall: 0
}

export interface PurchaseResult {
  coin: string
  cert: string
  value: number
}

export interface TransferResult {
  coin: string
  /** the broker's binding at seq + 1, base64 */
  binding: string
}

export interface DepositResult {
  coin: string
  /** the purse the request names; not credited when `account` is set */
  purse: string
  /** a seq-0 deposit (the owner's own coin) credits the owner's account instead of a purse */
  account?: string
  value: number
  /** the broker's `whopay/spent` envelope, base64 */
  spent: string
  /** 'coin': the coin's value from custody; 'compensation': from a convicted cheater's account */
  from: 'coin' | 'compensation'
  fraud?: string
  shortfall?: number
}

export interface RenewResult {
  coin: string
  /** the new certificate (gen + 1), base64 */
  cert: string
  /** the broker's binding of the new generation to the fresh key, base64 */
  binding: string
  spent: string
}

export interface WithdrawResult {
  purse: string
  account: string
  amount: number
  /** the purse's balance after it */
  balance: number
  /** the withdrawal envelope's hash: the same one again gets this answer, another with its nonce REPLAY */
  hash: string
}

export interface LedgerTables {
  /** the broker's accounts (PPay's ledger keeps them): purchases debit them, withdrawals credit them */
  accounts: Table<Account>
  coins: Table<CoinRecord>
  serials: Table<{ coin: string }>
  /** coin|gen|seq -> the request seen there */
  requests: Table<SeenRequest>
  /** request envelope hash -> what the broker answered (a retry gets the same) */
  answers: Table<TransferResult | DepositResult | RenewResult>
  purses: Table<PurseRecord>
  /** purse|nonce -> the withdrawal done */
  nonces: Table<WithdrawResult>
  frauds: Table<FraudRecord>
  meta: Table<LedgerMeta>
}

export interface LedgerConfig {
  /** the longest a coin certificate runs, ms */
  coinTtlMs: number
  /** the largest value one coin carries */
  maxCoinValue: number
  /** an expired coin is still deposited or renewed for this long, ms */
  depositGraceMs: number
  now: () => number
}
