// Ledger rows written by releases whose fraud proofs and compensated cash
// results named the convicted peer under an older field: the peer is read back
// from the proof's evidence (both envelopes are its signatures), and every row
// is rebuilt from the fields this release knows. Runs once at start, as one
// batch; a ledger already upgraded is left as it is.
import { fromB64, peekUnverified, type Store } from '@p2pay/core'
import type { FraudProof } from '../core/types.ts'
import type { CashResult, LedgerTables } from '../core/ledger-records.ts'

/** The peer whose signatures a fraud proof's evidence holds. */
function signerOf(evidence: readonly string[]): string | undefined {
  for (const e of evidence) {
    try {
      const s = peekUnverified(fromB64(e))?.signer
      if (s != null) return s
    } catch {}
  }
  return undefined
}

export async function upgradeLedgerRows(store: Store, t: Pick<LedgerTables, 'frauds' | 'cashes'>): Promise<number> {
  return await store.apply(() => {
    let n = 0
    for (const [key, f] of [...t.frauds.entries()]) {
      if (typeof f.culprit === 'string') continue
      const culprit = signerOf(f.evidence) ?? ''
      const { id, kind, sn, pos, evidence, detectedAt, compensated, unpaid } = f
      const row: FraudProof = { id, kind, culprit, sn, pos, evidence, detectedAt, compensated, unpaid }
      t.frauds.set(key, row)
      n++
    }
    for (const [key, r] of [...t.cashes.entries()]) {
      if (r.status !== 'paid' || r.from !== 'compensation' || typeof r.culprit === 'string') continue
      // the fraud that paid it names the culprit: the one on this coin whose compensations list this holder
      const fraud = [...t.frauds.values()].find(f => f.sn === r.sn && f.compensated.some(c => c.holder === r.holder))
      const { sn, status, value, holder, from, unpaid } = r
      const row: CashResult = {
        sn,
        status,
        value,
        holder,
        from,
        culprit: fraud?.culprit,
        ...(unpaid != null ? { unpaid } : {})
      }
      t.cashes.set(key, row)
      n++
    }
    return n
  })
}
