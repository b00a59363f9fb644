// A node as payee. `invoice { value }`: a fresh holding key for the coin to be
// paid to, its seed written before the key is given out. `deliver { cert,
// binding }`: the certificate (the broker's) and the binding (the owner's or
// the broker's) checked against the bytes received, the binding naming a key
// this node invoiced for that value, in real time the coin's state in the DHT
// (a conflicting record is a double spend: reported, refused); the coin is
// stored before the answer, and the same delivery again is answered the same.
import { ErrorCode, P2payError, fail, toB64 } from '@p2pay/core'
import { answeredOf, openBinding, openCoinCert } from '../core/coin.ts'
import { newCoinKey } from '../core/holder.ts'
import { isValue } from '../core/messages.ts'
import { WhopayErrorCode } from '../errors.ts'
import type { WhopayKind } from '../kinds.ts'
import { compareState } from './coin-state-record.ts'
import type { WalletContext } from './wallet-context.ts'
import { reportEvidence } from './wallet-owner.ts'

/** invoices not paid yet kept at most: the oldest unpaid one is forgotten past it */
const MAX_OPEN_INVOICES = 10_000

export async function invoice(w: WalletContext, args: { value?: unknown }): Promise<{ key: string; value: number }> {
  if (!isValue(args.value)) fail(ErrorCode.BAD_REQUEST, 'value must be a positive amount')
  const value = args.value
  const k = newCoinKey()
  await w.store.apply(() => {
    w.t.invoices.set(k.id, { key: k.id, seed: toB64(k.seed), value, at: Date.now() })
    if (w.t.invoices.size > MAX_OPEN_INVOICES) {
      const oldest = [...w.t.invoices.values()].filter(i => i.coin == null).sort((a, b) => a.at - b.at)[0]
      if (oldest != null && oldest.key !== k.id) w.t.invoices.delete(oldest.key)
    }
  })
  return { key: k.id, value }
}

const kindOf = (k?: string): WhopayKind => (k === 'whopay-issue' ? 'whopay-issue' : 'whopay-transfer')

export async function acceptDelivery(
  w: WalletContext,
  args: { cert?: unknown; binding?: unknown },
  from: string,
  callerKind?: string
): Promise<{ coin: string; value: number; duplicate: boolean }> {
  const kind = kindOf(callerKind)
  const cert = openCoinCert(w.c.verifier, args.cert, { broker: w.c.broker.id, now: Date.now() }, kind)
  const b = openBinding(w.c.verifier, args.binding, cert, kind)
  const inv = w.t.invoices.get(b.holder)
  if (inv == null) fail(WhopayErrorCode.NOT_INVOICED, 'the binding names no key this node invoiced')
  if (inv.value !== cert.value) fail(WhopayErrorCode.NOT_INVOICED, `the key was invoiced for ${inv.value}`)
  const held = w.t.held.get(b.holder)
  if (held != null) {
    if (held.binding === b.b64) return { coin: cert.coin, value: cert.value, duplicate: true }
    fail(ErrorCode.REPLAY, 'that key was paid with another binding')
  }
  if (w.states.realtime) {
    const n = (await w.states.check(cert.coin)).newest
    const here = { gen: cert.gen, at: b.seq - 1 }
    const mine = answeredOf(b)
    if (n != null && compareState(n, here) === 0 && n.signed != null && mine != null && n.signed.env !== mine.env) {
      const r = await reportEvidence(w, { cert: cert.b64, a: n.signed, b: mine })
      throw new P2payError(ErrorCode.FRAUD, 'the coin was spent twice at that seq', r ?? {})
    }
    if (n != null && compareState(n, here) > 0)
      fail(ErrorCode.STALE_SEQ, 'the coin moved on already (its state in the DHT)', { seq: n.at })
  }
  const r = await w.store.apply(() => {
    const again = w.t.held.get(b.holder)
    if (again != null) return again.binding === b.b64
    w.t.held.set(b.holder, {
      key: b.holder,
      seed: inv.seed,
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
    w.t.invoices.set(inv.key, { ...inv, coin: cert.coin })
    return false
  })
  // the payee's log names the remote peer it was paid from: a holder's fresh identity, or an owner
  if (!r) w.log.child('payee').info('paid', { coin: cert.coin, value: cert.value, seq: b.seq, from })
  return { coin: cert.coin, value: cert.value, duplicate: r }
}
