// `p2pay broker`: the trusted authority of PPay. Composes the daemon base with
// the PPay ledger service; holds accounts, issued coins, cashings, the downtime
// log and fraud proofs in LevelDB.
import { startDaemon, type RunningDaemon, type Spec, daemonSpec, daemonOptions, type DaemonConfig } from '@p2pay/core'
import { createBrokerPPay } from '@p2pay/ppay'

export const brokerSpec: Spec = {
  ...daemonSpec('./.data/broker'),
  'coin-ttl-days': { type: 'number', default: 30, help: 'lifetime of a coin sold now' },
  'cash-grace-days': { type: 'number', default: 7, help: 'how long after expiry a coin can still be cashed' },
  'max-layers': { type: 'number', default: 3, help: 'deepest layered coin accepted at cashing' },
  'max-coins-per-buy': { type: 'number', default: 1000, help: 'largest purchase in one request (its reply must fit one 1 MiB frame)' }
}

export interface BrokerConfig extends DaemonConfig {
  'coin-ttl-days': number
  'cash-grace-days': number
  'max-layers': number
  'max-coins-per-buy': number
}

const DAY = 24 * 3600 * 1000

export async function startBroker (cfg: BrokerConfig): Promise<RunningDaemon> {
  return await startDaemon('broker', daemonOptions(cfg), async (ctx) => {
    const ppay = await createBrokerPPay(ctx, {
      coinTtlMs: cfg['coin-ttl-days'] * DAY,
      cashGraceMs: cfg['cash-grace-days'] * DAY,
      maxLayers: cfg['max-layers'],
      maxCoinsPerBuy: cfg['max-coins-per-buy'],
      maxCashBatch: 1024
    })
    ctx.metrics.gauge('accounts', () => ppay.ledger.t.accounts.size, 'Accounts at the broker')
    ctx.metrics.gauge('coins_issued', () => ppay.ledger.t.coins.size, 'Coins sold')
    ctx.metrics.gauge('fraud_proofs', () => ppay.ledger.t.frauds.size, 'Fraud proofs recorded')
    return {
      routes: {
        ...ppay.routes,
        'GET /v1/status': () => ({ role: 'broker', peerId: ctx.libp2p.peerId.toString(), addrs: ctx.libp2p.getMultiaddrs().map(String), ...ppay.ledger.audit() })
      }
    }
  })
}
