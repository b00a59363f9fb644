// What PPay's records show about a journaled payment. A payment reserves and
// signs all its coins in one batch, so after a crash the wallet shows either
// nothing given to the payee since the payment began (it never signed: the
// coins are still here) or every coin of it: assigned by this owner (the
// trail), queued for delivery (the outbox) or being reassigned via its owner
// (a held coin 'spending', which the retry loop finishes). Deliveries are the
// outbox's: a coin signed to the payee is the payee's, delivered or not.
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  ErrorCode,
  P2payError,
  asError,
  type PaymentEntry,
  type PaymentSettler,
  type PeerFigures,
  type SettleContext,
  type Settlement
} from '@p2pay/core'
import type { WalletService } from './wallet-service.ts'

/** a coin signed this long before the entry was written still counts as its (clocks of one process, batch order) */
const CLOCK_SLACK_MS = 1000

interface Signed {
  sn: string
  value: number
  /** still on its way: in the outbox, or being reassigned */
  underway: boolean
}

/** The sns other entries already account for: a coin is one payment's. */
function claimed(ctx: SettleContext, self: string): Set<string> {
  const out = new Set<string>()
  for (const e of ctx.entries()) {
    if (e.id === self || e.scheme !== 'ppay' || e.op !== 'pay') continue
    const coins = (e.result as { coins?: Array<{ sn?: unknown }> } | undefined)?.coins
    for (const c of coins ?? []) if (typeof c.sn === 'string') out.add(c.sn)
  }
  return out
}

/** The coins signed to the entry's payee since it began, that no other entry claims. */
function signedFor(s: WalletService, e: PaymentEntry, ctx: SettleContext): Signed[] {
  const t = s.wallet.t
  const since = e.created - CLOCK_SLACK_MS
  const taken = claimed(ctx, e.id)
  const out = new Map<string, Signed>()
  const queued = new Set([...t.outbox.values()].filter(d => d.to === e.peer).map(d => d.sn))
  for (const d of t.outbox.values()) {
    if (d.to === e.peer && d.at >= since && !taken.has(d.sn))
      out.set(d.sn, { sn: d.sn, value: d.value, underway: true })
  }
  for (const tr of t.trail.values()) {
    if (tr.holder !== e.peer || tr.by !== 'owner' || tr.request != null || tr.at < since || taken.has(tr.sn)) continue
    const c = t.owned.get(tr.sn)
    if (c != null && !out.has(tr.sn)) out.set(tr.sn, { sn: tr.sn, value: c.value, underway: queued.has(tr.sn) })
  }
  for (const h of t.held.values()) {
    if (h.status === 'spending' && h.request?.to === e.peer && !taken.has(h.sn))
      out.set(h.sn, { sn: h.sn, value: h.value, underway: true })
  }
  return [...out.values()]
}

const UNREACHED: ReadonlySet<string> = new Set([ErrorCode.UNREACHABLE, ErrorCode.TIMEOUT])

function settlePay(s: WalletService, e: PaymentEntry, ctx: SettleContext): Settlement | undefined {
  // an answered payment names its coins; a crashed one is looked up
  const answered = (e.result as { coins?: Array<{ sn: string; value: number }> } | undefined)?.coins
  const t = s.wallet.t
  const coins: Signed[] =
    answered != null
      ? answered.map(c => ({
          sn: c.sn,
          value: c.value,
          underway:
            [...t.outbox.values()].some(d => d.sn === c.sn && d.to === e.peer) ||
            [...t.held.values()].some(h => h.sn === c.sn && h.status === 'spending')
        }))
      : signedFor(s, e, ctx)
  const value = coins.reduce((n, c) => n + c.value, 0)
  const result = { to: e.peer, amount: e.amount, coins: coins.map(({ sn, value }) => ({ sn, value })) }
  if (value === 0) {
    const why = e.error != null ? `${e.error.code}: ${e.error.message}` : 'the node stopped before it signed any coin'
    return UNREACHED.has(e.error?.code ?? '')
      ? { state: 'expired', reason: `${why}; nothing was signed, the coins stay in the wallet`, error: e.error }
      : { state: 'failed', reason: `${why}; nothing was signed, the coins stay in the wallet`, error: e.error }
  }
  if (coins.some(c => c.underway))
    return { state: 'pending', reason: 'signed to the payee; delivery under way', result }
  if (value === e.amount) return { state: 'succeeded', reason: 'every coin signed to the payee and delivered', result }
  return {
    state: 'failed',
    reason: `paid ${value} of ${e.amount}: the coins listed are the payee's, the rest stayed in the wallet`,
    error: e.error ?? { code: 'PARTIAL_PAYMENT', message: `paid ${value} of ${e.amount}` },
    result
  }
}

/** PPay's settler of journaled payments: `pay` is settled from the wallet; buys and cash-outs end as they answered. */
export function ppaySettler(service: WalletService, network: Pick<Libp2p, 'dial' | 'peerId'>): PaymentSettler {
  return {
    // a payee that does not answer before the deadline gets nothing signed: the payment expires, no coin moves
    before: async (e, signal, body) => {
      if (e.op !== 'pay' || e.peer == null || !Number.isSafeInteger(e.amount) || e.amount! < 1) return
      if (body.to !== e.peer) return // not a bare peer id: the payment itself refuses it
      let peer
      try {
        peer = peerIdFromString(e.peer)
      } catch {
        return // not a peer id: the payment itself refuses it
      }
      if (peer.equals(network.peerId)) return
      try {
        await network.dial(peer, { signal })
      } catch (err) {
        throw new P2payError(ErrorCode.UNREACHABLE, `payee ${e.peer} did not answer: ${asError(err).message}`)
      }
    },
    answered: (e, result) => {
      if (e.op !== 'pay') return undefined
      const coins = (result as { coins?: Array<{ delivered?: boolean }> }).coins ?? []
      return coins.every(c => c.delivered !== false)
        ? { state: 'succeeded', reason: 'every coin signed to the payee and delivered' }
        : { state: 'pending', reason: 'signed to the payee; delivery queued (the outbox retries)' }
    },
    settle: async (e, ctx) => (e.op === 'pay' ? settlePay(service, e, ctx) : undefined),
    expire: async (e, ctx) => {
      if (e.op !== 'pay') return undefined
      const s = settlePay(service, e, ctx)
      if (s?.state !== 'pending') return s
      // signed coins are the payee's whether or not they arrived: the outbox goes on delivering them
      return {
        state: 'succeeded',
        reason:
          'signed to the payee by the deadline; its delivery is still queued and retried until the payee takes it',
        result: s.result
      }
    },
    peers: async () => {
      const out: Record<string, PeerFigures> = {}
      for (const h of service.wallet.t.held.values()) {
        const f = (out[h.from] ??= { received: 0, uncashed: 0 })
        f.received! += h.value
        if (h.status === 'held' || h.status === 'cashing') f.uncashed! += h.value
      }
      return out
    }
  }
}
