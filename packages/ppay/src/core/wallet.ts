// A peer's PPay wallet: the coins it owns (with the audit trail of every
// reassignment it honoured) and the coins it holds. Pure and synchronous over
// in-memory tables; the node service persists each call as one batch.
import { PPayErrorCode } from '../errors.ts'
import { ErrorCode, fail, toB64, type Signer, type Verifier, type Opened } from '@p2pay/core'
import {
  TAG,
  type AssignBody,
  type CashBody,
  type ChainLink,
  type CoinProof,
  type LayerBody,
  type RequestBody
} from './types.ts'
import { decodeEnvelope, extendProof, verifyCoin, verifyProof, verifyRequest, type ProofInfo } from './verify.ts'
import {
  holdingKey,
  pad,
  SPEND_MARGIN_MS,
  type Holding,
  type HoldingStatus,
  type OwnedCoin,
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
    const now = this.cfg.now()
    for (const sn of this.ownedFree) {
      const c = this.freeOwned(sn, now)
      if (c != null && c.value === value) return c
    }
    return undefined
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

  private trailAdd(
    sn: string,
    seq: number,
    holder: string,
    assign: Opened<AssignBody>,
    request: string | null,
    by: 'owner' | 'broker'
  ): void {
    this.t.trail.set(`${sn}|${pad(seq)}`, {
      sn,
      seq,
      holder,
      assign: toB64(assign.bytes),
      request,
      by,
      at: this.cfg.now()
    })
  }

  trailOf(sn: string): TrailEntry[] {
    return [...this.t.trail.values()].filter(e => e.sn === sn).sort((a, b) => a.seq - b.seq)
  }

  /** The owner pays with a coin it never assigned: Sig_X(Y, 1, C). */
  ownerPay(sn: string, to: string): CoinProof {
    const c = this.t.owned.get(sn)
    if (c == null) fail(PPayErrorCode.NO_SUCH_COIN, `not an owned coin: ${sn}`)
    if (c.seq !== 0 || c.refund != null) fail(ErrorCode.STALE_SEQ, `coin ${sn} is already assigned or refunded`)
    if (this.cfg.now() > c.expiry) fail(ErrorCode.EXPIRED, `coin ${sn} expired`)
    if (to === this.me) fail(ErrorCode.BAD_REQUEST, 'cannot pay yourself')
    const coinHash = verifyCoin(this.verifier, c.coin, this.cfg.broker, 'pay').hash
    const assign = this.signer.sign<AssignBody>(
      TAG.assign,
      { sn, coin: coinHash, owner: this.me, seq: 1, holder: to, request: null },
      'pay'
    )
    const a64 = toB64(assign.bytes)
    this.t.owned.set(sn, { ...c, seq: 1, holder: to, assign: a64, assignHash: assign.hash })
    this.trailAdd(sn, 1, to, assign, null, 'owner')
    return { coin: c.coin, chain: [{ assign: a64 }] }
  }

  /** The coin's history from this owner's trail, seq 1..upTo: evidence for the broker. */
  chainFromTrail(sn: string, upTo: number): CoinProof | undefined {
    const c = this.t.owned.get(sn)
    if (c == null) return undefined
    const chain: ChainLink[] = []
    for (let seq = 1; seq <= upTo; seq++) {
      const e = this.t.trail.get(`${sn}|${pad(seq)}`)
      if (e == null) return undefined
      chain.push(e.request != null ? { assign: e.assign, request: e.request } : { assign: e.assign })
    }
    return { coin: c.coin, chain }
  }

  /**
   * The owner honours a holder's reassignment request: checks the requester is
   * the current holder at the current seq, signs Sig_X(Z, seq+1, C) and records
   * the request in its audit trail. A replayed request gets the same assignment.
   */
  ownerReassign(proof: CoinProof, requestB64: string): { proof: CoinProof; replay: boolean } {
    const info = this.verify(proof, 'reassign')
    if (info.owner !== this.me) fail(ErrorCode.WRONG_OWNER, 'this node does not own that coin')
    const { request } = verifyRequest(this.verifier, requestB64, info, 'reassign')
    const c = this.t.owned.get(info.sn)
    if (c == null) fail(PPayErrorCode.NO_SUCH_COIN, `owner has no record of coin ${info.sn}`)
    const next = this.t.trail.get(`${info.sn}|${pad(info.seq + 1)}`)
    if (next != null) {
      if (next.request === requestB64)
        return { proof: extendProof(proof, { link: { assign: next.assign, request: requestB64 } }), replay: true }
      fail(ErrorCode.STALE_SEQ, `seq ${info.seq} of coin ${info.sn} was already reassigned`)
    }
    // the requester's history may hold broker (downtime) steps this owner has not synced yet
    for (let seq = c.seq + 1; seq <= info.seq; seq++) {
      const cur = this.t.owned.get(info.sn)!
      const a = info.assigns[seq - 1]
      const r = info.requests[seq - 1]
      if (
        a.tag !== TAG.downtimeAssign ||
        r == null ||
        r.body.from !== cur.holder ||
        r.body.seq !== cur.seq ||
        info.assigns[seq - 2]?.body.holder !== cur.holder
      )
        break
      this.adoptBrokerAssign(cur, a, proof.chain![seq - 1].request!)
    }
    const cur = this.t.owned.get(info.sn)!
    if (info.seq !== cur.seq) fail(ErrorCode.STALE_SEQ, `request is for seq ${info.seq}, current seq is ${cur.seq}`)
    if (info.holder !== cur.holder) fail(ErrorCode.WRONG_HOLDER, 'requester is not the current holder')
    const r = request.body
    const assign = this.signer.sign<AssignBody>(
      TAG.assign,
      { sn: info.sn, coin: info.coin.hash, owner: this.me, seq: cur.seq + 1, holder: r.to, request: request.hash },
      'reassign'
    )
    const a64 = toB64(assign.bytes)
    this.t.owned.set(info.sn, { ...cur, seq: cur.seq + 1, holder: r.to, assign: a64, assignHash: assign.hash })
    this.trailAdd(info.sn, cur.seq + 1, r.to, assign, requestB64, 'owner')
    return { proof: extendProof(proof, { link: { assign: a64, request: requestB64 } }), replay: false }
  }

  private adoptBrokerAssign(c: OwnedCoin, assign: Opened<AssignBody>, request: string): void {
    this.t.owned.set(c.sn, {
      ...c,
      seq: assign.body.seq,
      holder: assign.body.holder,
      assign: toB64(assign.bytes),
      assignHash: assign.hash
    })
    this.trailAdd(c.sn, assign.body.seq, assign.body.holder, assign, request, 'broker')
  }

  /**
   * Applies one entry of the broker's downtime log. When the holder gave the
   * same position to someone else through this owner, returns this owner's
   * history up to that seq: the evidence that convicts the holder.
   */
  applyDowntime(entry: { n: number; assign: string; request: string }): { adopted: boolean; conflict?: CoinProof } {
    const assign = this.verifier.open<AssignBody>(
      decodeEnvelope(entry.assign, 'assignment'),
      TAG.downtimeAssign,
      'sync'
    )
    if (assign.signer !== this.cfg.broker) fail(ErrorCode.WRONG_SIGNER, 'downtime assignment not signed by the broker')
    const request = this.verifier.open<RequestBody>(decodeEnvelope(entry.request, 'request'), TAG.request, 'sync')
    const a = assign.body
    if (request.hash !== a.request || request.signer !== request.body.from || request.body.to !== a.holder)
      fail(ErrorCode.BAD_REQUEST, 'downtime entry does not hold together')
    const c = this.t.owned.get(a.sn)
    if (c == null || a.owner !== this.me) return { adopted: false }
    const mine = this.t.trail.get(`${a.sn}|${pad(a.seq)}`)
    if (mine != null) {
      if (mine.request === entry.request || mine.assign === entry.assign) return { adopted: false }
      return { adopted: false, conflict: this.chainFromTrail(a.sn, a.seq) }
    }
    if (
      a.seq === c.seq + 1 &&
      request.body.from === c.holder &&
      request.body.seq === c.seq &&
      request.body.prev === c.assignHash
    ) {
      this.adoptBrokerAssign(c, assign, entry.request)
      return { adopted: true }
    }
    return { adopted: false }
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
  beginSpend(key: string, to: string): { holding: Holding; request: string } {
    const h = this.holding(key, 'held', 'spending')
    if (h.request != null) {
      if (h.request.to !== to) fail(ErrorCode.STALE_SEQ, `held coin ${key} is being spent on ${h.request.to}`)
      return { holding: h, request: h.request.bytes }
    }
    if (h.depth !== 0) fail(ErrorCode.BAD_REQUEST, 'a layered coin can only be layered on or cashed')
    if (to === this.me) fail(ErrorCode.BAD_REQUEST, 'cannot pay yourself')
    const info = this.verify(h.proof, 'reassign')
    const req = this.signer.sign<RequestBody>(
      TAG.request,
      { sn: h.sn, owner: h.owner, seq: h.seq, from: this.me, to, prev: info.tipHash },
      'reassign'
    )
    const updated: Holding = { ...h, status: 'spending', request: { to, bytes: toB64(req.bytes) } }
    this.t.held.set(key, updated)
    return { holding: updated, request: updated.request!.bytes }
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
  layer(key: string, to: string): CoinProof {
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
    this.t.held.set(key, { ...h, status: 'spent', layer: { to, bytes: l64 } })
    return { ...h.proof, layers: [...(h.proof.layers ?? []), l64] }
  }

  /** Signs the cash request of a held coin (once; a retry sends the same bytes). */
  beginCash(key: string): { proof: CoinProof; cash: string } {
    const h = this.holding(key, 'held', 'cashing')
    if (h.cash != null) return { proof: h.proof, cash: h.cash }
    const info = verifyProof(this.verifier, h.proof, {
      broker: this.cfg.broker,
      now: this.cfg.now(),
      maxLayers: this.cfg.maxLayers,
      allowExpired: true,
      kind: 'cash'
    })
    const cash = this.signer.sign<CashBody>(
      TAG.cash,
      { sn: h.sn, seq: h.seq, depth: h.depth, holder: this.me, broker: this.cfg.broker, prev: info.tipHash },
      'cash'
    )
    const c64 = toB64(cash.bytes)
    this.t.held.set(key, { ...h, status: 'cashing', cash: c64 })
    return { proof: h.proof, cash: c64 }
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
