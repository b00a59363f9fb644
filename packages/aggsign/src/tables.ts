// AggSign's LevelDB tables, bucket by bucket (key -> value). The broker keeps
// the ledger's (its accounts are PPay's ledger's, `ppay-accounts`), a node its
// wallet's.
import { table } from '@p2pay/core'
import type { CashResult, CertRecord, CoinRecord, FraudRecord, LedgerMeta } from './core/ledger-records.ts'
import type { HeldCoin, KnownCert, MintedCoin, RenewedCoin, WalletKey } from './core/wallet-records.ts'

export const LEDGER_TABLES = {
  certs: table<CertRecord>('aggsign-certs', 'certificate hash -> the certificate and its escrow'),
  keys: table<{ cert: string }>('aggsign-keys', 'base64 BLS key -> the certificate that binds it'),
  coins: table<CoinRecord>('aggsign-coins', 'coin id -> every chain of it the broker paid out on'),
  serials: table<{ coin: string }>('aggsign-serials', 'cert|serial -> the coin first cashed with that serial'),
  payouts: table<CashResult>('aggsign-payouts', 'coin id|tip hash -> what cashing that chain gave (a retry gets it)'),
  frauds: table<FraudRecord>('aggsign-frauds', 'fraud id -> the proof, the convicted peer, who was compensated'),
  meta: table<LedgerMeta>('aggsign-meta', '"meta" -> money escrowed, paid, paid for fraud, released, short')
}

export const WALLET_TABLES = {
  key: table<WalletKey>('aggsign-key', '"key" -> this node\'s BLS key and its certificate'),
  certs: table<KnownCert>('aggsign-certcache', 'certificate hash -> a certificate seen and verified'),
  minted: table<MintedCoin>('aggsign-minted', 'serial -> a coin this node minted'),
  held: table<HeldCoin>('aggsign-held', 'coin id -> the latest chain of a coin this node holds or held'),
  renewed: table<RenewedCoin>('aggsign-renewed', 'old coin id -> the fresh coin this minter paid for it on renewal')
}
