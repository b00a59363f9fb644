// The LevelDB tables of WhoPay's network side, bucket by bucket (key -> value),
// beside the core's (../tables.ts: the ledger, the owner book, the wallet): the
// coin states a node or the broker keeps for the DHT, and a node's transactions
// in flight. Signed objects are kept as the base64 of the bytes received or
// made, never re-encoded.
import { table } from '@p2pay/core'
import type { HolderSigned } from '../core/messages.ts'
import type { KeptState } from './coin-state-service.ts'
import type { FraudCase } from './ledger-cases.ts'
import type { KeptEvidence } from './wallet-evidence.ts'

export const LEDGER_NET_TABLES = {
  states: table<KeptState>(
    'whopay-ledger-states',
    'coin key id -> the newest coin state this broker keeps for the DHT'
  ),
  cases: table<FraudCase>(
    'whopay-cases',
    'evidence hash -> a holder double spend found, kept before the answer: pending until the judge opens it'
  )
}

/** A coin transaction started and not yet acknowledged: the request is fixed, so a retry sends the same bytes. */
export interface Pending {
  /** the holding key (a held coin) or the coin key (an owned coin: its purchase, issue, or deposit at seq 0) */
  id: string
  coin: string
  kind: 'buy' | 'issue' | 'transfer' | 'deposit' | 'renew'
  value: number
  /** the seq the spending key holds the coin at */
  seq: number
  /** the payee (issue, transfer) */
  to?: string
  toAddrs?: string[]
  /** the key the payee invoiced */
  toKey?: string
  cert: string
  /** the binding naming the spending key (transfer, deposit, renew from a held coin) */
  binding?: string
  /** the holder request, signed (transfer, deposit, renew) */
  request?: HolderSigned
  /** the new binding, once the owner or the broker gave it (issue: signed here) */
  answer?: string
  /** buy: the coin key's seed, kept until the certificate is booked */
  seed?: string
  attempts: number
  at: number
  refused?: { code: string; message: string }
}

export const WALLET_NET_TABLES = {
  pending: table<Pending>('whopay-wallet-pending', 'key id -> a coin transaction signed and not yet acknowledged'),
  ownSpent: table<{ at: number }>(
    'whopay-wallet-own-spent',
    'coin key id -> an owned coin this owner deposited itself at seq 0 (never issued after)'
  ),
  states: table<KeptState>('whopay-wallet-states', 'coin key id -> the newest coin state this node keeps for the DHT'),
  evidence: table<KeptEvidence>(
    'whopay-wallet-evidence',
    'case hash -> evidence this owner or payee found, kept until the broker took it'
  )
}
