// The flags the file market adds to the daemons that host it, and the init each makes.
import { ErrorCode, fail, keyOfPeerId, party, type ConfigOf, type Spec } from '@p2pay/core'
import { MAX_DEPOSIT_CHEQUES } from './core/messages.ts'
import type { AccountingInit } from './net/accounting-service.ts'
import type { JudgmentInit } from './net/judgment-service.ts'
import type { FairexNodeInit } from './net/node-context.ts'

const DAY_MS = 24 * 3600 * 1000
/** a cheque dated further ahead of the broker's clock than this is refused */
const MAX_CLOCK_SKEW_MS = 5 * 60_000
/** a deposit's items (three envelopes each) must fit one 1 MiB frame */
const MAX_DEPOSIT_BATCH = Math.min(MAX_DEPOSIT_CHEQUES, 256)
/** how far a sale request's timestamp may be from a provider's clock */
const MAX_SKEW_MS = 5 * 60_000

/** the broker's (its accounting centre) */
export const ACCOUNTING_OPTIONS = {
  judge: {
    type: 'string',
    help:
      "peer id of the file market's judge: only its providerBan verdicts void cheques " +
      '(without it voids are refused)'
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
    help:
      'complaint window: a deposited fixed-form cheque is paid out this many seconds later, ' +
      "so a judge's ban in it refunds the buyer in full (0 = pay at once)"
  }
} as const satisfies Spec

/** the TTP's: none */
export const DISPUTE_OPTIONS = {} as const satisfies Spec

/** the judge's */
export const JUDGMENT_OPTIONS = {
  'ban-days': { type: 'number', default: 30, help: 'how long a providerBan keeps the provider out' }
} as const satisfies Spec

/** a node's */
export const FAIREX_NODE_OPTIONS = {
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
      'many seconds (0 = only on `p2pay fairex deposit`)'
  },
  'cert-value': {
    type: 'number',
    default: 0,
    help:
      'what one capital certificate escrows when this node buys: 0 = each purchase buys one for its price; ' +
      'more = one certificate pays for purchases until it is used up (saves a round trip to the broker per ' +
      'purchase; what it did not pay returns at its expiry)'
  }
} as const satisfies Spec

export function accountingInit(cfg: ConfigOf<typeof ACCOUNTING_OPTIONS>): AccountingInit {
  if (cfg.judge != null) {
    try {
      keyOfPeerId(cfg.judge)
    } catch {
      fail(ErrorCode.BAD_REQUEST, `--judge must be an Ed25519 peer id, got ${cfg.judge}`)
    }
  }
  if (!Number.isSafeInteger(cfg['deposit-fee']) || cfg['deposit-fee'] < 0)
    fail(ErrorCode.BAD_REQUEST, '--deposit-fee must be a non-negative integer')
  const holdMs = cfg['proceeds-hold-s'] * 1000
  if (!Number.isSafeInteger(holdMs) || holdMs < 0)
    fail(ErrorCode.BAD_REQUEST, '--proceeds-hold-s must be a non-negative number of seconds (ms precision)')
  if (!Number.isSafeInteger(cfg['max-cert-value']) || cfg['max-cert-value'] <= 0)
    fail(ErrorCode.BAD_REQUEST, '--max-cert-value must be a positive integer')
  return {
    certTtlMs: cfg['cert-ttl-days'] * DAY_MS,
    maxCertValue: cfg['max-cert-value'],
    depositFee: cfg['deposit-fee'],
    depositGraceMs: cfg['deposit-grace-days'] * DAY_MS,
    maxDepositBatch: MAX_DEPOSIT_BATCH,
    maxClockSkewMs: MAX_CLOCK_SKEW_MS,
    holdMs,
    // often enough that held proceeds are paid within about a quarter of the window
    releaseIntervalMs: Math.min(60_000, Math.max(1000, Math.floor(holdMs / 4))),
    judge: cfg.judge
  }
}

/** `retry-interval-ms` is the judge daemon's own flag: voids are retried on that beat. */
export function judgmentInit(cfg: ConfigOf<typeof JUDGMENT_OPTIONS> & { 'retry-interval-ms': number }): JudgmentInit {
  const banMs = Math.round(cfg['ban-days'] * DAY_MS)
  if (!(banMs > 0)) fail(ErrorCode.BAD_REQUEST, '--ban-days must be positive')
  if (!(cfg['retry-interval-ms'] > 0)) fail(ErrorCode.BAD_REQUEST, '--retry-interval-ms must be positive')
  return { banMs, retryIntervalMs: cfg['retry-interval-ms'] }
}

/** `retry-interval-ms` is the node's own flag: unfinished purchases are resumed on that beat. */
export function fairexNodeInit(
  cfg: ConfigOf<typeof FAIREX_NODE_OPTIONS> & { 'retry-interval-ms': number }
): FairexNodeInit {
  const form = cfg['sale-form']
  if (!Number.isFinite(cfg['auto-deposit-s']) || cfg['auto-deposit-s'] < 0)
    fail(ErrorCode.BAD_REQUEST, `--auto-deposit-s must be a non-negative number, got ${cfg['auto-deposit-s']}`)
  if (form !== 'fixed' && form !== 'original')
    fail(ErrorCode.BAD_REQUEST, `--sale-form must be fixed or original, got ${form}`)
  if (!Number.isSafeInteger(cfg['cert-value']) || cfg['cert-value'] < 0)
    fail(ErrorCode.BAD_REQUEST, `--cert-value must be a non-negative integer, got ${cfg['cert-value']}`)
  return {
    ttp: cfg.ttp != null ? party(cfg.ttp, '--ttp') : undefined,
    judge: cfg.judge != null ? party(cfg.judge, '--judge') : undefined,
    form,
    maxSkewMs: MAX_SKEW_MS,
    autoDepositMs: cfg['auto-deposit-s'] * 1000,
    certValue: cfg['cert-value'],
    retryIntervalMs: cfg['retry-interval-ms']
  }
}
