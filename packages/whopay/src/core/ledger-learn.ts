// What the broker learns of its coins from the DHT or a report: a binding of one of them. It remembers the request
// the binding answers and, when the binding is newer than what it knew, the holder it names. A binding that
// conflicts with what it knew changes nothing and comes back as evidence.
import { ErrorCode, decodeSigned, fail, toB64 } from '@p2pay/core'
import { WhopayErrorCode } from '../errors.ts'
import { answeredOf, openBinding, openCoinCert, type CoinCert } from './coin.ts'
import { conflicts, holderEvidenceOf, type Evidence, type OwnerEvidence } from './evidence.ts'
import { openHolder } from './holder.ts'
import type { LedgerState } from './ledger-fraud.ts'
import { reqKey, type CoinRecord } from './ledger-records.ts'
import { HOLDER_TAGS, LIMITS, TAG, destinationOf } from './messages.ts'

/** What adopting a binding the broker learnt of did. */
export interface Adopted {
  /** the broker now knows the coin's holder at a higher seq */
  advanced: boolean
  /** the binding conflicts with what the broker knew: a holder double spend */
  evidence?: Evidence
  /** or an owner double assignment */
  ownerEvidence?: OwnerEvidence
}

function coinOf(c: LedgerState, coin: string): CoinRecord {
  const r = c.t.coins.get(coin)
  if (r == null) fail(WhopayErrorCode.NO_SUCH_COIN, 'no coin with this key was sold here')
  return r
}

/** The certificate of `r` at `gen`, opened (this broker signed it when it stored it). */
export function certAt(c: LedgerState, r: CoinRecord, gen: number): CoinCert {
  const b64 = r.certs[String(gen)]
  if (b64 === undefined) fail(WhopayErrorCode.WRONG_GEN, `coin has no generation ${gen}`)
  return openCoinCert(c.verifier, b64, { broker: c.broker }, 'whopay-deposit')
}

/**
 * What the broker learns of a coin from the DHT or a report: a binding of one of its coins. It remembers the
 * request the binding answers and, when the binding is newer than what it knew, the holder it names. A binding
 * that conflicts with what it knew changes nothing and comes back as evidence.
 */
export function adoptBindingIn(c: LedgerState, b64: unknown): Adopted {
  const peek = peekBinding(c, b64)
  const r = coinOf(c, peek.coin)
  const cert = certAt(c, r, peek.gen)
  const b = openBinding(c.verifier, b64, cert, 'whopay-deposit')
  const a = b.answered
  let seenKey: string | undefined
  if (a !== undefined) {
    const k = reqKey(a.body.coin, a.body.gen, a.body.seq)
    const seen = c.t.requests.get(k)
    if (seen == null) seenKey = k
    else if (seen.env !== toB64(a.env)) {
      const other = openHolder(c.verifier, { env: seen.env, group: seen.group }, HOLDER_TAGS, 'whopay-deposit')
      if (other.holder === a.holder && conflicts(other, a)) {
        const reqCert = a.body.gen === cert.gen ? cert : certAt(c, r, a.body.gen)
        return {
          advanced: false,
          evidence: { cert: reqCert.b64, a: { env: seen.env, group: seen.group }, b: answeredOf(b)! }
        }
      }
    }
  }
  if (b.gen === r.gen && b.seq === r.seq && r.binding !== undefined && b.holder !== r.holder) {
    const mine = openBinding(c.verifier, r.binding, cert, 'whopay-deposit')
    const evidence = holderEvidenceOf(cert, mine, b)
    if (evidence !== undefined) return { advanced: false, evidence }
    if (mine.by === 'owner' && b.by === 'owner')
      return { advanced: false, ownerEvidence: { cert: cert.b64, a: mine.b64, b: b.b64 } }
    fail(ErrorCode.WRONG_HOLDER, 'the binding contradicts the one this broker holds')
  }
  if (seenKey !== undefined && a !== undefined)
    c.t.requests.set(seenKey, {
      tag: a.tag,
      to: destinationOf(a.body),
      env: toB64(a.env),
      group: toB64(a.group),
      binding: b.b64
    })
  const advanced = r.state === 'outstanding' && b.gen === r.gen && b.seq > r.seq
  if (advanced) c.t.coins.set(r.coin, { ...r, seq: b.seq, holder: b.holder, binding: b.b64 })
  return { advanced }
}

function peekBinding(c: LedgerState, b64: unknown): { coin: string; gen: number } {
  // the coin and gen pick the certificate to check the binding against; openBinding then checks it all
  const bytes = decodeSigned(b64, 'binding', LIMITS.bindingB64)
  const env = c.verifier.open<{ coin?: unknown; gen?: unknown }>(bytes, TAG.binding, 'whopay-deposit')
  const { coin, gen } = env.body
  if (typeof coin !== 'string' || typeof gen !== 'number') fail(ErrorCode.BAD_REQUEST, 'binding without coin or gen')
  return { coin, gen }
}
