// Typed errors with stable codes. Anything that crosses the wire or the control
// API carries `code`, so callers branch on codes, never on message text.
export const ErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  BAD_FRAME: 'BAD_FRAME',
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  UNKNOWN_VERSION: 'UNKNOWN_VERSION',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  WRONG_TAG: 'WRONG_TAG',
  WRONG_SIGNER: 'WRONG_SIGNER',
  WRONG_OWNER: 'WRONG_OWNER',
  WRONG_HOLDER: 'WRONG_HOLDER',
  WRONG_BROKER: 'WRONG_BROKER',
  STALE_SEQ: 'STALE_SEQ',
  EXPIRED: 'EXPIRED',
  REPLAY: 'REPLAY',
  LAYER_DEPTH: 'LAYER_DEPTH',
  INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS',
  NO_SUCH_COIN: 'NO_SUCH_COIN',
  ALREADY_CASHED: 'ALREADY_CASHED',
  FRAUD: 'FRAUD',
  UNREACHABLE: 'UNREACHABLE',
  TIMEOUT: 'TIMEOUT',
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHORIZED: 'UNAUTHORIZED',
  UNKNOWN_OP: 'UNKNOWN_OP',
  NO_EXACT_AMOUNT: 'NO_EXACT_AMOUNT',
  PARTIAL_PAYMENT: 'PARTIAL_PAYMENT',
  /** no strict majority of a set of peers (a Karma bank-set) agreed */
  NO_MAJORITY: 'NO_MAJORITY',
  INTERNAL: 'INTERNAL'
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

export class P2payError extends Error {
  readonly code: ErrorCode
  readonly details?: Record<string, unknown>
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message)
    this.name = 'P2payError'
    this.code = code
    this.details = details
  }

  toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, ...(this.details != null ? { details: this.details } : {}) }
  }
}

export function fail(code: ErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new P2payError(code, message, details)
}

/** Normalises anything thrown (libp2p rejects some writes with an Event) into an Error. */
export function asError(err: unknown): Error {
  if (err instanceof Error) return err
  if (typeof Event !== 'undefined' && err instanceof Event) {
    const inner = (err as Event & { error?: unknown }).error
    return inner instanceof Error ? inner : new Error(`stream event: ${err.type}`)
  }
  return new Error(String(err))
}

export function isCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof P2payError && err.code === code
}
