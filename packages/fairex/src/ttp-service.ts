// The TTP on libp2p: a thin RPC layer over the pure Ttp (dispute.ts). Every
// call runs inside `store.apply`, so a resolved dispute and the cheque queued
// for its provider are one synced batch before K leaves.
//
//   resolve   {bundle}  -> 3.2: K and the dispute id. Any peer may ask: the
//                          downloader's acceptance inside the bundle proves payment,
//                          and a copied bundle only gets the payer's K.
//   pending   {}        -> 3.3: countersigned cheques queued for the caller as provider
//   delivered {ids}     -> the caller (provider) holds them; they leave its queue
import { serveRpc, type DaemonContext, type Routes } from '@p2pay/core'
import { DISPUTE_TABLES, MAX_DELIVERED, Ttp, type DisputeTables } from './dispute.ts'
import { x25519Of } from './ecies.ts'
import { FAIREX_PROTOCOL } from './protocols.ts'

export interface TtpService {
  ttp: Ttp
  routes: Routes
}

export async function createTtpService(ctx: DaemonContext): Promise<TtpService> {
  const tables: Record<string, unknown> = {}
  for (const name of DISPUTE_TABLES) tables[name] = await ctx.store.table(`fairex-ttp-${name}`)
  const ttp = new Ttp(
    tables as unknown as DisputeTables,
    ctx.libp2p.peerId.toString(),
    x25519Of(ctx).privateKey,
    ctx.verifier
  )
  const { store, log } = ctx

  await serveRpc(
    ctx.libp2p,
    FAIREX_PROTOCOL.ttp,
    {
      resolve: async (args, { remotePeer }) => {
        const r = await store.apply(() => ttp.resolve(args.bundle, Date.now()))
        log.info('dispute resolved', {
          dispute: r.dispute,
          form: r.form,
          provider: r.provider,
          downloader: r.downloader,
          by: remotePeer
        })
        return r
      },
      // a provider sees its own queue only: the transport authenticated the caller
      pending: async (args, { remotePeer }) => {
        await store.barrier()
        const limit =
          Number.isSafeInteger(args.limit) && args.limit > 0 ? Math.min(args.limit, MAX_DELIVERED) : MAX_DELIVERED
        return { items: ttp.pendingFor(remotePeer, limit) }
      },
      delivered: async (args, { remotePeer }) =>
        await store.apply(() => ttp.delivered(remotePeer, args.ids, Date.now()))
    },
    { metrics: ctx.metrics, onError: (err, op) => log.error('ttp handler failed', { op, err }) }
  )

  const routes: Routes = {
    'GET /v1/ttp/disputes': async () => {
      await store.barrier()
      return {
        disputes: [...ttp.t.disputes.values()].sort((a, b) => a.at - b.at),
        meta: ttp.t.meta.get('meta') ?? { disputes: 0, delivered: 0 }
      }
    }
  }
  return { ttp, routes }
}
