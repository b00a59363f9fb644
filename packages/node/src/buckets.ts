// Every LevelDB bucket `p2pay node` keeps, bucket -> key -> value: the tables
// of the schemes it hosts, each declared (with what it maps) by its scheme.
// The store opens nothing that is not listed here.
import { PAYMENT_TABLES, buckets } from '@p2pay/core'
import { WALLET_TABLES } from '@p2pay/ppay'
import { FAIREX_NODE_TABLES } from '@p2pay/fairex'
import { KARMA_TABLES } from '@p2pay/karma'
import { WALLET_NET_TABLES, WALLET_TABLES as AGGSIGN_WALLET_TABLES } from '@p2pay/aggsign'
import { WHOPAY_NODE_TABLES } from '@p2pay/whopay'

export const NODE_BUCKETS = buckets(
  WALLET_TABLES, // PPay: coins owned (with their trail) and held, deliveries and purchases under way
  FAIREX_NODE_TABLES, // the file market: shared files, sales, purchases, cheques to deposit, known bans
  KARMA_TABLES, // Karma: the books of the bank-sets this node is in, its own transfers, the liars it caught
  AGGSIGN_WALLET_TABLES, // AggSign: this node's BLS key and certificate, certificates seen, coins minted and held
  WALLET_NET_TABLES, // AggSign: coins paid on, not yet acknowledged; a certificate request not yet answered
  WHOPAY_NODE_TABLES, // WhoPay: coins owned, held, invoiced and pending, the purse, the member key, coin states
  PAYMENT_TABLES // the payments journal: every payment, transfer, purchase and cash-out by id, and its state
)
