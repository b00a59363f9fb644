// The journal on the control API: the payment routes a daemon declares run
// through it; `GET /v1/payments` lists entries, `GET /v1/payments/peers` sums
// them per peer; `POST /v1/payments/request` makes a signed payment request
// and `POST /v1/pay` pays one, once.
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Signer, Verifier } from '../crypto/signed.ts'
import { ErrorCode, P2payError, fail } from '../errors.ts'
import type { Route, Routes } from '../daemon/control-api.ts'
import { paymentView, type PaymentJournal } from './journal.ts'
import { REQUEST_SCHEMES, makeRequest, openRequest } from './request.ts'
import { peerTotals } from './totals.ts'
import type { PaymentRouteInfo, PaymentSettler } from './types.ts'

/** Each declared payment route (absolute key, `POST /v1/ppay/pay`) replaced by the same route run as an entry. */
export function journaled(routes: Routes, declared: Record<string, PaymentRouteInfo>, journal: PaymentJournal): Routes {
  const out: Routes = { ...routes }
  for (const [key, info] of Object.entries(declared)) {
    const route = routes[key]
    if (route == null) throw new TypeError(`payment route ${key} is not a route of this daemon`)
    out[key] = async (body, query) => await journal.run(info, body, async b => await route(b, query))
  }
  return out
}

/** addresses a request carries: enough to reach the payee, short enough for a QR code */
const MAX_REQUEST_ADDRS = 3

const text = (q: URLSearchParams, k: string): string | undefined => q.get(k) ?? undefined

export function paymentRoutes(opts: {
  journal: PaymentJournal
  /** the scheme routes as they are (not `journaled`): a request is journaled once, under its own id */
  routes: () => Routes
  declared: Record<string, PaymentRouteInfo>
  settlers: ReadonlyMap<string, PaymentSettler>
  signer: Signer<any>
  verifier: Verifier<any>
  network: Pick<Libp2p, 'getMultiaddrs' | 'peerStore'>
  now?: () => number
}): Routes {
  const { journal } = opts
  const now = opts.now ?? Date.now
  const payRoute = (scheme: string): { key: string; route: Route } => {
    const key = `POST /v1/${scheme}/${scheme === 'karma' ? 'transfer' : 'pay'}`
    const route = opts.routes()[key]
    if (route == null || opts.declared[key] == null)
      fail(ErrorCode.BAD_REQUEST, `this node does not pay with ${scheme}`)
    return { key, route }
  }
  return {
    'GET /v1/payments': async (_b, q) => {
      await journal.synced()
      const id = text(q, 'id')
      if (id != null) {
        const e = journal.get(id)
        if (e == null) fail(ErrorCode.NOT_FOUND, `no payment ${id.slice(0, 80)}`)
        return { payment: e }
      }
      const limit = Number(q.get('limit') ?? 500)
      const list = journal.list({
        state: text(q, 'state'),
        peer: text(q, 'peer'),
        scheme: text(q, 'scheme'),
        limit: Number.isSafeInteger(limit) && limit > 0 ? limit : 500
      })
      return { payments: list.map(paymentView) }
    },
    'GET /v1/payments/peers': async () => {
      await journal.synced()
      return await peerTotals(journal.t.values(), opts.settlers)
    },
    'POST /v1/payments/request': b => {
      const addrs = opts.network.getMultiaddrs().map(String).slice(0, MAX_REQUEST_ADDRS)
      const made = makeRequest(opts.signer, {
        scheme: b.scheme,
        amount: b.amount,
        memo: b.memo,
        expiresInMs: b.expiresInMs,
        addrs
      })
      return { ...made, schemes: REQUEST_SCHEMES }
    },
    'POST /v1/pay': async b => {
      // the signature first, over the bytes received: nothing else is read from a request that fails it
      const r = openRequest(opts.verifier, b.request, 0)
      const known = journal.get(r.id)
      if (known == null && now() >= r.expires)
        fail(ErrorCode.EXPIRED, `the payment request expired at ${new Date(r.expires).toISOString()}`, {
          expires: r.expires
        })
      if (r.payee === opts.signer.peerId) fail(ErrorCode.BAD_REQUEST, 'this is a request of this node: nothing to pay')
      const { key, route } = payRoute(r.scheme)
      if (known == null) await learnAddrs(opts.network, r.payee, r.addrs)
      const body = { id: r.id, to: r.payee, amount: r.amount, addrs: r.addrs, deadlineMs: b.deadlineMs }
      // run as the scheme's own payment route would, the request's id as the payment id
      return await journal.run(opts.declared[key], body, async x => await route(x, new URLSearchParams()), {
        request: r.id
      })
    }
  }
}

/** The payee's addresses from its request, so any scheme's dial finds it without a DHT lookup. */
async function learnAddrs(network: Pick<Libp2p, 'peerStore'>, payee: string, addrs: string[]): Promise<void> {
  if (addrs.length === 0) return
  try {
    await network.peerStore.merge(peerIdFromString(payee), { multiaddrs: addrs.map(a => multiaddr(a)) })
  } catch (err) {
    throw new P2payError(ErrorCode.BAD_REQUEST, `the request's addresses cannot be used: ${(err as Error).message}`)
  }
}
