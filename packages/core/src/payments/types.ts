// A payment's journal entry and the states it goes through. Every payment,
// transfer, purchase and cash-out a node makes through its control API is one
// entry, keyed by the caller's id: pending while it runs, then final.
// What each scheme's operations can end in is documented in docs/operations.md.

/** `pending` until the operation (or a settle after a crash) knows its outcome; the other three are final. */
export type PaymentState = 'pending' | 'succeeded' | 'failed' | 'expired'

export const FINAL_STATES: ReadonlySet<PaymentState> = new Set(['succeeded', 'failed', 'expired'])

/** A reason from a P2payError: its code, its message, its details. */
export interface PaymentError {
  code: string
  message: string
  details?: Record<string, unknown>
}

export interface PaymentEntry {
  /** the caller's id (or one made for it): a retry with it never pays twice */
  id: string
  scheme: string
  /** the route that made it: 'pay', 'transfer', 'buy', 'cash', 'deposit', 'mint' */
  op: string
  /** the counterparty, where the operation has one (the payee, the provider; the broker for a cash-out) */
  peer?: string
  /** whole units, where the operation names them */
  amount?: number
  state: PaymentState
  /** why it ended as it did (a final state), or what it waits for (pending) */
  reason?: string
  /** the error the operation ended with, when it failed or expired */
  error?: PaymentError
  /** ms since the epoch */
  created: number
  updated: number
  /** past it, a pending entry is settled: the scheme's records say what happened, or it expires */
  deadline: number
  /** the operation's own answer (succeeded), or what a settle found */
  result?: unknown
  /** the payment request this paid, when it came from one */
  request?: string
}

/** What a settle (or an operation's outcome) decides: a final state with its reason, or still pending. */
export interface Settlement {
  state: PaymentState
  reason?: string
  error?: PaymentError
  result?: unknown
}

/** How a payment route reads its body, declared by the daemon for each route it journals. */
export interface PaymentRouteInfo {
  scheme: string
  op: string
  /** the counterparty named by the body */
  peer?: (body: Record<string, unknown>) => string | undefined
  /** the amount named by the body */
  amount?: (body: Record<string, unknown>) => number | undefined
}

/**
 * A scheme's part in settling its payments: what its own durable records show
 * about an entry. Each hook may answer `undefined`: nothing known yet, the entry
 * stays pending (until its deadline, when `expire` decides).
 */
export interface PaymentSettler {
  /** before the operation runs (e.g. the payee must answer before any coin is signed); throws to refuse it */
  before?(entry: PaymentEntry, signal: AbortSignal, body: Record<string, unknown>): Promise<void>
  /** the operation answered: succeeded unless its answer shows work still under way */
  answered?(entry: PaymentEntry, result: unknown): Settlement | undefined
  /** the operation threw, or the node stopped or crashed during it: what its records show */
  settle?(entry: PaymentEntry, ctx: SettleContext): Promise<Settlement | undefined>
  /** the deadline passed and `settle` still said pending: the final state the scheme's records allow */
  expire?(entry: PaymentEntry, ctx: SettleContext): Promise<Settlement | undefined>
  /** per-peer figures the journal does not hold: received, uncashed/undeposited */
  peers?(): Promise<Record<string, PeerFigures>>
}

export interface SettleContext {
  now: number
  /** called as the operation failed, with its answer still to give: look, do not start long work */
  answering?: boolean
  /** every entry of the journal: a scheme's settle leaves out coins another entry already claimed */
  entries: () => Iterable<PaymentEntry>
}

/** Per-peer totals, in whole units of each scheme. */
export interface PeerFigures {
  received?: number
  /** received and not yet cashed or deposited */
  uncashed?: number
}

/** What a daemon that journals payments declares: its payment routes and each scheme's settler. */
export interface DaemonPayments {
  /** absolute route key (`POST /v1/ppay/pay`) -> how to read its body */
  routes: Record<string, PaymentRouteInfo>
  /** scheme name -> what its records show about its payments */
  settlers: ReadonlyMap<string, PaymentSettler>
  /** how often pending entries are settled (ms) */
  settleEveryMs?: number
}
