// The flags PPay adds to the daemons that host it, and the init each makes.
import { ErrorCode, fail, type ConfigOf, type Spec } from '@p2pay/core'
import type { LedgerInit } from './net/ledger-service.ts'
import type { WalletInit } from './net/wallet-context.ts'

const DAY_MS = 24 * 3600 * 1000
/** a purchase's reply carries ~870 bytes a coin (measured): 1,000 coins fill 83 % of a 1 MiB frame */
const MAX_COINS_PER_BUY = 1000

/** the broker's */
export const LEDGER_OPTIONS = {
  'coin-ttl-days': { type: 'number', default: 30, help: 'lifetime of a coin sold now' },
  'cash-grace-days': { type: 'number', default: 7, help: 'how long after expiry a coin can still be cashed' },
  'max-layers': { type: 'number', default: 3, help: 'deepest layered coin accepted at cashing' },
  'max-coins-per-buy': {
    type: 'number',
    default: 1000,
    help: `largest purchase in one request, at most ${MAX_COINS_PER_BUY} (its reply must fit one 1 MiB frame)`
  }
} as const satisfies Spec

/** a node's */
export const WALLET_OPTIONS = {
  'max-layers': { type: 'number', default: 3, help: 'deepest layered coin accepted as payment' },
  'owner-timeout-ms': {
    type: 'number',
    default: 3000,
    help: "wait this long for a coin owner before using the broker's downtime path"
  }
} as const satisfies Spec

const positive = (v: number, flag: string): number => {
  if (!(v > 0)) fail(ErrorCode.BAD_REQUEST, `--${flag} must be positive`)
  return v
}

const coinsPerBuy = (v: number): number => {
  if (!Number.isSafeInteger(v) || v < 1 || v > MAX_COINS_PER_BUY)
    fail(
      ErrorCode.BAD_REQUEST,
      `--max-coins-per-buy must be 1..${MAX_COINS_PER_BUY}: a larger purchase's reply outgrows a frame`
    )
  return v
}

export function ledgerInit(cfg: ConfigOf<typeof LEDGER_OPTIONS>): LedgerInit {
  return {
    coinTtlMs: cfg['coin-ttl-days'] * DAY_MS,
    cashGraceMs: cfg['cash-grace-days'] * DAY_MS,
    maxLayers: cfg['max-layers'],
    maxCoinsPerBuy: coinsPerBuy(cfg['max-coins-per-buy']),
    maxCashBatch: 1024
  }
}

/** `retry-interval-ms` is the node's own flag: the file market retries on the same beat. */
export function walletInit(cfg: ConfigOf<typeof WALLET_OPTIONS> & { 'retry-interval-ms': number }): WalletInit {
  return {
    maxLayers: cfg['max-layers'],
    ownerTimeoutMs: positive(cfg['owner-timeout-ms'], 'owner-timeout-ms'),
    retryIntervalMs: positive(cfg['retry-interval-ms'], 'retry-interval-ms')
  }
}
