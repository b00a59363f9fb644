// The accounting centre on libp2p, inside the broker: a thin RPC layer over the
// pure Accounting ledger, sharing the broker's accounts with PPay. Every call
// runs inside `store.apply`, so its change is one synced batch before the reply.
import { ErrorCode, fail, serveRpc, sha256Hex, type DaemonContext, type Routes, type Table } from '@p2pay/core'
import { Accounting, ACCOUNTING_TABLES, type AccountingConfig, type AccountingTables } from './accounting.ts'
import { openVerdict } from './judgment.ts'
import { decodeEnvelope } from './messages.ts'
import { FAIREX_PROTOCOL } from './protocols.ts'

export interface AccountingServiceConfig extends Omit<AccountingConfig, 'now'> {
  now?: () => number
  /** how often expired certificates hand their escrow back and held proceeds are paid out */
  releaseIntervalMs: number
  /** peer id of the network's judge: only its providerBan verdicts void cheques; without it voids are refused */
  judge?: string
}

export interface AccountingService {
  ac: Accounting
  routes: Routes
  close: () => void
}

export async function createAccountingService(
  ctx: DaemonContext,
  accounts: Table,
  cfg: AccountingServiceConfig
): Promise<AccountingService> {
  const tables: Record<string, unknown> = { accounts }
  for (const name of ACCOUNTING_TABLES) tables[name] = await ctx.store.table(`fairex-ac-${name}`)
  const ac = new Accounting(tables as unknown as AccountingTables, ctx.signer, ctx.verifier, {
    ...cfg,
    now: cfg.now ?? Date.now
  })
  const { store, log } = ctx

  await serveRpc(
    ctx.libp2p,
    FAIREX_PROTOCOL.ac,
    {
      certificate: async args => await store.apply(() => ac.issueCertificate(args.request)),
      // the provider, with D's message 1.1, before it sends any piece
      reserve: async args => await store.apply(() => ac.reserve(args.request, args.certificate)),
      deposit: async args => await store.apply(() => ac.deposit(args.request, args.items)),
      // anyone may bring the verdict (the judge does, retrying): the judge's signature is what counts
      void: async args => {
        if (cfg.judge == null)
          fail(ErrorCode.NOT_FOUND, 'this broker has no judge configured (start it with --judge <peer id>)')
        const verdict = openVerdict(ctx.verifier, args.verdict, cfg.judge, 'fairex-void')
        if (verdict.body.ruling !== 'providerBan')
          fail(ErrorCode.BAD_REQUEST, `a ${verdict.body.ruling} verdict voids nothing`)
        if (sha256Hex(decodeEnvelope(args.cheque, 'cheque')) !== verdict.body.cheque)
          fail(ErrorCode.BAD_REQUEST, 'the verdict is about another cheque')
        const r = await store.apply(() => ac.voidCheque(args.cheque, verdict.hash))
        log.info('cheque voided by verdict', {
          chequeSn: r.chequeSn,
          provider: r.provider,
          refunded: r.refunded,
          shortfall: r.shortfall
        })
        return r
      },
      balance: async (_args, { remotePeer }) => {
        await store.barrier()
        return { account: remotePeer, balance: ac.balance(remotePeer) }
      }
    },
    { metrics: ctx.metrics, onError: (err, op) => log.error('ac handler failed', { op, err }) }
  )

  const release = async (): Promise<{
    expired: ReturnType<Accounting['releaseExpired']>
    held: ReturnType<Accounting['releaseHeld']>
  }> => await store.apply(() => ({ held: ac.releaseHeld(), expired: ac.releaseExpired() }))
  const timer = setInterval(() => {
    void release()
      .then(({ expired, held }) => {
        if (expired.length > 0) log.info('expired certificates released', { count: expired.length })
        if (held.length > 0)
          log.info('held proceeds paid out', { deposits: held.length, paid: held.reduce((n, h) => n + h.paid, 0) })
      })
      .catch(err => log.error('release failed', { err }))
  }, cfg.releaseIntervalMs)
  timer.unref()

  const routes: Routes = {
    'GET /v1/fairex/certificates': async () => {
      await store.barrier()
      return { certificates: [...ac.t.certificates.values()].map(({ cert: _c, ...r }) => r) }
    },
    'GET /v1/fairex/cheques': async () => {
      await store.barrier()
      return { cheques: [...ac.t.cheques.values()] }
    },
    'GET /v1/fairex/holds': async () => {
      await store.barrier()
      return { holds: [...ac.t.holds.entries()].map(([deposit, h]) => ({ deposit, ...h })) }
    },
    'POST /v1/fairex/release': async () => await release()
  }
  return { ac, routes, close: () => clearInterval(timer) }
}
