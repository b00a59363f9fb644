// Typed errors with stable codes. Anything that crosses the wire or the control
// API carries `code`, so callers branch on codes, never on message text.
//
// The codes here are shared by every scheme; a scheme declares the codes only it
// uses with `defineErrorCodes` (in its own errors.ts), which also makes them
// known to RPC clients: a code nobody declared arrives as INTERNAL.
export const ErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  BAD_FRAME: 'BAD_FRAME',
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  /** the peer ran the request, but its answer was over the frame limit: the answer is lost, not the work */
  REPLY_TOO_LARGE: 'REPLY_TOO_LARGE',
  UNKNOWN_VERSION: 'UNKNOWN_VERSION',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  WRONG_TAG: 'WRONG_TAG',
  WRONG_SIGNER: 'WRONG_SIGNER',
  WRONG_OWNER: 'WRONG_OWNER',
  WRONG_HOLDER: 'WRONG_HOLDER',
  /** addressed to another broker, accounting centre or bank-set */
  WRONG_BROKER: 'WRONG_BROKER',
  STALE_SEQ: 'STALE_SEQ',
  EXPIRED: 'EXPIRED',
  /** a peer's timestamp is further off than the allowed clock skew: the clocks differ, not the message */
  CLOCK_SKEW: 'CLOCK_SKEW',
  REPLAY: 'REPLAY',
  INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS',
  ALREADY_CASHED: 'ALREADY_CASHED',
  FRAUD: 'FRAUD',
  UNREACHABLE: 'UNREACHABLE',
  TIMEOUT: 'TIMEOUT',
  /** the daemon is stopping: the operation was cut short and nothing it did not finish is acknowledged */
  ABORTED: 'ABORTED',
  NOT_FOUND: 'NOT_FOUND',
  /** the daemon holds as many requests of this peer, or of all peers, as its budget allows: retry later */
  BUSY: 'BUSY',
  /** the daemon's store failed a write and the daemon is exiting: the change is not acknowledged, retry later */
  STORE_FAILED: 'STORE_FAILED',
  /** the local disk is full: nothing of the operation is kept, retry once space is freed */
  NO_SPACE: 'NO_SPACE',
  UNAUTHORIZED: 'UNAUTHORIZED',
  UNKNOWN_OP: 'UNKNOWN_OP',
  INTERNAL: 'INTERNAL'
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

const known = new Set<string>(Object.values(ErrorCode))

/**
 * Declares a scheme's own error codes and makes them known (a remote's error
 * with an unknown code is read as INTERNAL). Returns the codes, for `Code.X` use.
 */
export function defineErrorCodes<const T extends Record<string, string>>(codes: T): T {
  for (const [k, v] of Object.entries(codes)) {
    if (k !== v || !/^[A-Z][A-Z0-9_]{1,39}$/.test(v))
      throw new TypeError(`error code ${k} must be spelled as its own value`)
    known.add(v)
  }
  return codes
}

/** Whether `code` is a declared error code (core or a scheme's). */
export const isKnownCode = (code: unknown): code is string => typeof code === 'string' && known.has(code)

export class P2payError<C extends string = string> extends Error {
  readonly code: C
  readonly details?: Record<string, unknown>
  constructor(code: C, message: string, details?: Record<string, unknown>) {
    super(message)
    this.name = 'P2payError'
    this.code = code
    this.details = details
  }

  toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, ...(this.details != null ? { details: this.details } : {}) }
  }
}

export function fail(code: string, message: string, details?: Record<string, unknown>): never {
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

/** Whether `err` is a P2payError with one of `codes`. */
export function hasCode(err: unknown, ...codes: string[]): err is P2payError {
  return err instanceof P2payError && codes.includes(err.code)
}

export const isCode = (err: unknown, code: string): boolean => hasCode(err, code)

export const isP2payError = (e: unknown): e is P2payError => e instanceof P2payError

/** Failures of the way, not of the request: the same request may succeed later. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  ErrorCode.UNREACHABLE,
  ErrorCode.TIMEOUT,
  ErrorCode.ABORTED,
  ErrorCode.BUSY,
  ErrorCode.STORE_FAILED
])

/** The message itself is bad: sending the same bytes again can never succeed. */
export const MALFORMED_CODES: ReadonlySet<string> = new Set([
  ErrorCode.BAD_REQUEST,
  ErrorCode.BAD_FRAME,
  ErrorCode.FRAME_TOO_LARGE,
  ErrorCode.UNKNOWN_VERSION,
  ErrorCode.BAD_SIGNATURE,
  ErrorCode.WRONG_TAG,
  ErrorCode.WRONG_SIGNER
])

/** A failure of the way (unreachable, timed out, cut short by a stop): retry later. */
export const isTransient = (err: unknown): boolean => err instanceof P2payError && TRANSIENT_CODES.has(err.code)

/**
 * The codes, besides the malformed ones, after which a given exchange is over
 * for good: each caller names them, and gets the malformed codes with them.
 */
export function finalCodes(...codes: string[]): ReadonlySet<string> {
  return new Set([...MALFORMED_CODES, ...codes])
}
