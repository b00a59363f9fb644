// The ban records a node honours: the judge's signed records, checked against
// the judge this node trusts, cached by banned peer. Nodes ask the judge for
// new ones before every sale and on every retry tick; the last list known is
// used when the judge cannot be reached.
import type { ClientPool, Party, Store, Table, Verifier } from '@p2pay/core'
import { openBan } from '../core/judgment-records.ts'
import type { FairexKind } from '../kinds.ts'
import type { BanEntry } from './node-records.ts'

/** pages of bans one refresh reads at most (64,000 bans); the rest comes at the next refresh */
const MAX_PAGES = 64

export interface BanCacheOptions {
  bans: Table<BanEntry>
  store: Store
  verifier: Verifier<FairexKind>
  /** the judge whose bans count; none: no peer is ever banned here */
  judge?: Party
  /** clients of the judge's protocol, under the service's lifecycle */
  pool: ClientPool<FairexKind>
}

export class BanCache {
  private readonly o: BanCacheOptions
  /** the judge's clock at its newest ban we hold; 0 after a start, so the first ask gets them all */
  private cursor = 0

  constructor(o: BanCacheOptions) {
    this.o = o
  }

  isBanned(peer: string, now = Date.now()): boolean {
    const b = this.o.bans.get(peer)
    return b != null && b.until > now
  }

  /** Bans in force now. */
  active(now = Date.now()): BanEntry[] {
    return [...this.o.bans.values()].filter(b => b.until > now)
  }

  /** Takes ban records (verified against the configured judge) into the local list. */
  async add(bans: string[]): Promise<number> {
    const judge = this.o.judge?.id
    if (judge == null) return 0
    const now = Date.now()
    const good = bans.flatMap(b => {
      try {
        const o = openBan(this.o.verifier, b, judge, now)
        return [{ peer: o.body.peer, ban: b, until: o.body.until }]
      } catch {
        return []
      }
    })
    await this.o.store.apply(() => {
      for (const g of good) this.o.bans.set(g.peer, g)
    })
    return good.length
  }

  /** Asks the judge for the bans ruled since the last ask, a page at a time (bounded: the rest comes next time). */
  async refresh(): Promise<void> {
    if (this.o.judge == null) return
    for (let page = 0; page < MAX_PAGES; page++) {
      const r = await this.o.pool.call<{ bans: string[]; cursor?: number; more?: boolean }>(
        this.o.judge,
        'bans',
        { since: this.cursor },
        { kind: 'fairex-ban', timeoutMs: 5000 }
      )
      if (r.bans.length > 0) await this.add(r.bans)
      const moved = Number.isSafeInteger(r.cursor) && r.cursor! > this.cursor
      if (moved) this.cursor = r.cursor!
      if (r.more !== true || !moved) return
    }
  }
}
