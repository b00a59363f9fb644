// The broker side of PPay on libp2p: a thin RPC layer over the Ledger. Every
// call runs the ledger synchronously inside `store.apply`, so its change is one
// batch on disk before the reply leaves. It also keeps the broker's accounts,
// where money enters (topup) and which the file market's AC shares.
import {
  checkPeerId,
  ErrorCode,
  Lifecycle,
  isMoney,
  P2payError,
  serveRpc,
  type AccountKeeper,
  type BaseComponents,
  type Routes,
  type SchemeAudit,
  type SchemeService
} from '@p2pay/core'
import { Ledger, refusal } from '../core/ledger.ts'
import type { CashResult, LedgerConfig } from '../core/ledger-records.ts'
import { PROTOCOL, type CoinProof } from '../core/types.ts'
import { PPAY_KINDS, type PPayKind } from '../kinds.ts'
import { LEDGER_TABLES } from './tables.ts'
import { upgradeLedgerRows } from './ledger-upgrade.ts'

export interface LedgerInit extends Omit<LedgerConfig, 'now'> {
  now?: () => number
  /** most coins one cash request may carry (its reply must fit one frame) */
  maxCashBatch: number
}

export type LedgerComponents = BaseComponents<PPayKind>

type CashItemResult = CashResult | { status: 'error'; code: string; message: string }

export class LedgerService implements SchemeService, AccountKeeper {
  readonly name = 'ppay'
  readonly tables = LEDGER_TABLES
  readonly kinds = PPAY_KINDS
  private readonly c: LedgerComponents
  private readonly init: LedgerInit
  readonly life: Lifecycle
  private ledgerOrUndefined?: Ledger

  constructor(components: LedgerComponents, init: LedgerInit) {
    this.c = components
    this.init = init
    this.life = new Lifecycle(components.logger)
  }

  /** The ledger, once started. */
  get ledger(): Ledger {
    if (this.ledgerOrUndefined == null) throw new Error('the PPay ledger is not started')
    return this.ledgerOrUndefined
  }

  async start(): Promise<void> {
    const t = await this.c.store.tables(LEDGER_TABLES)
    const upgraded = await upgradeLedgerRows(this.c.store, t)
    if (upgraded > 0) this.c.logger.child('ledger').info('ledger rows upgraded', { rows: upgraded })
    const ledger = new Ledger(t, this.c.signer, this.c.verifier, { ...this.init, now: this.init.now ?? Date.now })
    this.ledgerOrUndefined = ledger
    const store = this.c.store
    await serveRpc(
      this.c.network,
      PROTOCOL.broker,
      {
        info: () => ({ broker: ledger.broker, maxLayers: this.init.maxLayers }),
        balance: async (_args, { remotePeer }) => {
          await store.barrier()
          return { account: remotePeer, balance: ledger.balance(remotePeer) }
        },
        buy: async args => await store.apply(() => ledger.buy(args.buy)),
        cash: async args => {
          const items = args.items
          const max = this.init.maxCashBatch
          if (!Array.isArray(items) || items.length === 0 || items.length > max) {
            throw new P2payError(ErrorCode.BAD_REQUEST, `items must be a list of 1..${max} {proof, cash}`)
          }
          // each item is its own atomic change; group commit writes them as one synced batch
          return { results: await Promise.all(items.map(async item => await this.cashOne(item))) }
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
      {
        metrics: this.c.metrics,
        life: this.life,
        onError: (err, op) => this.c.logger.child('ledger').error('rpc handler failed', { op, err })
      }
    )
    this.c.metrics.gauge('accounts', () => ledger.t.accounts.size, 'Accounts at the broker')
    this.c.metrics.gauge('coins_issued', () => ledger.t.coins.size, 'Coins sold')
    this.c.metrics.gauge('fraud_proofs', () => ledger.t.frauds.size, 'Fraud proofs recorded')
  }

  async stop(): Promise<void> {
    await this.c.network.unhandle(PROTOCOL.broker)
    await this.life.stop()
  }

  private async cashOne(item: { proof: CoinProof; cash: string }): Promise<CashItemResult> {
    try {
      return await this.c.store.apply(() => this.ledger.cash(item?.proof, item?.cash))
    } catch (err) {
      if (err instanceof P2payError) return { status: 'error', code: err.code, message: err.message }
      throw err
    }
  }

  // ---- the broker's accounts ----

  async topup(account: unknown, amount: unknown): Promise<{ account: string; balance: number }> {
    const r = await this.c.store.apply(() => this.ledger.topup(account as string, amount as number))
    this.c.logger.child('accounts').info('topup', { account, amount })
    return r
  }

  async balance(account: string): Promise<number> {
    await this.c.store.barrier()
    return this.ledger.balance(account)
  }

  async balances(): Promise<Record<string, number>> {
    await this.c.store.barrier()
    return Object.fromEntries([...this.ledger.t.accounts.entries()].map(([k, v]) => [k, v.balance]))
  }

  totals(): { toppedUp: number; balances: number } {
    const { toppedUp, balances } = this.ledger.audit()
    return { toppedUp, balances }
  }

  /**
   * PPay's part of the broker's conservation audit: the unpaid coins are in its
   * custody; its own books hold when every balance is a whole amount within
   * 0..MAX_MONEY.
   */
  audit(): SchemeAudit {
    const { outstanding, accounts, coins, frauds } = this.ledger.audit()
    const holds = [...this.ledger.t.accounts.values()].every(a => isMoney(a.balance))
    return { custody: outstanding, holds, outstanding, accounts, coins, frauds }
  }

  routes(): Routes {
    const store = this.c.store
    return {
      'GET /frauds': async () => {
        await store.barrier()
        return { frauds: [...this.ledger.t.frauds.values()] }
      },
      'GET /downtime': async (_b, q) => {
        await store.barrier()
        return { entries: this.ledger.downtimeLog(checkPeerId(q.get('owner'), 'owner'), 0) }
      }
    }
  }

  status(): Record<string, unknown> {
    const t = this.ledger.t
    return { accounts: t.accounts.size, coins: t.coins.size, frauds: t.frauds.size }
  }
}
