// Renewal of a held coin near its expiry: the holder asks the broker (from a
// fresh identity) for the next generation, bound to a fresh key of its own; the
// request and the fresh key are written before the request leaves, and sent
// again as they are until the broker answers (a repeat gets the same answer).
import { ErrorCode, fail, textOf, toB64 } from '@p2pay/core'
import { openBinding, openCoinCert } from '../core/coin.ts'
import { newCoinKey } from '../core/holder.ts'
import type { RenewResult } from '../core/ledger-records.ts'
import { TAG, type RenewBody } from '../core/messages.ts'
import { WhopayErrorCode } from '../errors.ts'
import type { WhopayKind } from '../kinds.ts'
import { LEDGER_PROTOCOL } from './protocols.ts'
import type { Pending } from './tables.ts'
import { asHolder, errorOf, retryable, signHolder, type WalletContext } from './wallet-context.ts'

const KIND: WhopayKind = 'whopay-renew'

export async function renew(w: WalletContext, coinIn: unknown): Promise<{ coin: string; gen: number; expiry: number }> {
  const id = textOf(coinIn)
  const waiting = [...w.t.pending.values()].find(p => p.kind === 'renew' && p.coin === id && p.refused == null)
  if (waiting != null) return await send(w, waiting)
  const h = [...w.t.held.values()].find(x => x.coin === id && x.status === 'held' && !w.t.pending.has(x.key))
  if (h == null) fail(WhopayErrorCode.NO_SUCH_COIN, 'this node holds no such coin to renew')
  const fresh = newCoinKey()
  const body: RenewBody = { coin: h.coin, gen: h.gen, seq: h.seq, to: fresh.id, at: Date.now() }
  const request = await signHolder(w, h.seed, TAG.renew, body, KIND)
  const p = await w.store.apply(() => {
    const now = w.t.held.get(h.key)
    if (now?.status !== 'held' || w.t.pending.has(h.key)) fail(WhopayErrorCode.COIN_SPENT, 'that coin is being spent')
    const pending: Pending = {
      id: h.key,
      coin: h.coin,
      kind: 'renew',
      value: h.value,
      seq: h.seq,
      cert: h.cert,
      ...(h.binding != null ? { binding: h.binding } : {}),
      request,
      toKey: fresh.id,
      newSeed: toB64(fresh.seed),
      attempts: 0,
      at: Date.now()
    }
    w.t.held.set(h.key, { ...now, status: 'spending' })
    w.t.pending.set(h.key, pending)
    return pending
  })
  return await send(w, p)
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
    if (!w.life.stopped) {
      const refused = retryable(err) ? undefined : errorOf(err)
      await w.store.apply(() => {
        const now = w.t.pending.get(p.id)
        if (now != null)
          w.t.pending.set(p.id, { ...now, attempts: now.attempts + 1, ...(refused != null ? { refused } : {}) })
      })
    }
    throw err
  }
  const cert = openCoinCert(w.c.verifier, r.cert, { broker: w.c.broker.id }, KIND)
  const b = openBinding(w.c.verifier, r.binding, cert, KIND)
  if (cert.coin !== p.coin || b.holder !== p.toKey)
    fail(ErrorCode.BAD_REQUEST, "the broker's renewal is of another coin or key")
  await w.store.apply(() => {
    const h = w.t.held.get(p.id)
    if (h != null) w.t.held.set(p.id, { ...h, status: 'renewed' })
    w.t.held.set(b.holder, {
      key: b.holder,
      seed: p.newSeed!,
      coin: cert.coin,
      value: cert.value,
      cert: cert.b64,
      gen: cert.gen,
      expiry: cert.expiry,
      seq: b.seq,
      binding: b.b64,
      status: 'held',
      at: Date.now()
    })
    w.t.pending.delete(p.id)
  })
  return { coin: cert.coin, gen: cert.gen, expiry: cert.expiry }
}
