// Every LevelDB bucket `p2pay broker` keeps, bucket -> key -> value: the tables
// of the schemes it hosts, each declared (with what it maps) by its scheme.
// The store opens nothing that is not listed here.
import { buckets } from '@p2pay/core'
import { LEDGER_TABLES } from '@p2pay/ppay'
import { ACCOUNTING_TABLES } from '@p2pay/fairex'
import { LEDGER_TABLES as AGGSIGN_LEDGER_TABLES } from '@p2pay/aggsign'
import { WHOPAY_BROKER_TABLES } from '@p2pay/whopay'

export const BROKER_BUCKETS = buckets(
  LEDGER_TABLES, // PPay's ledger: accounts (shared with the AC), coins, cashings, fraud proofs, downtime log
  ACCOUNTING_TABLES, // the file market's AC: capital certificates, cheques, deposits, held proceeds
  AGGSIGN_LEDGER_TABLES, // AggSign: mint certificates and their escrow, coins cashed by chain, fraud records
  WHOPAY_BROKER_TABLES // WhoPay: coins sold, requests seen, purses, frauds, the group and its registry, coin states
)
