// Deliveries of signed proofs to payees, through an outbox: a proof is queued
// in the same batch that signs it, and leaves the outbox only once the payee
// has it, so a crash or an unreachable payee delays a payment, never loses it.
import { ErrorCode, P2payError, randomId } from '@p2pay/core'
import type { CoinProof } from '../core/types.ts'
import type { Delivery } from '../core/wallet-records.ts'
import type { PPayKind } from '../kinds.ts'
import { withLookup, type WalletContext } from './wallet-context.ts'

/** Sends a proof to its payee (looking the payee up in the DHT if it moved). */
export async function deliver(
  w: WalletContext,
  to: string,
  addrs: string[],
  proof: CoinProof,
  kind: PPayKind
): Promise<void> {
  w.payees.learn(to, addrs)
  await withLookup(
    w,
    to,
    async () => await w.payees.call(to, 'deliver', { proof }, { timeoutMs: w.init.ownerTimeoutMs * 2, kind })
  )
}

/**
 * Puts a signed proof in the outbox. Call it inside the same state change that
 * signed the proof, so a crash can never leave a payment signed but undelivered.
 */
export function queueDelivery(
  w: WalletContext,
  to: string,
  addrs: string[],
  proof: CoinProof,
  sn: string,
  value: number
): string {
  const d: Delivery = { id: randomId(8), to, toAddrs: addrs, proof, sn, value, at: Date.now(), attempts: 0 }
  w.wallet.t.outbox.set(d.id, d)
  return d.id
}

/** One payee's answer to one proof of a `deliverMany`. */
export type DeliveryResult =
  { sn: string; value: number; duplicate: boolean } | { error: { code: string; message: string; details?: unknown } }

/** Most proofs in one `deliverMany` frame (a few hundred KiB at most, within the frame limit). */
export const MAX_DELIVER_BATCH = 256

/**
 * Delivers many outbox entries to one payee in one frame; each leaves the
 * outbox once the payee has it (one batch for all). Returns, per entry,
 * whether it was delivered and the payee's refusal if not.
 */
export async function deliverManyQueued(
  w: WalletContext,
  to: string,
  addrs: string[],
  ids: string[],
  kind: PPayKind
): Promise<Array<{ delivered: boolean; deliveryError?: unknown }>> {
  const queued = ids.map(id => w.wallet.t.outbox.get(id)).filter(d => d != null)
  if (queued.length === 0) return ids.map(() => ({ delivered: true }))
  let results: DeliveryResult[]
  try {
    w.payees.learn(to, addrs)
    const args = { proofs: queued.map(d => d.proof) }
    const opts = { timeoutMs: w.init.ownerTimeoutMs * 2, kind }
    const res = await withLookup(
      w,
      to,
      async () => await w.payees.call<{ results: DeliveryResult[] }>(to, 'deliverMany', args, opts)
    )
    if (!Array.isArray(res?.results) || res.results.length !== queued.length)
      throw new P2payError(ErrorCode.BAD_REQUEST, 'payee answered a different number of proofs')
    results = res.results
  } catch (err) {
    const error = err instanceof P2payError ? err.toJSON() : { code: ErrorCode.INTERNAL, message: String(err) }
    results = queued.map(() => ({ error }))
    w.log.child('deliveries').warn('delivery failed; it stays queued', { to, count: queued.length, err: error })
  }
  // anything but a plain acceptance (a refusal, or a malformed answer) leaves the entry queued
  const refusal = (r: unknown): DeliveryResult | undefined =>
    r != null && typeof r === 'object' && !('error' in r)
      ? undefined
      : { error: (r as any)?.error ?? { code: ErrorCode.BAD_REQUEST, message: 'malformed answer' } }
  const byId = new Map(queued.map((d, i) => [d.id, refusal(results[i])]))
  await w.store.apply(() =>
    queued.forEach(d => {
      const r = byId.get(d.id)
      if (r == null) w.wallet.t.outbox.delete(d.id)
      else w.wallet.t.outbox.set(d.id, { ...d, attempts: d.attempts + 1, lastError: (r as any).error })
    })
  )
  return ids.map(id => {
    const r = byId.get(id)
    return r == null ? { delivered: true } : { delivered: false, deliveryError: (r as any).error }
  })
}

/** Delivers an outbox entry; it leaves the outbox only once the payee has it. */
export async function deliverQueued(
  w: WalletContext,
  id: string,
  kind: PPayKind
): Promise<{ delivered: boolean; deliveryError?: unknown }> {
  const d = w.wallet.t.outbox.get(id)
  if (d == null) return { delivered: true }
  try {
    await deliver(w, d.to, d.toAddrs, d.proof, kind)
    await w.store.apply(() => w.wallet.t.outbox.delete(id))
    return { delivered: true }
  } catch (err) {
    const error = err instanceof P2payError ? err.toJSON() : { code: ErrorCode.INTERNAL, message: String(err) }
    await w.store.apply(() => w.wallet.t.outbox.set(id, { ...d, attempts: d.attempts + 1, lastError: error }))
    w.log.child('deliveries').warn('delivery failed; it stays queued', { to: d.to, sn: d.sn, err: error })
    return { delivered: false, deliveryError: error }
  }
}
