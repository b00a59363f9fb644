// The DHT record rule of the real-time check: a coin's state is the newest binding or `spent` envelope, with the
// coin's certificate so any node checks it alone. Records are placed by the holder request they answer: a binding
// at seq s answers the seq s-1 holder (its issue at seq 1 answers the owner's choice), a `spent` at seq s the seq s
// holder. A newer place replaces, an older one is kept out, and two records at one place that answer different
// requests are a conflict: evidence when both carry requests by one key, owner evidence for two issues.
import { ErrorCode, decodeSigned, fail, toB64, type Verifier } from '@p2pay/core'
import type { WhopayKind } from '../kinds.ts'
import { openBinding, openCoinCert, type CoinBinding, type CoinCert } from './coin.ts'
import { conflicts, type Evidence, type OwnerEvidence } from './evidence.ts'
import { openHolder, type OpenedHolder } from './holder.ts'
import { LIMITS, TAG, checkSpentBody, type SpentBody } from './messages.ts'

/** A record as it travels and is stored: the certificate and the binding or spent envelope, base64. */
export interface StateRecord {
  cert: string
  env: string
}

export interface OpenedState {
  coin: string
  gen: number
  /** the seq of the holder whose request this record answers */
  at: number
  kind: 'binding' | 'spent'
  /** the holder a binding names */
  holder?: string
  /** the request it answers (coin-key signature checked; none for the owner's issue) */
  request?: OpenedHolder
  binding?: CoinBinding
  cert: CoinCert
  record: StateRecord
}

export type StateDecision =
  | { action: 'keep' }
  | { action: 'replace' }
  | { action: 'conflict'; evidence?: Evidence; ownerEvidence?: OwnerEvidence }

/** Opens a record: the broker's certificate, a binding by its owner or the broker, or the broker's spent. */
export function openState(verifier: Verifier<WhopayKind>, rec: unknown, broker: string, kind: WhopayKind): OpenedState {
  if (rec == null || typeof rec !== 'object') fail(ErrorCode.BAD_REQUEST, 'a coin state is an object')
  const r = rec as Partial<StateRecord>
  const cert = openCoinCert(verifier, r.cert, { broker }, kind)
  const bytes = decodeSigned(r.env, 'coin state', LIMITS.spentB64)
  const record = { cert: cert.b64, env: toB64(bytes) }
  const env = verifier.open<unknown>(bytes, [TAG.binding, TAG.spent], kind)
  if (env.tag === TAG.binding) {
    const b = openBinding(verifier, record.env, cert, kind)
    const base = { coin: b.coin, gen: b.gen, at: b.seq - 1, kind: 'binding' as const, holder: b.holder, binding: b }
    return { ...base, ...(b.answered !== undefined ? { request: b.answered } : {}), cert, record }
  }
  if (env.signer !== broker) fail(ErrorCode.WRONG_SIGNER, 'a spent record is signed by the broker')
  const s: SpentBody = checkSpentBody(env.body)
  if (s.coin !== cert.coin || s.gen !== cert.gen) fail(ErrorCode.BAD_REQUEST, 'spent record of another coin or gen')
  const request = openHolder(
    verifier,
    { env: s.request, group: s.group },
    s.how === 'deposit' ? TAG.deposit : TAG.renew,
    kind
  )
  const q = request.body
  if (q.coin !== s.coin || q.gen !== s.gen || q.seq !== s.seq)
    fail(ErrorCode.BAD_REQUEST, 'spent names another request')
  return { coin: s.coin, gen: s.gen, at: s.seq, kind: 'spent', request, cert, record }
}

/** > 0: `a` is at a newer place than `b`; < 0 older; 0 the same place. */
export const comparePlace = (a: OpenedState, b: OpenedState): number => (a.gen !== b.gen ? a.gen - b.gen : a.at - b.at)

/** What a node keeping `stored` does with `incoming` (both of one coin, opened). Pure. */
export function decideState(stored: OpenedState | undefined, incoming: OpenedState): StateDecision {
  if (stored === undefined) return { action: 'replace' }
  if (stored.coin !== incoming.coin) fail(ErrorCode.BAD_REQUEST, 'records of two coins')
  const c = comparePlace(incoming, stored)
  if (c > 0) return { action: 'replace' }
  if (c < 0) return { action: 'keep' }
  const [x, y] = [stored, incoming]
  if (x.request !== undefined && y.request !== undefined) {
    if (x.request.hash === y.request.hash) return { action: 'keep' }
    if (x.request.holder === y.request.holder && conflicts(x.request, y.request)) {
      const cert = x.request.body.gen === x.cert.gen ? x.cert : y.cert
      if (cert.gen !== x.request.body.gen) return { action: 'conflict' }
      const pair = { a: signedOf(x.request), b: signedOf(y.request) }
      return { action: 'conflict', evidence: { cert: cert.b64, ...pair } }
    }
    // one key's same spend signed twice, or requests by two keys at one place (a doubly bound seq)
    if (x.request.holder === y.request.holder) return { action: 'keep' }
    return { action: 'conflict' }
  }
  if (x.request === undefined && y.request === undefined) {
    if (x.holder === y.holder) return { action: 'keep' }
    if (x.binding?.by === 'owner' && y.binding?.by === 'owner')
      return { action: 'conflict', ownerEvidence: { cert: x.cert.b64, a: x.record.env, b: y.record.env } }
  }
  return { action: 'conflict' }
}

const signedOf = (q: OpenedHolder): { env: string; group: string } => ({ env: toB64(q.env), group: toB64(q.group) })
