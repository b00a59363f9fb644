// The node side of AggSign on libp2p: certifies this node's key at the broker,
// mints under the certificate, pays by adding layers, accepts coins as a payee,
// renews coins past the layer limit (as their holder and as their minter) and
// cashes at the broker. The work is in the wallet-* files; this is the
// service's face: its lifecycle, its retry loop and its control-API routes.
import { ClientPool, ErrorCode, Lifecycle, fail, isMoney, serveRpc, type Routes, type SchemeService } from '@p2pay/core'
import { Wallet } from '../core/wallet.ts'
import type { WireCoin } from '../core/messages.ts'
import { AGGSIGN_KINDS, type AggsignKind } from '../kinds.ts'
import { WALLET_TABLES } from '../tables.ts'
import { ACK_KIND, PROTOCOL } from './protocol.ts'
import { WALLET_NET_TABLES } from './tables.ts'
import { cash } from './wallet-cashing.ts'
import { count, type WalletComponents, type WalletContext, type WalletInit } from './wallet-context.ts'
import { deliver, pay, payMany } from './wallet-payments.ts'
import { renew, sendRenewal } from './wallet-renewals.ts'

const MAX_MINT_COUNT = 1000
/** coins paid on, kept as they were before for the cheat routes */
const MAX_KEPT_BEFORE = 4096

export class WalletService implements SchemeService {
  readonly name = 'aggsign'
  readonly tables = { ...WALLET_TABLES, ...WALLET_NET_TABLES }
  readonly kinds = AGGSIGN_KINDS
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

  get w(): WalletContext {
    if (this.ctx == null) throw new Error('the AggSign wallet is not started')
    return this.ctx
  }

  async start(): Promise<void> {
    const t = await this.c.store.tables(WALLET_TABLES)
    const { outbox, certifying, renewing } = await this.c.store.tables(WALLET_NET_TABLES)
    const cfg = { broker: this.c.broker.id, maxLayers: this.init.maxLayers, now: this.init.now ?? Date.now }
    const pool = (protocol: string): ClientPool<AggsignKind> =>
      new ClientPool<AggsignKind>(this.c.network, { protocol, metrics: this.c.metrics, signal: this.life.signal })
    const w: WalletContext = {
      wallet: new Wallet(t, this.c.network.peerId.toString(), this.c.verifier, cfg),
      outbox,
      certifying,
      renewing,
      store: this.c.store,
      c: this.c,
      log: this.c.logger,
      life: this.life,
      init: this.init,
      broker: pool(PROTOCOL.broker),
      payees: pool(PROTOCOL.pay)
    }
    this.ctx = w
    await serveRpc(
      this.c.network,
      PROTOCOL.pay,
      {
        cert: () => {
          const certificate = w.wallet.t.key.get('key')?.cert
          if (certificate == null) fail(ErrorCode.NOT_FOUND, 'this node has no AggSign certificate: it cannot be paid')
          return { certificate }
        },
        deliver: async (args, { remotePeer }) => {
          const r = await w.store.apply(() => w.wallet.accept(args.coin, args.certs))
          count(w, 'aggsign-pay', r.counts)
          if (!r.duplicate)
            w.log.child('payee').info('paid', { coin: r.id, value: r.value, depth: r.depth, from: remotePeer })
          return { coin: r.id, value: r.value, depth: r.depth, duplicate: r.duplicate }
        },
        // this node minted the coin: it takes it back and pays a fresh one (the same one to a repeat)
        renew: async (args, { remotePeer }) => {
          const r = await w.store.apply(() => w.wallet.renew(args.coin, args.certs))
          count(w, 'aggsign-renew', r.counts)
          if (!r.duplicate)
            w.log.child('minter').info('renewed', { old: r.old, coin: r.id, value: r.value, for: remotePeer })
          return { old: r.old, coin: r.coin, certs: w.wallet.certificatesOf(r.coin), value: r.value }
        }
      },
      {
        metrics: this.c.metrics,
        life: this.life,
        // the payee's answer is counted apart from the payment (see ACK_KIND)
        kindOf: k => (k === 'aggsign-pay' ? ACK_KIND : k),
        onError: (err, op) => w.log.child('payee').error('rpc handler failed', { op, err })
      }
    )
    this.life.every(this.init.retryIntervalMs, 'aggsign retries', async () => {
      await this.retryPending()
    })
  }

  /** For the cheat routes: from now on, keep each coin as it was before this node paid it on. */
  keepCoinsBefore(): void {
    this.w.before ??= new BoundedMap<string, WireCoin>(MAX_KEPT_BEFORE)
  }

  async stop(): Promise<void> {
    if (this.ctx == null) return
    await this.c.network.unhandle(PROTOCOL.pay)
    await this.life.stop()
    await Promise.all([this.ctx.broker.close(), this.ctx.payees.close()])
  }

  /** Sends again every coin paid on whose payee has not answered, and every renewal its minter has not. */
  async retryPending(): Promise<{ delivered: number; waiting: number }> {
    let delivered = 0
    if (this.retrying) return { delivered, waiting: this.w.outbox.size }
    this.retrying = true
    try {
      for (const d of [...this.w.outbox.values()]) {
        if (this.life.stopped) break
        if (d.refused != null) continue
        // a coin just queued is being sent by its own payment
        if (d.attempts === 0 && Date.now() - d.at < this.init.payTimeoutMs) continue
        await deliver(this.w, d.id).then(
          () => delivered++,
          () => {}
        )
      }
      for (const r of [...this.w.renewing.values()]) {
        if (this.life.stopped) break
        if (r.renewed != null || r.refused != null) continue
        if (r.attempts === 0 && Date.now() - r.at < this.init.payTimeoutMs) continue
        await sendRenewal(this.w, r.id).then(
          () => delivered++,
          () => {}
        )
      }
    } finally {
      this.retrying = false
    }
    return { delivered, waiting: [...this.w.outbox.values()].filter(d => d.refused == null).length }
  }

  private async certify(limit: unknown, ttlIn: unknown): Promise<{ cert: string; limit: number; expiry: number }> {
    const w = this.w
    if (!isMoney(limit) || limit < 1) fail(ErrorCode.BAD_REQUEST, 'limit must be a positive amount')
    if (ttlIn != null && (!Number.isSafeInteger(ttlIn) || (ttlIn as number) < 1))
      fail(ErrorCode.BAD_REQUEST, 'ttlMs must be a positive integer')
    const had = w.wallet.t.key.get('key')
    if (had?.certHash != null)
      fail(ErrorCode.REPLAY, 'this node is certified already', {
        cert: had.certHash,
        limit: had.limit,
        expiry: had.expiry
      })
    const kind = 'aggsign-certify'
    // a request whose answer was lost goes again with the same terms: the broker answers it with the same certificate
    const pending = w.certifying.get('request')
    const ttl = async (): Promise<number> =>
      (ttlIn as number | undefined) ??
      (await w.broker.call<{ certTtlMs: number }>(this.c.broker, 'info', {}, { kind })).certTtlMs
    const again = pending?.limit === limit && pending.expiry > Date.now()
    const expiry = again ? pending.expiry : Date.now() + (await ttl())
    const req = await w.store.apply(() => {
      w.certifying.set('request', { limit, expiry })
      return w.wallet.certRequest(limit, expiry)
    })
    this.c.metrics.signed(kind) // the proof of possession
    const { key, pop } = req
    const r = await w.broker.call<{ certificate: string }>(
      this.c.broker,
      'certify',
      { key, pop, limit, expiry },
      { kind }
    )
    const c = await w.store.apply(() => {
      const info = w.wallet.addCertificate(r.certificate)
      w.certifying.delete('request')
      return info
    })
    this.c.metrics.verified(kind)
    return { cert: c.hash, limit: c.limit, expiry: c.expiry }
  }

  private async mint(value: unknown, n: unknown): Promise<{ coins: Array<{ id: string; value: number }> }> {
    const howMany = n ?? 1
    if (!Number.isSafeInteger(howMany) || (howMany as number) < 1 || (howMany as number) > MAX_MINT_COUNT)
      fail(ErrorCode.BAD_REQUEST, `count must be 1..${MAX_MINT_COUNT}`)
    const made = await this.w.store.apply(() =>
      Array.from({ length: howMany as number }, () => this.w.wallet.mint(value))
    )
    for (const r of made) count(this.w, 'aggsign-mint', r.counts)
    return { coins: made.map(r => ({ id: r.id, value: r.coin.mint.value })) }
  }

  /** The wallet's coins by state, and what it holds. */
  coins(): Record<string, unknown> {
    const w = this.w
    const all = [...w.wallet.t.held.values()]
    const row = (h: (typeof all)[number]): Record<string, unknown> => ({
      id: h.id,
      value: h.value,
      layers: h.depth,
      expiry: h.expiry,
      holder: h.coin.layers.at(-1)?.toPeer ?? w.wallet.peer
    })
    const pending = [...w.outbox.values()]
    const waiting = new Set(pending.map(d => d.id))
    const renewals = [...w.renewing.values()]
    return {
      held: all.filter(h => h.status === 'held').map(row),
      pending: pending.map(d => ({
        id: d.id,
        value: d.value,
        layers: d.coin.layers.length,
        to: d.to,
        attempts: d.attempts,
        ...(d.refused != null ? { refused: d.refused } : {})
      })),
      spent: all.filter(h => h.status === 'spent' && !waiting.has(h.id)).map(row),
      cashed: all.filter(h => h.status === 'cashed').map(row),
      renewing: renewals
        .filter(r => r.renewed == null)
        .map(r => ({
          id: r.id,
          value: r.value,
          minter: r.to,
          attempts: r.attempts,
          ...(r.refused != null ? { refused: r.refused } : {})
        })),
      renewed: renewals.flatMap(r => (r.renewed != null ? [{ id: r.id, value: r.value, coin: r.renewed }] : [])),
      minted: w.wallet.t.minted.size,
      balance: w.wallet.balance()
    }
  }

  status(): Record<string, unknown> {
    const k = this.w.wallet.t.key.get('key')
    return {
      broker: this.c.broker.id,
      cert: k?.certHash ?? null,
      limit: k?.limit ?? 0,
      minted: k?.minted ?? 0,
      balance: this.w.wallet.balance(),
      pending: this.w.outbox.size
    }
  }

  routes(): Routes {
    const w = this.w
    return {
      'POST /certify': async b => await this.certify(b.limit, b.ttlMs),
      'POST /mint': async b => await this.mint(b.value, b.count),
      'POST /pay': async b => await pay(w, b.to, b.amount, b.coin),
      'POST /pay-many': async b => await payMany(w, b.to, b.value, b.count, b.concurrency),
      'POST /cash': async b => await cash(w, b.coin, b.concurrency),
      'POST /renew': async b => await renew(w, b.coin, b.minter),
      'POST /retry': async () => await this.retryPending(),
      'GET /coins': async () => {
        await w.store.barrier()
        return this.coins()
      },
      'GET /status': () => this.status()
    }
  }
}

/** A map that forgets its oldest entry past `max`. */
class BoundedMap<K, V> extends Map<K, V> {
  private readonly max: number
  constructor(max: number) {
    super()
    this.max = max
  }

  override set(k: K, v: V): this {
    this.delete(k)
    super.set(k, v)
    if (this.size > this.max) this.delete(this.keys().next().value as K)
    return this
  }
}
