// The coin calls of the broker's ledger protocol. Purchase comes from the
// owner's long-term identity (it pays from its account); transfer (the downtime
// path), deposit and renew come from a holder's fresh identity, each checked in
// full (the group signature in the pool) and, in real time, against the coin's
// state in the DHT before the ledger acts; the binding or spent record the
// broker signs is published after it is stored, before the answer.
import type { DepositResult, PurchaseResult, RenewResult, TransferResult } from '../core/ledger-records.ts'
import { TAG } from '../core/messages.ts'
import type { WhopayKind } from '../kinds.ts'
import { needJudge, showCoin, type LedgerContext } from './ledger-context.ts'
import { learnFromDht, publish, withConviction } from './ledger-fraud.ts'

type Shown = { cert?: unknown; binding?: unknown; request?: unknown }

export async function purchase(
  l: LedgerContext,
  owner: string,
  args: { coin?: unknown; value?: unknown }
): Promise<PurchaseResult> {
  needJudge(l)
  return await l.store.apply(() => l.ledger.purchase(owner, args.coin, args.value))
}

/** The downtime path: the owner did not answer; the broker signs the next binding and keeps it for the owner. */
export async function downtimeTransfer(l: LedgerContext, args: Shown, from: string): Promise<TransferResult> {
  const kind: WhopayKind = 'whopay-transfer'
  const s = await showCoin(l, args, TAG.transfer, kind)
  await learnFromDht(l, s.cert.coin)
  const r = (await withConviction(l, () => l.ledger.downtimeTransfer(s))) as TransferResult
  await publish(l, s.cert.b64, r.binding)
  l.log.child('ledger').info('downtime transfer', { coin: r.coin, seq: s.request.body.seq + 1, from })
  return r
}

export async function deposit(l: LedgerContext, args: Shown, from: string): Promise<DepositResult> {
  const kind: WhopayKind = 'whopay-deposit'
  const s = await showCoin(l, args, TAG.deposit, kind)
  await learnFromDht(l, s.cert.coin)
  const r = (await withConviction(l, () => l.ledger.deposit(s), s)) as DepositResult
  if (r.from === 'coin' && r.spent !== '') await publish(l, s.cert.b64, r.spent)
  l.log.child('ledger').info('deposited', { coin: r.coin, seq: s.request.body.seq, value: r.value, paid: r.from, from })
  return r
}

export async function renew(l: LedgerContext, args: Shown, from: string): Promise<RenewResult> {
  const kind: WhopayKind = 'whopay-renew'
  const s = await showCoin(l, args, TAG.renew, kind)
  await learnFromDht(l, s.cert.coin)
  const r = (await withConviction(l, () => l.ledger.renew(s))) as RenewResult
  await publish(l, r.cert, r.binding)
  l.log.child('ledger').info('renewed', { coin: r.coin, gen: s.cert.gen + 1, from })
  return r
}
