// What Karma's records show about a journaled transfer. The account's own
// transfers are rows of karma-sent, written (pending) before the request goes
// to bank(A) and marked done once both majorities signed; a majority's final
// refusal deletes the row. So after a crash: a done row is a transfer made, a
// pending row is one bank(A) may have debited (it is relayed again, same bytes,
// which members apply once, until it completes or a majority refuses it: the
// members refuse a request of a past epoch, so it ends), and no row means no
// request was signed or bank(A) refused it: nothing was debited. A row is
// found by the entry's id, written on it when it was signed: never by payee
// and amount, which another transfer in flight may share.
import {
  P2payError,
  type PaymentEntry,
  type PaymentSettler,
  type PeerFigures,
  type SettleContext,
  type Settlement
} from '@p2pay/core'
import type { SentRow } from '../core/account.ts'
import { complete } from './account-transfers.ts'
import type { KarmaService } from './service.ts'

/** The payment's row: named by its answer, else the one its id was written on when it was signed. */
function rowFor(s: KarmaService, e: PaymentEntry): SentRow | undefined {
  const known = (e.result as { requestHash?: unknown } | undefined)?.requestHash
  if (typeof known === 'string') return s.ctx.t.sent.get(known)
  for (const r of s.ctx.t.sent.values()) if (r.payment === e.id) return r
  return undefined
}

const doneResult = (r: SentRow): Record<string, unknown> => ({
  requestHash: r.requestHash,
  to: r.to,
  amount: r.amount,
  nonce: r.nonce,
  debitedBy: r.debitedBy ?? [],
  creditedBy: r.creditedBy ?? []
})

async function settleTransfer(
  s: KarmaService,
  e: PaymentEntry,
  ctx: SettleContext,
  relay: boolean
): Promise<Settlement | undefined> {
  const row = rowFor(s, e)
  if (row == null) {
    if ((e.result as { requestHash?: unknown } | undefined)?.requestHash != null)
      return {
        state: 'failed',
        reason: 'a majority of bank(A) refused the request: nothing was debited',
        error: e.error
      }
    const why =
      e.error != null ? `${e.error.code}: ${e.error.message}` : 'the node stopped before it signed the request'
    return {
      state: 'failed',
      reason: `${why}; no transfer was signed or bank(A) refused it: nothing debited`,
      error: e.error
    }
  }
  if (row.status === 'done') return { state: 'succeeded', reason: 'both majorities signed', result: doneResult(row) }
  // the answer path and the deadline leave the relaying to the settle loop's next tick
  if (!relay || ctx.answering === true)
    return {
      state: 'pending',
      reason: 'signed; bank(A) may have debited it, so it is relayed until it completes or a majority refuses it',
      ...(e.result == null ? { result: { requestHash: row.requestHash } } : {})
    }
  try {
    const r = await s.life.run(
      'karma settle',
      async () => await s.account.serial(async () => await complete(s.account, row.request))
    )
    return { state: 'succeeded', reason: 'both majorities signed (relayed again)', result: r }
  } catch (err) {
    if (s.ctx.t.sent.get(row.requestHash) == null) {
      const error = err instanceof P2payError ? err.toJSON() : undefined
      return { state: 'failed', reason: `a majority of bank(A) refused it: ${(err as Error).message}`, error }
    }
    return {
      state: 'pending',
      reason: `signed, not yet confirmed by both majorities: ${(err as Error).message}`,
      result: { requestHash: row.requestHash }
    }
  }
}

/** Karma's settler of journaled transfers. */
export function karmaSettler(service: KarmaService): PaymentSettler {
  return {
    answered: () => ({ state: 'succeeded', reason: 'both majorities signed' }),
    settle: async (e, ctx) => (e.op === 'transfer' ? await settleTransfer(service, e, ctx, true) : undefined),
    // a request bank(A) may have debited cannot be taken back: it stays pending while relayed, until it ends either way
    expire: async (e, ctx) => (e.op === 'transfer' ? await settleTransfer(service, e, ctx, false) : undefined),
    peers: async () => {
      const out: Record<string, PeerFigures> = {}
      for (const r of service.ctx.t.received.values()) {
        const f = (out[r.from] ??= { received: 0 })
        f.received! += r.amount
      }
      return out
    }
  }
}
