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
