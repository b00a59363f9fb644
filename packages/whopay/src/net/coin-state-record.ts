// A coin's state as the DHT keeps it: the newest binding or `spent` envelope,
// with the coin's certificate so any node can check it alone (the broker signed
// the certificate, which names the owner that signs bindings). Records are
// ordered by the holder request they answer: a binding at seq s answers the
// request of the seq s-1 holder, a `spent` at seq s that of the seq s holder, so
// two records at one place that answer different requests are a double spend
// (or, for two issues at seq 1, the owner's double assignment).
import { ErrorCode, fail, fromB64, isUint, sha256Hex, toB64, type Verifier } from '@p2pay/core'

export const COIN_TAG = 'whopay/coin'
export const BINDING_TAG = 'whopay/binding'
export const SPENT_TAG = 'whopay/spent'

/** the kind coin-state messages and checks are counted under: apart from Table I's transaction rows */
export const COIN_STATE_KIND = 'whopay-state'

/** the largest base64 envelope a record carries (a binding holds a request and a group signature) */
export const MAX_RECORD_B64 = 8 * 1024

/** On the wire: both envelopes in base64, exactly as signed. */
export interface WireRecord {
  cert: string
  env: string
}

/** A record whose signatures were checked. */
export interface CoinState {
  coin: string
  gen: number
  /** the seq of the holder whose request (or, for the issue, the owner's choice) this record answers */
  at: number
  /** binding or spent */
  kind: 'binding' | 'spent'
  /** the new holder key (a binding), or undefined (spent) */
  holder?: string
  /** what the record answers: the holder request's hash, or for an issue with none the holder it names */
  answers: string
  /** the holder request it answers with its group signature (none for the owner's issue) */
  signed?: { env: string; group: string }
  /** sha256 hex of the envelope */
  hash: string
  wire: WireRecord
}

interface CoinCert {
  coin: string
  owner: string
  value: number
  expiry: number
  serial: number | string
  gen: number
}

interface StateBody {
  coin: string
  gen: number
  seq: number
  holder?: string
  request?: string
  group?: string
  by?: string
  how?: string
}

const decode = (b64: unknown, what: string): Uint8Array => {
  if (typeof b64 !== 'string' || b64.length === 0 || b64.length > MAX_RECORD_B64)
    fail(ErrorCode.BAD_REQUEST, `${what} must be a base64 signed object`)
  return fromB64(b64)
}

/** Checks a record against the bytes received: certificate by `broker`, binding by its owner or `broker`. */
export function openRecord(v: Verifier<string>, broker: string, rec: unknown): CoinState {
  const r = rec as Partial<WireRecord> | undefined
  const cert = v.open<CoinCert>(decode(r?.cert, 'cert'), COIN_TAG, COIN_STATE_KIND)
  if (cert.signer !== broker) fail(ErrorCode.WRONG_SIGNER, 'the coin certificate is not signed by the broker')
  const env = v.open<StateBody>(decode(r?.env, 'env'), [BINDING_TAG, SPENT_TAG], COIN_STATE_KIND)
  const b = env.body
  const c = cert.body
  if (b.coin !== c.coin) fail(ErrorCode.BAD_REQUEST, 'the record is of another coin than its certificate')
  if (b.gen !== c.gen || !isUint(b.gen)) fail(ErrorCode.BAD_REQUEST, 'the record is of another generation')
  if (!isUint(b.seq)) fail(ErrorCode.BAD_REQUEST, 'seq must be a whole number')
  const wire = { cert: toB64(cert.bytes), env: toB64(env.bytes) }
  if (env.tag === SPENT_TAG) {
    if (env.signer !== broker) fail(ErrorCode.WRONG_SIGNER, 'a spent record is signed by the broker')
    if (typeof b.request !== 'string' || typeof b.group !== 'string')
      fail(ErrorCode.BAD_REQUEST, 'a spent record names its request')
    const signed = { env: b.request, group: b.group }
    return {
      coin: b.coin,
      gen: b.gen,
      at: b.seq,
      kind: 'spent',
      answers: requestHash(b.request),
      signed,
      hash: env.hash,
      wire
    }
  }
  const signer = b.by === 'broker' ? broker : c.owner
  if (env.signer !== signer) fail(ErrorCode.WRONG_SIGNER, `the binding is not signed by its ${b.by ?? 'owner'}`)
  if (b.seq < 1 || typeof b.holder !== 'string') fail(ErrorCode.BAD_REQUEST, 'a binding names its holder, seq >= 1')
  const signed =
    typeof b.request === 'string' && typeof b.group === 'string' ? { env: b.request, group: b.group } : undefined
  const answers = signed != null ? requestHash(signed.env) : `issue|${b.holder}`
  // a renewal's binding (by the broker, gen + 1) answers a request of the generation before: a new start
  return {
    coin: b.coin,
    gen: b.gen,
    at: b.seq - 1,
    kind: 'binding',
    holder: b.holder,
    answers,
    signed,
    hash: env.hash,
    wire
  }
}

const requestHash = (b64: string): string => sha256Hex(fromB64(b64))

/** > 0: `a` is newer than `b`; < 0 older; 0: at the same place. */
export function compareState(a: Pick<CoinState, 'gen' | 'at'>, b: Pick<CoinState, 'gen' | 'at'>): number {
  return a.gen !== b.gen ? a.gen - b.gen : a.at - b.at
}

/** Two records at the same place that answer different requests: one is a double spend. */
export const conflicts = (a: CoinState, b: CoinState): boolean => compareState(a, b) === 0 && a.answers !== b.answers
