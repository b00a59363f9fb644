// What PPay's records show about a journaled payment. A payment reserves and
// signs all its coins in one batch, and that batch writes the payment's id on
// each coin's row: the trail (a coin this owner assigned), the held coin (its
// request or layer, kept once spent). So after a crash the wallet shows either
// no row of that id (it never signed: the coins are still here) or every coin
// of it; a coin still in the outbox or being reassigned is under way.
// Nothing is matched by payee and time: another payment to the same payee,
// still in flight or crashed too, is never taken for this one.
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  ErrorCode,
  P2payError,
  asError,
  type PaymentEntry,
  type PaymentSettler,
  type PeerFigures,
  type Settlement
} from '@p2pay/core'
import type { WalletService } from './wallet-service.ts'

interface Signed {
  sn: string
  value: number
  /** still on its way: in the outbox, or being reassigned */
  underway: boolean
}

/** The coins signed by the payment `e.id`, found by the id written in the batch that signed them. */
function signedFor(s: WalletService, e: PaymentEntry): Signed[] {
  const t = s.wallet.t
  const queued = new Set([...t.outbox.values()].filter(d => d.to === e.peer).map(d => d.sn))
  const out = new Map<string, Signed>()
  for (const tr of t.trail.values()) {
    if (tr.payment !== e.id || tr.by !== 'owner' || tr.request != null) continue
    const c = t.owned.get(tr.sn)
    if (c != null) out.set(tr.sn, { sn: tr.sn, value: c.value, underway: queued.has(tr.sn) })
  }
  for (const h of t.held.values()) {
    // spent: reassigned (or layered) to the payee, delivered by its owner or queued here
    if (h.payment !== e.id || (h.status !== 'spending' && h.status !== 'spent')) continue
    out.set(h.sn, { sn: h.sn, value: h.value, underway: h.status === 'spending' || queued.has(h.sn) })
  }
  return [...out.values()]
}

const UNREACHED: ReadonlySet<string> = new Set([ErrorCode.UNREACHABLE, ErrorCode.TIMEOUT])

function settlePay(s: WalletService, e: PaymentEntry): Settlement | undefined {
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
      : signedFor(s, e)
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
    settle: async e => (e.op === 'pay' ? settlePay(service, e) : undefined),
    expire: async e => {
      if (e.op !== 'pay') return undefined
      const s = settlePay(service, e)
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
