// A coin's state as the DHT keeps it, in the form the network side compares:
// the newest binding or `spent` envelope with the coin's certificate, opened by
// the core's rule (core/coin-state.ts: any node checks it alone). Records are
// placed by the holder request they answer: a binding at seq s answers the
// request of the seq s-1 holder, a `spent` at seq s that of the seq s holder, so
// two records at one place that answer different requests are a double spend
// (or, for two issues at seq 1, the owner's double assignment).
import { ErrorCode, fail, fromB64, sha256Hex, toB64, type Verifier } from '@p2pay/core'
import { openState } from '../core/coin-state.ts'
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

/** > 0: `a` is newer than `b`; < 0 older; 0: at the same place. */
export function compareState(a: Pick<CoinState, 'gen' | 'at'>, b: Pick<CoinState, 'gen' | 'at'>): number {
  return a.gen !== b.gen ? a.gen - b.gen : a.at - b.at
}

/** Two records at the same place that answer different requests: one is a double spend. */
export const conflicts = (a: CoinState, b: CoinState): boolean => compareState(a, b) === 0 && a.answers !== b.answers
