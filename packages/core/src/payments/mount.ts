// Mounts the payments journal on a daemon: its table, the declared payment
// routes wrapped by it, its own routes, and the settle loop (at start, then
// every interval) on a lifecycle of its own that stops before the schemes do.
import type { Libp2p } from '@libp2p/interface'
import type { Signer, Verifier } from '../crypto/signed.ts'
import type { Routes } from '../daemon/control-api.ts'
import { Lifecycle } from '../daemon/lifecycle.ts'
import type { Logger } from '../log.ts'
import type { Store } from '../store/store.ts'
import { PaymentJournal } from './journal.ts'
import { journaled, paymentRoutes } from './routes.ts'
import { PAYMENT_TABLES } from './tables.ts'
import type { DaemonPayments, PaymentEntry } from './types.ts'

/** pending entries are looked at this often by default: a deadline is kept to within it */
export const SETTLE_EVERY_MS = 2000

export interface MountedPayments {
  journal: PaymentJournal
  routes: Routes
  life: Lifecycle
}

export async function mountPayments(
  p: DaemonPayments,
  routes: Routes,
  c: { store: Store; signer: Signer<any>; verifier: Verifier<any>; network: Libp2p; log: Logger }
): Promise<MountedPayments> {
  const log = c.log.child('payments')
  const t = await c.store.table<PaymentEntry>(PAYMENT_TABLES.journal.bucket)
  const journal = new PaymentJournal(c.store, t, { settlers: p.settlers, log })
  // a copy: the daemon's table gets the wrapped routes in their place
  const own: Routes = { ...routes }
  const wrapped = journaled(own, p.routes, journal)
  const all: Routes = {
    ...wrapped,
    ...paymentRoutes({
      journal,
      // the scheme routes themselves: the request route journals the payment, under the request id
      routes: () => own,
      declared: p.routes,
      settlers: p.settlers,
      signer: c.signer,
      verifier: c.verifier,
      network: c.network
    })
  }
  const life = new Lifecycle(log)
  // at once: entries a crash left pending are settled from the schemes' records before new payments come in
  life.every(
    p.settleEveryMs ?? SETTLE_EVERY_MS,
    'payments settle',
    async signal => void (await journal.settleDue(signal)),
    {
      immediately: true
    }
  )
  return { journal, routes: all, life }
}
