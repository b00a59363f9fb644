// WhoPay's LevelDB tables, bucket by bucket (key -> value). The broker keeps the ledger's (its accounts are PPay's
// ledger's, `ppay-accounts`); a node its owner book, wallet and coin-state records. The group registry and the
// judge's openings are declared with the group code.
import { table } from '@p2pay/core'
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
