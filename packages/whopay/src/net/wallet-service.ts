// The node side of WhoPay on libp2p: joins the group, buys coins as owner and
// answers holders' transfer requests, accepts coins as payee, pays (issues
// owned coins, transfers held ones through fresh identities), deposits,
// renews and withdraws; keeps the coin states of the DHT it is near. The work
// is in the wallet-* files; this is the service's face: its lifecycle, its
// retry loop and its control-API routes.
import { ClientPool, ErrorCode, Lifecycle, serveRpc, type Routes, type SchemeService } from '@p2pay/core'
import { groupPool } from '../core/group-pool.ts'
import { OwnerBook } from '../core/owner.ts'
import { Wallet } from '../core/wallet.ts'
import { WHOPAY_KINDS, type WhopayKind } from '../kinds.ts'
import { OWNER_TABLES, WALLET_TABLES } from '../tables.ts'
import { CoinStateClient } from './coin-state-client.ts'
import { CoinStateStore, coinStateVerifier } from './coin-state-service.ts'
import { GroupClient } from './group-client.ts'
import { MEMBER_TABLES } from './group-tables.ts'
import { COIN_STATE_PROTOCOL, LEDGER_PROTOCOL, OWNER_PROTOCOL, PAY_PROTOCOL } from './protocols.ts'
import { WALLET_NET_TABLES } from './tables.ts'
import { buy, completeBuy } from './wallet-buy.ts'
import {
  ACK_KIND,
  SIDE_KINDS,
  backend,
  errorOf,
  type WalletComponents,
  type WalletContext,
  type WalletInit
} from './wallet-context.ts'
import { deposit, send as sendDeposit } from './wallet-deposit.ts'
import { outboxOf } from './wallet-evidence.ts'
import { answerTransfer } from './wallet-owner.ts'
import { acceptDelivery, invoice } from './wallet-payee.ts'
import { active, end, pay, payDeadlineMs, payMany, resume } from './wallet-payments.ts'
import { purseKey, withdraw } from './wallet-purse.ts'
import { renew, send as sendRenewal } from './wallet-renew.ts'
import { sync } from './wallet-sync.ts'

/** the broker's record of this owner's coins is pulled every this many retry ticks */
const SYNC_EVERY_TICKS = 6
/** renewals the retry loop starts per tick at most */
const RENEW_PER_TICK = 8

/** Whether generation `gen` of `coin` came from a renewal this wallet asked for. */
const renewedHere = (w: WalletContext, coin: string, gen: number): boolean =>
  [...w.wallet.t.held.values()].some(x => x.coin === coin && x.gen === gen - 1 && x.status === 'renewed')

export class WalletService implements SchemeService {
  readonly name = 'whopay'
  readonly tables = { ...OWNER_TABLES, ...WALLET_TABLES, ...WALLET_NET_TABLES, ...MEMBER_TABLES }
  readonly kinds = [...WHOPAY_KINDS, ...SIDE_KINDS]
  private readonly c: WalletComponents
  private readonly init: WalletInit
  readonly life: Lifecycle
  private ctx?: WalletContext
  private retrying = false
  private stateStore?: CoinStateStore
  private keepers?: ClientPool<string>

  constructor(components: WalletComponents, init: WalletInit) {
    this.c = components
    this.init = init
    this.life = new Lifecycle(components.logger)
  }

  get w(): WalletContext {
    if (this.ctx == null) throw new Error('the WhoPay wallet is not started')
    return this.ctx
  }

  async start(): Promise<void> {
    const c = this.c
    const stateVerifier = coinStateVerifier(c.metrics)
    const t = await c.store.tables(WALLET_NET_TABLES)
    const now = this.init.now ?? Date.now
    const owner = new OwnerBook(await c.store.tables(OWNER_TABLES), c.signer, c.verifier, c.broker.id, now)
    const wallet = new Wallet(await c.store.tables(WALLET_TABLES), {
      verifier: c.verifier,
      backend,
      broker: c.broker.id,
      now,
      metrics: c.metrics as never
    })
    // threads only at the first group signature, ended when idle (group-pool.ts); the group and member key checks of
    // a join run there too, so this thread never loads mcl-wasm
    const crypto = groupPool()
    const group = new GroupClient(c, { broker: c.broker, judge: this.init.judge, checks: crypto })
    await group.start()
    const stateStore = new CoinStateStore({
      network: c.network,
      store: c.store,
      table: t.states,
      verifier: stateVerifier,
      broker: c.broker.id,
      life: this.life,
      log: c.logger,
      metrics: c.metrics as never
    })
    this.stateStore = stateStore
    await stateStore.serve()
    const pool = <K extends string>(protocol: string): ClientPool<K> =>
      new ClientPool<K>(c.network, { protocol, metrics: c.metrics as never, signal: this.life.signal })
    this.keepers = pool<string>(COIN_STATE_PROTOCOL)
    const w: WalletContext = {
      owner,
      wallet,
      t,
      store: c.store,
      c,
      init: this.init,
      log: c.logger,
      life: this.life,
      crypto,
      group,
      states: new CoinStateClient({
        network: c.network,
        pool: this.keepers,
        local: stateStore,
        verifier: stateVerifier,
        broker: c.broker.id,
        k: this.init.keepers,
        realtime: this.init.realtime,
        signal: this.life.signal,
        log: c.logger
      }),
      me: c.network.peerId.toString(),
      broker: pool<WhopayKind>(LEDGER_PROTOCOL),
      payees: pool<WhopayKind>(PAY_PROTOCOL),
      busy: new Set()
    }
    this.ctx = w
    const opts = (scope: string): Parameters<typeof serveRpc>[3] => ({
      metrics: c.metrics as never,
      life: this.life,
      // the answers are counted apart from the transactions' own messages (Table I: request and delivery)
      kindOf: k => (k === 'whopay-invoice' ? k : ACK_KIND),
      onError: (err, op) => c.logger.child(scope).error('rpc handler failed', { op, err })
    })
    await serveRpc(
      c.network,
      OWNER_PROTOCOL,
      { transfer: async (args, { remotePeer }) => await answerTransfer(w, args, remotePeer) },
      opts('owner')
    )
    await serveRpc(
      c.network,
      PAY_PROTOCOL,
      {
        invoice: async args => await invoice(w, args),
        deliver: async (args, { remotePeer }) => await acceptDelivery(w, args, remotePeer)
      },
      opts('payee')
    )
    let ticks = 0
    this.life.every(this.init.retryIntervalMs, 'whopay retries', async () => {
      if (ticks++ % SYNC_EVERY_TICKS === 0 && w.group.membership() != null) await sync(w).catch(() => {})
      await this.retryPending()
      // evidence found while the broker could not be reached
      await outboxOf(w).resend()
    })
    c.metrics.gauge('whopay_states_kept', () => stateStore.size, 'WhoPay coin states this node keeps for the DHT')
  }

  async stop(): Promise<void> {
    if (this.ctx == null) return
    await this.c.network.unhandle([OWNER_PROTOCOL, PAY_PROTOCOL])
    await this.stateStore?.unserve()
    await this.life.stop()
    await Promise.all([this.ctx.broker.close(), this.ctx.payees.close(), this.keepers?.close()])
    await this.ctx.group.stop()
    await this.ctx.crypto.close()
  }

  /** Finishes what a crash, a lost answer or an unreachable peer left: purchases, payments, deposits, renewals. */
  async retryPending(): Promise<{ done: number; waiting: number }> {
    const w = this.w
    let done = 0
    if (this.retrying) return { done, waiting: w.t.pending.size }
    this.retrying = true
    try {
      for (const p of [...w.t.pending.values()]) {
        if (this.life.stopped) break
        if (p.refused != null) continue
        // one just written is being sent by its own call
        if (p.attempts === 0 && Date.now() - p.at < this.init.payTimeoutMs) continue
        // a payment has a deadline: past it, it ends (its coin left to the payee or held again), but a transfer
        // request out unanswered is sent again until the owner or the broker answers it (see `failed`)
        const requestOut = p.kind === 'transfer' && p.request != null && p.answer == null
        if (
          (p.kind === 'issue' || p.kind === 'transfer') &&
          !requestOut &&
          Date.now() > p.at + payDeadlineMs(this.init)
        ) {
          await end(w, p, { code: ErrorCode.TIMEOUT, message: 'not acknowledged by its deadline' })
          continue
        }
        const step =
          p.kind === 'buy'
            ? completeBuy(w, p.id)
            : p.kind === 'deposit'
              ? sendDeposit(w, p)
              : p.kind === 'renew'
                ? sendRenewal(w, p)
                : resume(w, p)
        await step.then(
          () => done++,
          (err: unknown) => w.log.child('retry').debug('still pending', { id: p.id, kind: p.kind, err: errorOf(err) })
        )
      }
    } finally {
      this.retrying = false
    }
    await this.renewDue()
    return { done, waiting: [...w.t.pending.values()].filter(p => p.refused == null).length }
  }

  /**
   * Renews held coins that expire within `renewBeforeMs` (a coin past its expiry and the broker's grace is lost),
   * a few per tick; one whose renewal the broker refused is not asked again (its holder still may, by hand), nor
   * one this wallet renewed that came back within the margin (the broker's coin lifetime is shorter than it).
   */
  private async renewDue(): Promise<number> {
    const w = this.w
    const margin = this.init.renewBeforeMs
    if (margin == null || this.life.stopped || w.group.membership() == null) return 0
    const due = w.wallet
      .spendable()
      .filter(h => h.expiry - Date.now() < margin && !active(w, h.key) && !w.busy.has(h.key))
      .filter(h => !(w.t.pending.get(h.key)?.kind === 'renew'))
      .filter(h => !(h.expiry - h.at < margin && renewedHere(w, h.coin, h.gen)))
      .slice(0, RENEW_PER_TICK)
    let n = 0
    for (const h of due) {
      if (this.life.stopped) break
      await renew(w, h.coin).then(
        () => n++,
        (err: unknown) => w.log.child('renew').info('renewal not done', { coin: h.coin, err: errorOf(err) })
      )
    }
    return n
  }

  /** The wallet's coins by state, and the purse. */
  async coins(): Promise<Record<string, unknown>> {
    const w = this.w
    await w.store.barrier()
    const now = Date.now()
    const held = [...w.wallet.t.held.values()]
    const row = (h: (typeof held)[number]): Record<string, unknown> => ({
      coin: h.coin,
      key: h.key,
      value: h.value,
      gen: h.gen,
      seq: h.seq,
      expiry: h.expiry,
      status: h.status
    })
    const pending = [...w.t.pending.values()]
    return {
      owned: [...w.owner.t.coins.values()].map(o => ({
        coin: o.coin,
        value: o.value,
        gen: o.gen,
        seq: o.seq,
        holder: o.holder,
        expiry: o.expiry,
        state: w.t.ownSpent.has(o.coin) ? 'deposited' : o.seq === 0 && o.gen === 0 ? 'unspent' : 'passed on',
        expired: o.expiry <= now
      })),
      held: held.filter(h => h.status === 'held').map(row),
      pending: pending.map(p => ({
        id: p.id,
        coin: p.coin,
        kind: p.kind,
        value: p.value,
        to: p.to,
        attempts: p.attempts,
        answered: p.answer != null,
        ...(p.refused != null ? { refused: p.refused } : {})
      })),
      spent: held.filter(h => h.status !== 'held' && h.status !== 'spending').map(row),
      purse: {
        key: w.wallet.t.purse.get('purse')?.key ?? null,
        // what this node sent into it (the broker's figure may add compensations and take withdrawals)
        deposited: held.filter(h => h.status === 'deposited').reduce((n, h) => n + h.value, 0)
      }
    }
  }

  status(): Record<string, unknown> {
    const w = this.w
    return {
      broker: this.c.broker.id,
      judge: this.init.judge?.id ?? null,
      joined: w.group.membership() != null,
      realtime: this.init.realtime,
      owned: w.owner.t.coins.size,
      held: w.wallet.spendable().length,
      pending: w.t.pending.size
    }
  }

  routes(): Routes {
    const w = this.w
    return {
      'POST /join': async () => {
        await w.group.join(w.life.signal)
        return { joined: true, purse: await purseKey(w) }
      },
      'POST /buy': async b => await buy(w, b.value, b.count),
      'POST /pay': async b => await pay(w, b.to, b.amount),
      'POST /pay-many': async b => await payMany(w, b.to, b.value, b.count, b.concurrency),
      'POST /deposit': async b => await deposit(w, b.coin),
      'POST /renew': async b => await renew(w, b.coin),
      'POST /withdraw': async b => await withdraw(w, b.amount),
      'POST /sync': async () => await sync(w),
      'POST /retry': async () => await this.retryPending(),
      'GET /coins': async () => await this.coins(),
      'GET /status': () => this.status()
    }
  }
}
