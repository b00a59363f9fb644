// The judge on libp2p: a thin RPC layer over the pure Judge (core/judgment.ts),
// plus the void queue (judgment-voids.ts) through which a providerBan reaches
// the broker's AC.
//
//   complain {comp} -> {hash, verdict, ruling, reason, key?, ban?}; the complainant
//                      is the authenticated remote peer (only D may complain)
//   bans     {since?} -> ban envelopes in force ruled at or after `since` (the judge's
//                      clock), and the cursor to ask from next time: nodes ask before
//                      every sale, so they fetch only what is new
//   kept     {limit?} -> the countersigned cheques keyOpensPiece verdicts kept for the
//                      caller as provider (written with the verdict, before K left)
//   delivered {ids}   -> the caller (provider) holds them; they leave its queue
import type { PrivateKey } from '@libp2p/interface'
import {
  ClientPool,
  Lifecycle,
  serveRpc,
  type BaseComponents,
  type Party,
  type Routes,
  type SchemeService
} from '@p2pay/core'
import { x25519Of } from '../core/ecies.ts'
import { Judge, MAX_KEPT_DELIVERED } from '../core/judgment.ts'
import { EMPTY_JUDGE_META } from '../core/judgment-records.ts'
import { FAIREX_KINDS, type FairexKind } from '../kinds.ts'
import { VoidQueue } from './judgment-voids.ts'
import { FAIREX_PROTOCOL } from './protocols.ts'
import { JUDGMENT_TABLES } from './tables.ts'
import { MAX_COMPLAINT_FRAME, MAX_SALE_FRAME } from './sale-stream.ts'

export interface JudgmentInit {
  /** how long a providerBan keeps the provider out */
  banMs: number
  /** how often voids the broker has not confirmed are retried */
  retryIntervalMs: number
  now?: () => number
}

export type JudgmentComponents = BaseComponents<FairexKind> & {
  /** the judge's identity key: its X25519 key, which opens the judge's box in Z, is derived from it */
  privateKey: PrivateKey
  /** the broker whose AC voids the cheques of banned providers */
  broker: Party
}

export class JudgmentService implements SchemeService {
  readonly name = 'fairex'
  readonly tables = JUDGMENT_TABLES
  readonly kinds = FAIREX_KINDS
  private readonly c: JudgmentComponents
  private readonly init: JudgmentInit
  readonly life: Lifecycle
  private readonly ac: ClientPool<FairexKind>
  private judgeOrUndefined?: Judge
  private voidsOrUndefined?: VoidQueue

  constructor(components: JudgmentComponents, init: JudgmentInit) {
    this.c = components
    this.init = init
    this.life = new Lifecycle(components.logger)
    this.ac = new ClientPool<FairexKind>(components.network, {
      protocol: FAIREX_PROTOCOL.ac,
      metrics: components.metrics,
      defaultTimeoutMs: 15_000,
      signal: this.life.signal
    })
  }

  /** The judge's state machine, once started. */
  get judge(): Judge {
    if (this.judgeOrUndefined == null) throw new Error('the judge is not started')
    return this.judgeOrUndefined
  }

  /** The voids the AC has yet to make, once started. */
  get voids(): VoidQueue {
    if (this.voidsOrUndefined == null) throw new Error('the judge is not started')
    return this.voidsOrUndefined
  }

  async start(): Promise<void> {
    const { store, logger: log } = this.c
    const { voids: voidTable, ...t } = await store.tables(JUDGMENT_TABLES)
    const now = this.init.now ?? Date.now
    const judge = new Judge(t, this.c.signer, x25519Of(this.c).privateKey, this.c.verifier, {
      banMs: this.init.banMs,
      now
    })
    const voids = new VoidQueue({
      voids: voidTable,
      store,
      ac: this.ac,
      broker: this.c.broker,
      life: this.life,
      log: log.child('voids'),
      now
    })
    this.judgeOrUndefined = judge
    this.voidsOrUndefined = voids
    await serveRpc(
      this.c.network,
      FAIREX_PROTOCOL.judge,
      {
        complain: async (args, { remotePeer }) => {
          const r = await store.apply(() => {
            const res = judge.judge(args.comp, remotePeer)
            // one job per cheque, in the verdict's batch; a repeated complaint finds it there
            if (res.body.ruling === 'providerBan') voids.queue(res.body.cheque, res.verdict, args.comp.cheque, res.ban)
            return res
          })
          const { cheque, ruling, reason, provider, downloader } = r.body
          log.info('verdict', { cheque, ruling, reason, provider, downloader })
          if (ruling === 'providerBan') voids.kick()
          return {
            hash: r.hash,
            verdict: r.verdict,
            ruling,
            reason,
            ...(r.body.key !== undefined ? { key: r.body.key } : {}),
            ...(r.ban !== undefined ? { ban: r.ban } : {})
          }
        },
        // a provider sees its own cheques only: the transport authenticated the caller
        kept: async (args, { remotePeer }) => {
          await store.barrier()
          const limit =
            Number.isSafeInteger(args?.limit) && args.limit > 0
              ? Math.min(args.limit as number, MAX_KEPT_DELIVERED)
              : MAX_KEPT_DELIVERED
          return { items: judge.keptFor(remotePeer, limit) }
        },
        delivered: async (args, { remotePeer }) =>
          await store.apply(() => judge.delivered(remotePeer, args?.ids, now())),
        bans: async args => {
          await store.barrier()
          const since = Number.isSafeInteger(args?.since) && args.since > 0 ? (args.since as number) : 0
          // bans ruled in the same millisecond as the cursor are sent again: >= never misses one
          const page = judge.bansSince(since)
          return {
            judge: judge.judgeId,
            bans: page.bans.map(b => b.ban),
            cursor: page.cursor,
            ...(page.more ? { more: true } : {})
          }
        }
      },
      {
        metrics: this.c.metrics,
        maxFrame: MAX_COMPLAINT_FRAME,
        // what a node reads: a larger answer (a ban list) goes back as REPLY_TOO_LARGE, not as a frame it cannot read
        maxReply: MAX_SALE_FRAME,
        maxInboundStreams: 8,
        life: this.life,
        onError: (err, op) => log.error('judge handler failed', { op, err })
      }
    )
    // at once for the jobs a previous run left behind, then every interval
    this.life.every(this.init.retryIntervalMs, 'fairex void retries', async () => voids.kick(), { immediately: true })
    this.c.metrics.gauge('verdicts', () => judge.t.verdicts.size, 'Verdicts given')
    this.c.metrics.gauge(
      'cheques_kept',
      () => judge.t.kept.size,
      'Countersigned cheques kept for providers (keyOpensPiece) and not yet fetched'
    )
    this.c.metrics.gauge(
      'voids_pending',
      () => voids.pending(),
      'providerBan verdicts the broker has not yet voided the cheque for'
    )
  }

  async stop(): Promise<void> {
    await this.c.network.unhandle(FAIREX_PROTOCOL.judge)
    await this.life.stop()
    await this.ac.close()
  }

  status(): Record<string, unknown> {
    return {
      verdicts: this.judge.t.verdicts.size,
      activeBans: this.judge.activeBans().length,
      chequesKept: this.judge.t.kept.size,
      voidsPending: this.voids.pending()
    }
  }

  routes(): Routes {
    const store = this.c.store
    return {
      'GET /verdicts': async () => {
        await store.barrier()
        return {
          verdicts: [...this.judge.t.verdicts.values()]
            .sort((a, b) => a.body.at - b.body.at)
            .map(v => {
              const voidState = this.voids.stateOf(v.body.cheque)
              return {
                hash: v.hash,
                ...v.body,
                ...(v.ban !== undefined ? { ban: v.ban } : {}),
                ...(voidState !== undefined ? { void: voidState } : {}),
                ...(v.delivered !== undefined ? { delivered: v.delivered } : {})
              }
            }),
          meta: this.judge.t.meta.get('meta') ?? EMPTY_JUDGE_META
        }
      },
      'GET /bans': async () => {
        await store.barrier()
        return { bans: this.judge.activeBans() }
      },
      'GET /status': () => this.status()
    }
  }
}
