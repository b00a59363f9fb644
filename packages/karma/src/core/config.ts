// The settings of a Karma node, their defaults and bounds, and the horizons
// of its records.
import { ErrorCode, fail } from '@p2pay/core'
import { MAX_K } from './bankset.ts'
import { checkDifficulty } from './pow.ts'

export interface KarmaConfig {
  /** bank-set size; must be the same on every node of a network */
  k: number
  /** join puzzle difficulty (leading zero bits) a member demands */
  powBits: number
  /** karma a new account gets after its join proof */
  initialKarma: number
  /** epoch length in ms; 0: epochs are off */
  epochMs: number
  /** how long a computed bank-set is reused before the DHT is asked again */
  bankCacheMs: number
  /** how often outboxes are resent and bank-set changes handed over */
  syncMs: number
  /** timeout of one call to one bank member */
  callTimeoutMs: number
  now?: () => number
}

export const DEFAULT_KARMA: KarmaConfig = {
  k: 5,
  powBits: 16,
  initialKarma: 1000,
  epochMs: 0,
  bankCacheMs: 600_000,
  syncMs: 5000,
  callTimeoutMs: 15_000
}

/** Notices of a debit are resent this long to bank(B) members that did not take them. */
export const OUTBOX_HORIZON_MS = 10 * 60_000
/** Debit and credit records are kept this long (must exceed the outbox horizon). */
export const RECORD_HORIZON_MS = 2 * OUTBOX_HORIZON_MS

/** The settings as given, or BAD_REQUEST naming the flag that sets the first one out of bounds. */
export function checkConfig(c: KarmaConfig): KarmaConfig {
  const int = (v: unknown, lo: number, hi: number, what: string): void => {
    if (!Number.isSafeInteger(v) || (v as number) < lo || (v as number) > hi)
      fail(ErrorCode.BAD_REQUEST, `${what} must be an integer ${lo}..${hi}`)
  }
  int(c.k, 1, MAX_K, '--karma-k')
  checkDifficulty(c.powBits)
  int(c.initialKarma, 0, 2 ** 40, '--karma-initial')
  int(c.epochMs, 0, 365 * 86_400_000, '--karma-epoch')
  if (c.epochMs > 0 && c.epochMs < 1000)
    fail(ErrorCode.BAD_REQUEST, '--karma-epoch must be 0 (off) or at least 1000 ms')
  int(c.bankCacheMs, 0, 3_600_000, 'bank cache')
  int(c.syncMs, 100, 3_600_000, '--karma-sync-ms')
  int(c.callTimeoutMs, 1000, 600_000, 'call timeout')
  return c
}
