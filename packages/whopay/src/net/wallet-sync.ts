// An owner's sync with the broker: what the broker knows of its coins (a
// binding it signed on the downtime path while the owner was away, a renewal)
// is adopted into the owner's book, so the next holder request by a key the
// broker named is answered. A broker binding that contradicts one the owner
// signed is a holder's double spend: reported.
import { LIMITS } from '../core/messages.ts'
import type { SyncedCoin } from './ledger-purse.ts'
import { SYNC_KIND, type WalletContext } from './wallet-context.ts'
import { reportEvidence } from './wallet-owner.ts'

/** coins asked about in one sync call: as many as the broker answers */
const BATCH = LIMITS.syncCoins

export async function sync(w: WalletContext): Promise<{ adopted: number; reported: number }> {
  const ids = [...w.owner.t.coins.values()].filter(o => !w.t.ownSpent.has(o.coin)).map(o => o.coin)
  let adopted = 0
  let reported = 0
  for (let i = 0; i < ids.length && !w.life.stopped; i += BATCH) {
    const { coins } = await w.broker.call<{ coins: SyncedCoin[] }>(
      w.c.broker,
      'sync',
      { coins: ids.slice(i, i + BATCH) },
      { kind: SYNC_KIND, timeoutMs: 30_000 }
    )
    for (const sc of coins) {
      if (sc.binding == null) continue
      const o = w.owner.t.coins.get(sc.coin)
      if (o == null || (sc.gen === o.gen && sc.seq <= o.seq)) continue
      let r
      try {
        r = await w.store.apply(() => w.owner.adopt(sc.binding, sc.gen > o.gen ? sc.cert : undefined))
      } catch (err) {
        w.log.child('sync').warn('a binding from the broker not adopted', { coin: sc.coin, err })
        continue
      }
      if (r.evidence != null) {
        await reportEvidence(w, r.evidence)
        reported++
      } else if (r.advanced) {
        adopted++
        w.log.child('sync').info('adopted a binding the broker signed', { coin: sc.coin, gen: sc.gen, seq: sc.seq })
      }
    }
  }
  return { adopted, reported }
}
