// Conviction: a case (a holder double spend whose group signatures the judge opened, or an owner double assignment)
// is recorded once, and the honest holder whose chain lost is paid the coin's value from the cheater's account,
// never below zero; what the account lacks is recorded as shortfall, never created.
import { ErrorCode, fail, fromB64, sha256Hex, toB64, type Verifier } from '@p2pay/core'
import { WhopayErrorCode } from '../errors.ts'
import type { WhopayKind } from '../kinds.ts'
import type { ShownCoin } from './coin.ts'
import type { CheckedEvidence, CheckedOwnerEvidence, OwnerEvidence } from './evidence.ts'
import type { OpenedHolder } from './holder.ts'
import type { LedgerBooks } from './ledger-books.ts'
import type { DepositResult, FraudRecord, LedgerTables } from './ledger-records.ts'
import { TAG, destinationOf, type ConvictionBody } from './messages.ts'

/** What the ledger's parts outside the class work on. */
export interface LedgerState {
  t: LedgerTables
  books: LedgerBooks
  broker: string
  verifier: Verifier<WhopayKind>
  now: () => number
  /** signs a `whopay/conviction` envelope by the broker, base64 */
  signConviction: (body: ConvictionBody) => string
}

export interface ConvictInput {
  /** checked by checkEvidence (group signatures verified, opened to `cheater`) or checkOwnerEvidence */
  evidence: CheckedEvidence | CheckedOwnerEvidence
  cheater: string
  /** every peer the openings name, `cheater` first (two when a coin key was shared between members) */
  cheaters?: string[]
  /** the member ids (b64 A) the openings name */
  members?: string[]
  /** the judge's opening envelopes, base64 */
  openings?: string[]
  /** the deposit whose chain lost to the cheater (a deposit refused FRAUD with `compensate`), opened and verified */
  honest?: ShownCoin
}

/**
 * Convicts `cheater` of a checked double spend (its group signatures verified and opened to `cheater` by the
 * caller, `openings` the judge's envelopes) or of an owner double assignment, once per case. When `honest` is
 * the deposit whose chain lost to the cheater (deposit's FRAUD with `compensate`), its purse is paid the coin's
 * value from the cheater's account, never below zero; the rest is recorded short.
 */
export function convictCase(c: LedgerState, input: ConvictInput): FraudRecord {
  const e = input.evidence
  const holderCase = 'holderKey' in e
  const r = c.t.coins.get(e.cert.coin)
  if (r == null) fail(WhopayErrorCode.NO_SUCH_COIN, 'no coin with this key was sold here')
  if (e.cert.broker !== c.broker) fail(ErrorCode.WRONG_BROKER, 'evidence about another broker')
  if (!holderCase && input.cheater !== e.owner)
    fail(ErrorCode.BAD_REQUEST, 'an owner double assignment convicts the owner')
  const prev = c.t.frauds.get(e.hash)
  if (prev != null && prev.cheater !== input.cheater) fail(ErrorCode.BAD_REQUEST, 'this case convicted another peer')
  let pay: { purse: string; request: string; fromPurse?: string } | undefined
  if (input.honest !== undefined) pay = honestPayee(c, e, input.honest)
  const cheaters = prev?.cheaters ?? [...new Set([input.cheater, ...(input.cheaters ?? [])])]
  const openings = input.openings ?? []
  const f: FraudRecord = prev ?? {
    id: e.hash,
    kind: holderCase ? 'holder' : 'owner',
    coin: r.coin,
    gen: e.cert.gen,
    seq: e.seq,
    cheater: input.cheater,
    cheaters,
    evidence: holderCase
      ? { cert: e.cert.b64, a: holderSignedOf(e.requests[0]), b: holderSignedOf(e.requests[1]) }
      : ownerRecord(e),
    openings,
    detectedAt: c.now(),
    conviction: c.signConviction({
      case: e.hash,
      openings: openings.map(o => sha256Hex(fromB64(o))),
      members: input.members ?? [],
      cheaters,
      coin: r.coin,
      seq: e.seq
    }),
    compensated: [],
    shortfall: []
  }
  if (pay === undefined || c.t.answers.has(pay.request)) {
    if (prev == null) c.t.frauds.set(f.id, f)
    return prev ?? f
  }
  const s = c.books.compensate(cheaters, pay.purse, r.value, pay.fromPurse)
  const next: FraudRecord = {
    ...f,
    ...(s.reclaimed > 0
      ? { reclaimed: [...(f.reclaimed ?? []), { from: pay.fromPurse!, purse: pay.purse, value: s.reclaimed }] }
      : {}),
    compensated: [...f.compensated, ...s.taken.map(x => ({ purse: pay.purse, value: x.value, from: x.account }))],
    shortfall: s.shortfall > 0 ? [...f.shortfall, { purse: pay.purse, value: s.shortfall }] : f.shortfall
  }
  c.t.frauds.set(f.id, next)
  const out: DepositResult = {
    coin: r.coin,
    purse: pay.purse,
    value: s.reclaimed + s.paid,
    spent: r.spent[String(e.cert.gen)] ?? '',
    from: 'compensation',
    fraud: f.id,
    ...(s.shortfall > 0 ? { shortfall: s.shortfall } : {})
  }
  c.t.answers.set(pay.request, out)
  return next
}

/**
 * The honest deposit's purse: its binding answers one of the two conflicting requests of the case (or is one of the
 * owner's two bindings). In a holder case, when the other request is a deposit this broker paid into a purse, that
 * purse (the cheater's) is the first to pay back.
 */
function honestPayee(
  c: LedgerState,
  e: CheckedEvidence | CheckedOwnerEvidence,
  honest: ShownCoin
): { purse: string; request: string; fromPurse?: string } {
  if (honest.request.tag !== TAG.deposit) fail(ErrorCode.BAD_REQUEST, 'only a deposit is compensated')
  if (honest.cert.coin !== e.cert.coin) fail(WhopayErrorCode.NO_SUCH_COIN, 'the deposit is of another coin')
  const chain = honest.binding
  const ok =
    'holderKey' in e
      ? chain?.answered !== undefined && e.requests.some(q => q.hash === chain.answered!.hash)
      : chain !== undefined && e.bindings.some(b => b.hash === chain.hash)
  if (!ok) fail(WhopayErrorCode.NOT_CONFLICT, 'the deposit is not on a chain the case is about')
  const purse = destinationOf(honest.request.body)
  const other = 'holderKey' in e ? e.requests.find(q => q.hash !== chain!.answered!.hash) : undefined
  const won = other !== undefined ? (c.t.answers.get(other.hash) as DepositResult | undefined) : undefined
  const fromPurse =
    other?.tag === TAG.deposit && won?.from === 'coin' && won.account === undefined ? won.purse : undefined
  return { purse, request: honest.request.hash, ...(fromPurse !== undefined ? { fromPurse } : {}) }
}

const holderSignedOf = (q: OpenedHolder): { env: string; group: string } => ({
  env: toB64(q.env),
  group: toB64(q.group)
})

const ownerRecord = (e: CheckedOwnerEvidence): OwnerEvidence => ({
  cert: e.cert.b64,
  a: e.bindings[0].b64,
  ...(e.bindings[1] !== undefined ? { b: e.bindings[1].b64 } : {}),
  ...(e.spend !== undefined ? { spend: holderSignedOf(e.spend) } : {})
})
