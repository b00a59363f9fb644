// Double spends at the broker. The ledger refuses a conflicting request FRAUD
// with the evidence; here the evidence goes to the judge, which opens both
// group signatures, the registry names the member's peer, and the ledger
// convicts it (an owner double assignment is convicted by the owner's own
// signatures, no opening). In real time the coin's state in the DHT is read
// before the ledger acts: a binding there the broker did not know of is
// adopted, so a request that conflicts with it is caught by the same check.
import { ErrorCode, P2payError, fail } from '@p2pay/core'
import type { ShownCoin } from '../core/coin.ts'
import {
  checkEvidence,
  checkOwnerEvidence,
  type CheckedEvidence,
  type Evidence,
  type OwnerEvidence
} from '../core/evidence.ts'
import type { DepositResult, FraudRecord } from '../core/ledger-records.ts'
import type { WhopayKind } from '../kinds.ts'
import type { WireRecord } from './coin-state-record.ts'
import type { OpenResult } from './group-service.ts'
import { honestOf, keepCase, openCase, type FraudCase } from './ledger-cases.ts'
import { verifyGroups, type LedgerContext } from './ledger-context.ts'

const KIND: WhopayKind = 'whopay-open'

/** The refusal a cheating caller gets once its case is convicted. */
export function fraudError(f: FraudRecord): P2payError {
  return new P2payError(ErrorCode.FRAUD, `a double spend: ${f.cheater} convicted`, {
    fraud: f.id,
    cheater: f.cheater,
    cheaters: f.cheaters ?? [f.cheater],
    coin: f.coin,
    seq: f.seq
  })
}

/**
 * What the judge's openings convict: every registered peer they name. Two peers when one coin key was signed by two
 * members (a key shared between them): both are convicted, the first to pay first.
 */
export function openedCase(r: OpenResult): { cheaters: string[]; members: string[]; openings: string[] } {
  // a member missing from the registry is the broker's own fault: nobody to convict, the deposit may be retried
  if (r.cheaters.length === 0) throw new Error('the openings name no registered peer')
  return { cheaters: r.cheaters, members: r.members, openings: r.openings }
}

/**
 * Checks holder evidence in full, keeps the case (on disk, before any answer), has the judge open it and convicts
 * (paying `honest` when its chain lost). While the judge does not answer the case stays pending and the caller is
 * refused FRAUD; the background loop (`retryCase`) convicts it once the judge is back.
 */
export async function convictHolder(l: LedgerContext, evidence: Evidence, honest?: ShownCoin): Promise<FraudRecord> {
  const e = checkEvidence(l.c.verifier, evidence, l.ledger.broker, KIND)
  const had = l.ledger.t.frauds.get(e.hash)
  if (had != null) {
    const all = had.cheaters ?? [had.cheater]
    return await l.store.apply(() =>
      l.ledger.convict({ evidence: e, cheater: all[0], cheaters: all, openings: had.openings, honest })
    )
  }
  await verifyGroups(
    l,
    e.sigs.map((sig, i) => ({ sig, digest: e.digests[i] })),
    KIND
  )
  const c = await keepCase(l, e, evidence, honest)
  if (c.state === 'closed') throw new P2payError(c.reason!.code, c.reason!.message, { case: c.id })
  return await convictCase(l, c, e, honest)
}

/** Opens a kept case at the judge and convicts on it, once. */
async function convictCase(
  l: LedgerContext,
  c: FraudCase,
  e: CheckedEvidence,
  honest: ShownCoin | undefined
): Promise<FraudRecord> {
  const f = await openCase(l, c, opened =>
    l.ledger.convict({
      evidence: e,
      cheater: opened.cheaters[0],
      cheaters: opened.cheaters,
      members: opened.members,
      openings: opened.openings,
      honest
    })
  )
  l.log.child('fraud').warn('double spend convicted', { fraud: f.id, coin: f.coin, seq: f.seq, cheaters: f.cheaters })
  return f
}

/** The background loop's step: a pending case asked of the judge again, convicted (and compensated) once. */
export async function retryCase(l: LedgerContext, c: FraudCase): Promise<FraudRecord> {
  const e = checkEvidence(l.c.verifier, c.evidence, l.ledger.broker, KIND)
  const honest = honestOf(l, c)
  if (l.ledger.t.frauds.has(e.hash)) {
    const f = await convictHolder(l, c.evidence, honest)
    await l.store.apply(() => l.cases.set(c.id, { ...c, state: 'convicted' }))
    return f
  }
  return await convictCase(l, c, e, honest)
}

/** Convicts the owner of two bindings of one seq to different holders, by its own signatures. */
export async function convictOwner(
  l: LedgerContext,
  evidence: OwnerEvidence,
  honest?: ShownCoin
): Promise<FraudRecord> {
  const e = checkOwnerEvidence(l.c.verifier, evidence, l.ledger.broker, KIND)
  const f = await l.store.apply(() => l.ledger.convict({ evidence: e, cheater: e.owner, honest }))
  l.log.child('fraud').warn('owner double assignment convicted', { fraud: f.id, coin: f.coin, cheater: f.cheater })
  return f
}

/** Convicts on a FRAUD refusal that carries evidence; anything else is thrown on. */
export async function convictOn(l: LedgerContext, err: unknown, honest?: ShownCoin): Promise<FraudRecord> {
  if (!(err instanceof P2payError) || err.code !== ErrorCode.FRAUD) throw err
  const d = err.details ?? {}
  const pay = d.compensate === true ? honest : undefined
  if (d.evidence != null) return await convictHolder(l, d.evidence as Evidence, pay)
  if (d.ownerEvidence != null) return await convictOwner(l, d.ownerEvidence as OwnerEvidence, pay)
  throw err
}

/**
 * Runs a ledger change; a FRAUD refusal with evidence convicts. A deposit whose own chain lost is answered with
 * its compensation; any other conviction is the caller's FRAUD refusal.
 */
export async function withConviction<T>(l: LedgerContext, change: () => T, s?: ShownCoin): Promise<T | DepositResult> {
  try {
    return await l.store.apply(change)
  } catch (err) {
    const f = await convictOn(l, err, s)
    const paid = s != null ? l.ledger.t.answers.get(s.request.hash) : undefined
    if (paid != null && (paid as DepositResult).from === 'compensation') return paid as DepositResult
    throw fraudError(f)
  }
}

/** Real time: learns the coin's bindings the DHT keeps before the ledger acts (evidence convicts at once). */
export async function learnFromDht(l: LedgerContext, coin: string): Promise<void> {
  if (!l.states.realtime) return
  const view = await l.states.check(coin)
  const seen = [view.newest, ...(view.conflict ?? [])].filter(s => s != null && s.kind === 'binding')
  for (const s of new Set(seen)) await adopt(l, s!.wire)
}

/** Adopts a binding a keeper showed (the DHT's or a conflicting one at publish); its evidence convicts. */
export async function adopt(l: LedgerContext, rec: WireRecord): Promise<void> {
  let a
  try {
    a = await l.store.apply(() => l.ledger.adoptBinding(rec.env))
  } catch (err) {
    l.log.child('coin-state').debug('a coin state not adopted', { err })
    return
  }
  if (a.evidence != null) await convictHolder(l, a.evidence)
  else if (a.ownerEvidence != null) await convictOwner(l, a.ownerEvidence)
}

/** Publishes a coin state; what a keeper holds against it is adopted (and convicts when it is evidence). */
export async function publish(l: LedgerContext, cert: string, env: string): Promise<void> {
  try {
    const r = await l.states.publish({ cert, env })
    for (const kept of [r.conflict?.[0], r.newer]) if (kept?.kind === 'binding') await adopt(l, kept.wire)
  } catch (err) {
    l.log.child('coin-state').warn('coin state not published', { err })
  }
}

/** A report from an owner or payee: evidence of either kind, checked and convicted. */
export async function report(l: LedgerContext, evidence: unknown): Promise<FraudRecord> {
  if (evidence == null || typeof evidence !== 'object') fail(ErrorCode.BAD_REQUEST, 'evidence is required')
  const e = evidence as Record<string, unknown>
  return typeof e.a === 'string'
    ? await convictOwner(l, evidence as OwnerEvidence)
    : await convictHolder(l, evidence as Evidence)
}
