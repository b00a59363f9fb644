// The flags AggSign adds to the daemons that host it, and the init each makes.
// They carry the scheme's name: PPay already owns --max-layers on both daemons.
import { ErrorCode, fail, type ConfigOf, type Spec } from '@p2pay/core'
import { DEFAULT_MAX_LAYERS, MAX_LAYERS_CAP } from './core/messages.ts'
import type { LedgerInit } from './net/ledger-service.ts'
import type { WalletInit } from './net/wallet-context.ts'

const DAY_MS = 24 * 3600 * 1000

/** the broker's */
export const LEDGER_OPTIONS = {
  'aggsign-cert-ttl-days': {
    type: 'number',
    default: 30,
    help: 'lifetime of a mint certificate whose request names none'
  },
  'aggsign-max-cert-days': { type: 'number', default: 365, help: 'the longest a mint certificate may run' },
  'aggsign-cash-grace-days': {
    type: 'number',
    default: 7,
    help: "how long after expiry a coin can still be cashed (then its certificate's escrow goes back)"
  },
  'aggsign-max-layers': {
    type: 'number',
    default: DEFAULT_MAX_LAYERS,
    help: 'most layers of a coin cashed (one more: its renewal layer, to its minter)'
  }
} as const satisfies Spec

/** a node's */
export const WALLET_OPTIONS = {
  'aggsign-max-layers': {
    type: 'number',
    default: DEFAULT_MAX_LAYERS,
    help: 'most layers of a coin accepted or paid on (past it a coin is only cashed or renewed at its minter)'
  },
  'aggsign-pay-timeout-ms': {
    type: 'number',
    default: 5000,
    help: 'how long a payee has to acknowledge a coin before it is retried'
  }
} as const satisfies Spec

const positive = (v: number, flag: string): number => {
  if (!(v > 0)) fail(ErrorCode.BAD_REQUEST, `--${flag} must be positive`)
  return v
}

const layers = (v: number): number => {
  if (!Number.isSafeInteger(v) || v < 1 || v > MAX_LAYERS_CAP)
    fail(ErrorCode.BAD_REQUEST, `--aggsign-max-layers must be 1..${MAX_LAYERS_CAP}`)
  return v
}

export function ledgerInit(cfg: ConfigOf<typeof LEDGER_OPTIONS>): LedgerInit {
  const certTtlMs = positive(cfg['aggsign-cert-ttl-days'], 'aggsign-cert-ttl-days') * DAY_MS
  const maxCertTtlMs = positive(cfg['aggsign-max-cert-days'], 'aggsign-max-cert-days') * DAY_MS
  if (certTtlMs > maxCertTtlMs)
    fail(ErrorCode.BAD_REQUEST, '--aggsign-cert-ttl-days must be at most --aggsign-max-cert-days')
  return {
    certTtlMs,
    maxCertTtlMs,
    cashGraceMs: positive(cfg['aggsign-cash-grace-days'], 'aggsign-cash-grace-days') * DAY_MS,
    maxLayers: layers(cfg['aggsign-max-layers']),
    expireEveryMs: 60_000
  }
}

/** `retry-interval-ms` is the node's own flag: PPay and the file market retry on the same beat. */
export function walletInit(cfg: ConfigOf<typeof WALLET_OPTIONS> & { 'retry-interval-ms': number }): WalletInit {
  return {
    maxLayers: layers(cfg['aggsign-max-layers']),
    payTimeoutMs: positive(cfg['aggsign-pay-timeout-ms'], 'aggsign-pay-timeout-ms'),
    retryIntervalMs: positive(cfg['retry-interval-ms'], 'retry-interval-ms')
  }
}
