// The accounting centre on libp2p, inside the broker: a thin RPC layer over the
// pure Accounting ledger, sharing the broker's accounts with PPay. Every call
// runs inside `store.apply`, so its change is one synced batch before the reply.
import { ErrorCode, P2payError, serveRpc, type DaemonContext, type Routes, type Table } from '@p2pay/core'
import { Accounting, ACCOUNTING_TABLES, type AccountingConfig, type AccountingTables } from './accounting.ts'
import { FAIREX_PROTOCOL } from './protocols.ts'

export interface AccountingServiceConfig extends Omit<AccountingConfig, 'now'> {
  now?: () => number
  /** how often expired certificates hand their escrow back */
  releaseIntervalMs: number
  /**
   * Checks a judge's signed verdict and returns the cheque it voids (P's cheque
   * envelope, base64) and a reference to the verdict; only a providerBan voids.
   */
  verdictCheque: (verdict: unknown) => { cheque: string, ref: string }
}

export interface AccountingService { ac: Accounting, routes: Routes, close: () => void }

export async function createAccountingService (ctx: DaemonContext, accounts: Table, cfg: AccountingServiceConfig): Promise<AccountingService> {
  const tables: Record<string, unknown> = { accounts }
  for (const name of ACCOUNTING_TABLES) tables[name] = await ctx.store.table(`fairex-ac-${name}`)
  const ac = new Accounting(tables as unknown as AccountingTables, ctx.signer, ctx.verifier, { ...cfg, now: cfg.now ?? Date.now })
  const { store, log } = ctx

  await serveRpc(ctx.libp2p, FAIREX_PROTOCOL.ac, {
    certificate: async (args) => await store.apply(() => ac.issueCertificate(args.request)),
    deposit: async (args) => await store.apply(() => ac.deposit(args.request, args.items)),
    void: async (args) => {
      const { cheque, ref } = cfg.verdictCheque(args.verdict)
      const r = await store.apply(() => ac.voidCheque(cheque, ref))
      log.info('cheque voided by verdict', { chequeSn: r.chequeSn, provider: r.provider, refunded: r.refunded, shortfall: r.shortfall })
      return r
    },
    balance: async (_args, { remotePeer }) => { await store.barrier(); return { account: remotePeer, balance: ac.balance(remotePeer) } }
  }, { metrics: ctx.metrics, onError: (err, op) => log.error('ac handler failed', { op, err }) })

  const timer = setInterval(() => {
    void store.apply(() => ac.releaseExpired()).then((released) => {
      if (released.length > 0) log.info('expired certificates released', { count: released.length })
    }).catch((err) => log.error('release failed', { err }))
  }, cfg.releaseIntervalMs)
  timer.unref()

  const routes: Routes = {
    'GET /v1/fairex/certificates': async () => { await store.barrier(); return { certificates: [...ac.t.certificates.values()].map(({ cert: _c, ...r }) => r) } },
    'GET /v1/fairex/cheques': async () => { await store.barrier(); return { cheques: [...ac.t.cheques.values()] } },
    'POST /v1/fairex/release': async () => ({ released: await store.apply(() => ac.releaseExpired()) })
  }
  return { ac, routes, close: () => clearInterval(timer) }
}

export function noVerdicts (): never {
  throw new P2payError(ErrorCode.NOT_FOUND, 'this broker has no judge configured')
}
