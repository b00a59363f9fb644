// The broker's AggSign ledger: a pure, synchronous state machine over
// in-memory tables, like PPay's ledger and the file market's AC. The service
// runs each call inside `store.apply`, so a call either throws having changed
// nothing or is one atomic batch.
//
// Money. Certifying a key moves its limit from the peer's balance into escrow.
// The first cashing of a coin pays its value out of its minter's escrow (past
// the limit, from the minter's balance: over-minting). Every other chain of a
// coin the broker already paid convicts the key that signed both sides (fraud.ts)
// and pays its honest holder from the cheater's escrow, then its balance, never
// below zero; what neither covers is recorded as shortfall, never created. At
// expiry plus the cashing grace, a certificate's escrow goes back to its peer.
import { ErrorCode, checkTimestamp, fail, isMoney, sha256Hex, toB64, utf8, type Signer } from '@p2pay/core'
import { AggsignErrorCode } from '../errors.ts'
import type { AggsignKind } from '../kinds.ts'
import { checkPublicKeyB64, checkSignatureB64, verifyPop } from './bls.ts'
import { signCertificate, type CertInfo } from './certificate.ts'
import { readCoin, verifyCoin, type CoinInfo, type VerifyOptions } from './coin.ts'
import { counts } from './counts.ts'
import { convict, forkDepth, type Conviction } from './fraud.ts'
import { LedgerBooks, type LedgerAudit } from './ledger-books.ts'
import type {
  CashResult,
  CertRecord,
  CertifyResult,
  CoinRecord,
  FraudRecord,
  LedgerConfig,
  LedgerTables,
  PaidChain
} from './ledger-records.ts'
import { checkPeer } from './messages.ts'

export class Ledger {
  readonly t: LedgerTables
  readonly cfg: LedgerConfig
  readonly books: LedgerBooks
  private readonly signer: Signer<AggsignKind>

  constructor(t: LedgerTables, signer: Signer<AggsignKind>, cfg: LedgerConfig) {
    this.t = t
    this.cfg = cfg
    this.signer = signer
    this.books = new LedgerBooks(t)
  }

  get broker(): string {
    return this.signer.peerId
  }

  /** The certificates this broker signed, as coin checks look them up. */
  readonly lookup = (hash: string): CertInfo | undefined => {
    const r = this.t.certs.get(hash)
    if (r == null) return undefined
    const { peer, key, limit, expiry, serial } = r
    return { hash, peer, key, limit, expiry, serial, broker: this.broker }
  }

  private opts(): VerifyOptions {
    return { certs: this.lookup, now: this.cfg.now(), maxLayers: this.cfg.maxLayers, allowExpired: true }
  }

  /**
   * Certifies `peer`'s BLS key after checking its proof of possession, and
   * escrows `limit` from the peer's balance. The same request again returns
   * the same certificate; the key with other terms, or for another peer, is refused.
   */
  certify(peerIn: unknown, key: unknown, pop: unknown, limit: unknown, expiryIn: unknown): CertifyResult {
    const peer = checkPeer(peerIn, 'peer')
    const pk = checkPublicKeyB64(key, 'key')
    const proof = checkSignatureB64(pop, 'pop')
    if (!isMoney(limit)) fail(ErrorCode.BAD_REQUEST, 'limit must be an amount')
    const expiry = checkTimestamp(expiryIn, 'expiry')
    const k = key as string
    // the PoP first: without it a key could be a rogue key (pk_attacker - pk_victim) nobody can sign for alone
    if (!verifyPop(pk, peer, proof)) fail(AggsignErrorCode.BAD_POP, 'the proof of possession does not verify')
    const known = this.t.keys.get(k)
    if (known != null) {
      const r = this.books.cert(known.cert)
      if (r.peer !== peer) fail(ErrorCode.WRONG_OWNER, 'this key is certified for another peer')
      if (r.limit !== limit || r.expiry !== expiry)
        fail(ErrorCode.REPLAY, 'this key is already certified with other terms: certify a new key')
      return this.certified(r, 0)
    }
    const now = this.cfg.now()
    if (expiry <= now) fail(ErrorCode.EXPIRED, 'the certificate would be expired already')
    if (expiry > now + this.cfg.maxCertTtlMs)
      fail(ErrorCode.BAD_REQUEST, `a certificate runs at most ${this.cfg.maxCertTtlMs} ms`)
    if (this.books.balance(peer) < limit)
      fail(ErrorCode.INSUFFICIENT_FUNDS, `balance ${this.books.balance(peer)} < limit ${limit}`)
    const env = signCertificate(this.signer, { peer, key: k, limit, expiry, serial: sha256Hex(utf8(k)).slice(0, 32) })
    const r: CertRecord = {
      hash: env.hash,
      peer,
      key: k,
      limit,
      expiry,
      serial: env.body.serial,
      cert: toB64(env.bytes),
      escrow: limit,
      paid: 0,
      fraudPaid: 0,
      released: 0,
      minted: 0
    }
    this.books.bump({ escrowed: limit })
    this.books.credit(peer, -limit)
    this.t.certs.set(r.hash, r)
    this.t.keys.set(k, { cert: r.hash })
    return this.certified(r, 1)
  }

  private certified(r: CertRecord, signed: number): CertifyResult {
    const { hash, peer, key, limit, expiry } = r
    return { certificate: r.cert, hash, peer, key, limit, expiry, counts: counts(1, signed, 1) }
  }

  /**
   * Cashes a coin for `by`, its last holder (the peer the last layer pays, or
   * the minter for an unpaid coin). Each chain is answered once: a retry gets
   * the first answer.
   */
  cash(raw: unknown, by: string): CashResult {
    const c = verifyCoin(raw, this.opts())
    const now = this.cfg.now()
    if (now > c.mint.expiry + this.cfg.cashGraceMs) fail(ErrorCode.EXPIRED, 'coin expired past its cashing grace')
    if (by !== c.holder.peer) fail(ErrorCode.WRONG_HOLDER, 'only the last holder of a coin cashes it')
    const payKey = `${c.id}|${c.hashes[c.hashes.length - 1]}`
    const done = this.t.payouts.get(payKey)
    if (done != null) return done
    if (this.books.cert(c.mint.cert).releasedAt != null)
      fail(ErrorCode.EXPIRED, "the minter's certificate expired and its escrow went back")
    const rec = this.t.coins.get(c.id)
    const twin = this.t.serials.get(`${c.mint.cert}|${c.mint.serial}`)
    let r: CashResult
    if (rec == null && twin == null) r = this.first(c)
    else if (rec == null) r = this.contradicted(c, this.t.coins.get(twin!.coin)!.chains[0])
    else r = this.another(c, rec)
    this.t.payouts.set(payKey, r)
    return r
  }

  /** The first chain of a coin to be cashed: paid from the minter's escrow. */
  private first(c: CoinInfo): CashResult {
    const cert = this.books.cert(c.mint.cert)
    const over = cert.minted + c.mint.value > cert.limit
    this.t.certs.set(cert.hash, { ...cert, minted: cert.minted + c.mint.value })
    this.record(c)
    const s = this.books.settle(cert.hash, c.holder.peer, c.mint.value, 'paid')
    let fraud: FraudRecord | undefined
    if (over) {
      // minted past its limit: every coin cashed under the certificate is the proof
      const coins = [...this.t.coins.values()].filter(x => x.cert === cert.hash).map(x => x.chains[0].coin)
      const conviction: Conviction = { kind: 'over-mint', culprit: cert.peer, cert: cert.hash, depth: 0 }
      const owed = c.holder.peer !== cert.peer
      fraud = this.convicted(`over-mint|${cert.hash}`, conviction, coins, c.holder.peer, s.shortfall, 0, owed)
    }
    return {
      coin: c.id,
      status: 'paid',
      holder: c.holder.peer,
      value: s.fromEscrow + s.fromBalance,
      from: 'coin',
      ...(fraud != null ? { culprit: fraud.culprit, fraud: fraud.id } : {}),
      ...(s.shortfall > 0 ? { shortfall: s.shortfall } : {}),
      counts: counts(0, 0, 1)
    }
  }

  /**
   * Another chain of a coin already paid. The paid chains form a tree; this one
   * leaves it where it shares the longest prefix with a paid chain.
   */
  private another(c: CoinInfo, rec: CoinRecord): CashResult {
    const chains = rec.chains.map(p => readCoin(p.coin, this.opts()))
    // the deepest paid chain this one extends: its holder was paid and gave the coin away too
    let under = -1
    chains.forEach((p, i) => {
      if (p.depth < c.depth && forkDepth(p, c) == null && (under < 0 || p.depth > chains[under].depth)) under = i
    })
    if (under >= 0) return this.contradicted(c, rec.chains[under])
    if (chains.some(p => p.depth > c.depth && forkDepth(p, c) == null))
      fail(ErrorCode.FRAUD, 'the cashier gave this coin away: the chain it was paid on goes further')
    let best = 0
    let at = -1
    chains.forEach((p, i) => {
      const d = forkDepth(p, c)!
      if (d > at) [best, at] = [i, d]
    })
    return this.contradicted(c, rec.chains[best])
  }

  /** A chain that contradicts `paid`: convicts the key that signed both, pays the honest holder from its peer. */
  private contradicted(c: CoinInfo, paid: PaidChain): CashResult {
    const p = readCoin(paid.coin, this.opts())
    const conviction = convict(p, c)
    if (conviction == null) fail(ErrorCode.ALREADY_CASHED, 'coin already cashed')
    const id = sha256Hex(utf8([p.hashes[p.depth], c.hashes[c.depth]].sort().join('|')))
    this.record(c)
    const holder = c.holder.peer
    if (conviction.culprit === holder) {
      const f = this.convicted(id, conviction, [paid.coin, c.coin], holder, 0, 0, false)
      return { coin: c.id, status: 'convicted', holder, culprit: f.culprit, fraud: f.id, counts: counts(0, 0, 1) }
    }
    const s = this.books.settle(conviction.cert, holder, c.mint.value, 'fraudPaid')
    const f = this.convicted(id, conviction, [paid.coin, c.coin], holder, s.shortfall, s.fromEscrow + s.fromBalance)
    return {
      coin: c.id,
      status: 'paid',
      holder,
      value: s.fromEscrow + s.fromBalance,
      from: 'compensation',
      culprit: f.culprit,
      fraud: f.id,
      ...(s.shortfall > 0 ? { shortfall: s.shortfall } : {}),
      counts: counts(0, 0, 1)
    }
  }

  /** Remembers a chain the broker answered, so later chains of its coin are judged against it. */
  private record(c: CoinInfo): void {
    const chain: PaidChain = { hashes: c.hashes, holder: c.holder.peer, coin: c.coin }
    const rec = this.t.coins.get(c.id)
    if (rec != null) {
      this.t.coins.set(c.id, { ...rec, chains: [...rec.chains, chain] })
      return
    }
    const { cert, serial, value } = c.mint
    this.t.coins.set(c.id, {
      id: c.id,
      cert,
      serial,
      value,
      minter: c.holders[0].peer,
      chains: [chain],
      at: this.cfg.now()
    })
    const sk = `${cert}|${serial}`
    if (!this.t.serials.has(sk)) this.t.serials.set(sk, { coin: c.id })
  }

  /** Records (or adds to) the fraud record `id`, with who was compensated and what was short. */
  private convicted(
    id: string,
    c: Conviction,
    coins: CoinInfo['coin'][],
    holder: string,
    shortfall: number,
    paid: number,
    owed = true
  ): FraudRecord {
    const prev = this.t.frauds.get(id)
    const f: FraudRecord = prev ?? {
      id,
      kind: c.kind,
      culprit: c.culprit,
      cert: c.cert,
      depth: c.depth,
      proof: { kind: c.kind, coins, depth: c.depth },
      detectedAt: this.cfg.now(),
      compensated: [],
      shortfall: []
    }
    const next: FraudRecord = {
      ...f,
      proof: { ...f.proof, coins: c.kind === 'over-mint' ? coins : f.proof.coins },
      compensated: owed && paid > 0 ? [...f.compensated, { holder, value: paid }] : f.compensated,
      shortfall: owed && shortfall > 0 ? [...f.shortfall, { holder, value: shortfall }] : f.shortfall
    }
    this.t.frauds.set(id, next)
    return next
  }

  /** Hands the escrow of every certificate past its expiry and the cashing grace back to its peer. */
  expire(now = this.cfg.now()): Array<{ cert: string; peer: string; amount: number }> {
    const out: Array<{ cert: string; peer: string; amount: number }> = []
    for (const r of this.t.certs.values())
      if (r.releasedAt == null && now > r.expiry + this.cfg.cashGraceMs)
        out.push({ cert: r.hash, peer: r.peer, amount: r.escrow })
    for (const o of out) {
      const r = this.books.cert(o.cert)
      this.t.certs.set(o.cert, { ...r, escrow: 0, released: r.released + o.amount, releasedAt: now })
      this.books.credit(o.peer, o.amount)
      this.books.bump({ released: o.amount })
    }
    return out
  }

  audit(): LedgerAudit {
    return this.books.audit()
  }
}
