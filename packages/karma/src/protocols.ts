// Wire names and defaults of the Karma service.

/** Every bank duty and every account-holder call goes over this one protocol. */
export const KARMA_PROTOCOL = '/p2pay/karma/1.0.0'

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
