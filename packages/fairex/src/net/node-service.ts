// The file market inside `p2pay node`: sharing files, selling them piece by
// piece (provider), buying them (downloader), disputes at the TTP, complaints to
// the judge, deposits at the accounting centre, and honouring ban records. The
// work is in the files named after each concern; this is the service's face:
// its lifecycle, its retry loop and its control-API routes.
//
// What a party must not lose is persisted before the message that depends on
// it: the provider's deposit item before it sends the key (2.4), the
// downloader's evidence before it sends its signature (2.3).
import {
  ClientPool,
  Lifecycle,
  asError,
  checkAddrs,
  party,
  textOf,
  type Party,
  type Routes,
  type SchemeService
} from '@p2pay/core'
import { chequeKey } from '../core/messages.ts'
import { FAIREX_KINDS, type FairexKind } from '../kinds.ts'
import { BanCache } from './bans.ts'
import { CertificateWallet } from './certificates.ts'
import { catalogOf, sellable, serveCatalog, share, unsellableReason } from './catalog.ts'
import { autoDeposit, deposit } from './deposits.ts'
import { complain, failInterrupted, retryUnfinished } from './key-recovery.ts'
import type { FairexNodeComponents, FairexNodeInit, NodeContext } from './node-context.ts'
import { FAIREX_PROTOCOL } from './protocols.ts'
import { buy } from './sale-downloader.ts'
import { serveSales } from './sale-provider.ts'
import { MAX_COMPLAINT_FRAME, MAX_SALE_FRAME, STEP_TIMEOUT_MS } from './sale-stream.ts'
import { FAIREX_NODE_TABLES } from './tables.ts'

/** The provider a buyer names: a peer id or multiaddr, or a peer id and the addresses it listens on. */
function providerOf(b: Record<string, any>): Party {
  const p = party(b.provider, 'provider')
  const addrs = checkAddrs(b.addrs, 'addrs')
  return addrs.length > 0 ? party(`${addrs[0]}/p2p/${p.id}`, 'addrs[0]') : p
}

export class FairexNodeService implements SchemeService {
  readonly name = 'fairex'
  readonly tables = FAIREX_NODE_TABLES
  readonly kinds = FAIREX_KINDS
  private readonly c: FairexNodeComponents
  private readonly init: FairexNodeInit
  readonly life: Lifecycle
  private ctx?: NodeContext

  constructor(components: FairexNodeComponents, init: FairexNodeInit) {
    this.c = components
    this.init = init
    this.life = new Lifecycle(components.logger)
  }

  /** What the service's parts share, once started. */
  get n(): NodeContext {
    if (this.ctx == null) throw new Error('the file market is not started')
    return this.ctx
  }

  async start(): Promise<void> {
    const t = await this.c.store.tables(FAIREX_NODE_TABLES)
    const pool = (protocol: string, maxFrame = MAX_SALE_FRAME): ClientPool<FairexKind> =>
      new ClientPool<FairexKind>(this.c.network, {
        protocol,
        metrics: this.c.metrics,
        maxFrame,
        defaultTimeoutMs: STEP_TIMEOUT_MS,
        signal: this.life.signal
      })
    // a complaint carries a key piece and every piece hash: the judge reads it whole
    const judge = pool(FAIREX_PROTOCOL.judge, MAX_COMPLAINT_FRAME)
    const n: NodeContext = {
      t,
      store: this.c.store,
      c: this.c,
      log: this.c.logger,
      life: this.life,
      init: this.init,
      me: this.c.signer.peerId,
      ac: pool(FAIREX_PROTOCOL.ac),
      ttp: pool(FAIREX_PROTOCOL.ttp),
      judge,
      catalog: pool(FAIREX_PROTOCOL.catalog),
      bans: new BanCache({
        bans: t.bans,
        store: this.c.store,
        verifier: this.c.verifier,
        judge: this.init.judge,
        pool: judge
      }),
      certs: new CertificateWallet(this.init.certValue ?? 0),
      progress: new Map(),
      active: new Set(),
      resolving: new Set(),
      keyToSeal: sale => sale.key
    }
    this.ctx = n
    await failInterrupted(n)
    for (const f of n.t.shared.values())
      if (!sellable(f))
        n.log.child('catalog').warn('a shared file is not offered', { fileId: f.fileId, why: unsellableReason(f) })
    await serveCatalog(n)
    await serveSales(n)
    // at once, then every interval
    const every = (what: string, fn: () => Promise<void>): void =>
      this.life.every(this.init.retryIntervalMs, what, fn, { immediately: true })
    every('fairex ban refresh', async () => await n.bans.refresh().catch(() => {}))
    every('fairex unfinished purchases', async () => await retryUnfinished(n))
    every('fairex automatic deposit', async () => {
      await autoDeposit(n).catch(err => {
        if (!this.life.stopped)
          n.log.child('deposits').warn('automatic deposit failed; retried on the next tick', { err: asError(err) })
      })
    })
  }

  async stop(): Promise<void> {
    if (this.ctx == null) return
    await this.c.network.unhandle([FAIREX_PROTOCOL.sale, FAIREX_PROTOCOL.catalog])
    await this.life.stop()
    const n = this.ctx
    await Promise.all([n.ac.close(), n.ttp.close(), n.judge.close(), n.catalog.close()])
  }

  status(): Record<string, unknown> {
    const n = this.n
    return {
      ttp: this.init.ttp?.id ?? null,
      judge: this.init.judge?.id ?? null,
      form: this.init.form,
      shared: n.t.shared.size,
      sales: n.t.sales.size,
      purchases: n.t.purchases.size,
      pendingDeposits: n.t.deposits.size,
      bans: n.bans.active().length
    }
  }

  routes(): Routes {
    const n = this.n
    const run = async <T>(what: string, fn: () => Promise<T>): Promise<T> => await this.life.run(what, fn)
    return {
      'POST /share': async b =>
        await run(
          'fairex share',
          async () =>
            await share(n, textOf(b.path), b.price, {
              name: b.name,
              form: b.form,
              ...(b.pieceSize != null ? { pieceSize: b.pieceSize } : {})
            })
        ),
      'GET /files': () => ({
        // a file peers are not offered says so, and why
        files: [...n.t.shared.values()].map(({ pieces: _p, manifest: _m, ...f }) =>
          sellable(f) ? { ...f, offered: true } : { ...f, offered: false, why: unsellableReason(f) }
        )
      }),
      'GET /catalog': async (_b, q) => ({ files: await catalogOf(n, party(q.get('provider'), 'provider')) }),
      'POST /buy': async b =>
        await run(
          'fairex purchase',
          async () => await buy(n, providerOf(b), textOf(b.fileId), textOf(b.out), { form: b.form })
        ),
      'GET /purchases': () => ({
        purchases: [...n.t.purchases.values()].map(({ evidence: _e, ...p }) => p),
        progress: [...n.progress.values()]
      }),
      'GET /sales': () => ({ sales: [...n.t.sales.values()], pendingDeposits: n.t.deposits.size }),
      'POST /deposit': async () => await run('fairex deposit', async () => await deposit(n)),
      'GET /bans': async () =>
        await run('fairex bans', async () => {
          await n.bans.refresh().catch(() => {})
          return { bans: n.bans.active() }
        }),
      'POST /complain': async b =>
        await run('fairex complaint', async () => {
          // the judge's answer (ruling, reason, verdict, ban, key), and what became of the purchase
          const serial = chequeKey(n.me, textOf(b.chequeSn))
          const { evidence: _e, judgement, ...rec } = await complain(n, serial)
          return { ...judgement, purchase: rec }
        }),
      'GET /status': () => this.status()
    }
  }
}
