// `p2pay ttp`: the file market's trusted third party. Composes the daemon base
// with the TTP service: disputes (K for a paying downloader) and the
// countersigned cheques waiting for their providers, in LevelDB.
import { startDaemon, type RunningDaemon, type Spec, daemonSpec, daemonOptions, type DaemonConfig } from '@p2pay/core'
import { createTtpService } from '@p2pay/fairex'

export const ttpSpec: Spec = {
  ...daemonSpec('./.data/ttp'),
  bootstrap: { type: 'list', default: [], help: "multiaddrs to join the network through (e.g. the broker's)" }
}

export interface TtpConfig extends DaemonConfig {
  bootstrap: string[]
}

export async function startTtp(cfg: TtpConfig): Promise<RunningDaemon> {
  return await startDaemon('ttp', daemonOptions(cfg, { bootstrap: cfg.bootstrap }), async ctx => {
    const svc = await createTtpService(ctx)
    ctx.metrics.gauge('disputes', () => svc.ttp.t.disputes.size, 'Disputes resolved')
    ctx.metrics.gauge(
      'cheques_pending',
      () => svc.ttp.t.forProvider.size,
      'Countersigned cheques not yet fetched by their providers'
    )
    return {
      routes: {
        ...svc.routes,
        'GET /v1/status': () => ({
          role: 'ttp',
          peerId: ctx.libp2p.peerId.toString(),
          addrs: ctx.libp2p.getMultiaddrs().map(String),
          disputes: svc.ttp.t.disputes.size,
          pending: svc.ttp.t.forProvider.size
        })
      }
    }
  })
}
