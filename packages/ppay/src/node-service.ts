// The peer side of PPay on libp2p: pays, answers reassignment requests as an
// owner, accepts payments, spends held coins (via the owner, via the broker's
// downtime path when the owner is unreachable, or by adding a layer) and cashes.
//
// Order of work for anything that moves value: sign and record locally (one
// batch) first, then talk to the network, so a crash never loses a signature
// this node gave out; deliveries that fail wait in an outbox and are retried.
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  ErrorCode,
  P2payError,
  RpcClient,
  fail,
  randomId,
  serveRpc,
  toB64,
  type DaemonContext,
  type Routes
} from '@p2pay/core'
import { PROTOCOL, TAG, type BuyBody, type CoinProof } from './types.ts'
import { Wallet, pickExact, type WalletTables, type Delivery, type Holding } from './wallet.ts'
import { decodeEnvelope, extendProof } from './verify.ts'

export interface NodePPayConfig {
  broker: string
  brokerAddrs: string[]
  maxLayers: number
  /** how long to wait for an owner before taking the broker's downtime path */
  ownerTimeoutMs: number
  retryIntervalMs: number
  now?: () => number
}

export type PayVia = 'assign' | 'reassign' | 'downtime' | 'layer'
export interface PaidCoin {
  sn: string
  value: number
  via: PayVia
  delivered: boolean
}

const SYNC_EVERY_TICKS = 6
const TABLES: Array<keyof WalletTables> = ['owned', 'trail', 'held', 'outbox', 'pendingBuys', 'meta']
const isTransient = (err: unknown): boolean =>
  err instanceof P2payError && (err.code === ErrorCode.UNREACHABLE || err.code === ErrorCode.TIMEOUT)

export class NodePPay {
  readonly wallet: Wallet
  readonly ctx: DaemonContext
  private readonly cfg: NodePPayConfig
  private readonly broker: RpcClient
  private readonly clients = new Map<string, RpcClient>()
  private timer?: NodeJS.Timeout
  private retrying = false

  constructor(ctx: DaemonContext, cfg: NodePPayConfig, tables: WalletTables) {
    this.ctx = ctx
    this.cfg = cfg
    this.wallet = new Wallet(tables, ctx.signer, ctx.verifier, {
      broker: cfg.broker,
      maxLayers: cfg.maxLayers,
      now: cfg.now ?? Date.now
    })
    const brokerTarget = cfg.brokerAddrs.length > 0 ? multiaddr(cfg.brokerAddrs[0]) : peerIdFromString(cfg.broker)
    this.broker = new RpcClient(ctx.libp2p, brokerTarget, PROTOCOL.broker, { metrics: ctx.metrics })
  }

  static async create(ctx: DaemonContext, cfg: NodePPayConfig): Promise<NodePPay> {
    const tables = {} as Record<string, unknown>
    for (const name of TABLES) tables[name] = await ctx.store.table(`ppay-${name}`)
    const svc = new NodePPay(ctx, cfg, tables as unknown as WalletTables)
    await svc.serve()
    return svc
  }

  private get store() {
    return this.ctx.store
  }

  private client(peer: string, protocol: string, addrs: string[] = []): RpcClient {
    const key = `${peer}${protocol}`
    let c = this.clients.get(key)
    if (c == null) {
      const id = peerIdFromString(peer)
      c = new RpcClient(this.ctx.libp2p, id, protocol, { metrics: this.ctx.metrics })
      this.clients.set(key, c)
    }
    if (addrs.length > 0) {
      void this.ctx.libp2p.peerStore
        .merge(peerIdFromString(peer), { multiaddrs: addrs.map(a => multiaddr(a)) })
        .catch(() => {})
    }
    return c
  }

  private async serve(): Promise<void> {
    const opts = {
      metrics: this.ctx.metrics,
      onError: (err: Error, op?: string) => this.ctx.log.error('rpc handler failed', { op, err })
    }
    await serveRpc(
      this.ctx.libp2p,
      PROTOCOL.pay,
      {
        deliver: async (args, { remotePeer, kind }) => {
          const { holding, duplicate } = await this.store.apply(() => this.wallet.accept(args.proof, remotePeer, kind))
          if (!duplicate)
            this.ctx.log.info('paid', {
              sn: holding.sn,
              value: holding.value,
              from: remotePeer,
              seq: holding.seq,
              depth: holding.depth
            })
          return { sn: holding.sn, value: holding.value, duplicate }
        }
      },
      opts
    )
    await serveRpc(
      this.ctx.libp2p,
      PROTOCOL.reassign,
      {
        reassign: async args =>
          await this.answerReassign(
            args.proof,
            args.request,
            Array.isArray(args.toAddrs) ? args.toAddrs.slice(0, 8).map(String) : []
          )
      },
      opts
    )
  }

  /**
   * Owner side: honour the request, then deliver the new assignment to the payee (message 2) and answer the old holder
   * with a copy (message 3).
   */
  private async answerReassign(
    proof: CoinProof,
    request: string,
    toAddrs: string[]
  ): Promise<{ proof: CoinProof; delivered: boolean }> {
    let r
    try {
      r = await this.store.apply(() => this.wallet.ownerReassign(proof, request))
    } catch (err) {
      // a holder ahead of us means the broker reassigned while we were away: sync, then retry once
      if (err instanceof P2payError && err.code === ErrorCode.STALE_SEQ) {
        await this.sync().catch(() => {})
        r = await this.store.apply(() => this.wallet.ownerReassign(proof, request))
      } else throw err
    }
    const last = r.proof.chain!.at(-1)!
    // on a replay the step may be the broker's (downtime) assignment this owner adopted
    const to = this.ctx.verifier.open<{ holder: string }>(
      decodeEnvelope(last.assign, 'assignment'),
      [TAG.assign, TAG.downtimeAssign],
      'reassign'
    ).body.holder
    let delivered = false
    try {
      await this.deliver(to, toAddrs, r.proof, 'reassign')
      delivered = true
    } catch (err) {
      this.ctx.log.warn('payee unreachable; the holder will deliver', { to, err })
    }
    return { proof: r.proof, delivered }
  }

  private async deliver(to: string, addrs: string[], proof: CoinProof, kind: string): Promise<void> {
    await this.withLookup(
      to,
      async () =>
        await this.client(to, PROTOCOL.pay, addrs).call(
          'deliver',
          { proof },
          { timeoutMs: this.cfg.ownerTimeoutMs * 2, kind }
        )
    )
  }

  /**
   * Runs a call; if the peer is unreachable at the addresses we know (it may
   * have restarted on another port), asks the DHT for fresh ones and tries once more.
   */
  private async withLookup<T>(peer: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call()
    } catch (err) {
      if (!(err instanceof P2payError && err.code === ErrorCode.UNREACHABLE) || this.ctx.libp2p.services.dht == null)
        throw err
      try {
        const found = await this.ctx.libp2p.peerRouting.findPeer(peerIdFromString(peer), {
          signal: AbortSignal.timeout(this.cfg.ownerTimeoutMs)
        })
        await this.ctx.libp2p.peerStore.patch(found.id, { multiaddrs: found.multiaddrs })
      } catch {
        throw err
      }
      return await call()
    }
  }

  // ---- purchases -------------------------------------------------------

  async buy(count: number, value: number): Promise<{ coins: number; value: number }> {
    if (!Number.isSafeInteger(count) || count < 1) fail(ErrorCode.BAD_REQUEST, 'count must be a positive integer')
    if (!Number.isSafeInteger(value) || value < 1) fail(ErrorCode.BAD_REQUEST, 'value must be a positive integer')
    const nonce = randomId(16)
    const buy = this.ctx.signer.sign<BuyBody>(
      TAG.buy,
      { broker: this.cfg.broker, account: this.wallet.me, count, value, nonce },
      'buy'
    )
    const b64 = toB64(buy.bytes)
    // recorded before it is sent: after a crash the same purchase is retried, and the broker answers it once
    await this.store.apply(() => this.wallet.t.pendingBuys.set(nonce, { nonce, buy: b64, at: Date.now() }))
    const coins = await this.completeBuy(nonce, b64)
    return { coins: coins.length, value: coins.reduce((n, c) => n + c.value, 0) }
  }

  private async completeBuy(nonce: string, b64: string) {
    try {
      const res = await this.broker.call<{ coins: string[] }>('buy', { buy: b64 }, { kind: 'buy' })
      return await this.store.apply(() => this.wallet.addBoughtCoins(res.coins, nonce))
    } catch (err) {
      // a refusal is final: forget the purchase; a transport failure is retried later
      if (!isTransient(err)) await this.store.apply(() => this.wallet.t.pendingBuys.delete(nonce))
      throw err
    }
  }

  // ---- paying ----------------------------------------------------------

  /**
   * Pays `amount` to `to` with coins whose values add up exactly: owned coins
   * first (one assignment each), then held coins (reassigned via their owner,
   * or layered when `layered` is set). Every coin is reserved and signed in one
   * batch before any message leaves.
   */
  async pay(
    to: string,
    amount: number,
    opts: { layered?: boolean; addrs?: string[] } = {}
  ): Promise<{ to: string; amount: number; coins: PaidCoin[] }> {
    if (!Number.isSafeInteger(amount) || amount < 1) fail(ErrorCode.BAD_REQUEST, 'amount must be a positive integer')
    try {
      peerIdFromString(to)
    } catch {
      fail(ErrorCode.BAD_REQUEST, `not a peer id: ${String(to).slice(0, 80)}`)
    }
    if (to === this.wallet.me) fail(ErrorCode.BAD_REQUEST, 'cannot pay yourself')
    const addrs = opts.addrs ?? []
    type Plan = { kind: 'owned'; sn: string; value: number } | { kind: 'held'; h: Holding; value: number }
    const maxDepth = opts.layered === true ? this.cfg.maxLayers - 1 : 0
    const choose = (): Plan[] => {
      const one = this.wallet.ownedOfValue(amount)
      if (one != null) return [{ kind: 'owned', sn: one.sn, value: one.value }]
      const h = this.wallet.heldOfValue(amount, maxDepth)
      if (h != null) return [{ kind: 'held', h, value: h.value }]
      const candidates: Plan[] = [
        ...this.wallet.spendableOwned().map(c => ({ kind: 'owned' as const, sn: c.sn, value: c.value })),
        ...this.wallet
          .spendableHeld()
          .filter(h => h.depth <= maxDepth)
          .map(h => ({ kind: 'held' as const, h, value: h.value }))
      ]
      const picked = pickExact(candidates, amount)
      if (picked == null) fail(ErrorCode.NO_EXACT_AMOUNT, `no set of spendable coins adds up to ${amount}`)
      return picked
    }
    const steps = await this.store.apply(() => {
      const picked = choose()
      return picked.map(p => {
        if (p.kind === 'owned') {
          const proof = this.wallet.ownerPay(p.sn, to)
          return {
            sn: p.sn,
            value: p.value,
            via: 'assign' as PayVia,
            key: '',
            outbox: this.queueDelivery(to, addrs, proof, p.sn, p.value)
          }
        }
        if (opts.layered === true) {
          const proof = this.wallet.layer(p.h.key, to)
          return {
            sn: p.h.sn,
            value: p.value,
            via: 'layer' as PayVia,
            key: p.h.key,
            outbox: this.queueDelivery(to, addrs, proof, p.h.sn, p.value)
          }
        }
        this.wallet.beginSpend(p.h.key, to)
        return { sn: p.h.sn, value: p.value, via: 'reassign' as PayVia, key: p.h.key, outbox: '' }
      })
    })
    const settled = await Promise.allSettled(
      steps.map(async (s): Promise<PaidCoin> => {
        if (s.via === 'reassign') return await this.spendHeld(s.key, to, addrs)
        return { sn: s.sn, value: s.value, via: s.via, ...(await this.deliverQueued(s.outbox, 'pay')) }
      })
    )
    const coins = settled.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []))
    if (coins.length < steps.length) {
      const failed = settled.flatMap((r, i) =>
        r.status === 'rejected'
          ? [
              {
                sn: steps[i].sn,
                value: steps[i].value,
                error:
                  r.reason instanceof P2payError
                    ? r.reason.toJSON()
                    : { code: ErrorCode.INTERNAL, message: String(r.reason) }
              }
            ]
          : []
      )
      if (coins.length === 0 && failed.length === 1 && failed[0].error.code !== ErrorCode.INTERNAL)
        throw settled.find(r => r.status === 'rejected')!.reason
      // some coins went through and some did not: say exactly which
      throw new P2payError(ErrorCode.PARTIAL_PAYMENT, `paid ${coins.reduce((n, c) => n + c.value, 0)} of ${amount}`, {
        paid: coins,
        failed
      })
    }
    return { to, amount, coins }
  }

  /**
   * `count` payments of `value` each to one payee (metered services pay like
   * this), `concurrency` in flight at once. Returns what went through and how long it took.
   */
  async payMany(
    to: string,
    value: number,
    count: number,
    opts: { concurrency?: number; layered?: boolean; addrs?: string[] } = {}
  ): Promise<{
    payments: number
    failed: number
    ms: number
    via: Record<string, number>
    errors: Record<string, number>
  }> {
    if (!Number.isSafeInteger(count) || count < 1 || count > 1_000_000)
      fail(ErrorCode.BAD_REQUEST, 'count must be 1..1000000')
    const concurrency = Math.max(1, Math.min(opts.concurrency ?? 64, 1024))
    let next = 0
    let payments = 0
    let failed = 0
    const via: Record<string, number> = {}
    const errors: Record<string, number> = {}
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (next < count) {
          next++
          try {
            const r = await this.pay(to, value, opts)
            payments++
            for (const c of r.coins) via[c.via] = (via[c.via] ?? 0) + 1
          } catch (err) {
            failed++
            const code = err instanceof P2payError ? err.code : 'INTERNAL'
            errors[code] = (errors[code] ?? 0) + 1
            if (code === ErrorCode.NO_EXACT_AMOUNT) next = count // out of coins: stop
          }
        }
      })
    )
    return { payments, failed, ms: Math.round(performance.now() - t0), via, errors }
  }

  /**
   * Resumes (or starts) spending a held coin whose request is signed: the owner
   * first; the broker's downtime path if the owner is unreachable or refuses
   * (the broker checks the holding itself, so a lying owner cannot freeze it).
   */
  private async spendHeld(key: string, to: string, addrs: string[]): Promise<PaidCoin> {
    const h = this.wallet.t.held.get(key)!
    const request = h.request!.bytes
    let proof: CoinProof
    let via: PayVia = 'reassign'
    let delivered = false
    try {
      const args = { proof: h.proof, request, toAddrs: addrs.length > 0 ? addrs : this.addrsOf(to) }
      const res = await this.withLookup(
        h.owner,
        async () =>
          await this.client(h.owner, PROTOCOL.reassign).call<{ proof: CoinProof; delivered: boolean }>(
            'reassign',
            args,
            { timeoutMs: this.cfg.ownerTimeoutMs, kind: 'reassign' }
          )
      )
      proof = res.proof
      delivered = res.delivered
    } catch (err) {
      this.ctx.log.info('owner did not reassign, taking the downtime path', { sn: h.sn, owner: h.owner, err })
      const res = await this.broker.call<{ assign: string; request: string }>(
        'downtime',
        { proof: h.proof, request },
        { kind: 'downtime' }
      )
      proof = extendProof(h.proof, { link: { assign: res.assign, request: res.request } })
      via = 'downtime'
    }
    const outbox = await this.store.apply(() => {
      this.wallet.finishSpend(key, proof)
      return delivered ? '' : this.queueDelivery(to, addrs, proof, h.sn, h.value)
    })
    const result = delivered ? { delivered } : await this.deliverQueued(outbox, via)
    return { sn: h.sn, value: h.value, via, ...result }
  }

  /** Raw protocol calls, for the cheat routes of test swarms. */
  async deliverTo(to: string, proof: CoinProof): Promise<void> {
    await this.deliver(to, [], proof, 'pay')
  }
  async callOwner(owner: string, args: unknown): Promise<any> {
    return await this.client(owner, PROTOCOL.reassign).call('reassign', args, {
      kind: 'reassign',
      timeoutMs: this.cfg.ownerTimeoutMs
    })
  }
  async callBroker(op: string, args: unknown): Promise<any> {
    return await this.broker.call(op, args, { kind: op })
  }

  private addrsOf(peer: string): string[] {
    return this.ctx.libp2p.getConnections(peerIdFromString(peer)).map(c => c.remoteAddr.toString())
  }

  /**
   * Puts a signed proof in the outbox. Call it inside the same state change that
   * signed the proof, so a crash can never leave a payment signed but undelivered.
   */
  private queueDelivery(to: string, addrs: string[], proof: CoinProof, sn: string, value: number): string {
    const d: Delivery = { id: randomId(8), to, toAddrs: addrs, proof, sn, value, at: Date.now(), attempts: 0 }
    this.wallet.t.outbox.set(d.id, d)
    return d.id
  }

  /** Delivers an outbox entry; it leaves the outbox only once the payee has it. */
  private async deliverQueued(id: string, kind: string): Promise<{ delivered: boolean; deliveryError?: unknown }> {
    const d = this.wallet.t.outbox.get(id)
    if (d == null) return { delivered: true }
    try {
      await this.deliver(d.to, d.toAddrs, d.proof, kind)
      await this.store.apply(() => this.wallet.t.outbox.delete(id))
      return { delivered: true }
    } catch (err) {
      const error = err instanceof P2payError ? err.toJSON() : { code: ErrorCode.INTERNAL, message: String(err) }
      await this.store.apply(() => this.wallet.t.outbox.set(id, { ...d, attempts: d.attempts + 1, lastError: error }))
      this.ctx.log.warn('delivery failed; it stays queued', { to: d.to, sn: d.sn, err: error })
      return { delivered: false, deliveryError: error }
    }
  }

  // ---- cashing, refunds, sync, retries -----------------------------------

  /** Cashes every held coin at the broker, in batches. */
  async cash(): Promise<{
    paid: number
    value: number
    coins: Array<{ sn: string; value: number; from: string }>
    refused: Array<{ sn: string; code: string; message: string }>
  }> {
    const keys = [...this.wallet.t.held.values()]
      .filter(h => h.status === 'held' || h.status === 'cashing')
      .map(h => h.key)
    const items = await this.store.apply(() => keys.map(k => ({ key: k, ...this.wallet.beginCash(k) })))
    let paid = 0
    let value = 0
    const refused: Array<{ sn: string; code: string; message: string }> = []
    const coins: Array<{ sn: string; value: number; from: string }> = []
    const cashChunk = async (chunk: typeof items): Promise<void> => {
      const { results } = await this.broker.call<{ results: any[] }>(
        'cash',
        { items: chunk.map(c => ({ proof: c.proof, cash: c.cash })) },
        { kind: 'cash', timeoutMs: 60_000 }
      )
      await this.store.apply(() =>
        chunk.forEach((c, j) => {
          const r = results[j]
          if (r?.status === 'error') return // malformed in the broker's eyes: stays 'cashing' for a retry
          this.wallet.finishCash(c.key, r)
        })
      )
      results.forEach((r, j) => {
        if (r?.status === 'paid') {
          paid++
          value += r.value
          coins.push({ sn: r.sn, value: r.value, from: r.from })
        } else refused.push({ sn: this.wallet.t.held.get(chunk[j].key)?.sn ?? '', code: r?.code, message: r?.message })
      })
    }
    const chunks: Array<typeof items> = []
    for (let i = 0; i < items.length; i += 256) chunks.push(items.slice(i, i + 256))
    // a few batches in flight, so the broker's group commit always has work to fold together
    let next = 0
    await Promise.all(
      Array.from({ length: Math.min(4, chunks.length) }, async () => {
        while (next < chunks.length) await cashChunk(chunks[next++])
      })
    )
    return { paid, value, coins, refused }
  }

  /** The owner takes back the value of coins it never assigned. */
  async refund(sns?: string[]): Promise<{ refunded: number; value: number }> {
    const list = sns ?? this.wallet.spendableOwned().map(c => c.sn)
    const items = await this.store.apply(() => list.map(sn => this.wallet.beginRefund(sn)))
    if (items.length === 0) return { refunded: 0, value: 0 }
    const { results } = await this.broker.call<{ results: any[] }>(
      'cash',
      { items },
      { kind: 'refund', timeoutMs: 60_000 }
    )
    await this.store.apply(() =>
      list.forEach((sn, i) => {
        const r = results[i]
        if (r?.status === 'paid' || r?.status === 'refused') this.wallet.refunded(sn, r.status)
      })
    )
    const ok = results.filter(r => r.status === 'paid')
    return { refunded: ok.length, value: ok.reduce((n, r) => n + r.value, 0) }
  }

  private syncing?: Promise<{ applied: number; adopted: number; frauds: string[] }>

  /**
   * Pulls the broker's downtime log for this owner; conflicts go back to the
   * broker as evidence. One sync at a time: callers arriving meanwhile share its result.
   */
  async sync(): Promise<{ applied: number; adopted: number; frauds: string[] }> {
    this.syncing ??= this.syncOnce().finally(() => {
      this.syncing = undefined
    })
    return await this.syncing
  }

  private async syncOnce(): Promise<{ applied: number; adopted: number; frauds: string[] }> {
    let after = this.wallet.t.meta.get('meta')?.downtimeCursor ?? 0
    let applied = 0
    let adopted = 0
    const frauds: string[] = []
    while (true) {
      const { entries } = await this.broker.call<{ entries: Array<{ n: number; assign: string; request: string }> }>(
        'downtimeLog',
        { after },
        { kind: 'sync' }
      )
      if (entries.length === 0) break
      for (const e of entries) {
        const r = await this.store.apply(() => this.wallet.applyDowntime(e))
        applied++
        if (r.adopted) adopted++
        if (r.conflict != null) {
          // the cursor moves past this entry only once the broker has the evidence
          const rep = await this.broker.call<{ frauds: Array<{ id: string; cheater: string }> }>(
            'report',
            { proof: r.conflict },
            { kind: 'sync' }
          )
          for (const f of rep.frauds) {
            frauds.push(f.id)
            this.ctx.log.warn('fraud detected while syncing', { fraud: f.id, cheater: f.cheater })
          }
        }
        await this.store.apply(() => this.wallet.syncedTo(e.n))
        after = e.n
      }
    }
    return { applied, adopted, frauds }
  }

  /** Retries what a crash or an unreachable peer left half-done. */
  async retryPending(): Promise<void> {
    if (this.retrying) return
    this.retrying = true
    try {
      for (const p of [...this.wallet.t.pendingBuys.values()]) await this.completeBuy(p.nonce, p.buy).catch(() => {})
      for (const h of [...this.wallet.t.held.values()]) {
        if (h.status === 'spending' && h.request != null) await this.spendHeld(h.key, h.request.to, []).catch(() => {})
      }
      for (const d of [...this.wallet.t.outbox.values()]) await this.deliverQueued(d.id, 'pay')
      const refunds = [...this.wallet.t.owned.values()]
        .filter(c => c.refund != null && c.refunded == null)
        .map(c => c.sn)
      if (refunds.length > 0) await this.refund(refunds).catch(() => {})
    } finally {
      this.retrying = false
    }
  }

  start(): void {
    void this.sync()
      .catch(() => {})
      .then(async () => await this.retryPending())
    let ticks = 0
    this.timer = setInterval(() => {
      // the downtime log is pulled every few ticks too, so conflicts reach the broker without waiting for a restart
      const syncing = ++ticks % SYNC_EVERY_TICKS === 0 ? this.sync().catch(() => {}) : Promise.resolve()
      void syncing.then(async () => await this.retryPending()).catch(() => {})
    }, this.cfg.retryIntervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    if (this.timer != null) clearInterval(this.timer)
    await Promise.all([this.broker, ...this.clients.values()].map(async c => await c.close()))
  }

  async brokerBalance(): Promise<number> {
    return (await this.broker.call<{ balance: number }>('balance', {}, { kind: 'balance' })).balance
  }

  summary(): Record<string, unknown> {
    const owned = [...this.wallet.t.owned.values()]
    const held = [...this.wallet.t.held.values()]
    const sum = (xs: Array<{ value: number }>): number => xs.reduce((n, x) => n + x.value, 0)
    return {
      ownedUnassigned: { count: this.wallet.spendableOwned().length, value: sum(this.wallet.spendableOwned()) },
      ownedAssigned: owned.filter(c => c.seq > 0).length,
      held: { count: held.filter(h => h.status === 'held').length, value: sum(held.filter(h => h.status === 'held')) },
      spent: held.filter(h => h.status === 'spent').length,
      cashed: {
        count: held.filter(h => h.status === 'cashed').length,
        value: sum(held.filter(h => h.status === 'cashed'))
      },
      pendingDeliveries: this.wallet.t.outbox.size,
      pendingBuys: this.wallet.t.pendingBuys.size
    }
  }

  routes(): Routes {
    return {
      'POST /v1/buy': async b => await this.buy(b.count, b.value),
      'POST /v1/pay': async b =>
        await this.pay(String(b.to ?? ''), b.amount, {
          layered: b.layered === true,
          addrs: Array.isArray(b.addrs) ? b.addrs.map(String) : []
        }),
      'POST /v1/pay-many': async b =>
        await this.payMany(String(b.to ?? ''), b.value, b.count, {
          concurrency: b.concurrency,
          layered: b.layered === true,
          addrs: Array.isArray(b.addrs) ? b.addrs.map(String) : []
        }),
      'POST /v1/cash': async () => await this.cash(),
      'POST /v1/refund': async b => await this.refund(Array.isArray(b.sns) ? b.sns.map(String) : undefined),
      'POST /v1/sync': async () => await this.sync(),
      'POST /v1/retry': async () => {
        await this.retryPending()
        return this.summary()
      },
      'GET /v1/balance': async () => ({
        account: this.wallet.me,
        broker: await this.brokerBalance(),
        wallet: this.summary()
      }),
      'GET /v1/coins': async () => {
        await this.store.barrier()
        return {
          owned: [...this.wallet.t.owned.values()].map(c => ({
            sn: c.sn,
            value: c.value,
            expiry: c.expiry,
            seq: c.seq,
            holder: c.holder,
            refunded: c.refund != null
          })),
          held: [...this.wallet.t.held.values()].map(h => ({
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
      'GET /v1/trail': async (_b, q) => ({ sn: q.get('sn'), trail: this.wallet.trailOf(q.get('sn') ?? '') })
    }
  }
}
