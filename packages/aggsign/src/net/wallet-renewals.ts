// Renewing a coin past its layer limit at its minter. The holder signs the
// renewal layer and records the request in one batch before it leaves, so a
// crash or a lost answer sends the same bytes again and the minter, which
// keeps every renewal it answered, answers with the same fresh coin. On the
// answer the holder verifies and stores the fresh coin in one batch with the
// request's outcome; the old coin is no longer its to spend or cash.
import { ErrorCode, dialAddrs, fail, party, textOf } from '@p2pay/core'
import { AggsignErrorCode } from '../errors.ts'
import type { WireCoin } from '../core/messages.ts'
import type { Renewal } from './tables.ts'
import { count, type WalletContext } from './wallet-context.ts'
import { refusalOf } from './wallet-payments.ts'

export interface RenewedAnswer {
  /** the old coin's id */
  old: string
  /** the fresh coin's id */
  coin: string
  value: number
}

/** What the minter sends back: the fresh coin paid to the holder and the certificates it may lack. */
interface MinterAnswer {
  old: string
  coin: WireCoin
  certs: string[]
  value: number
}

/**
 * Renews held coin `coinIn` at its minter (reached at `minterIn`, a multiaddr
 * ending in /p2p/<minter>, when the peer store may not know where it is).
 */
export async function renew(w: WalletContext, coinIn: unknown, minterIn?: unknown): Promise<RenewedAnswer> {
  const id = textOf(coinIn)
  w.life.check()
  const at = minterIn != null ? party(minterIn, 'minter') : undefined
  const addrs = at != null ? dialAddrs(at) : []
  const had = w.renewing.get(id)
  if (had?.renewed != null) return { old: id, coin: had.renewed, value: had.value }
  if (had == null) {
    await w.store.apply(() => {
      const r = w.wallet.renewLayer(id)
      if (at != null && at.id !== r.minter) fail(ErrorCode.BAD_REQUEST, `the coin's minter is ${r.minter}`)
      count(w, 'aggsign-renew', r.counts)
      const rec: Renewal = {
        id,
        to: r.minter,
        toAddrs: addrs,
        coin: r.coin,
        certs: w.wallet.certificatesOf(r.coin),
        value: r.coin.mint.value,
        at: Date.now(),
        attempts: 0
      }
      w.renewing.set(id, rec)
    })
  } else if (addrs.length > 0) {
    await w.store.apply(() => w.renewing.set(id, { ...had, toAddrs: addrs }))
  }
  return await sendRenewal(w, id)
}

/** Sends a recorded renewal to its minter; on its answer stores the fresh coin. */
export async function sendRenewal(w: WalletContext, id: string): Promise<RenewedAnswer> {
  const d = w.renewing.get(id)
  if (d == null) fail(AggsignErrorCode.NO_SUCH_COIN, 'no renewal of that coin was sent')
  if (d.renewed != null) return { old: id, coin: d.renewed, value: d.value }
  w.payees.learn(d.to, d.toAddrs)
  let a: MinterAnswer
  try {
    a = await w.payees.call<MinterAnswer>(
      d.to,
      'renew',
      { coin: d.coin, certs: d.certs },
      { kind: 'aggsign-renew', timeoutMs: w.init.payTimeoutMs }
    )
  } catch (err) {
    const refused = refusalOf(err)
    if (!w.life.stopped)
      await w.store.apply(() => {
        const now = w.renewing.get(id)
        if (now != null && now.renewed == null) w.renewing.set(id, { ...now, attempts: now.attempts + 1, refused })
      })
    throw err
  }
  return await w.store.apply(() => {
    const now = w.renewing.get(id)
    if (now?.renewed != null) return { old: id, coin: now.renewed, value: now.value }
    const fresh = a.coin as WireCoin | undefined
    // the minter pays a coin of its own of the same value: anything else is not this renewal's answer
    if (fresh?.mint?.cert !== d.coin.mint.cert || fresh.mint.value !== d.value)
      fail(ErrorCode.BAD_REQUEST, "the minter's answer is not a fresh coin of its own of the same value")
    const r = w.wallet.accept(fresh, a.certs)
    count(w, 'aggsign-renew', r.counts)
    w.renewing.set(id, { ...d, renewed: r.id, refused: undefined })
    return { old: id, coin: r.id, value: r.value }
  })
}
