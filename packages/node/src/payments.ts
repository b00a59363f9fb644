// The node's payment operations, each run through the payments journal (an
// id, a deadline, a final state), and the schemes' settlers of them: PPay's
// payments and Karma's transfers are settled from the scheme's own records;
// the other operations end as they answered (see docs/operations.md, Payments).
import type { DaemonContext, DaemonPayments, PaymentRouteInfo, PaymentSettler } from '@p2pay/core'
import { ppaySettler, type WalletService } from '@p2pay/ppay'
import { karmaSettler, type KarmaService } from '@p2pay/karma'
import type { NodeComponents } from './index.ts'

type Body = Record<string, unknown>

/** A peer id from a body's peer id or multiaddr ending in /p2p/<id>. */
function peerOf(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined
  const at = v.lastIndexOf('/p2p/')
  return at >= 0 ? v.slice(at + 5) : v
}
const int = (v: unknown): number | undefined => (Number.isSafeInteger(v) ? (v as number) : undefined)
const product = (a: unknown, b: unknown): number | undefined => {
  const x = int(a)
  const y = int(b)
  return x != null && y != null ? x * y : undefined
}

const payTo = (scheme: string, op = 'pay'): PaymentRouteInfo => ({
  scheme,
  op,
  peer: (b: Body) => peerOf(b.to),
  amount: (b: Body) => int(b.amount)
})

/** route -> how its body names the counterparty and the amount */
export const PAYMENT_ROUTES: Record<string, PaymentRouteInfo> = {
  'POST /v1/ppay/pay': payTo('ppay'),
  'POST /v1/ppay/buy': { scheme: 'ppay', op: 'buy', amount: b => product(b.count, b.value) },
  'POST /v1/ppay/cash': { scheme: 'ppay', op: 'cash' },
  'POST /v1/aggsign/pay': payTo('aggsign'),
  'POST /v1/aggsign/mint': { scheme: 'aggsign', op: 'mint', amount: b => product(b.count ?? 1, b.value) },
  'POST /v1/aggsign/cash': { scheme: 'aggsign', op: 'cash' },
  'POST /v1/whopay/pay': payTo('whopay'),
  'POST /v1/whopay/buy': { scheme: 'whopay', op: 'buy', amount: b => product(b.count ?? 1, b.value) },
  'POST /v1/whopay/deposit': { scheme: 'whopay', op: 'deposit' },
  'POST /v1/karma/transfer': payTo('karma', 'transfer'),
  'POST /v1/fairex/buy': { scheme: 'fairex', op: 'buy', peer: b => peerOf(b.provider) },
  'POST /v1/fairex/deposit': { scheme: 'fairex', op: 'deposit' }
}

/** The node's journal: its payment routes and the settlers of the schemes that keep records of them. */
export function nodePayments(d: DaemonContext<NodeComponents>): DaemonPayments {
  const settlers = new Map<string, PaymentSettler>()
  const ppay = d.schemes.get('ppay') as WalletService | undefined
  if (ppay != null) settlers.set('ppay', ppaySettler(ppay, d.components.network))
  const karma = d.schemes.get('karma') as KarmaService | undefined
  if (karma != null) settlers.set('karma', karmaSettler(karma))
  return { routes: PAYMENT_ROUTES, settlers }
}
