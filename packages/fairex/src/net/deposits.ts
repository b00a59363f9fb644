// A provider's deposits at the AC: the countersigned cheques of its sales (and
// those the TTP kept for it after disputes, and the judge after a keyOpensPiece
// verdict) go in one batch, since the AC
// charges a fee per batch; automatically once the oldest has waited long
// enough, well before any certificate's deposit grace runs out.
import { asError, fromB64, randomId, sha256Hex, toB64, type Party } from '@p2pay/core'
import type { DepositItem, DepositResult } from '../core/accounting-records.ts'
import { settledCheques } from '../core/deposit-outcome.ts'
import { signDepositRequest } from '../core/messages.ts'
import type { FairexKind } from '../kinds.ts'
import type { NodeContext } from './node-context.ts'

/** cheques per deposit batch: its items (three envelopes each) must fit one frame */
const MAX_BATCH = 256

export type DepositOutcome = DepositResult | { paid: 0; fee: 0; results: [] }

/** A deposit request lists its cheques by the hash of their envelopes. */
const sha256b64 = (b64: string): string => sha256Hex(fromB64(b64))

type Kept = { id: string; cheque: string; accept: string; certificate: string }

/**
 * Takes the countersigned cheques a third party kept for this provider into the
 * deposit queue, then tells it they are held: the TTP's (3.3, `pending`) or the
 * judge's (after a keyOpensPiece verdict, `kept`). On disk before `delivered`,
 * so a lost reply only fetches them again.
 */
async function pickUp(
  n: NodeContext,
  from: { name: 'ttp' | 'judge'; pool: NodeContext['ttp']; party: Party; op: string; kind: FairexKind }
): Promise<void> {
  try {
    const opts = { kind: from.kind, timeoutMs: 5000 }
    const got = await from.pool.call<{ items: Kept[] }>(from.party, from.op, {}, opts)
    if (got.items.length === 0) return
    await n.store.apply(() => {
      for (const it of got.items) {
        const id = `${from.name}-${it.id}`
        const { cheque, accept, certificate } = it
        n.t.deposits.set(id, { id, cheque, accept, certificate, at: Date.now() })
      }
    })
    await from.pool.call(from.party, 'delivered', { ids: got.items.map(i => i.id) }, opts)
  } catch (err) {
    if (!n.life.stopped)
      n.log.child('deposits').warn(`could not pick up cheques from the ${from.name}`, { err: asError(err) })
  }
}

/** Deposits the countersigned cheques it holds (and those the TTP and the judge kept for it) in one batch. */
export async function deposit(n: NodeContext): Promise<DepositOutcome> {
  const { ttp, judge } = n.init
  if (ttp != null) await pickUp(n, { name: 'ttp', pool: n.ttp, party: ttp, op: 'pending', kind: 'fairex-dispute' })
  if (judge != null) await pickUp(n, { name: 'judge', pool: n.judge, party: judge, op: 'kept', kind: 'fairex-judge' })
  // one cheque per serial: the sale itself, the TTP and the judge may each hand us the same one
  const unique = new Map<string, DepositItem & { id: string }>()
  for (const d of n.t.deposits.values()) if (!unique.has(d.cheque)) unique.set(d.cheque, d)
  const items = [...unique.values()].slice(0, MAX_BATCH)
  if (items.length === 0) return { paid: 0, fee: 0, results: [] }
  const request = signDepositRequest(n.c.signer, {
    ac: n.c.broker.id,
    provider: n.me,
    nonce: randomId(16),
    cheques: items.map(i => sha256b64(i.cheque))
  })
  const result = await n.ac.call<DepositResult>(
    n.c.broker,
    'deposit',
    {
      request: toB64(request.bytes),
      items: items.map(({ cheque, accept, certificate }) => ({ cheque, accept, certificate }))
    },
    { kind: 'fairex-deposit' }
  )
  const settled = settledCheques(result)
  for (const r of result.results) {
    if (r.status === 'refused' && settled.has(r.cheque)) {
      const { cheque, code, message } = r
      n.log.child('deposits').warn('cheque refused for good; dropped from the deposit queue', { cheque, code, message })
    }
  }
  await n.store.apply(() => {
    for (const d of [...n.t.deposits.values()]) if (settled.has(sha256b64(d.cheque))) n.t.deposits.delete(d.id)
  })
  return result
}

/** Deposits the queue once its oldest cheque has waited `autoDepositMs` (0: never on its own). */
export async function autoDeposit(n: NodeContext): Promise<void> {
  const after = n.init.autoDepositMs
  if (after <= 0) return
  let oldest = Infinity
  for (const d of n.t.deposits.values()) oldest = Math.min(oldest, d.at)
  if (Date.now() - oldest < after) return
  const r = await deposit(n)
  const held = 'held' in r ? r.held : 0
  n.log.child('deposits').info('deposited automatically', { paid: r.paid, held, fee: r.fee, cheques: r.results.length })
}
