// `p2pay node`: a peer. Hosts PPay's wallet (payer, payee, coin owner, coin
// holder), the file market (provider, downloader) and Karma (account holder
// and bank-set member); all of them know the broker.
import {
  TEST_ONLY_OPTIONS,
  daemonSpec,
  partyAt,
  schemeOptions,
  startDaemon,
  type ConfigOf,
  type DaemonComponents,
  type Party,
  type RunningDaemon,
  type Spec
} from '@p2pay/core'
import { ppayWalletModule } from '@p2pay/ppay'
import { fairexNodeModule } from '@p2pay/fairex'
import { karmaModule } from '@p2pay/karma'
import { aggsignWalletModule } from '@p2pay/aggsign'
import { whopayWalletModule } from '@p2pay/whopay'
import { NODE_BUCKETS } from './buckets.ts'
import { nodePayments } from './payments.ts'

export { PAYMENT_ROUTES } from './payments.ts'

/** The schemes a node hosts, in start order. */
const SCHEMES = [ppayWalletModule, fairexNodeModule, karmaModule, aggsignWalletModule, whopayWalletModule] as const

export const nodeOptions = {
  ...daemonSpec('./.data/node'),
  broker: { type: 'string', help: "the broker's multiaddr, ending in /p2p/<peer id> (required)" },
  bootstrap: { type: 'list', default: [], help: 'extra bootstrap multiaddrs (the broker is always one)' },
  'retry-interval-ms': {
    type: 'number',
    default: 5000,
    help: 'how often queued deliveries, purchases and unfinished sales are retried'
  },
  ...TEST_ONLY_OPTIONS,
  ...schemeOptions(SCHEMES)
} as const satisfies Spec

export type NodeConfig = ConfigOf<typeof nodeOptions>

export interface NodeComponents extends DaemonComponents {
  /** the broker: PPay's authority and the file market's accounting centre */
  broker: Party
}

export async function startNode(cfg: NodeConfig): Promise<RunningDaemon<NodeComponents>> {
  const broker = partyAt(cfg.broker, '--broker')
  return await startDaemon<NodeConfig, NodeComponents>(
    {
      name: 'node',
      buckets: NODE_BUCKETS,
      schemes: SCHEMES,
      components: base => ({ ...base, broker }),
      bootstrap: c => [c.broker!, ...c.bootstrap],
      status: d => ({ broker: d.components.broker.id }),
      cheats: c => c['allow-cheats'],
      diag: c => c.diag,
      payments: nodePayments
    },
    cfg
  )
}
