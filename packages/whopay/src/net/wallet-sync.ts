// An owner's sync with the broker: what the broker knows of its coins (a
// binding it signed on the downtime path while the owner was away, a renewal,
// a deposit) is adopted into the owner's records, so the next holder request
// by a key the broker named is answered. A broker binding that contradicts one
// the owner signed is a holder's double spend: reported.
import { sha256Hex, fromB64 } from '@p2pay/core'
import { openBinding, openCoinCert } from '../core/coin.ts'
import type { SyncedCoin } from './ledger-purse.ts'
import { adoptBinding, reportEvidence } from './wallet-owner.ts'
import { SYNC_KIND, type WalletContext } from './wallet-context.ts'

/** coins asked about in one sync call */
const BATCH = 500

export async function sync(w: WalletContext): Promise<{ adopted: number; reported: number }> {
  const ids = [...w.t.owned.values()].filter(o => o.cert != null && o.used !== 'deposited').map(o => o.coin)
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
      const r = await adoptOne(w, sc)
      if (r === 'adopted') adopted++
      if (r === 'reported') reported++
    }
  }
  return { adopted, reported }
}

async function adoptOne(w: WalletContext, sc: SyncedCoin): Promise<'adopted' | 'reported' | 'same'> {
  const o = w.t.owned.get(sc.coin)
  if (o?.cert == null || sc.binding == null) return 'same'
  const kind = SYNC_KIND
  let cert, b
  try {
    cert = openCoinCert(w.c.verifier, sc.cert, { broker: w.c.broker.id }, kind)
    b = openBinding(w.c.verifier, sc.binding, cert, kind)
  } catch (err) {
    w.log.child('sync').warn('the broker sent a binding that does not check', { coin: sc.coin, err })
    return 'same'
  }
  if (cert.coin !== o.coin || cert.owner !== w.me) return 'same'
  if (cert.gen < o.gen || (cert.gen === o.gen && b.seq <= o.seq)) {
    // the same seq bound by the broker to another request than the owner answered: a holder double spend
    const mine = cert.gen === o.gen ? o.answered[String(b.seq - 1)] : undefined
    if (mine != null && b.request != null && b.group != null && mine.hash !== sha256Hex(fromB64(b.request))) {
      await reportEvidence(w, { cert: cert.b64, a: mine.signed, b: { env: b.request, group: b.group } })
      return 'reported'
    }
    return 'same'
  }
  await w.store.apply(() => {
    const now = w.t.owned.get(sc.coin)!
    const base = cert.gen > now.gen ? { ...now, cert: cert.b64, gen: cert.gen, expiry: cert.expiry, answered: {} } : now
    w.t.owned.set(sc.coin, adoptBinding(base, b))
  })
  w.log.child('sync').info('adopted a binding the broker signed', { coin: sc.coin, gen: cert.gen, seq: b.seq })
  return 'adopted'
}
