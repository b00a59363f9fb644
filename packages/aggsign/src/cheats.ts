// Deliberate fraud, for test swarms only: a node exposes these only when
// started with --allow-cheats. Each one produces exactly the coins a real
// cheater would (signed with its own BLS key, counted under the kinds a real
// one's would be), so the payees' and the broker's detection is tested for real.
import { ErrorCode, dialAddrs, fail, fromB64, party, textOf, type Routes } from '@p2pay/core'
import { addLayer, coinId, mintCoin } from './core/coin.ts'
import { isValue } from './core/messages.ts'
import { AggsignErrorCode } from './errors.ts'
import type { WalletService } from './net/wallet-service.ts'
import { payeeCert } from './net/wallet-payments.ts'

export function cheatRoutes(svc: WalletService): Routes {
  // from here on every coin paid on is kept as it was, so it can be paid a second time
  svc.keepCoinsBefore()
  const w = svc.w
  const wallet = w.wallet
  return {
    /** Pays a coin this node already paid on to a second payee: a second layer at the same depth. */
    'POST /double-spend': async b => {
      const id = textOf(b.coin)
      const to = party(b.to, 'to')
      const h = wallet.t.held.get(id)
      if (h?.status !== 'spent') fail(AggsignErrorCode.NO_SUCH_COIN, 'this node has not paid that coin on')
      const before = w.before?.get(id)
      if (before == null) fail(AggsignErrorCode.NO_SUCH_COIN, 'no copy of that coin from before it was paid on')
      if (to.addr != null) w.payees.learn(to.id, dialAddrs(to))
      const toCert = await payeeCert(w, to)
      const info = wallet.lookup(toCert)!
      const coin = addLayer(before, fromB64(wallet.key().sk), info, w.init.maxLayers)
      w.c.metrics.signed('aggsign-pay')
      const certs = wallet.certificatesOf(coin)
      await w.payees.call(to, 'deliver', { coin, certs }, { kind: 'aggsign-pay', timeoutMs: w.init.payTimeoutMs })
      return { coin: id, to: to.id, layers: coin.layers.length }
    },
    /** Mints a coin past the certificate's limit (the wallet refuses to; the broker must catch it at cashing). */
    'POST /over-mint': async b => {
      if (!isValue(b.value)) fail(ErrorCode.BAD_REQUEST, 'value must be a positive amount')
      const value = b.value
      return await w.store.apply(() => {
        const k = wallet.key()
        if (k.certHash == null || k.expiry == null) fail(ErrorCode.NOT_FOUND, 'no certificate to mint under')
        const serial = k.nextSerial
        const coin = mintCoin(fromB64(k.sk), { cert: k.certHash, serial, value, expiry: k.expiry })
        const id = coinId(coin)
        const now = Date.now()
        wallet.t.key.set('key', { ...k, nextSerial: serial + 1, minted: k.minted + value })
        wallet.t.minted.set(String(serial), { serial, id, value, expiry: k.expiry, at: now })
        wallet.t.held.set(id, { id, coin, depth: 0, value, expiry: k.expiry, status: 'held', at: now })
        w.c.metrics.signed('aggsign-mint')
        return { coin: id, value, minted: k.minted + value, limit: k.limit }
      })
    }
  }
}
