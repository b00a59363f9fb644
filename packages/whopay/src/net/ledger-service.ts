// The broker side of WhoPay on libp2p: the ledger protocol over the core
// Ledger (purchase, the downtime transfer, deposit, renew, report, withdraw,
// an owner's sync), the group (set up on the judge's opener part, the
// registry, openings), and the coin states this broker keeps for the DHT.
// Every change is one synced batch before its answer; group signatures are
// checked in worker threads before the ledger runs.
import {
  ClientPool,
  Lifecycle,
  MAX_MONEY,
  P2payError,
  serveRpc,
  type Routes,
  type SchemeAudit,
  type SchemeService
} from '@p2pay/core'
import { groupPool } from '../core/group-pool.ts'
import { Ledger } from '../core/ledger.ts'
import { WHOPAY_KINDS, type WhopayKind } from '../kinds.ts'
import { LEDGER_TABLES } from '../tables.ts'
import { CoinStateClient } from './coin-state-client.ts'
import { COIN_STATE_KIND } from './coin-state-record.ts'
import { CoinStateStore, coinStateVerifier } from './coin-state-service.ts'
import { GroupService } from './group-service.ts'
import { GROUP_TABLES } from './group-tables.ts'
import { deposit, downtimeTransfer, purchase, renew } from './ledger-coins.ts'
import { needJudge, type LedgerComponents, type LedgerContext, type LedgerInit } from './ledger-context.ts'
import { CASE_RETRY_MS, retryCases } from './ledger-cases.ts'
import { openedCase, report, retryCase } from './ledger-fraud.ts'
import { sync, withdraw } from './ledger-purse.ts'
import { LEDGER_PROTOCOL, COIN_STATE_PROTOCOL } from './protocols.ts'
import { LEDGER_NET_TABLES } from './tables.ts'

/** an expired coin is still deposited or renewed for this long */
const DEPOSIT_GRACE_MS = 7 * 24 * 3600 * 1000

export class LedgerService implements SchemeService {
  readonly name = 'whopay'
  readonly tables = { ...LEDGER_TABLES, ...GROUP_TABLES, ...LEDGER_NET_TABLES }
  readonly kinds = [...WHOPAY_KINDS, COIN_STATE_KIND]
  private readonly c: LedgerComponents
  private readonly init: LedgerInit
  readonly life: Lifecycle
  private ctx?: LedgerContext
  private groupService?: GroupService
  private keepers?: ClientPool<string>
  private stateStore?: CoinStateStore

  constructor(components: LedgerComponents, init: LedgerInit) {
    this.c = components
    this.init = init
    this.life = new Lifecycle(components.logger)
  }

  get l(): LedgerContext {
    if (this.ctx == null) throw new Error('the WhoPay ledger is not started')
    return this.ctx
  }

  async start(): Promise<void> {
    const c = this.c
    const stateVerifier = coinStateVerifier(c.metrics)
    const now = this.init.now ?? Date.now
    const t = { ...(await c.store.tables(LEDGER_TABLES)), accounts: c.accounts }
    const ledger = new Ledger(t, c.signer, c.verifier, {
      coinTtlMs: this.init.coinTtlMs,
      maxCoinValue: MAX_MONEY,
      depositGraceMs: DEPOSIT_GRACE_MS,
      now
    })
    const group = new GroupService(c, { judge: this.init.judge, life: this.life })
    this.groupService = group
    await group.start()
    const { states, cases } = await c.store.tables(LEDGER_NET_TABLES)
    const store = new CoinStateStore({
      network: c.network,
      store: c.store,
      table: states,
      verifier: stateVerifier,
      broker: ledger.broker,
      life: this.life,
      log: c.logger,
      metrics: c.metrics as never
    })
    this.stateStore = store
    await store.serve()
    this.keepers = new ClientPool<string>(c.network, {
      protocol: COIN_STATE_PROTOCOL,
      metrics: c.metrics as never,
      signal: this.life.signal
    })
    // threads only at the first group signature to check, ended when idle (group-pool.ts)
    const crypto = groupPool()
    this.ctx = {
      ledger,
      store: c.store,
      c,
      init: this.init,
      log: c.logger,
      life: this.life,
      crypto,
      group: {
        gpk: () => group.group()?.gpk,
        open: async evidence => {
          return openedCase(await group.open(evidence))
        }
      },
      cases,
      states: new CoinStateClient({
        network: c.network,
        pool: this.keepers,
        local: store,
        verifier: stateVerifier,
        broker: ledger.broker,
        k: this.init.keepers,
        realtime: this.init.realtime,
        signal: this.life.signal,
        log: c.logger
      })
    }
    const l = this.ctx
    if (this.init.judge == null)
      c.logger.warn('WhoPay is hosted without --whopay-judge: its calls are refused until the broker has one')
    await serveRpc(
      c.network,
      LEDGER_PROTOCOL,
      {
        info: () => {
          needJudge(l)
          return { broker: ledger.broker, coinTtlMs: this.init.coinTtlMs, realtime: this.init.realtime }
        },
        purchase: async (args, { remotePeer }) => await purchase(l, remotePeer, args),
        // the broker's log names the remote peer of each holder call: a holder's fresh identity
        transfer: async (args, { remotePeer }) => await downtimeTransfer(l, args, remotePeer),
        deposit: async (args, { remotePeer }) => await deposit(l, args, remotePeer),
        renew: async (args, { remotePeer }) => await renew(l, args, remotePeer),
        report: async args => {
          needJudge(l)
          try {
            const f = await report(l, args.evidence)
            return { fraud: f.id, cheater: f.cheater, coin: f.coin, seq: f.seq }
          } catch (err) {
            // taken: the case is kept and convicted once the judge answers
            if (!(err instanceof P2payError && err.details?.pending === true)) throw err
            return { fraud: err.details.case, pending: true, coin: err.details.coin, seq: err.details.seq }
          }
        },
        withdraw: async args => await withdraw(l, args),
        purse: async args => {
          needJudge(l)
          await c.store.barrier()
          const key = typeof args.purse === 'string' ? args.purse : ''
          return { purse: key, balance: ledger.t.purses.get(key)?.balance ?? 0 }
        },
        sync: async (args, { remotePeer }) => await sync(l, remotePeer, args)
      },
      {
        metrics: c.metrics as never,
        life: this.life,
        onError: (err, op) => c.logger.child('ledger').error('rpc handler failed', { op, err })
      }
    )
    // cases found while the judge was down are convicted once it answers
    this.life.every(this.init.caseRetryMs ?? CASE_RETRY_MS, 'whopay fraud cases', async signal => {
      await retryCases(l, async k => await retryCase(l, k), signal)
    })
    c.metrics.gauge('whopay_coins', () => ledger.t.coins.size, 'WhoPay coins sold')
    c.metrics.gauge('whopay_frauds', () => ledger.t.frauds.size, 'WhoPay fraud records')
    c.metrics.gauge('whopay_states_kept', () => store.size, 'WhoPay coin states this broker keeps for the DHT')
  }

  async stop(): Promise<void> {
    await this.c.network.unhandle(LEDGER_PROTOCOL)
    await this.stateStore?.unserve()
    await this.groupService?.stop()
    await this.life.stop()
    await this.keepers?.close()
    await this.ctx?.crypto.close()
  }

  /** WhoPay's part of the conservation audit: coins sold and not deposited, and purse money, are its custody. */
  audit(): SchemeAudit {
    const a = this.l.ledger.audit()
    // under its own name: PPay's audit fields use the same words
    return { custody: a.custody, holds: a.holds, whopay: a }
  }

  routes(): Routes {
    const store = this.c.store
    const ledger = (): Ledger => this.l.ledger
    return {
      'GET /frauds': async () => {
        await store.barrier()
        return {
          frauds: [...ledger().t.frauds.values()],
          // every case found, its state: pending (the judge not reached yet), convicted, closed (with the reason)
          cases: [...this.l.cases.values()].map(k => ({
            case: k.id,
            coin: k.coin,
            gen: k.gen,
            seq: k.seq,
            state: k.state,
            compensate: k.honest !== undefined,
            attempts: k.attempts,
            ...(k.lastError !== undefined ? { lastError: k.lastError } : {}),
            ...(k.reason !== undefined ? { reason: k.reason } : {}),
            at: k.at
          }))
        }
      },
      'GET /coins': async () => {
        await store.barrier()
        return {
          coins: [...ledger().t.coins.values()].map(r => ({
            coin: r.coin,
            owner: r.owner,
            value: r.value,
            gen: r.gen,
            seq: r.seq,
            holder: r.holder,
            state: r.state,
            expiry: r.expiry
          })),
          purses: Object.fromEntries([...ledger().t.purses.entries()].map(([k, p]) => [k, p.balance]))
        }
      },
      ...this.groupService!.routes()
    }
  }

  status(): Record<string, unknown> {
    const t = this.l.ledger.t
    return {
      judge: this.init.judge?.id ?? null,
      realtime: this.init.realtime,
      coins: t.coins.size,
      frauds: t.frauds.size,
      ...this.groupService!.status()
    }
  }
}

export type { LedgerComponents, LedgerInit, WhopayKind }
