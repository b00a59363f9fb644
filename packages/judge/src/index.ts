// `p2pay judge`: the judge of the fixed file market. Composes the daemon base
// with the judge service: verdicts and ban records in LevelDB, and the voids it
// asks of the broker's accounting centre, retried until they are done.
import { multiaddr } from '@multiformats/multiaddr'
import {
  ErrorCode,
  P2payError,
  startDaemon,
  type RunningDaemon,
  type Spec,
  daemonSpec,
  daemonOptions,
  type DaemonConfig
} from '@p2pay/core'
import { createJudgeService } from '@p2pay/fairex'

export const judgeSpec: Spec = {
  ...daemonSpec('./.data/judge'),
  broker: {
    type: 'string',
    help: "the broker's multiaddr, ending in /p2p/<peer id>: its AC voids the cheques of banned providers (required)"
  },
  bootstrap: { type: 'list', default: [], help: 'extra bootstrap multiaddrs (the broker is always one)' },
  'ban-days': { type: 'number', default: 30, help: 'how long a providerBan keeps the provider out' },
  'retry-interval-ms': {
    type: 'number',
    default: 5000,
    help: 'how often voids the broker has not confirmed are retried'
  }
}

export interface JudgeConfig extends DaemonConfig {
  broker?: string
  bootstrap: string[]
  'ban-days': number
  'retry-interval-ms': number
}

const DAY = 24 * 3600 * 1000

export async function startJudge(cfg: JudgeConfig): Promise<RunningDaemon> {
  if (cfg.broker == null) throw new P2payError(ErrorCode.BAD_REQUEST, '--broker <multiaddr>/p2p/<peer id> is required')
  let brokerId: string | undefined
  try {
    brokerId = multiaddr(cfg.broker)
      .getComponents()
      .find(c => c.name === 'p2p')?.value
  } catch {}
  if (brokerId == null)
    throw new P2payError(
      ErrorCode.BAD_REQUEST,
      `--broker must be a multiaddr ending in /p2p/<peer id>, got ${cfg.broker}`
    )
  const banMs = Math.round(cfg['ban-days'] * DAY)
  if (!(banMs > 0)) throw new P2payError(ErrorCode.BAD_REQUEST, '--ban-days must be positive')
  if (!(cfg['retry-interval-ms'] > 0))
    throw new P2payError(ErrorCode.BAD_REQUEST, '--retry-interval-ms must be positive')
  return await startDaemon('judge', daemonOptions(cfg, { bootstrap: [cfg.broker, ...cfg.bootstrap] }), async ctx => {
    const svc = await createJudgeService(ctx, { banMs, broker: cfg.broker, retryIntervalMs: cfg['retry-interval-ms'] })
    const pendingVoids = (): number => {
      let n = 0
      for (const j of svc.voids.values()) if (j.voided == null && j.refused == null) n++
      return n
    }
    ctx.metrics.gauge('verdicts', () => svc.judge.t.verdicts.size, 'Verdicts given')
    ctx.metrics.gauge(
      'voids_pending',
      pendingVoids,
      'providerBan verdicts the broker has not yet voided the cheque for'
    )
    return {
      routes: {
        ...svc.routes,
        'GET /v1/status': () => ({
          role: 'judge',
          peerId: ctx.libp2p.peerId.toString(),
          addrs: ctx.libp2p.getMultiaddrs().map(String),
          broker: brokerId,
          verdicts: svc.judge.t.verdicts.size,
          activeBans: svc.judge.activeBans().length,
          voidsPending: pendingVoids()
        })
      },
      close: svc.close
    }
  })
}
