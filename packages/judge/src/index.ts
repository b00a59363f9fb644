// `p2pay judge`: the judge of the fixed file market. Hosts the file market's
// judgment service: verdicts and ban records in LevelDB, and the voids it asks
// of the broker's accounting centre, retried until they are done; and WhoPay's
// opener: the group's opening key, used only on double spends it checked.
import {
  ErrorCode,
  daemonSpec,
  fail,
  partyAt,
  schemeOptions,
  startDaemon,
  type ConfigOf,
  type DaemonComponents,
  type Party,
  type RunningDaemon,
  type Spec
} from '@p2pay/core'
import { fairexJudgmentModule } from '@p2pay/fairex'
import { whopayOpenerModule } from '@p2pay/whopay'
import { JUDGE_BUCKETS } from './buckets.ts'

const SCHEMES = [fairexJudgmentModule, whopayOpenerModule] as const

export const judgeOptions = {
  ...daemonSpec('./.data/judge', { relayServer: true }),
  broker: {
    type: 'string',
    help: "the broker's multiaddr, ending in /p2p/<peer id>: its AC voids the cheques of banned providers (required)"
  },
  bootstrap: { type: 'list', default: [], help: 'extra bootstrap multiaddrs (the broker is always one)' },
  'retry-interval-ms': {
    type: 'number',
    default: 5000,
    help: 'how often voids the broker has not confirmed are retried'
  },
  ...schemeOptions(SCHEMES)
} as const satisfies Spec

export type JudgeConfig = ConfigOf<typeof judgeOptions>

export interface JudgeComponents extends DaemonComponents {
  /** the broker whose accounting centre voids the cheques of banned providers */
  broker: Party
}

export async function startJudge(cfg: JudgeConfig): Promise<RunningDaemon<JudgeComponents>> {
  const broker = partyAt(cfg.broker, '--broker')
  if (!(cfg['retry-interval-ms'] > 0)) fail(ErrorCode.BAD_REQUEST, '--retry-interval-ms must be positive')
  return await startDaemon<JudgeConfig, JudgeComponents>(
    {
      name: 'judge',
      buckets: JUDGE_BUCKETS,
      schemes: SCHEMES,
      components: base => ({ ...base, broker }),
      bootstrap: c => [c.broker!, ...c.bootstrap],
      status: d => ({ broker: d.components.broker.id })
    },
    cfg
  )
}
