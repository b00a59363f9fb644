// `p2pay broker`: the trusted authority of PPay and the file market's
// accounting centre. Hosts PPay's ledger (which keeps the broker's accounts,
// where money enters) and the AC, which shares those accounts.
import {
  checkPeerId,
  daemonSpec,
  schemeOptions,
  startDaemon,
  type Account,
  isAccountKeeper,
  type AccountKeeper,
  type ConfigOf,
  type DaemonComponents,
  type RunningDaemon,
  type Routes,
  type SchemeService,
  type Spec,
  type Table
} from '@p2pay/core'
import { LEDGER_TABLES, ppayLedgerModule } from '@p2pay/ppay'
import { fairexAccountingModule } from '@p2pay/fairex'
import { aggsignLedgerModule } from '@p2pay/aggsign'
import { whopayLedgerModule } from '@p2pay/whopay'
import { brokerAudit } from './audit.ts'
import { BROKER_BUCKETS } from './buckets.ts'

/** The schemes the broker hosts, in start order. */
const SCHEMES = [ppayLedgerModule, fairexAccountingModule, aggsignLedgerModule, whopayLedgerModule] as const

export const brokerOptions = {
  ...daemonSpec('./.data/broker', { relayServer: true }),
  ...schemeOptions(SCHEMES)
} as const satisfies Spec

export type BrokerConfig = ConfigOf<typeof brokerOptions>

export interface BrokerComponents extends DaemonComponents {
  /** the broker's accounts, for the schemes that move money in and out of them besides PPay's ledger */
  accounts: Table<Account>
}

/** The hosted scheme that keeps the broker's accounts (PPay's ledger). */
function keeperOf(schemes: Iterable<SchemeService>): AccountKeeper {
  const keeper = [...schemes].find(isAccountKeeper)
  if (keeper == null) throw new TypeError('the broker hosts no scheme that keeps the accounts')
  return keeper
}

export async function startBroker(cfg: BrokerConfig): Promise<RunningDaemon<BrokerComponents>> {
  return await startDaemon<BrokerConfig, BrokerComponents>(
    {
      name: 'broker',
      buckets: BROKER_BUCKETS,
      schemes: SCHEMES,
      // the store hands out one Table per bucket: the AC's accounts are the ledger's own
      components: async base => ({ ...base, accounts: await base.store.table<Account>(LEDGER_TABLES.accounts.bucket) }),
      routes: d => {
        const keeper = keeperOf(d.schemes.values())
        const store = d.components.store
        const audit = async (): Promise<Record<string, unknown>> => {
          await store.barrier()
          return brokerAudit(keeper, d.schemes.values())
        }
        const routes: Routes = {
          'POST /v1/topup': async b => await keeper.topup(b.account, b.amount),
          'GET /v1/account': async (_b, q) => {
            const id = checkPeerId(q.get('id'), 'id')
            return { account: id, balance: await keeper.balance(id) }
          },
          'GET /v1/accounts': async () => ({ accounts: await keeper.balances() }),
          'GET /v1/audit': audit
        }
        return routes
      },
      status: d => brokerAudit(keeperOf(d.schemes.values()), d.schemes.values())
    },
    cfg
  )
}
