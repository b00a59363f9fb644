// PPay's LevelDB tables, bucket by bucket (key -> value). The broker keeps the
// ledger's, a node its wallet's; the bucket names are those of earlier
// releases, so existing data dirs open unchanged.
import { table } from '@p2pay/core'
import type { FraudProof, Transfer } from '../core/types.ts'
import type { Account, CashResult, CoinRecord, DowntimeEntry, Meta } from '../core/ledger-records.ts'
import type { Delivery, Holding, OwnedCoin, TrailEntry } from '../core/wallet-records.ts'

/** The broker's: accounts, coins sold, cashings, evidence, fraud proofs, the downtime log. */
export const LEDGER_TABLES = {
  accounts: table<Account>(
    'ppay-accounts',
    "peer id -> balance (the broker's accounts, shared with the file market's AC)"
  ),
  coins: table<CoinRecord>('ppay-coins', 'sn -> owner, value, expiry, and whether and to whom it paid out'),
  buys: table<{ hash: string; coins: string[] }>('ppay-buys', 'account|nonce -> the purchase and the coins it got'),
  cashes: table<CashResult>('ppay-cashes', 'hash of a cash request -> its result (a repeat gets the same answer)'),
  evidence: table<Transfer>('ppay-evidence', 'sn|pos|signer -> a signed transfer seen at cashing or in a report'),
  payouts: table<{ value: number; from: string }>('ppay-payouts', 'sn|holder -> what a compensated holder was paid'),
  frauds: table<FraudProof>('ppay-frauds', 'fraud id -> the fraud proof: two envelopes signed by the convicted peer'),
  downtime: table<DowntimeEntry>('ppay-downtime', 'owner|n -> a reassignment the broker made for an offline owner'),
  downtimeByRequest: table<{ owner: string; n: number }>(
    'ppay-downtimeByRequest',
    'request hash -> its downtime entry'
  ),
  meta: table<Meta>('ppay-meta', '"meta" -> money topped up, next downtime number per owner')
}

/** A node's: coins it owns (with their audit trail), coins it holds, deliveries and purchases not yet done. */
export const WALLET_TABLES = {
  owned: table<OwnedCoin>('ppay-owned', 'sn -> a coin this node bought: its seq, holder, refund'),
  trail: table<TrailEntry>('ppay-trail', 'sn|seq -> each assignment this owner (or the broker for it) signed'),
  held: table<Holding>('ppay-held', 'sn|seq.depth -> a coin this node holds, with its proof and state'),
  outbox: table<Delivery>('ppay-outbox', 'id -> a signed proof not yet delivered to its payee'),
  pendingBuys: table<{ nonce: string; buy: string; at: number }>(
    'ppay-pendingBuys',
    'nonce -> a purchase sent, not yet answered'
  ),
  meta: table<{ downtimeCursor: number }>('ppay-meta', '"meta" -> the last downtime log entry synced')
}
