// Per-peer budget of the notices that cost this node a DHT query: a notice
// naming accounts whose bank-sets are not cached, or one that makes it look
// again. Anyone can sign transfer requests between made-up ids and notices for
// them, and each such notice would cost a query (about half a CPU-second of a
// 16-node swarm); honest senders name accounts this node mostly has cached.
import { ErrorCode, Lru, fail } from '@p2pay/core'

/** DHT-costing notices one peer may send at once */
export const NOTICE_LOOKUP_BURST = 32
/** and then one per this many ms */
export const NOTICE_LOOKUP_REFILL_MS = 500
/** peers whose budget is tracked at once (the least recent forgotten: it starts afresh, with a full burst) */
const MAX_PEERS = 4096

export class NoticeBudget {
  private readonly buckets = new Lru<string, { tokens: number; at: number }>(MAX_PEERS)
  private readonly now: () => number

  constructor(now: () => number = Date.now) {
    this.now = now
  }

  /** Takes one lookup from `peer`'s budget, or refuses with BUSY (the sender's outbox tries again later). */
  take(peer: string): void {
    const now = this.now()
    const b = this.buckets.get(peer) ?? { tokens: NOTICE_LOOKUP_BURST, at: now }
    const refilled = Math.floor((now - b.at) / NOTICE_LOOKUP_REFILL_MS)
    const tokens = Math.min(NOTICE_LOOKUP_BURST, b.tokens + refilled)
    const at = tokens === NOTICE_LOOKUP_BURST ? now : b.at + refilled * NOTICE_LOOKUP_REFILL_MS
    if (tokens < 1) {
      this.buckets.set(peer, { tokens, at })
      fail(ErrorCode.BUSY, 'too many notices about accounts whose bank-sets this node has to look up', {
        reason: 'notice-lookups',
        retryMs: NOTICE_LOOKUP_REFILL_MS
      })
    }
    this.buckets.set(peer, { tokens: tokens - 1, at })
  }
}
