// Deliberate fraud, for testnets and the test suite only: a node exposes these
// only when started with --allow-cheats. Each one produces exactly the signed
// objects a real cheater would, so the broker's detection is tested for real.
import { ErrorCode, fail, toB64, type Routes } from '@p2pay/core'
import { TAG, type AssignBody, type CoinProof, type RequestBody } from './types.ts'
import type { NodePPay } from './node-service.ts'
import { extendProof, verifyCoin } from './verify.ts'

export function cheatRoutes(svc: NodePPay): Routes {
  const w = svc.wallet
  return {
    /** Owner assigns one unassigned coin, at seq 1, to two payees. */
    'POST /v1/cheat/double-assign': async b => {
      const c = w.spendableOwned()[0]
      if (c == null) fail(ErrorCode.NO_SUCH_COIN, 'no unassigned coin to cheat with')
      const proof1 = await svc.ctx.store.apply(() => w.ownerPay(c.sn, String(b.to1)))
      const coinHash = verifyCoin(svc.ctx.verifier, c.coin, w.cfg.broker, 'cheat').hash
      const second = svc.ctx.signer.sign<AssignBody>(
        TAG.assign,
        { sn: c.sn, coin: coinHash, owner: w.me, seq: 1, holder: String(b.to2), request: null },
        'cheat'
      )
      const proof2: CoinProof = { coin: c.coin, chain: [{ assign: toB64(second.bytes) }] }
      await svc.deliverTo(String(b.to1), proof1)
      await svc.deliverTo(String(b.to2), proof2)
      return { sn: c.sn, value: c.value }
    },
    /** Holder cashes a holding it already spent (its old, superseded assignment). */
    'POST /v1/cheat/cash-spent': async b => {
      const h = [...w.t.held.values()].find(x => x.status === 'spent' && (b.sn == null || x.sn === b.sn))
      if (h == null) fail(ErrorCode.NO_SUCH_COIN, 'no spent holding to cash again')
      await svc.ctx.store.apply(() =>
        w.t.held.set(h.key, { ...h, status: 'held', request: undefined, layer: undefined })
      )
      w.reindex()
      return await svc.cash()
    },
    /** Holder signs two reassignment requests for one position: one to the owner, one to the broker's downtime path. */
    'POST /v1/cheat/double-spend': async b => {
      const h = w.spendableHeld().find(x => x.depth === 0 && (b.sn == null || x.sn === b.sn))
      if (h == null) fail(ErrorCode.NO_SUCH_COIN, 'no held coin to cheat with')
      const tip = w.verify(h.proof, 'cheat').tipHash
      const r1 = svc.ctx.signer.sign<RequestBody>(
        TAG.request,
        { sn: h.sn, owner: h.owner, seq: h.seq, from: w.me, to: String(b.to1), prev: tip },
        'cheat'
      )
      const r2 = svc.ctx.signer.sign<RequestBody>(
        TAG.request,
        { sn: h.sn, owner: h.owner, seq: h.seq, from: w.me, to: String(b.to2), prev: tip },
        'cheat'
      )
      await svc.ctx.store.apply(() => w.t.held.set(h.key, { ...h, status: 'spent' }))
      const viaOwner = await svc.callOwner(h.owner, {
        proof: h.proof,
        request: toB64(r1.bytes),
        toAddrs: b.addrs1 ?? []
      })
      const viaBroker = await svc.callBroker('downtime', { proof: h.proof, request: toB64(r2.bytes) })
      const proof2 = extendProof(h.proof, { link: { assign: viaBroker.assign, request: viaBroker.request } })
      await svc.deliverTo(String(b.to2), proof2)
      return { sn: h.sn, value: h.value, ownerDelivered: viaOwner.delivered }
    }
  }
}
