// A peer's PPay wallet: the coins it owns (with the audit trail of every
// reassignment it honoured) and the coins it holds. Pure and synchronous over
// in-memory tables; the node service persists each call as one batch.
import { PPayErrorCode } from '../errors.ts'
import { ErrorCode, P2payError, fail, toB64, type Signer, type Verifier } from '@p2pay/core'
import { TAG, type AssignBody, type CashBody, type CoinProof, type LayerBody, type RequestBody } from './types.ts'
import { extendProof, verifyCoin, verifyProof, type ProofInfo } from './verify.ts'
import { applyDowntime, chainFromTrail, prepareReassign, trailAdd, type OwnerContext } from './owner-trail.ts'
import {
  holdingKey,
  signAll,
  SPEND_MARGIN_MS,
  type Holding,
  type HoldingStatus,
  type OwnedCoin,
  type Reassigned,
  type TrailEntry,
  type WalletConfig,
  type WalletTables
} from './wallet-records.ts'

export class Wallet {
  readonly t: WalletTables
  private readonly signer: Signer
  private readonly verifier: Verifier
  readonly cfg: WalletConfig

  /**
   * Candidates for spending, so a payment does not scan the whole wallet.
   * Entries are added on every change that makes a coin spendable and dropped
   * lazily when the table says otherwise (which also keeps them right across
   * a rolled-back change).
   */
  private readonly ownedFree = new Set<string>()
  private readonly heldFree = new Set<string>()

  constructor(t: WalletTables, signer: Signer, verifier: Verifier, cfg: WalletConfig) {
    this.t = t
    this.signer = signer
    this.verifier = verifier
    this.cfg = cfg
    this.reindex()
  }

  reindex(): void {
    for (const c of this.t.owned.values()) if (c.seq === 0 && c.refund == null) this.ownedFree.add(c.sn)
    for (const h of this.t.held.values()) if (h.status === 'held') this.heldFree.add(h.key)
  }

  // a coin this close to expiry is not offered for payment: its payee could not spend it on
  private freeOwned(sn: string, now: number): OwnedCoin | undefined {
    const c = this.t.owned.get(sn)
    if (c == null || c.seq !== 0 || c.refund != null) {
      this.ownedFree.delete(sn)
      return undefined
    }
    return c.expiry > now + SPEND_MARGIN_MS ? c : undefined
  }

  private freeHeld(key: string, now: number): Holding | undefined {
    const h = this.t.held.get(key)
    if (h == null || h.status !== 'held') {
      this.heldFree.delete(key)
      return undefined
    }
    return h.expiry > now + SPEND_MARGIN_MS ? h : undefined
  }

  /** First spendable owned coin of exactly `value`, if any (the common case of a payment). */
  ownedOfValue(value: number): OwnedCoin | undefined {
    return this.ownedManyOfValue(value, 1)[0]
  }

  /** Up to `n` spendable owned coins of exactly `value`. */
  ownedManyOfValue(value: number, n: number): OwnedCoin[] {
    const now = this.cfg.now()
    const out: OwnedCoin[] = []
    for (const sn of this.ownedFree) {
      if (out.length >= n) break
      const c = this.freeOwned(sn, now)
      if (c != null && c.value === value) out.push(c)
    }
    return out
  }

  /** Up to `n` spendable held coins of exactly `value` with no layers. */
  heldManyOfValue(value: number, n: number): Holding[] {
    const now = this.cfg.now()
    const out: Holding[] = []
    for (const key of this.heldFree) {
      if (out.length >= n) break
      const h = this.freeHeld(key, now)
      if (h != null && h.value === value && h.depth === 0) out.push(h)
    }
    return out
  }

  /** First spendable held coin of exactly `value` with at most `maxDepth` layers. */
  heldOfValue(value: number, maxDepth: number): Holding | undefined {
    const now = this.cfg.now()
    for (const key of this.heldFree) {
      const h = this.freeHeld(key, now)
      if (h != null && h.value === value && h.depth <= maxDepth) return h
    }
    return undefined
  }

  get me(): string {
    return this.signer.peerId
  }

  verify(proof: CoinProof, kind: string): ProofInfo {
    return verifyProof(this.verifier, proof, {
      broker: this.cfg.broker,
      now: this.cfg.now(),
      maxLayers: this.cfg.maxLayers,
      kind
    })
  }

  /** Stores coins bought from the broker (their signatures checked) and clears the pending purchase. */
  addBoughtCoins(coins: string[], nonce: string): OwnedCoin[] {
    const out: OwnedCoin[] = []
    for (const b64 of coins) {
      const c = verifyCoin(this.verifier, b64, this.cfg.broker, 'buy')
      if (c.body.owner !== this.me) fail(ErrorCode.WRONG_OWNER, 'broker sold a coin owned by someone else')
      const existing = this.t.owned.get(c.body.sn)
      if (existing != null) {
        out.push(existing)
        continue
      }
      const rec: OwnedCoin = {
        sn: c.body.sn,
        coin: b64,
        value: c.body.value,
        expiry: c.body.expiry,
        seq: 0,
        holder: this.me,
        assign: null,
        assignHash: null
      }
      this.t.owned.set(rec.sn, rec)
      this.ownedFree.add(rec.sn)
      out.push(rec)
    }
    this.t.pendingBuys.delete(nonce)
    return out
  }

  private get owner(): OwnerContext {
    return { t: this.t, verifier: this.verifier, cfg: this.cfg, me: this.me }
  }

  /** The coin's history from this owner's trail, seq 1..upTo: evidence for the broker. */
  chainFromTrail(sn: string, upTo: number): CoinProof | undefined {
    return chainFromTrail(this.owner, sn, upTo)
  }

  /**
   * Applies one entry of the broker's downtime log. When the holder gave the
   * same position to someone else through this owner, returns this owner's
   * history up to that seq: the evidence that convicts the holder.
   */
  applyDowntime(entry: { n: number; assign: string; request: string }): { adopted: boolean; conflict?: CoinProof } {
    return applyDowntime(this.owner, entry)
  }

  trailOf(sn: string): TrailEntry[] {
    return [...this.t.trail.values()].filter(e => e.sn === sn).sort((a, b) => a.seq - b.seq)
  }

  /** The owner pays with a coin it never assigned: Sig_X(Y, 1, C). */
  ownerPay(sn: string, to: string, payment?: string): CoinProof {
    return this.ownerPayMany([sn], to, payment)[0]
  }

  /**
   * The owner pays one payee with many coins it never assigned, one assignment
   * each; more than one are signed as one batch (one signature).
   */
  ownerPayMany(sns: string[], to: string, payment?: string): CoinProof[] {
    if (to === this.me) fail(ErrorCode.BAD_REQUEST, 'cannot pay yourself')
    const coins = sns.map(sn => {
      const c = this.t.owned.get(sn)
      if (c == null) fail(PPayErrorCode.NO_SUCH_COIN, `not an owned coin: ${sn}`)
      if (c.seq !== 0 || c.refund != null) fail(ErrorCode.STALE_SEQ, `coin ${sn} is already assigned or refunded`)
      if (this.cfg.now() > c.expiry) fail(ErrorCode.EXPIRED, `coin ${sn} expired`)
      return c
    })
    if (new Set(sns).size !== sns.length) fail(ErrorCode.BAD_REQUEST, 'a coin twice in one payment')
    const bodies = coins.map((c): AssignBody => ({
      sn: c.sn,
      coin: verifyCoin(this.verifier, c.coin, this.cfg.broker, 'pay').hash,
      owner: this.me,
      seq: 1,
      holder: to,
      request: null
    }))
    const signed = signAll<AssignBody>(this.signer, TAG.assign, bodies, 'pay')
    return coins.map((c, i) => {
      const assign = signed[i]
      const a64 = toB64(assign.bytes)
      this.t.owned.set(c.sn, { ...c, seq: 1, holder: to, assign: a64, assignHash: assign.hash })
      trailAdd(this.owner, c.sn, 1, to, assign, null, 'owner', payment)
      return { coin: c.coin, chain: [{ assign: a64 }] }
    })
  }

  /**
   * The owner honours a holder's reassignment request: checks the requester is
   * the current holder at the current seq, signs Sig_X(Z, seq+1, C) and records
   * the request in its audit trail. A replayed request gets the same assignment.
   */
  ownerReassign(proof: CoinProof, requestB64: string): Reassigned {
    const r = this.ownerReassignMany([{ proof, request: requestB64 }])[0]
    if ('error' in r) throw r.error
    return r
  }

  /**
   * `ownerReassign` for many requests at once: each is checked on its own (a
   * refused one gets its error, the others go on), and the new assignments
   * are signed as one batch. One coin at most once per call: a second request
   * for a coin already in it is STALE_SEQ, so no seq is ever assigned twice.
   */
  ownerReassignMany(items: Array<{ proof: CoinProof; request: string }>): Array<Reassigned | { error: P2payError }> {
    const out: Array<Reassigned | { error: P2payError }> = []
    const fresh: Array<{ i: number; proof: CoinProof; request: string; cur: OwnedCoin; body: AssignBody }> = []
    const inCall = new Set<string>()
    items.forEach((item, i) => {
      try {
        const r = prepareReassign(this.owner, this.verify(item.proof, 'reassign'), item.proof, item.request, inCall)
        if ('replay' in r) out[i] = r
        else fresh.push({ i, proof: item.proof, request: item.request, ...r })
      } catch (err) {
        if (!(err instanceof P2payError)) throw err
        out[i] = { error: err }
      }
    })
    const signed = signAll<AssignBody>(
      this.signer,
      TAG.assign,
      fresh.map(f => f.body),
      'reassign'
    )
    fresh.forEach(({ i, proof, request, cur, body }, j) => {
      const assign = signed[j]
      const a64 = toB64(assign.bytes)
      this.t.owned.set(cur.sn, { ...cur, seq: body.seq, holder: body.holder, assign: a64, assignHash: assign.hash })
      trailAdd(this.owner, cur.sn, body.seq, body.holder, assign, request, 'owner')
      out[i] = { proof: extendProof(proof, { link: { assign: a64, request } }), replay: false, to: body.holder }
    })
    return out
  }

  /** Moves the sync cursor; only once an entry's evidence, if any, reached the broker. */
  syncedTo(n: number): void {
    this.t.meta.set('meta', { downtimeCursor: Math.max(n, this.t.meta.get('meta')?.downtimeCursor ?? 0) })
  }

  /** A payee accepts a proof whose final holder it is. */
  accept(proof: CoinProof, from: string, kind = 'pay'): { holding: Holding; duplicate: boolean } {
    const info = this.verify(proof, kind)
    if (info.holder !== this.me) fail(ErrorCode.WRONG_HOLDER, 'this coin is not assigned to this node')
    const key = holdingKey(info)
    const existing = this.t.held.get(key)
    if (existing != null) return { holding: existing, duplicate: true }
    const holding: Holding = {
      key,
      sn: info.sn,
      owner: info.owner,
      value: info.value,
      expiry: info.expiry,
      seq: info.seq,
      depth: info.depth,
      from,
      proof,
      status: 'held',
      at: this.cfg.now()
    }
    this.t.held.set(key, holding)
    this.heldFree.add(key)
    return { holding, duplicate: false }
  }

  private holding(key: string, ...statuses: HoldingStatus[]): Holding {
    const h = this.t.held.get(key)
    if (h == null) fail(PPayErrorCode.NO_SUCH_COIN, `no held coin ${key}`)
    if (!statuses.includes(h.status)) fail(ErrorCode.STALE_SEQ, `held coin ${key} is ${h.status}`)
    return h
  }

  /** Signs (once) the request that asks the owner to reassign a held coin to `to`. */
  beginSpend(key: string, to: string, payment?: string): { holding: Holding; request: string } {
    return this.beginSpendMany([key], to, payment)[0]
  }

  /** Signs (once each) the requests that give many held coins to `to`; new ones as one batch. */
  beginSpendMany(keys: string[], to: string, payment?: string): Array<{ holding: Holding; request: string }> {
    if (new Set(keys).size !== keys.length) fail(ErrorCode.BAD_REQUEST, 'a coin twice in one payment')
    const fresh: Array<{ i: number; h: Holding; body: RequestBody }> = []
    const out = keys.map((key, i) => {
      const h = this.holding(key, 'held', 'spending')
      if (h.request != null) {
        if (h.request.to !== to) fail(ErrorCode.STALE_SEQ, `held coin ${key} is being spent on ${h.request.to}`)
        return { holding: h, request: h.request.bytes }
      }
      if (h.depth !== 0) fail(ErrorCode.BAD_REQUEST, 'a layered coin can only be layered on or cashed')
      if (to === this.me) fail(ErrorCode.BAD_REQUEST, 'cannot pay yourself')
      const info = this.verify(h.proof, 'reassign')
      fresh.push({ i, h, body: { sn: h.sn, owner: h.owner, seq: h.seq, from: this.me, to, prev: info.tipHash } })
      return { holding: h, request: '' }
    })
    const signed = signAll<RequestBody>(
      this.signer,
      TAG.request,
      fresh.map(f => f.body),
      'reassign'
    )
    fresh.forEach(({ i, h }, j) => {
      const request = { to, bytes: toB64(signed[j].bytes) }
      const updated: Holding = { ...h, status: 'spending', request, ...(payment != null ? { payment } : {}) }
      this.t.held.set(h.key, updated)
      out[i] = { holding: updated, request: updated.request!.bytes }
    })
    return out
  }

  /** Records the new assignment the owner (or broker) gave the payee; the holding is spent. */
  finishSpend(key: string, newProof: CoinProof): CoinProof {
    const h = this.holding(key, 'spending', 'spent')
    const info = verifyProof(this.verifier, newProof, {
      broker: this.cfg.broker,
      now: this.cfg.now(),
      maxLayers: this.cfg.maxLayers,
      allowExpired: true,
      kind: 'reassign'
    })
    const last = newProof.chain?.at(-1)
    if (
      info.sn !== h.sn ||
      info.seq !== h.seq + 1 ||
      info.holder !== h.request?.to ||
      last?.request !== h.request?.bytes
    )
      fail(ErrorCode.BAD_REQUEST, 'reassignment does not answer this request')
    this.t.held.set(key, { ...h, status: 'spent' })
    return newProof
  }

  /** Adds a layer instead of asking the owner (allowed up to maxLayers). */
  layer(key: string, to: string, payment?: string): CoinProof {
    const h = this.holding(key, 'held')
    if (to === this.me) fail(ErrorCode.BAD_REQUEST, 'cannot pay yourself')
    if (h.depth + 1 > this.cfg.maxLayers)
      fail(PPayErrorCode.LAYER_DEPTH, `coin already has ${h.depth} layers; at most ${this.cfg.maxLayers}`)
    const info = this.verify(h.proof, 'layer')
    const layer = this.signer.sign<LayerBody>(
      TAG.layer,
      { sn: h.sn, seq: h.seq, depth: h.depth + 1, from: this.me, to, prev: info.tipHash },
      'layer'
    )
    const l64 = toB64(layer.bytes)
    this.t.held.set(key, { ...h, status: 'spent', layer: { to, bytes: l64 }, ...(payment != null ? { payment } : {}) })
    return { ...h.proof, layers: [...(h.proof.layers ?? []), l64] }
  }

  /** Signs the cash request of a held coin (once; a retry sends the same bytes). */
  beginCash(key: string): { proof: CoinProof; cash: string } {
    return this.beginCashMany([key])[0]
  }

  /** Signs (once each) the cash requests of many held coins; new ones as one batch (one signature). */
  beginCashMany(keys: string[]): Array<{ proof: CoinProof; cash: string }> {
    if (new Set(keys).size !== keys.length) fail(ErrorCode.BAD_REQUEST, 'a coin twice in one cash request')
    const fresh: Array<{ i: number; h: Holding; body: CashBody }> = []
    const out = keys.map((key, i) => {
      const h = this.holding(key, 'held', 'cashing')
      if (h.cash != null) return { proof: h.proof, cash: h.cash }
      const info = verifyProof(this.verifier, h.proof, {
        broker: this.cfg.broker,
        now: this.cfg.now(),
        maxLayers: this.cfg.maxLayers,
        allowExpired: true,
        kind: 'cash'
      })
      const body = {
        sn: h.sn,
        seq: h.seq,
        depth: h.depth,
        holder: this.me,
        broker: this.cfg.broker,
        prev: info.tipHash
      }
      fresh.push({ i, h, body })
      return { proof: h.proof, cash: '' }
    })
    const signed = signAll<CashBody>(
      this.signer,
      TAG.cash,
      fresh.map(f => f.body),
      'cash'
    )
    fresh.forEach(({ i, h }, j) => {
      const c64 = toB64(signed[j].bytes)
      this.t.held.set(h.key, { ...h, status: 'cashing', cash: c64 })
      out[i] = { proof: h.proof, cash: c64 }
    })
    return out
  }

  finishCash(key: string, result: { status: string }): void {
    const h = this.holding(key, 'cashing', 'cashed', 'refused')
    this.t.held.set(key, { ...h, status: result.status === 'paid' ? 'cashed' : 'refused', result })
  }

  /** The owner asks for its money back for a coin it never assigned. */
  beginRefund(sn: string): { proof: CoinProof; cash: string } {
    const c = this.t.owned.get(sn)
    if (c == null) fail(PPayErrorCode.NO_SUCH_COIN, `not an owned coin: ${sn}`)
    if (c.refund != null) return { proof: { coin: c.coin }, cash: c.refund }
    if (c.seq !== 0) fail(ErrorCode.STALE_SEQ, `coin ${sn} was assigned; only its holder can cash it`)
    const coinHash = verifyCoin(this.verifier, c.coin, this.cfg.broker, 'refund').hash
    const cash = this.signer.sign<CashBody>(
      TAG.cash,
      { sn, seq: 0, depth: 0, holder: this.me, broker: this.cfg.broker, prev: coinHash },
      'refund'
    )
    const c64 = toB64(cash.bytes)
    this.t.owned.set(sn, { ...c, refund: c64 })
    return { proof: { coin: c.coin }, cash: c64 }
  }

  refunded(sn: string, status: 'paid' | 'refused'): void {
    const c = this.t.owned.get(sn)
    if (c != null) this.t.owned.set(sn, { ...c, refunded: status })
  }

  /** Owned coins never assigned nor refunded, and not expired. */
  spendableOwned(): OwnedCoin[] {
    const now = this.cfg.now()
    return [...this.ownedFree].map(sn => this.freeOwned(sn, now)).filter(c => c != null)
  }

  spendableHeld(): Holding[] {
    const now = this.cfg.now()
    return [...this.heldFree].map(k => this.freeHeld(k, now)).filter(h => h != null)
  }
}
