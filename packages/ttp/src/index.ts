// `p2pay ttp`: the file market's trusted third party. Hosts the file market's
// dispute service: K for a paying downloader, and the countersigned cheques
// waiting for their providers, in LevelDB.
import { daemonSpec, schemeOptions, startDaemon, type ConfigOf, type RunningDaemon, type Spec } from '@p2pay/core'
import { fairexDisputeModule } from '@p2pay/fairex'
import { TTP_BUCKETS } from './buckets.ts'

const SCHEMES = [fairexDisputeModule] as const

export const ttpOptions = {
  ...daemonSpec('./.data/ttp', { relayServer: true }),
  bootstrap: { type: 'list', default: [], help: "multiaddrs to join the network through (e.g. the broker's)" },
  ...schemeOptions(SCHEMES)
} as const satisfies Spec

export type TtpConfig = ConfigOf<typeof ttpOptions>

export async function startTtp(cfg: TtpConfig): Promise<RunningDaemon> {
  return await startDaemon(
    { name: 'ttp', buckets: TTP_BUCKETS, schemes: SCHEMES, components: base => base, bootstrap: c => c.bootstrap },
    cfg
  )
}
