// A coin's state as the DHT keeps it, in the form the network side compares:
// the newest binding or `spent` envelope with the coin's certificate, opened by
// the core's rule (core/coin-state.ts: any node checks it alone). Records are
// placed by the holder request they answer: a binding at seq s answers the
// request of the seq s-1 holder, a `spent` at seq s that of the seq s holder, so
// two records at one place that answer different requests are a double spend
// (or, for two issues at seq 1, the owner's double assignment).
import { ErrorCode, fail, fromB64, sha256Hex, toB64, type Verifier } from '@p2pay/core'
import { decideState, openState } from '../core/coin-state.ts'
import type { Evidence, OwnerEvidence } from '../core/evidence.ts'
import type { HolderSigned } from '../core/messages.ts'
import type { WhopayKind } from '../kinds.ts'

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

/** Checks a record against the bytes received (the core rule): the broker's certificate, an owner or broker binding. */
export function openRecord(v: Verifier<string>, broker: string, rec: unknown): CoinState {
  const r = rec as Partial<WireRecord> | undefined
  for (const f of [r?.cert, r?.env])
    if (typeof f !== 'string' || f.length > MAX_RECORD_B64) fail(ErrorCode.BAD_REQUEST, 'a coin state is {cert, env}')
  const o = openState(v as Verifier<WhopayKind>, rec, broker, COIN_STATE_KIND as WhopayKind)
  const q = o.request
  const signed = q != null ? { env: toB64(q.env), group: toB64(q.group) } : undefined
  return {
    coin: o.coin,
    gen: o.gen,
    at: o.at,
    kind: o.kind,
    ...(o.holder != null ? { holder: o.holder } : {}),
    // a request is named by its hash; the owner's issue (no request) by the holder it names
    answers: q != null ? q.hash : `issue|${o.holder ?? ''}`,
    ...(signed != null ? { signed } : {}),
    hash: sha256Hex(fromB64(o.record.env)),
    wire: o.record
  }
}

/** Where a binding sits among records, and what it answers (as `openRecord` names it), without opening it again. */
export const placeOf = (b: { gen: number; seq: number; holder: string; answered?: { hash: string } }): Place => ({
  gen: b.gen,
  at: b.seq - 1,
  answers: b.answered != null ? b.answered.hash : `issue|${b.holder}`
})

/** > 0: `a` is newer than `b`; < 0 older; 0: at the same place. */
export function compareState(a: Pick<CoinState, 'gen' | 'at'>, b: Pick<CoinState, 'gen' | 'at'>): number {
  return a.gen !== b.gen ? a.gen - b.gen : a.at - b.at
}

/** Where a record sits, and what it answers. */
export type Place = Pick<CoinState, 'gen' | 'at' | 'answers'>

/** Two records at the same place that answer different requests: one is a double spend. */
export const conflicts = (a: Place, b: Place): boolean => compareState(a, b) === 0 && a.answers !== b.answers

/**
 * What a payee does with a coin delivered as `mine` (its binding's place) when the DHT's newest record
 * is `n`: a record at the same place answering something else (another request, or the owner's issue to another
 * holder: an issue carries no request) is a double spend or a double assignment; a newer place means the coin moved
 * on; otherwise the coin may be taken.
 */
export function payeeVerdict(n: CoinState | undefined, mine: Place): 'ok' | 'conflict' | 'moved' {
  if (n == null) return 'ok'
  if (conflicts(n, mine)) return 'conflict'
  return compareState(n, mine) > 0 ? 'moved' : 'ok'
}

/**
 * The evidence two conflicting records make, or undefined when they make none a broker would take: two requests of
 * one key (a holder double spend), two issues by the owner, or the owner's issue and a spend its coin key signed at
 * seq 0 (an owner double assignment).
 */
export function evidenceOf(
  v: Verifier<string>,
  broker: string,
  a: CoinState,
  b: CoinState
): Evidence | OwnerEvidence | undefined {
  if (!conflicts(a, b)) return undefined
  const [x, y] = [a, b].map(s => openState(v as Verifier<WhopayKind>, s.wire, broker, COIN_STATE_KIND as WhopayKind))
  const d = decideState(x, y)
  if (d.action !== 'conflict') return undefined
  if (d.evidence != null) return d.evidence
  if (d.ownerEvidence != null) return d.ownerEvidence
  const [issue, spend] = x.request == null ? [x, y] : [y, x]
  if (issue.request != null || issue.binding?.by !== 'owner' || spend.request == null) return undefined
  const signed: HolderSigned = { env: toB64(spend.request.env), group: toB64(spend.request.group) }
  return { cert: issue.cert.b64, a: issue.record.env, spend: signed }
}

/**
 * What an owner does with a transfer request of generation `gen` when the DHT's newest record is `n`: a `spent`
 * of that generation at any seq refuses it (the coin was deposited or renewed; a transfer past it would hand on a
 * coin already cashed), with evidence when the book answered another request of the same place (`answered`).
 */
export function ownerVerdict(
  n: CoinState | undefined,
  gen: number,
  answered: (gen: number, seq: number) => HolderSigned | undefined
): { spent: false } | { spent: true; evidence?: Evidence } {
  if (n == null || n.kind !== 'spent' || n.gen !== gen || n.signed == null) return { spent: false }
  const prev = answered(n.gen, n.at)
  if (prev == null || prev.env === n.signed.env) return { spent: true }
  return { spent: true, evidence: { cert: n.wire.cert, a: { env: prev.env, group: prev.group }, b: n.signed } }
}
