// The broker side of PPay on libp2p: a thin RPC layer over the Ledger. Every
// call runs the ledger synchronously inside `store.apply`, so its change is one
// batch on disk before the reply leaves.
import { ErrorCode, P2payError, serveRpc, type DaemonContext, type Routes } from '@p2pay/core'
import { Ledger, LEDGER_TABLES, refusal, type LedgerConfig, type LedgerTables, type CashResult } from './ledger.ts'
import { PROTOCOL, type CoinProof } from './types.ts'

export interface BrokerPPayConfig extends Omit<LedgerConfig, 'now'> {
  now?: () => number
  maxCashBatch: number
}

export interface BrokerPPay {
  ledger: Ledger
  routes: Routes
}

export async function createBrokerPPay(ctx: DaemonContext, cfg: BrokerPPayConfig): Promise<BrokerPPay> {
  const tables = {} as Record<string, unknown>
  for (const name of LEDGER_TABLES) tables[name] = await ctx.store.table(`ppay-${name}`)
  const ledger = new Ledger(tables as unknown as LedgerTables, ctx.signer, ctx.verifier, {
    ...cfg,
    now: cfg.now ?? Date.now
  })
  const { store, log } = ctx

  const cashOne = async (item: {
    proof: CoinProof
    cash: string
  }): Promise<CashResult | { status: 'error'; code: string; message: string }> => {
    try {
      return await store.apply(() => ledger.cash(item?.proof, item?.cash))
    } catch (err) {
      if (err instanceof P2payError) return { status: 'error', code: err.code, message: err.message }
      throw err
    }
  }

  await serveRpc(
    ctx.libp2p,
    PROTOCOL.broker,
    {
      info: () => ({ broker: ledger.broker, maxLayers: cfg.maxLayers }),
      balance: async (_args, { remotePeer }) => {
        await store.barrier()
        return { account: remotePeer, balance: ledger.balance(remotePeer) }
      },
      buy: async args => await store.apply(() => ledger.buy(args.buy)),
      cash: async args => {
        const items = args.items
        if (!Array.isArray(items) || items.length === 0 || items.length > cfg.maxCashBatch)
          throw new P2payError(ErrorCode.BAD_REQUEST, `items must be a list of 1..${cfg.maxCashBatch} {proof, cash}`)
        // each item is its own atomic change; group commit writes them as one synced batch
        return { results: await Promise.all(items.map(cashOne)) }
      },
      downtime: async args => {
        const r = await store.apply(() => ledger.downtimeReassign(args.proof, args.request))
        if (r.status === 'refused') throw refusal(r)
        return { assign: r.assign, request: r.request }
      },
      downtimeLog: async (args, { remotePeer }) => {
        await store.barrier()
        const after = Number.isSafeInteger(args.after) ? args.after : 0
        return { entries: ledger.downtimeLog(remotePeer, after) }
      },
      report: async args => await store.apply(() => ledger.report(args.proof))
    },
    { metrics: ctx.metrics, onError: (err, op) => log.error('rpc handler failed', { op, err }) }
  )

  const routes: Routes = {
    'POST /v1/topup': async body => {
      const r = await store.apply(() => ledger.topup(body.account, body.amount))
      log.info('topup', { account: body.account, amount: body.amount })
      return r
    },
    'GET /v1/account': async (_b, q) => {
      await store.barrier()
      const id = q.get('id') ?? ''
      return { account: id, balance: ledger.balance(id) }
    },
    'GET /v1/accounts': async () => {
      await store.barrier()
      return { accounts: Object.fromEntries([...ledger.t.accounts.entries()].map(([k, v]) => [k, v.balance])) }
    },
    'GET /v1/frauds': async () => {
      await store.barrier()
      return { frauds: [...ledger.t.frauds.values()] }
    },
    'GET /v1/audit': async () => {
      await store.barrier()
      return ledger.audit()
    },
    'GET /v1/downtime': async (_b, q) => {
      await store.barrier()
      return { entries: ledger.downtimeLog(q.get('owner') ?? '', 0) }
    }
  }
  return { ledger, routes }
}
