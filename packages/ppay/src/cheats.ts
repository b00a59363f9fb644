// Deliberate fraud, for testnets and the test suite only: a node exposes these
// only when started with --allow-cheats. Each one produces exactly the signed
// objects a real cheater would (counted under the kinds a real one's would be),
// so the broker's detection is tested for real.
import { checkAddrs, checkPeerId, fail, toB64, type Routes } from '@p2pay/core'
import { TAG, type AssignBody, type CoinProof, type RequestBody } from './core/types.ts'
import { extendProof, verifyCoin } from './core/verify.ts'
import { PPayErrorCode } from './errors.ts'
import type { WalletService } from './net/wallet-service.ts'
import { callBroker } from './net/wallet-context.ts'
import { deliver } from './net/wallet-deliveries.ts'
import { cash } from './net/wallet-cashing.ts'

export function cheatRoutes(svc: WalletService): Routes {
  const w = svc.w
  const wallet = w.wallet
  const signer = w.c.signer
  return {
    /** Owner assigns one unassigned coin, at seq 1, to two payees. */
    'POST /double-assign': async b => {
      const [to1, to2] = [checkPeerId(b.to1, 'to1'), checkPeerId(b.to2, 'to2')]
      const c = wallet.spendableOwned()[0]
      if (c == null) fail(PPayErrorCode.NO_SUCH_COIN, 'no unassigned coin to cheat with')
      const proof1 = await w.store.apply(() => wallet.ownerPay(c.sn, to1))
      const coinHash = verifyCoin(w.c.verifier, c.coin, wallet.cfg.broker, 'pay').hash
      const body: AssignBody = {
        sn: c.sn,
        coin: coinHash,
        owner: wallet.me,
        seq: 1,
        holder: to2,
        request: null
      }
      const second = signer.sign<AssignBody>(TAG.assign, body, 'pay')
      const proof2: CoinProof = { coin: c.coin, chain: [{ assign: toB64(second.bytes) }] }
      await deliver(w, to1, [], proof1, 'pay')
      await deliver(w, to2, [], proof2, 'pay')
      return { sn: c.sn, value: c.value }
    },
    /** Holder cashes a holding it already spent (its old, superseded assignment). */
    'POST /cash-spent': async b => {
      const h = [...wallet.t.held.values()].find(x => x.status === 'spent' && (b.sn == null || x.sn === b.sn))
      if (h == null) fail(PPayErrorCode.NO_SUCH_COIN, 'no spent holding to cash again')
      await w.store.apply(() =>
        wallet.t.held.set(h.key, { ...h, status: 'held', request: undefined, layer: undefined })
      )
      wallet.reindex()
      return await cash(w)
    },
    /** Holder signs two reassignment requests for one position: one to the owner, one to the broker's downtime path. */
    'POST /double-spend': async b => {
      const [to1, to2] = [checkPeerId(b.to1, 'to1'), checkPeerId(b.to2, 'to2')]
      const addrs1 = checkAddrs(b.addrs1, 'addrs1')
      const h = wallet.spendableHeld().find(x => x.depth === 0 && (b.sn == null || x.sn === b.sn))
      if (h == null) fail(PPayErrorCode.NO_SUCH_COIN, 'no held coin to cheat with')
      const tip = wallet.verify(h.proof, 'reassign').tipHash
      const request = (to: string): string => {
        const body: RequestBody = { sn: h.sn, owner: h.owner, seq: h.seq, from: wallet.me, to, prev: tip }
        return toB64(signer.sign<RequestBody>(TAG.request, body, 'reassign').bytes)
      }
      const r1 = request(to1)
      const r2 = request(to2)
      await w.store.apply(() => wallet.t.held.set(h.key, { ...h, status: 'spent' }))
      const args1 = { proof: h.proof, request: r1, toAddrs: addrs1 }
      const viaOwner = await w.owners.call<{ delivered: boolean }>(h.owner, 'reassign', args1, {
        kind: 'reassign',
        timeoutMs: w.init.ownerTimeoutMs
      })
      type Downtime = { assign: string; request: string }
      const viaBroker = await callBroker<Downtime>(w, 'downtime', { proof: h.proof, request: r2 }, 'downtime')
      const proof2 = extendProof(h.proof, { link: { assign: viaBroker.assign, request: viaBroker.request } })
      await deliver(w, to2, [], proof2, 'pay')
      return { sn: h.sn, value: h.value, ownerDelivered: viaOwner.delivered }
    }
  }
}
