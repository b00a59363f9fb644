// The flags WhoPay adds to the daemons that host it, and the init each makes.
// They carry the scheme's name: the other schemes own the short ones.
import { ErrorCode, fail, party, type ConfigOf, type Party, type Spec } from '@p2pay/core'
import { DEFAULT_KEEPERS } from './net/coin-state-client.ts'
import type { LedgerInit } from './net/ledger-context.ts'
import type { WalletInit } from './net/wallet-context.ts'

const DAY_MS = 24 * 3600 * 1000

const realtime = {
  type: 'boolean',
  default: true,
  help: "check and publish each coin's state at the k peers nearest it in the DHT (false: fraud found at deposit only)"
} as const

/** the broker's */
export const LEDGER_OPTIONS = {
  'whopay-judge': {
    type: 'string',
    help: "the judge's multiaddr, ending in /p2p/<peer id>: it holds the group's opening key (required for WhoPay)"
  },
  'whopay-coin-ttl-days': { type: 'number', default: 30, help: 'lifetime of a WhoPay coin certificate (and renewal)' },
  'whopay-realtime': realtime
} as const satisfies Spec

/** a node's */
export const WALLET_OPTIONS = {
  'whopay-judge': {
    type: 'string',
    help: "the judge's peer id (or multiaddr ending in /p2p/<id>): the group's opener part must be signed by it"
  },
  'whopay-realtime': realtime,
  'whopay-pay-timeout-ms': {
    type: 'number',
    default: 5000,
    help: 'how long an owner or payee has to answer a WhoPay coin before it is retried (or the broker asked)'
  },
  'whopay-renew-before-days': {
    type: 'number',
    default: 2,
    help: 'held WhoPay coins expiring within this many days are renewed by the retry loop'
  }
} as const satisfies Spec

const positive = (v: number, flag: string): number => {
  if (!(v > 0)) fail(ErrorCode.BAD_REQUEST, `--${flag} must be positive`)
  return v
}

/** The judge named by a flag, if any: WhoPay answers a clear error without one, the daemon still starts. */
const judgeOf = (v: string | undefined): Party | undefined =>
  v == null || v === '' ? undefined : party(v, '--whopay-judge')

export function ledgerInit(cfg: ConfigOf<typeof LEDGER_OPTIONS>): LedgerInit {
  return {
    judge: judgeOf(cfg['whopay-judge']),
    coinTtlMs: positive(cfg['whopay-coin-ttl-days'], 'whopay-coin-ttl-days') * DAY_MS,
    realtime: cfg['whopay-realtime'],
    keepers: DEFAULT_KEEPERS
  }
}

/** `retry-interval-ms` is the node's own flag: every scheme retries on the same beat. */
export function walletInit(cfg: ConfigOf<typeof WALLET_OPTIONS> & { 'retry-interval-ms': number }): WalletInit {
  return {
    judge: judgeOf(cfg['whopay-judge']),
    realtime: cfg['whopay-realtime'],
    keepers: DEFAULT_KEEPERS,
    payTimeoutMs: positive(cfg['whopay-pay-timeout-ms'], 'whopay-pay-timeout-ms'),
    retryIntervalMs: positive(cfg['retry-interval-ms'], 'retry-interval-ms'),
    renewBeforeMs: positive(cfg['whopay-renew-before-days'], 'whopay-renew-before-days') * DAY_MS
  }
}
