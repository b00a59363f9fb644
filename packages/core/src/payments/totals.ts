// Per-peer totals of the journal, with what each scheme's records add
// (received, uncashed), and the state of each scheme's last cash-out or
// deposit with the reason of its last failure.
import type { PaymentEntry, PaymentSettler, PeerFigures } from './types.ts'

/** operations that take money out to the broker or the AC */
const CASHING_OPS: ReadonlySet<string> = new Set(['cash', 'deposit'])

export interface PeerTotals {
  peer: string
  /** per scheme: whole units */
  schemes: Record<string, { paid: number; pending: number; failed: number } & PeerFigures>
}

export interface CashOutStatus {
  scheme: string
  op: string
  /** the last cash-out's state */
  state: string
  at: number
  /** the last failed one, if any: when and why */
  lastFailure?: { at: number; reason: string }
}

export async function peerTotals(
  entries: Iterable<PaymentEntry>,
  settlers: ReadonlyMap<string, PaymentSettler>
): Promise<{ peers: PeerTotals[]; cashOuts: CashOutStatus[] }> {
  const peers = new Map<string, PeerTotals>()
  const row = (peer: string, scheme: string): PeerTotals['schemes'][string] => {
    let p = peers.get(peer)
    if (p == null) peers.set(peer, (p = { peer, schemes: {} }))
    return (p.schemes[scheme] ??= { paid: 0, pending: 0, failed: 0 })
  }
  const cash = new Map<string, CashOutStatus>()
  for (const e of [...entries].sort((a, b) => a.created - b.created)) {
    if (CASHING_OPS.has(e.op)) {
      const key = `${e.scheme} ${e.op}`
      const prev = cash.get(key)
      const failed = e.state === 'failed' || e.state === 'expired'
      cash.set(key, {
        scheme: e.scheme,
        op: e.op,
        state: e.state,
        at: e.updated,
        ...(failed
          ? { lastFailure: { at: e.updated, reason: e.reason ?? e.error?.message ?? e.state } }
          : prev?.lastFailure != null
            ? { lastFailure: prev.lastFailure }
            : {})
      })
      continue
    }
    // an operation with a peer pays it; the others (buying coins, minting) stay between this node and the broker
    if (e.peer == null) continue
    const r = row(e.peer, e.scheme)
    const amount = e.amount ?? 0
    if (e.state === 'succeeded') r.paid += amount
    else if (e.state === 'pending') r.pending += amount
    else r.failed += amount
  }
  for (const [scheme, s] of settlers) {
    if (s.peers == null) continue
    const figures = await s.peers().catch(() => ({}) as Record<string, PeerFigures>)
    for (const [peer, f] of Object.entries(figures)) Object.assign(row(peer, scheme), f)
  }
  return { peers: [...peers.values()], cashOuts: [...cash.values()] }
}
