// A holder double spend the broker found is a case on disk before anyone is
// answered: the judge may be down when the evidence turns up, and a case kept
// only in memory (or not at all) would be lost with the answer. A pending case
// is asked of the judge again in the background until it opens it (then it is
// convicted, and the honest deposit whose chain lost is paid, once) or refuses
// it as no evidence (then it is closed with the reason).
import { ErrorCode, P2payError, isTransient, toB64 } from '@p2pay/core'
import { openShown, type ShownCoin } from '../core/coin.ts'
import type { CheckedEvidence, Evidence } from '../core/evidence.ts'
import type { FraudRecord } from '../core/ledger-records.ts'
import { TAG, type HolderSigned } from '../core/messages.ts'
import type { LedgerContext } from './ledger-context.ts'

/** how often pending cases are asked of the judge again (unless the service is given another beat) */
export const CASE_RETRY_MS = 5_000

export interface FraudCase {
  /** the evidence hash (the fraud record's id once convicted) */
  id: string
  coin: string
  gen: number
  seq: number
  evidence: Evidence
  /** the deposit whose chain lost, as shown, paid from the cheater at conviction */
  honest?: { cert: string; binding?: string; request: HolderSigned }
  state: 'pending' | 'convicted' | 'closed'
  /** why the judge refused to open it (closed) */
  reason?: { code: string; message: string }
  /** judge calls that failed while pending, and the last failure */
  attempts: number
  lastError?: string
  at: number
}

/** The FRAUD refusal of a request whose case waits for the judge. */
export function pendingError(c: FraudCase): P2payError {
  return new P2payError(ErrorCode.FRAUD, 'a double spend: the case is kept and waits for the judge', {
    case: c.id,
    pending: true,
    coin: c.coin,
    seq: c.seq
  })
}

const shownOf = (s: ShownCoin): NonNullable<FraudCase['honest']> => ({
  cert: s.cert.b64,
  ...(s.binding !== undefined ? { binding: s.binding.b64 } : {}),
  request: { env: toB64(s.request.env), group: toB64(s.request.group) }
})

/** Writes the case (pending) before the judge is asked; a deposit that lost is added to a case kept without one. */
export async function keepCase(
  l: LedgerContext,
  e: CheckedEvidence,
  evidence: Evidence,
  honest?: ShownCoin
): Promise<FraudCase> {
  return await l.store.apply(() => {
    const had = l.cases.get(e.hash)
    if (had != null && (honest === undefined || had.honest !== undefined)) return had
    const c: FraudCase = had ?? {
      id: e.hash,
      coin: e.cert.coin,
      gen: e.cert.gen,
      seq: e.seq,
      evidence,
      state: 'pending',
      attempts: 0,
      at: Date.now()
    }
    const next = honest !== undefined ? { ...c, honest: shownOf(honest) } : c
    l.cases.set(next.id, next)
    return next
  })
}

/** The kept deposit that lost, opened again (its group signature was verified when it was shown). */
export function honestOf(l: LedgerContext, c: FraudCase): ShownCoin | undefined {
  if (c.honest === undefined) return undefined
  return openShown(l.c.verifier, c.honest, { broker: l.ledger.broker }, TAG.deposit, 'whopay-deposit')
}

/**
 * Asks the judge to open a kept case and convicts on its openings. A judge that does not answer leaves the case
 * pending (FRAUD pending to the caller); one that refuses the evidence closes it with its reason (thrown on).
 */
export async function openCase(
  l: LedgerContext,
  c: FraudCase,
  convict: (opened: { cheaters: string[]; members: string[]; openings: string[] }) => FraudRecord
): Promise<FraudRecord> {
  let opened
  try {
    opened = await l.group.open(c.evidence)
  } catch (err) {
    const transient = isTransient(err)
    const code = err instanceof P2payError ? err.code : ErrorCode.INTERNAL
    const message = err instanceof Error ? err.message : String(err)
    await l.store.apply(() => {
      const now = l.cases.get(c.id)
      if (now == null || now.state !== 'pending') return
      l.cases.set(
        c.id,
        transient
          ? { ...now, attempts: now.attempts + 1, lastError: `${code}: ${message}` }
          : { ...now, state: 'closed', reason: { code, message } }
      )
    })
    if (transient) throw pendingError(c)
    l.log.child('fraud').warn('a case closed: the judge did not open it', { case: c.id, code, message })
    throw err
  }
  return await l.store.apply(() => {
    const f = convict(opened)
    const now = l.cases.get(c.id) ?? c
    l.cases.set(c.id, { ...now, state: 'convicted', lastError: undefined })
    return f
  })
}

/** One round of the background loop: every pending case asked of the judge once. */
export async function retryCases(
  l: LedgerContext,
  convict: (c: FraudCase) => Promise<FraudRecord>,
  signal: AbortSignal
): Promise<void> {
  for (const c of [...l.cases.values()]) {
    if (signal.aborted) return
    if (c.state !== 'pending') continue
    try {
      await convict(c)
    } catch (err) {
      if (!(err instanceof P2payError && err.details?.pending === true))
        l.log.child('fraud').debug('a pending case not convicted', { case: c.id, err })
    }
  }
}
