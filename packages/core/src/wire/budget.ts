// A byte budget for the requests a daemon's RPC servers hold: while a handler
// runs, its request's arguments stay in memory, so a peer that sends large
// calls to slow handlers (long polls) could pin memory across many streams.
// Every RPC protocol served on one libp2p node draws on one budget, per remote
// peer and in total; a request past it is refused with BUSY, before its handler
// runs, and its bytes are back once the handler has answered.
import { ErrorCode, P2payError } from '../errors.ts'

/** Bytes of requests in flight one remote peer may hold on this daemon, across all its streams and protocols. */
export const DEFAULT_PEER_BUDGET = 16 * 1024 * 1024
/** Bytes of requests in flight all peers together may hold on this daemon. */
export const DEFAULT_TOTAL_BUDGET = 128 * 1024 * 1024
/** What a request costs besides its frame (its promise, closures and parsed object), so tiny calls count too. */
export const REQUEST_OVERHEAD = 1024

export interface BudgetLimits {
  /** bytes per remote peer */
  perPeer?: number
  /** bytes for all peers together */
  total?: number
}

export class RequestBudget {
  readonly perPeer: number
  readonly total: number
  private used = 0
  private readonly byPeer = new Map<string, number>()
  /** requests refused so far, for the metrics */
  refused = 0

  constructor(limits: BudgetLimits = {}) {
    this.perPeer = limits.perPeer ?? DEFAULT_PEER_BUDGET
    this.total = limits.total ?? DEFAULT_TOTAL_BUDGET
    if (!(this.perPeer > 0 && this.total > 0)) throw new TypeError('request budgets must be positive')
  }

  /** Bytes held now: by `peer`, or by everyone. */
  held(peer?: string): number {
    return peer == null ? this.used : (this.byPeer.get(peer) ?? 0)
  }

  /**
   * Takes `bytes` for a request of `peer`, or throws BUSY. A request is always
   * taken when nothing else is held (by its peer, or at all), so a request as
   * large as a protocol's frame limit passes whatever the budgets are.
   */
  take(peer: string, bytes: number): void {
    const mine = this.byPeer.get(peer) ?? 0
    const overPeer = mine > 0 && mine + bytes > this.perPeer
    const overTotal = this.used > 0 && this.used + bytes > this.total
    if (overPeer || overTotal) {
      this.refused++
      const whose = overPeer ? 'this peer' : 'all peers'
      throw new P2payError(
        ErrorCode.BUSY,
        `requests in flight from ${whose} are over the daemon's budget: retry later`,
        {
          budget: overPeer ? 'peer' : 'total'
        }
      )
    }
    this.byPeer.set(peer, mine + bytes)
    this.used += bytes
  }

  /** Gives back what `take` took, once the request's handler is done with it. */
  release(peer: string, bytes: number): void {
    const left = (this.byPeer.get(peer) ?? 0) - bytes
    if (left > 0) this.byPeer.set(peer, left)
    else this.byPeer.delete(peer)
    this.used = Math.max(0, this.used - bytes)
  }
}

// one budget per libp2p node, which is one daemon: all the schemes' protocols share it
const budgets = new WeakMap<object, RequestBudget>()

/** The request budget of the daemon whose libp2p node is `node` (made with the defaults on first use). */
export function requestBudget(node: object): RequestBudget {
  let b = budgets.get(node)
  if (b == null) {
    b = new RequestBudget()
    budgets.set(node, b)
  }
  return b
}

/** Sets the limits of `node`'s request budget; call before any protocol is served on it. */
export function setRequestBudget(node: object, limits: BudgetLimits): RequestBudget {
  const b = new RequestBudget(limits)
  budgets.set(node, b)
  return b
}
