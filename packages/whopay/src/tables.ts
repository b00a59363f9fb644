// WhoPay's LevelDB tables of the pure cores, bucket by bucket (key -> value): the broker's ledger (its accounts are
// PPay's ledger's, `ppay-accounts`), a node's owner book and wallet, and the coin states a node keeps for the DHT.
// The group registry and the judge's openings are declared with the group code.
import { table } from '@p2pay/core'
import type { StateRecord } from './core/coin-state.ts'
import type { OwnerCoin } from './core/owner.ts'
import type { WalletHeld, WalletInvoice, WalletPurse } from './core/wallet.ts'
import type {
  CoinRecord,
  DepositResult,
  FraudRecord,
  LedgerMeta,
  PurseRecord,
  RenewResult,
  SeenRequest,
  TransferResult,
  WithdrawResult
} from './core/ledger-records.ts'

export const LEDGER_TABLES = {
  coins: table<CoinRecord>('whopay-coins', 'coin key id -> the coin sold: certificates, known holder, state'),
  serials: table<{ coin: string }>('whopay-serials', 'serial -> the coin sold with it'),
  requests: table<SeenRequest>('whopay-requests', 'coin|gen|seq -> the holder request the broker saw at that seq'),
  answers: table<TransferResult | DepositResult | RenewResult>(
    'whopay-answers',
    'request envelope hash -> what the broker answered (a retry gets it)'
  ),
  purses: table<PurseRecord>('whopay-purses', 'purse key id -> money deposited and not withdrawn'),
  nonces: table<WithdrawResult>('whopay-nonces', 'purse|nonce -> the withdrawal done with it'),
  frauds: table<FraudRecord>('whopay-frauds', 'evidence hash -> the convicted peer, openings, compensations'),
  meta: table<LedgerMeta>('whopay-meta', '"meta" -> money in coins sold, deposited, withdrawn, paid for fraud, short')
}

export const OWNER_TABLES = {
  coins: table<OwnerCoin>('whopay-owner-coins', 'coin key id -> a coin this node bought: its seed, holder, bindings')
}

export const WALLET_TABLES = {
  invoices: table<WalletInvoice>(
    'whopay-invoices',
    'fresh key id -> a key this node invoiced, its seed, the coin paid'
  ),
  held: table<WalletHeld>('whopay-held', 'holding key id -> a coin this node holds or held, its binding and request'),
  purse: table<WalletPurse>('whopay-purse', '"purse" -> this node\'s purse key (deposits credit it at the broker)')
}

export const COIN_STATE_TABLES = {
  states: table<StateRecord>('whopay-states', 'coin key id -> the newest coin state record this node keeps')
}
