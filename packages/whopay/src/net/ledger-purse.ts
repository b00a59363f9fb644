// Purses and owners at the broker: a withdrawal moves purse money to the
// account the purse key names (the one place a holder links itself to its
// money, on purpose); an owner's sync gives it what the broker knows of its
// coins (bindings it signed on the downtime path, deposits), so the owner
// adopts them.
import type { WithdrawResult } from '../core/ledger-records.ts'
import { LIMITS } from '../core/messages.ts'
import { needJudge, type LedgerContext } from './ledger-context.ts'

export async function withdraw(l: LedgerContext, args: { env?: unknown }): Promise<WithdrawResult> {
  needJudge(l)
  return await l.store.apply(() => l.ledger.withdraw(args.env))
}

export interface SyncedCoin {
  coin: string
  gen: number
  /** the certificate of that generation */
  cert: string
  state: 'outstanding' | 'deposited'
  /** the highest seq the broker knows a holder at, and the binding naming it */
  seq: number
  binding?: string
}

/** What the broker knows of the owner's coins (asked under the owner's long-term id). */
export async function sync(
  l: LedgerContext,
  owner: string,
  args: { coins?: unknown }
): Promise<{ coins: SyncedCoin[] }> {
  needJudge(l)
  await l.store.barrier()
  const ids = Array.isArray(args.coins) ? args.coins.slice(0, LIMITS.syncCoins) : []
  const out: SyncedCoin[] = []
  for (const id of ids) {
    const r = typeof id === 'string' ? l.ledger.t.coins.get(id) : undefined
    if (r?.owner !== owner) continue
    out.push({
      coin: r.coin,
      gen: r.gen,
      cert: r.cert,
      state: r.state,
      seq: r.seq,
      ...(r.binding != null ? { binding: r.binding } : {})
    })
  }
  return { coins: out }
}
