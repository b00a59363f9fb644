// The judge on libp2p: a thin RPC layer over the pure Judge (judgment.ts), plus
// the one thing a verdict must cause elsewhere: the broker's AC voids the
// cheque of a banned provider. The verdict and its void job are written in the
// same synced batch, and a job leaves the queue only once the AC has answered,
// so a judge killed between verdict and void still voids after its restart.
//
//   complain {comp} -> {hash, verdict, ruling, reason, key?, ban?}; the complainant
//                      is the authenticated remote peer (only D may complain)
//   bans     {since?} -> ban envelopes in force ruled at or after `since` (the judge's
//                      clock), and the cursor to ask from next time: nodes ask before
//                      every sale, so they fetch only what is new
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import {
  ErrorCode,
  P2payError,
  RpcClient,
  fail,
  serveRpc,
  type DaemonContext,
  type Routes,
  type Table
} from '@p2pay/core'
import type { VoidResult } from './accounting.ts'
import { x25519Of } from './ecies.ts'
import { JUDGMENT_TABLES, Judge, type JudgmentTables } from './judgment.ts'
import { FAIREX_PROTOCOL } from './protocols.ts'

export interface JudgeServiceConfig {
  banMs: number
  /** the broker whose AC voids cheques on a providerBan: a multiaddr ending in /p2p/<peer id> */
  broker?: string
  /** how often unfinished voids are retried */
  retryIntervalMs?: number
  now?: () => number
}

/** A providerBan verdict the AC has yet to act on (or has answered), by cheque hash. */
export interface VoidJob {
  /** base64 verdict envelope */
  verdict: string
  /** base64 cheque envelope the verdict names */
  cheque: string
  queuedAt: number
  voided?: { at: number; from: VoidResult['from']; refunded: number; shortfall: number }
  /** a refusal no retry can change (the serial paid or was voided on another cheque) */
  refused?: { at: number; code: string; message: string }
}

export interface JudgeService {
  judge: Judge
  voids: Table<VoidJob>
  routes: Routes
  close: () => Promise<void>
}

/** AC answers that stay the same however often the void is retried. */
// answers that will not change on a retry: the job is done (or can never be)
const FINAL = new Set<string>([
  ErrorCode.ALREADY_CASHED,
  ErrorCode.REPLAY,
  ErrorCode.NOT_FOUND,
  ErrorCode.WRONG_OWNER,
  ErrorCode.BAD_REQUEST
])
/** a complaint holds SEK(KP) (a piece of up to 4 MiB, base64) and the piece hashes: bigger than an ordinary frame */
const MAX_COMPLAINT_FRAME = 16 * 1024 * 1024

export async function createJudgeService(ctx: DaemonContext, cfg: JudgeServiceConfig): Promise<JudgeService> {
  const tables: Record<string, unknown> = {}
  for (const name of JUDGMENT_TABLES) tables[name] = await ctx.store.table(`fairex-judge-${name}`)
  const voids = await ctx.store.table<VoidJob>('fairex-judge-voids')
  const now = cfg.now ?? Date.now
  const judge = new Judge(tables as unknown as JudgmentTables, ctx.signer, x25519Of(ctx).privateKey, ctx.verifier, {
    banMs: cfg.banMs,
    now
  })
  const { store, log } = ctx

  let target: Multiaddr | undefined
  if (cfg.broker != null) {
    try {
      target = multiaddr(cfg.broker)
    } catch {
      fail(ErrorCode.BAD_REQUEST, `broker must be a multiaddr, got ${cfg.broker}`)
    }
    if (target.getComponents().find(c => c.name === 'p2p') == null)
      fail(ErrorCode.BAD_REQUEST, `broker multiaddr must end in /p2p/<peer id>, got ${cfg.broker}`)
  }
  const ac =
    target != null
      ? new RpcClient(ctx.libp2p, target, FAIREX_PROTOCOL.ac, { metrics: ctx.metrics, defaultTimeoutMs: 15_000 })
      : undefined
  if (ac == null)
    log.warn('no broker configured: providerBan verdicts queue their voids until the judge is started with one')

  // ---- voids at the broker, retried until the AC answers ----
  let closed = false
  let running: Promise<void> | undefined
  let again = false
  /** last failure per job, so a broker that stays down is logged once, not every interval */
  const lastError = new Map<string, string>()

  const voidOne = async (key: string, job: VoidJob): Promise<void> => {
    try {
      const r = await ac!.call<VoidResult>(
        'void',
        { verdict: job.verdict, cheque: job.cheque },
        { kind: 'fairex-void' }
      )
      await store.apply(() =>
        voids.set(key, { ...job, voided: { at: now(), from: r.from, refunded: r.refunded, shortfall: r.shortfall } })
      )
      lastError.delete(key)
      log.info('cheque voided at the broker', {
        cheque: key,
        provider: r.provider,
        downloader: r.downloader,
        refunded: r.refunded,
        shortfall: r.shortfall
      })
    } catch (err) {
      if (err instanceof P2payError && FINAL.has(err.code)) {
        await store.apply(() =>
          voids.set(key, { ...job, refused: { at: now(), code: err.code, message: err.message } })
        )
        log.warn('broker refused the void for good', { cheque: key, code: err.code, message: err.message })
        return
      }
      const text = err instanceof P2payError ? `${err.code}: ${err.message}` : String(err)
      if (lastError.get(key) !== text) log.warn('void at the broker failed, will retry', { cheque: key, err: text })
      lastError.set(key, text)
    }
  }

  const pass = async (): Promise<void> => {
    for (const [key, job] of [...voids.entries()]) {
      if (closed) return
      if (job.voided == null && job.refused == null) await voidOne(key, job)
    }
  }

  /** Runs a pass now, or right after the one under way: one pass at a time. */
  const kick = (): void => {
    if (ac == null || closed) return
    if (running != null) {
      again = true
      return
    }
    running = (async () => {
      do {
        again = false
        await pass()
      } while (again && !closed)
    })()
      .catch(err => log.error('void pass failed', { err }))
      .finally(() => {
        running = undefined
      })
  }

  await serveRpc(
    ctx.libp2p,
    FAIREX_PROTOCOL.judge,
    {
      complain: async (args, { remotePeer }) => {
        const r = await store.apply(() => {
          const res = judge.judge(args.comp, remotePeer)
          // one job per cheque, in the verdict's batch; a repeated complaint finds it there
          if (res.body.ruling === 'providerBan' && !voids.has(res.body.cheque)) {
            voids.set(res.body.cheque, { verdict: res.verdict, cheque: args.comp.cheque, queuedAt: now() })
          }
          return res
        })
        log.info('verdict', {
          cheque: r.body.cheque,
          ruling: r.body.ruling,
          reason: r.body.reason,
          provider: r.body.provider,
          downloader: r.body.downloader
        })
        if (r.body.ruling === 'providerBan') kick()
        return {
          hash: r.hash,
          verdict: r.verdict,
          ruling: r.body.ruling,
          reason: r.body.reason,
          ...(r.body.key !== undefined ? { key: r.body.key } : {}),
          ...(r.ban !== undefined ? { ban: r.ban } : {})
        }
      },
      bans: async args => {
        await store.barrier()
        const since = Number.isSafeInteger(args?.since) && args.since > 0 ? (args.since as number) : 0
        const fresh = judge.activeBans().filter(b => b.from >= since)
        // bans ruled in the same millisecond as the cursor are sent again: >= never misses one
        return {
          judge: judge.judgeId,
          bans: fresh.map(b => b.ban),
          cursor: fresh.reduce((m, b) => Math.max(m, b.from), since)
        }
      }
    },
    {
      metrics: ctx.metrics,
      maxFrame: MAX_COMPLAINT_FRAME,
      maxInboundStreams: 8,
      onError: (err, op) => log.error('judge handler failed', { op, err })
    }
  )

  const timer = setInterval(kick, cfg.retryIntervalMs ?? 5000)
  timer.unref()
  kick() // jobs a previous run left behind

  const routes: Routes = {
    'GET /v1/judge/verdicts': async () => {
      await store.barrier()
      return {
        verdicts: [...judge.t.verdicts.values()]
          .sort((a, b) => a.body.at - b.body.at)
          .map(v => {
            const job = voids.get(v.body.cheque)
            const voidState =
              job == null
                ? undefined
                : job.voided != null
                  ? { status: 'voided', ...job.voided }
                  : job.refused != null
                    ? { status: 'refused', ...job.refused }
                    : { status: 'pending', queuedAt: job.queuedAt, lastError: lastError.get(v.body.cheque) }
            return {
              hash: v.hash,
              ...v.body,
              ...(v.ban !== undefined ? { ban: v.ban } : {}),
              ...(voidState !== undefined ? { void: voidState } : {})
            }
          }),
        meta: judge.t.meta.get('meta') ?? { verdicts: 0, providerBan: 0, invalidComplain: 0 }
      }
    },
    'GET /v1/judge/bans': async () => {
      await store.barrier()
      return { bans: judge.activeBans() }
    }
  }

  return {
    judge,
    voids,
    routes,
    close: async () => {
      closed = true
      clearInterval(timer)
      await ac?.close() // fails a call in flight, so stopping does not wait for its timeout
      await running
    }
  }
}
