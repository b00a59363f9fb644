// `p2pay node`: a peer. Composes the daemon base with the PPay wallet service
// (payer, payee, coin owner, coin holder), the file market and Karma (account
// holder and bank-set member).
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  ErrorCode,
  P2payError,
  serveDiag,
  streamThroughput,
  startDaemon,
  type RunningDaemon,
  type Spec,
  daemonSpec,
  daemonOptions,
  type DaemonConfig
} from '@p2pay/core'
import { NodePPay, cheatRoutes } from '@p2pay/ppay'
import { NodeFairex, party } from '@p2pay/fairex'
import { KarmaService } from '@p2pay/karma'

export const nodeSpec: Spec = {
  ...daemonSpec('./.data/node'),
  broker: { type: 'string', help: "the broker's multiaddr, ending in /p2p/<peer id> (required)" },
  bootstrap: { type: 'list', default: [], help: 'extra bootstrap multiaddrs (the broker is always one)' },
  'max-layers': { type: 'number', default: 3, help: 'deepest layered coin accepted as payment' },
  'owner-timeout-ms': {
    type: 'number',
    default: 3000,
    help: "wait this long for a coin owner before using the broker's downtime path"
  },
  'retry-interval-ms': { type: 'number', default: 5000, help: 'how often queued deliveries and purchases are retried' },
  'allow-cheats': {
    type: 'boolean',
    default: false,
    help: 'expose /v1/cheat/* fraud routes and cheating file shares (test swarms only)'
  },
  ttp: { type: 'string', help: "the file market's TTP: multiaddr ending in /p2p/<peer id>" },
  judge: { type: 'string', help: "the file market's judge: multiaddr ending in /p2p/<peer id>" },
  'sale-form': {
    type: 'string',
    default: 'fixed',
    help: "file sales as a provider: fixed (with the judge) or original (the paper's flawed protocol)"
  },
  'auto-deposit-s': {
    type: 'number',
    default: 300,
    help:
      'deposit queued cheques in one batch once the oldest has waited this ' +
      'many seconds (0 = only on `p2pay deposit`)'
  },
  'karma-k': { type: 'number', default: 5, help: 'Karma bank-set size k (the same on every node of a network)' },
  'karma-pow-bits': {
    type: 'number',
    default: 16,
    help: 'Karma join puzzle: leading zero bits demanded of a new account'
  },
  'karma-initial': {
    type: 'number',
    default: 1000,
    help: 'Karma given to a new account, and the average per active peer epochs keep'
  },
  'karma-epoch': {
    type: 'number',
    default: 0,
    help: 'Karma epoch length in ms (balances are rescaled at each boundary); 0 = off'
  },
  'karma-sync-ms': {
    type: 'number',
    default: 5000,
    help: 'how often Karma notices are resent and bank-set changes handed over'
  },
  'karma-cache-ms': {
    type: 'number',
    default: 600000,
    help: 'how long a DHT answer for a Karma bank-set is reused (peers that connect or disconnect are seen at once)'
  }
}

export interface NodeConfig extends DaemonConfig {
  broker?: string
  bootstrap: string[]
  'max-layers': number
  'owner-timeout-ms': number
  'retry-interval-ms': number
  'allow-cheats': boolean
  ttp?: string
  judge?: string
  'sale-form': string
  'auto-deposit-s': number
  'karma-k': number
  'karma-pow-bits': number
  'karma-initial': number
  'karma-epoch': number
  'karma-sync-ms': number
  'karma-cache-ms': number
}

export async function startNode(cfg: NodeConfig): Promise<RunningDaemon> {
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
  let svc: NodePPay | undefined
  let market: NodeFairex | undefined
  let karma: KarmaService | undefined
  const form = cfg['sale-form']
  if (!Number.isFinite(cfg['auto-deposit-s']) || cfg['auto-deposit-s'] < 0)
    throw new P2payError(
      ErrorCode.BAD_REQUEST,
      `--auto-deposit-s must be a non-negative number, got ${cfg['auto-deposit-s']}`
    )
  if (form !== 'fixed' && form !== 'original')
    throw new P2payError(ErrorCode.BAD_REQUEST, `--sale-form must be fixed or original, got ${form}`)
  const ttp = cfg.ttp != null ? party(cfg.ttp) : undefined
  const judge = cfg.judge != null ? party(cfg.judge) : undefined
  return await startDaemon('node', daemonOptions(cfg, { bootstrap: [cfg.broker, ...cfg.bootstrap] }), async ctx => {
    const ppay = await NodePPay.create(ctx, {
      broker: brokerId,
      brokerAddrs: [cfg.broker!],
      maxLayers: cfg['max-layers'],
      ownerTimeoutMs: cfg['owner-timeout-ms'],
      retryIntervalMs: cfg['retry-interval-ms']
    })
    svc = ppay
    ppay.start()
    await serveDiag(ctx.libp2p)
    market = await NodeFairex.create(ctx, {
      ac: { id: brokerId, addr: cfg.broker! },
      ttp,
      judge,
      form,
      maxSkewMs: 5 * 60_000,
      allowCheats: cfg['allow-cheats'],
      autoDepositMs: cfg['auto-deposit-s'] * 1000
    })
    market.start(cfg['retry-interval-ms'])
    karma = await KarmaService.create(ctx, {
      k: cfg['karma-k'],
      powBits: cfg['karma-pow-bits'],
      initialKarma: cfg['karma-initial'],
      epochMs: cfg['karma-epoch'],
      syncMs: cfg['karma-sync-ms'],
      bankCacheMs: cfg['karma-cache-ms']
    })
    karma.start()
    return {
      routes: {
        ...ppay.routes(),
        ...market.routes(),
        ...karma.routes(cfg['allow-cheats']),
        ...(cfg['allow-cheats'] ? cheatRoutes(ppay) : {}),
        'GET /v1/status': () => ({
          role: 'node',
          peerId: ctx.libp2p.peerId.toString(),
          addrs: ctx.libp2p.getMultiaddrs().map(String),
          broker: brokerId,
          connections: ctx.libp2p.getConnections().length,
          wallet: ppay.summary()
        }),
        'POST /v1/diag/stream': async b => {
          const p = party(String(b.to ?? ''))
          return await streamThroughput(
            ctx.libp2p,
            p.addr != null ? multiaddr(p.addr) : peerIdFromString(p.id),
            b.bytes,
            b.frame
          )
        },
        'POST /v1/connect': async b => {
          const conn = await ctx.libp2p.dial(multiaddr(String(b.addr ?? '')), { signal: AbortSignal.timeout(10_000) })
          return { peer: conn.remotePeer.toString() }
        }
      },
      close: async () => {
        await svc?.stop()
        await market?.stop()
        await karma?.stop()
      }
    }
  })
}
