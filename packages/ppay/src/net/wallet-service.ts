// The peer side of PPay on libp2p: pays, answers reassignment requests as an
// owner, accepts payments, spends held coins (via the owner, via the broker's
// downtime path when the owner is unreachable, or by adding a layer) and cashes.
// The work is in the wallet-* files; this is the service's face: its
// lifecycle, its retry loop and its control-API routes.
//
// Order of work for anything that moves value: sign and record locally (one
// batch) first, then talk to the network, so a crash never loses a signature
// this node gave out; deliveries that fail wait in an outbox and are retried.
import { ClientPool, Lifecycle, checkAddrs, textOf, type Routes, type SchemeService } from '@p2pay/core'
import { Wallet } from '../core/wallet.ts'
import { PROTOCOL } from '../core/types.ts'
import { PPAY_KINDS, type PPayKind } from '../kinds.ts'
import { WALLET_TABLES } from './tables.ts'
import { buy, completeBuy } from './wallet-buy.ts'
import { cash, refund } from './wallet-cashing.ts'
import { callBroker, type WalletComponents, type WalletContext, type WalletInit } from './wallet-context.ts'
import { deliverQueued } from './wallet-deliveries.ts'
import { serveWallet, unserveWallet } from './wallet-owner.ts'
import { pay, payMany, spendHeld } from './wallet-payments.ts'
import { sync } from './wallet-sync.ts'

/** the downtime log is pulled every this many retry ticks, so conflicts reach the broker without a restart */
const SYNC_EVERY_TICKS = 6

const addrsOf = (b: Record<string, unknown>): string[] => checkAddrs(b.addrs, 'addrs')

export class WalletService implements SchemeService {
  readonly name = 'ppay'
  readonly tables = WALLET_TABLES
  readonly kinds = PPAY_KINDS
  private readonly c: WalletComponents
  private readonly init: WalletInit
  readonly life: Lifecycle
  private ctx?: WalletContext
  private retrying = false

  constructor(components: WalletComponents, init: WalletInit) {
    this.c = components
    this.init = init
    this.life = new Lifecycle(components.logger)
  }

  /** What the wallet's parts share, once started. */
  get w(): WalletContext {
    if (this.ctx == null) throw new Error('the PPay wallet is not started')
    return this.ctx
  }

  get wallet(): Wallet {
    return this.w.wallet
  }

  async start(): Promise<void> {
    const t = await this.c.store.tables(WALLET_TABLES)
    const cfg = { broker: this.c.broker.id, maxLayers: this.init.maxLayers, now: this.init.now ?? Date.now }
    const pool = (protocol: string): ClientPool<PPayKind> =>
      new ClientPool<PPayKind>(this.c.network, { protocol, metrics: this.c.metrics, signal: this.life.signal })
    this.ctx = {
      wallet: new Wallet(t, this.c.signer, this.c.verifier, cfg),
      store: this.c.store,
      c: this.c,
      log: this.c.logger,
      life: this.life,
      init: this.init,
      broker: pool(PROTOCOL.broker),
      payees: pool(PROTOCOL.pay),
      owners: pool(PROTOCOL.reassign)
    }
    await serveWallet(this.ctx)
    // a first sync and retry at once, then every interval
    let ticks = 0
    this.life.every(
      this.init.retryIntervalMs,
      'ppay retries',
      async () => {
        if (ticks++ % SYNC_EVERY_TICKS === 0) await sync(this.w).catch(() => {})
        await this.retryPending()
      },
      { immediately: true }
    )
  }

  async stop(): Promise<void> {
    if (this.ctx == null) return
    await unserveWallet(this.ctx)
    await this.life.stop()
    await Promise.all([this.ctx.broker.close(), this.ctx.payees.close(), this.ctx.owners.close()])
  }

  /** Retries what a crash or an unreachable peer left half-done. */
  async retryPending(): Promise<void> {
    if (this.retrying) return
    this.retrying = true
    const w = this.w
    try {
      for (const p of [...w.wallet.t.pendingBuys.values()]) await completeBuy(w, p.nonce, p.buy).catch(() => {})
      for (const h of [...w.wallet.t.held.values()]) {
        if (h.status === 'spending' && h.request != null) await spendHeld(w, h.key, h.request.to, []).catch(() => {})
      }
      for (const d of [...w.wallet.t.outbox.values()]) {
        if (this.life.stopped) return
        await deliverQueued(w, d.id, 'pay')
      }
      const refunds = [...w.wallet.t.owned.values()].filter(c => c.refund != null && c.refunded == null).map(c => c.sn)
      if (refunds.length > 0) await refund(w, refunds).catch(() => {})
    } finally {
      this.retrying = false
    }
  }

  async brokerBalance(): Promise<number> {
    return (await callBroker<{ balance: number }>(this.w, 'balance', {}, 'balance')).balance
  }

  /** The wallet's contents in counts and values. */
  summary(): Record<string, unknown> {
    const wallet = this.w.wallet
    const owned = [...wallet.t.owned.values()]
    const held = [...wallet.t.held.values()]
    const sum = (xs: Array<{ value: number }>): number => xs.reduce((n, x) => n + x.value, 0)
    const withStatus = (s: string): typeof held => held.filter(h => h.status === s)
    return {
      ownedUnassigned: { count: wallet.spendableOwned().length, value: sum(wallet.spendableOwned()) },
      ownedAssigned: owned.filter(c => c.seq > 0).length,
      held: { count: withStatus('held').length, value: sum(withStatus('held')) },
      spent: withStatus('spent').length,
      cashed: { count: withStatus('cashed').length, value: sum(withStatus('cashed')) },
      pendingDeliveries: wallet.t.outbox.size,
      pendingBuys: wallet.t.pendingBuys.size
    }
  }

  status(): Record<string, unknown> {
    return { broker: this.c.broker.id, wallet: this.summary() }
  }

  routes(): Routes {
    const w = this.w
    return {
      'POST /buy': async b => await buy(w, b.count, b.value),
      // `id`: the payments journal's entry, written on the rows of the coins signed
      'POST /pay': async b =>
        await pay(w, textOf(b.to), b.amount, {
          layered: b.layered === true,
          addrs: addrsOf(b),
          ...(typeof b.id === 'string' ? { payment: b.id } : {})
        }),
      'POST /pay-many': async b =>
        await payMany(w, textOf(b.to), b.value, b.count, {
          concurrency: b.concurrency,
          batch: b.batch,
          layered: b.layered === true,
          addrs: addrsOf(b)
        }),
      'POST /cash': async () => await cash(w),
      'POST /refund': async b => await refund(w, Array.isArray(b.sns) ? b.sns.map(textOf) : undefined),
      'POST /sync': async () => await sync(w),
      'POST /retry': async () => {
        await this.retryPending()
        return this.summary()
      },
      'GET /balance': async () => ({
        account: w.wallet.me,
        broker: await this.brokerBalance(),
        wallet: this.summary()
      }),
      'GET /status': () => this.status(),
      'GET /coins': async () => {
        await w.store.barrier()
        return {
          owned: [...w.wallet.t.owned.values()].map(c => ({
            sn: c.sn,
            value: c.value,
            expiry: c.expiry,
            seq: c.seq,
            holder: c.holder,
            refunded: c.refund != null
          })),
          held: [...w.wallet.t.held.values()].map(h => ({
            key: h.key,
            sn: h.sn,
            value: h.value,
            owner: h.owner,
            seq: h.seq,
            depth: h.depth,
            status: h.status,
            from: h.from
          }))
        }
      },
      'GET /trail': async (_b, q) => ({ sn: q.get('sn'), trail: w.wallet.trailOf(q.get('sn') ?? '') })
    }
  }
}
