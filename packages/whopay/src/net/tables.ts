// The LevelDB tables of WhoPay's services, bucket by bucket (key -> value): the
// broker's ledger books, a node's wallet (as owner, holder, payee), and the coin
// states a node keeps for the DHT. Signed objects are kept as the base64 of the
// bytes received or made, never re-encoded.
import { table } from '@p2pay/core'
import type { HolderSigned } from '../core/messages.ts'
import type { KeptState } from './coin-state-service.ts'

export const LEDGER_NET_TABLES = {
  states: table<KeptState>('whopay-ledger-states', 'coin key id -> the newest coin state this broker keeps for the DHT')
}

/** A coin this node bought. */
export interface OwnedCoin {
  coin: string
  /** the coin key's seed (base64): the owner holds the coin at seq 0 */
  seed: string
  value: number
  /** the certificate (base64); none while the purchase is not answered */
  cert?: string
  gen: number
  expiry: number
  /** the holder's seq now (0: the owner itself) and its key */
  seq: number
  holder: string
  /** the newest binding at this generation (base64) */
  binding?: string
  /** position -> the request the owner (or the broker for it) answered there */
  answered: Record<string, { hash: string; signed: HolderSigned; binding?: string }>
  /** buying: asked of the broker, not answered yet; issued, deposited: the owner spent it itself */
  used?: 'buying' | 'issued' | 'deposited'
  at: number
}

/** A coin this node holds, or held, under a holding key of its own. */
export interface HeldCoin {
  /** the holding key id */
  key: string
  seed: string
  coin: string
  value: number
  cert: string
  gen: number
  expiry: number
  seq: number
  /** the binding naming `key` at `seq` (none at seq 0: an owned coin's key) */
  binding?: string
  status: 'held' | 'spending' | 'spent' | 'deposited' | 'renewed'
  at: number
}

/** A fresh key a payee handed out to be paid on. */
export interface Invoice {
  key: string
  seed: string
  value: number
  at: number
  /** the coin paid to it */
  coin?: string
}

/** A coin transaction started and not yet acknowledged: the request is fixed, so a retry sends the same bytes. */
export interface Pending {
  /** the holding key (a held coin) or the coin key (an owned coin) it spends */
  id: string
  coin: string
  kind: 'issue' | 'transfer' | 'deposit' | 'renew'
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
  /** renew: the new certificate */
  newCert?: string
  /** renew: the fresh key's seed */
  newSeed?: string
  attempts: number
  at: number
  refused?: { code: string; message: string }
}

export const WALLET_NET_TABLES = {
  owned: table<OwnedCoin>('whopay-wallet-owned', 'coin key id -> a coin this node bought: its key, holder, seq'),
  held: table<HeldCoin>('whopay-wallet-held', 'holding key id -> a coin this node holds or held, and its binding'),
  invoices: table<Invoice>('whopay-wallet-invoices', 'fresh key id -> a key this payee handed out, and its seed'),
  pending: table<Pending>('whopay-wallet-pending', 'key id -> a coin transaction signed and not yet acknowledged'),
  purse: table<{ key: string; seed: string; deposited: number; withdrawn: number }>(
    'whopay-wallet-purse',
    '"purse" -> this node\'s purse key (deposits credit it at the broker)'
  ),
  states: table<KeptState>('whopay-wallet-states', 'coin key id -> the newest coin state this node keeps for the DHT')
}
