// The TTP on libp2p: a thin RPC layer over the pure Ttp (core/dispute.ts). Every
// call runs inside `store.apply`, so a resolved dispute and the cheque queued
// for its provider are one synced batch before K leaves.
//
//   resolve   {bundle}  -> 3.2: K and the dispute id. Any peer may ask: the
//                          downloader's acceptance inside the bundle proves payment,
//                          and a copied bundle only gets the payer's K.
//   pending   {}        -> 3.3: countersigned cheques queued for the caller as provider
//   delivered {ids}     -> the caller (provider) holds them; they leave its queue
import type { PrivateKey } from '@libp2p/interface'
import { Lifecycle, serveRpc, type BaseComponents, type Routes, type SchemeService } from '@p2pay/core'
import { EMPTY_TTP_META, MAX_DELIVERED, Ttp } from '../core/dispute.ts'
import { x25519Of } from '../core/ecies.ts'
import { FAIREX_KINDS, type FairexKind } from '../kinds.ts'
import { FAIREX_PROTOCOL } from './protocols.ts'
import { DISPUTE_TABLES } from './tables.ts'
import { MAX_SALE_FRAME } from './sale-stream.ts'

export type DisputeComponents = BaseComponents<FairexKind> & {
  /** the TTP's identity key: its X25519 key, which opens the TTP's box in Z, is derived from it */
  privateKey: PrivateKey
}

export class DisputeService implements SchemeService {
  readonly name = 'fairex'
  readonly tables = DISPUTE_TABLES
  readonly kinds = FAIREX_KINDS
  private readonly c: DisputeComponents
  readonly life: Lifecycle
  private ttpOrUndefined?: Ttp

  constructor(components: DisputeComponents) {
    this.c = components
    this.life = new Lifecycle(components.logger)
  }

  /** The TTP's dispute state machine, once started. */
  get ttp(): Ttp {
    if (this.ttpOrUndefined == null) throw new Error('the TTP is not started')
    return this.ttpOrUndefined
  }

  async start(): Promise<void> {
    const { store, logger: log } = this.c
    const t = await store.tables(DISPUTE_TABLES)
    const ttp = new Ttp(t, this.c.network.peerId.toString(), x25519Of(this.c).privateKey, this.c.verifier)
    this.ttpOrUndefined = ttp
    await serveRpc(
      this.c.network,
      FAIREX_PROTOCOL.ttp,
      {
        resolve: async (args, { remotePeer }) => {
          const r = await store.apply(() => ttp.resolve(args.bundle, Date.now()))
          const { dispute, form, provider, downloader } = r
          log.info('dispute resolved', { dispute, form, provider, downloader, by: remotePeer })
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
      {
        metrics: this.c.metrics,
        life: this.life,
        // `pending` answers up to 512 kept cheques (~1.3 MB): nodes read the market's answers up to a sale's frame
        maxReply: MAX_SALE_FRAME,
        onError: (err, op) => log.error('ttp handler failed', { op, err })
      }
    )
    this.c.metrics.gauge('disputes', () => ttp.t.disputes.size, 'Disputes resolved')
    this.c.metrics.gauge(
      'cheques_pending',
      () => ttp.t.forProvider.size,
      'Countersigned cheques not yet fetched by their providers'
    )
  }

  async stop(): Promise<void> {
    await this.c.network.unhandle(FAIREX_PROTOCOL.ttp)
    await this.life.stop()
  }

  status(): Record<string, unknown> {
    return { disputes: this.ttp.t.disputes.size, pending: this.ttp.t.forProvider.size }
  }

  routes(): Routes {
    return {
      'GET /disputes': async () => {
        await this.c.store.barrier()
        return {
          disputes: [...this.ttp.t.disputes.values()].sort((a, b) => a.at - b.at),
          meta: this.ttp.t.meta.get('meta') ?? EMPTY_TTP_META
        }
      },
      'GET /status': () => this.status()
    }
  }
}
