// Renewal of a held coin near its expiry: the holder asks the broker (from a
// fresh identity) for the next generation, bound to a fresh key of its own; the
// fresh key and the request are written before the request leaves, and sent
// again as they are until the broker answers (a repeat gets the same answer).
import { ErrorCode, fail, textOf } from '@p2pay/core'
import type { RenewResult } from '../core/ledger-records.ts'
import { TAG } from '../core/messages.ts'
import { WhopayErrorCode } from '../errors.ts'
import type { WhopayKind } from '../kinds.ts'
import { LEDGER_PROTOCOL } from './protocols.ts'
import type { Pending } from './tables.ts'
import { asHolder, signHeld, type WalletContext } from './wallet-context.ts'
import { failedWithBroker } from './wallet-deposit.ts'
import { active } from './wallet-payments.ts'

const KIND: WhopayKind = 'whopay-renew'

export async function renew(w: WalletContext, coinIn: unknown): Promise<{ coin: string; gen: number; expiry: number }> {
  const id = textOf(coinIn)
  const waiting = [...w.t.pending.values()].find(p => p.kind === 'renew' && p.coin === id && p.refused == null)
  if (waiting != null) return await send(w, waiting)
  const h = w.wallet.spendable().find(x => x.coin === id && !active(w, x.key) && !w.busy.has(x.key))
  if (h == null) fail(WhopayErrorCode.NO_SUCH_COIN, 'this node holds no such coin to renew')
  w.busy.add(h.key)
  try {
    const fresh = await w.store.apply(() => w.wallet.renewalKey(h.key))
    const request = await signHeld(w, h.key, TAG.renew, fresh.key, KIND)
    const p = await w.store.apply(() => {
      if (active(w, h.key)) fail(WhopayErrorCode.COIN_SPENT, 'that coin is being spent')
      w.wallet.spending(h.key, request)
      const pending: Pending = {
        id: h.key,
        coin: h.coin,
        kind: 'renew',
        value: h.value,
        seq: h.seq,
        cert: h.cert,
        binding: h.binding,
        request,
        toKey: fresh.key,
        attempts: 0,
        at: Date.now()
      }
      w.t.pending.set(h.key, pending)
      return pending
    })
    return await send(w, p)
  } finally {
    w.busy.delete(h.key)
  }
}

export async function send(w: WalletContext, p: Pending): Promise<{ coin: string; gen: number; expiry: number }> {
  let r: RenewResult
  try {
    r = await asHolder(
      w,
      async anon =>
        await anon.call<RenewResult>(
          w.c.broker,
          LEDGER_PROTOCOL,
          'renew',
          { cert: p.cert, ...(p.binding != null ? { binding: p.binding } : {}), request: p.request },
          { kind: KIND, timeoutMs: 60_000 }
        )
    )
  } catch (err) {
    await failedWithBroker(w, p, err)
    throw err
  }
  const h = await w.store.apply(() => {
    const fresh = w.wallet.renewed(p.id, r.cert, r.binding)
    if (fresh.key !== p.toKey) fail(ErrorCode.BAD_REQUEST, "the broker's renewal is bound to another key")
    w.t.pending.delete(p.id)
    return fresh
  })
  return { coin: h.coin, gen: h.gen, expiry: h.expiry }
}
