// A node as payee. `invoice { value }`: a fresh holding key for the coin to be
// paid to, its seed written before the key is given out. `deliver { cert,
// binding }`: the certificate (the broker's) and the binding (the owner's or
// the broker's) checked against the bytes received, the binding naming a key
// this node invoiced for that value, in real time the coin's state in the DHT
// (a conflicting record is a double spend: reported, refused); the coin is
// stored before the answer, and the same delivery again is answered the same.
import { ErrorCode, P2payError, fail } from '@p2pay/core'
import { openBinding, openCoinCert } from '../core/coin.ts'
import type { WhopayKind } from '../kinds.ts'
import { evidenceOf, openRecord, payeeVerdict, placeOf } from './coin-state-record.ts'
import type { WalletContext } from './wallet-context.ts'
import { reportEvidence } from './wallet-owner.ts'

/**
 * invoices not paid yet at most: past it `invoice` answers BUSY. None is ever deleted (a coin may be bound to its key
 * and on its way, for as long as its payer retries), so a flood of invoices delays payments, never loses one.
 */
export const MAX_OPEN_INVOICES = 10_000
const KIND: WhopayKind = 'whopay-deliver'

export async function invoice(w: WalletContext, args: { value?: unknown }): Promise<{ key: string; value: number }> {
  const inv = await w.store.apply(() => w.wallet.invoice(args.value, MAX_OPEN_INVOICES))
  return { key: inv.key, value: inv.value }
}

export async function acceptDelivery(
  w: WalletContext,
  args: { cert?: unknown; binding?: unknown; owner?: unknown },
  from: string
): Promise<{ coin: string; value: number; duplicate: boolean }> {
  const cert = openCoinCert(w.c.verifier, args.cert, { broker: w.c.broker.id, now: Date.now() }, KIND)
  const b = openBinding(w.c.verifier, args.binding, cert, KIND)
  const had = w.wallet.t.held.get(b.holder)
  if (had != null && had.binding === b.b64) return { coin: cert.coin, value: cert.value, duplicate: true }
  if (w.states.realtime) {
    const n = (await w.states.check(cert.coin)).newest
    const verdict = payeeVerdict(n, placeOf(b))
    // the DHT holds another record at this place: a holder's double spend, or the owner's issue to another key
    // (an issue carries no request); the evidence goes to the broker
    if (verdict === 'conflict' && n != null) {
      const mine = openRecord(w.c.verifier as never, w.c.broker.id, { cert: cert.b64, env: b.b64 })
      const evidence = evidenceOf(w.c.verifier as never, w.c.broker.id, n, mine)
      const r = evidence != null ? await reportEvidence(w, evidence) : undefined
      throw new P2payError(ErrorCode.FRAUD, 'the coin was spent or issued twice at that seq', r ?? {})
    }
    if (verdict === 'moved' && n != null)
      fail(ErrorCode.STALE_SEQ, 'the coin moved on already (its state in the DHT)', { seq: n.at })
  }
  // where the owner listens, from the payer: this node's own transfer of the coin then needs no lookup
  const h = await w.store.apply(() => w.wallet.ownerAt(w.wallet.accept(cert.b64, b.b64).key, args.owner ?? []))
  // the payee's log names the remote peer it was paid from: a holder's fresh identity, or an owner
  w.log.child('payee').info('paid', { coin: h.coin, value: h.value, seq: h.seq, from })
  return { coin: h.coin, value: h.value, duplicate: false }
}
