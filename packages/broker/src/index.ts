// `p2pay broker`: the trusted authority of PPay and the file market's
// accounting centre. Composes the daemon base with the PPay ledger service and
// the AC service, which share one accounts table; holds accounts, issued coins,
// cashings, the downtime log, fraud proofs, capital certificates and cheques in LevelDB.
import {
  ErrorCode,
  P2payError,
  keyOfPeerId,
  startDaemon,
  type RunningDaemon,
  type Spec,
  daemonSpec,
  daemonOptions,
  type DaemonConfig
} from '@p2pay/core'
import { createBrokerPPay } from '@p2pay/ppay'
import { createAccountingService, MAX_DEPOSIT_CHEQUES } from '@p2pay/fairex'

export const brokerSpec: Spec = {
  ...daemonSpec('./.data/broker'),
  'coin-ttl-days': { type: 'number', default: 30, help: 'lifetime of a coin sold now' },
  'cash-grace-days': { type: 'number', default: 7, help: 'how long after expiry a coin can still be cashed' },
  'max-layers': { type: 'number', default: 3, help: 'deepest layered coin accepted at cashing' },
  'max-coins-per-buy': {
    type: 'number',
    default: 1000,
    help: 'largest purchase in one request (its reply must fit one 1 MiB frame)'
  },
  judge: {
    type: 'string',
    help: "peer id of the file market's judge: only its providerBan verdicts void cheques (without it voids are refused)"
  },
  'cert-ttl-days': { type: 'number', default: 30, help: 'lifetime of a capital certificate issued now' },
  'max-cert-value': { type: 'number', default: 1e9, help: 'largest amount one capital certificate may escrow' },
  'deposit-fee': {
    type: 'number',
    default: 1,
    help: 'fee per cheque deposit batch that paid anything, credited to the broker'
  },
  'deposit-grace-days': {
    type: 'number',
    default: 7,
    help: 'how long after a certificate expires its cheques can still be deposited'
  },
  'proceeds-hold-s': {
    type: 'number',
    default: 3600,
    help: "complaint window: a deposited fixed-form cheque is paid out this many seconds later, so a judge's ban in it refunds the buyer in full (0 = pay at once)"
  }
}

export interface BrokerConfig extends DaemonConfig {
  'coin-ttl-days': number
  'cash-grace-days': number
  'max-layers': number
  'max-coins-per-buy': number
  judge?: string
  'cert-ttl-days': number
  'max-cert-value': number
  'deposit-fee': number
  'deposit-grace-days': number
  'proceeds-hold-s': number
}

const DAY = 24 * 3600 * 1000
/** a cheque dated further ahead of the broker's clock than this is refused */
const MAX_CLOCK_SKEW_MS = 5 * 60_000
/** a deposit's items (three envelopes each) must fit one 1 MiB frame */
const MAX_DEPOSIT_BATCH = Math.min(MAX_DEPOSIT_CHEQUES, 256)

export async function startBroker(cfg: BrokerConfig): Promise<RunningDaemon> {
  if (cfg.judge != null) {
    try {
      keyOfPeerId(cfg.judge)
    } catch {
      throw new P2payError(ErrorCode.BAD_REQUEST, `--judge must be an Ed25519 peer id, got ${cfg.judge}`)
    }
  }
  if (!Number.isSafeInteger(cfg['deposit-fee']) || cfg['deposit-fee'] < 0)
    throw new P2payError(ErrorCode.BAD_REQUEST, '--deposit-fee must be a non-negative integer')
  const holdMs = cfg['proceeds-hold-s'] * 1000
  if (!Number.isSafeInteger(holdMs) || holdMs < 0)
    throw new P2payError(
      ErrorCode.BAD_REQUEST,
      '--proceeds-hold-s must be a non-negative number of seconds (ms precision)'
    )
  if (!Number.isSafeInteger(cfg['max-cert-value']) || cfg['max-cert-value'] <= 0)
    throw new P2payError(ErrorCode.BAD_REQUEST, '--max-cert-value must be a positive integer')
  return await startDaemon('broker', daemonOptions(cfg), async ctx => {
    const ppay = await createBrokerPPay(ctx, {
      coinTtlMs: cfg['coin-ttl-days'] * DAY,
      cashGraceMs: cfg['cash-grace-days'] * DAY,
      maxLayers: cfg['max-layers'],
      maxCoinsPerBuy: cfg['max-coins-per-buy'],
      maxCashBatch: 1024
    })
    // the store hands out one Table per name: this is the ledger's own accounts table
    const fairex = await createAccountingService(ctx, await ctx.store.table('ppay-accounts'), {
      certTtlMs: cfg['cert-ttl-days'] * DAY,
      maxCertValue: cfg['max-cert-value'],
      depositFee: cfg['deposit-fee'],
      depositGraceMs: cfg['deposit-grace-days'] * DAY,
      maxDepositBatch: MAX_DEPOSIT_BATCH,
      maxClockSkewMs: MAX_CLOCK_SKEW_MS,
      holdMs,
      // often enough that held proceeds are paid within about a quarter of the window
      releaseIntervalMs: Math.min(60_000, Math.max(1000, Math.floor(holdMs / 4))),
      judge: cfg.judge
    })
    if (cfg.judge == null) ctx.log.warn('no --judge configured: cheque voids will be refused')
    ctx.metrics.gauge('accounts', () => ppay.ledger.t.accounts.size, 'Accounts at the broker')
    ctx.metrics.gauge('coins_issued', () => ppay.ledger.t.coins.size, 'Coins sold')
    ctx.metrics.gauge('fraud_proofs', () => ppay.ledger.t.frauds.size, 'Fraud proofs recorded')
    ctx.metrics.gauge('capital_certificates', () => fairex.ac.t.certificates.size, 'Capital certificates issued')

    /** Conservation over both schemes: money is in balances, in unpaid PPay coins or in certificate escrow. */
    const audit = (): Record<string, unknown> => {
      const p = ppay.ledger.audit()
      const a = fairex.ac.audit()
      return {
        ...p,
        escrow: a.escrow,
        // part of the escrow: deposited, waiting out the complaint window
        held: a.held,
        // a.holds: the AC's own books (each escrow is its max less what left it, no negative balance)
        holds: p.balances + p.outstanding + a.escrow === p.toppedUp && a.holds,
        ac: { holds: a.holds, certificates: a.certificates, cheques: a.cheques, voids: a.voids, meta: a.meta }
      }
    }
    return {
      routes: {
        ...ppay.routes,
        ...fairex.routes,
        'GET /v1/audit': async () => {
          await ctx.store.barrier()
          return audit()
        },
        'GET /v1/status': () => ({
          role: 'broker',
          peerId: ctx.libp2p.peerId.toString(),
          addrs: ctx.libp2p.getMultiaddrs().map(String),
          judge: cfg.judge ?? null,
          ...audit()
        })
      },
      close: async () => {
        fairex.close()
      }
    }
  })
}
