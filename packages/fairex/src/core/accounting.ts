// The Accounting Centre (AC) of the file market, part of the broker: a pure,
// synchronous state machine over in-memory tables, like the PPay ledger, whose
// `accounts` table it shares. The service runs each call inside `store.apply`,
// so a call either throws having changed nothing or is one atomic batch.
//
// Money model. A capital certificate moves its `max` from the peer's balance
// into escrow held for that certificate. Before a provider sends any piece it
// reserves the price for its sale (provider, downloader, serial) under the
// certificate, with the downloader's signed request: a certificate can never
// promise the same money to two providers, and a reserved sale is paid even if
// the certificate expires before the cheque is deposited (until the deposit
// grace ends). A deposited fixed-form cheque is held for `holdMs` (the
// complaint window) before its price leaves the escrow for the provider, so a
// providerBan verdict in that window refunds the downloader in full; after it,
// the money is clawed back from the provider as far as its balance reaches.
// At expiry plus grace, whatever is neither deposited nor held goes back to
// the owner. Hence: sum of balances + escrow changes only by topups and
// withdrawals, and the broker states conservation as
// balances + outstanding coins + escrow = toppedUp. Every figure stays within
// core's MAX_MONEY: balances and escrow as the money topped up does, the
// running totals as the money ever escrowed does (each is part of it).
import { ErrorCode, addMoney, fail, isHash, randomId, toB64, type Signer, type Verifier } from '@p2pay/core'
import { noteBan, noteShortfall, type BanNotice } from './accounting-bans.ts'
import { AcBooks, type AcAudit } from './accounting-books.ts'
import { deposit, releaseHeld, type AcContext } from './accounting-deposit.ts'
import type {
  AccountingConfig,
  AccountingTables,
  CertificateRecord,
  ChequeRecord,
  DepositResult,
  IssueResult,
  ReserveResult,
  VoidResult
} from './accounting-records.ts'
import { openCertRequest, openCertificate, openCheque, openRequest, saleKey, signCertificate } from './messages.ts'

export class Accounting {
  readonly t: AccountingTables
  readonly cfg: AccountingConfig
  private readonly books: AcBooks
  private readonly signer: Signer
  private readonly verifier: Verifier

  constructor(t: AccountingTables, signer: Signer, verifier: Verifier, cfg: AccountingConfig) {
    if (!Number.isSafeInteger(cfg.depositFee) || cfg.depositFee < 0)
      throw new TypeError('depositFee must be a non-negative integer')
    if (!Number.isSafeInteger(cfg.holdMs) || cfg.holdMs < 0)
      throw new TypeError('holdMs must be a non-negative integer')
    this.t = t
    this.books = new AcBooks(t)
    this.signer = signer
    this.verifier = verifier
    this.cfg = cfg
  }

  /** The AC's peer id: certificates name it, and deposit fees go to its account. */
  get ac(): string {
    return this.signer.peerId
  }

  private get context(): AcContext {
    return { books: this.books, verifier: this.verifier, cfg: this.cfg, ac: this.ac }
  }

  balance(account: string): number {
    return this.books.balance(account)
  }

  certificate(hash: string): CertificateRecord | undefined {
    return this.t.certificates.get(hash)
  }
  cheque(provider: string, downloader: string, chequeSn: string): ChequeRecord | undefined {
    return this.t.cheques.get(saleKey(provider, downloader, chequeSn))
  }

  /**
   * Issues a capital certificate against the peer's balance: `max` moves into
   * escrow for it. The same request again returns the same certificate; its
   * nonce with other content is REPLAY.
   */
  issueCertificate(requestB64: unknown): IssueResult {
    const req = openCertRequest(this.verifier, requestB64)
    const b = req.body
    if (b.ac !== this.ac) fail(ErrorCode.WRONG_BROKER, 'certificate request is for another AC')
    const key = `${b.peer}|${b.nonce}`
    const done = this.books.t.certRequests.get(key)
    if (done != null) {
      if (done.hash !== req.hash) fail(ErrorCode.REPLAY, 'nonce already used for a different certificate request')
      return this.issued(this.books.t.certificates.get(done.certificate)!)
    }
    if (b.max > this.cfg.maxCertValue)
      fail(ErrorCode.BAD_REQUEST, `a certificate covers at most ${this.cfg.maxCertValue}`)
    if (this.books.balance(b.peer) < b.max)
      fail(ErrorCode.INSUFFICIENT_FUNDS, `balance ${this.books.balance(b.peer)} < ${b.max}`)
    // the money ever escrowed bounds every other running total (each is part of it): it stays within MAX_MONEY
    addMoney(this.books.meta().issued, b.max, 'the money ever put in escrow')
    const now = this.cfg.now()
    const cert = signCertificate(this.signer, {
      ac: this.ac,
      peer: b.peer,
      max: b.max,
      expiry: now + this.cfg.certTtlMs,
      serial: randomId(16)
    })
    const rec: CertificateRecord = {
      hash: cert.hash,
      serial: cert.body.serial,
      peer: b.peer,
      max: b.max,
      expiry: cert.body.expiry,
      issuedAt: now,
      escrow: b.max,
      reserved: 0,
      held: 0,
      paid: 0,
      voidReleased: 0,
      cert: toB64(cert.bytes)
    }
    this.books.credit(b.peer, -b.max)
    this.books.t.certificates.set(rec.hash, rec)
    this.books.t.certRequests.set(key, { hash: req.hash, certificate: rec.hash })
    this.books.bump({ issued: b.max })
    return this.issued(rec)
  }

  private issued(r: CertificateRecord): IssueResult {
    return { certificate: r.cert, hash: r.hash, serial: r.serial, max: r.max, expiry: r.expiry }
  }

  /**
   * Reserves a sale's price under the downloader's certificate. The provider
   * brings D's signed request (message 1.1) before it sends any piece: the AC
   * answers whether the money is there and promises it to this sale alone.
   * The same request again returns the same reservation; another request for
   * the same (provider, downloader, serial) is REPLAY.
   */
  reserve(requestB64: unknown, certificateB64: unknown): ReserveResult {
    const req = openRequest(this.verifier, requestB64, 'fairex-reserve')
    const r = req.body
    const certEnv = openCertificate(this.verifier, certificateB64, this.ac, 'fairex-reserve')
    const cert = this.books.t.certificates.get(certEnv.hash)
    if (cert == null) fail(ErrorCode.NOT_FOUND, 'capital certificate unknown to this AC')
    if (cert.peer !== r.downloader)
      fail(ErrorCode.WRONG_OWNER, "capital certificate belongs to another peer than the request's downloader")
    const key = saleKey(r.provider, r.downloader, r.chequeSn)
    const until = cert.expiry + this.cfg.depositGraceMs
    const prev = this.books.t.cheques.get(key)
    if (prev != null) {
      if (prev.request !== req.hash || prev.certificate !== cert.hash)
        fail(ErrorCode.REPLAY, 'this serial was already reserved for another request', { status: prev.status })
      if (prev.status === 'void')
        fail(ErrorCode.FRAUD, 'this sale was voided by the judge', { verdict: prev.void?.verdict })
      return {
        key,
        provider: r.provider,
        downloader: r.downloader,
        chequeSn: r.chequeSn,
        price: prev.price,
        certificate: cert.hash,
        until
      }
    }
    const now = this.cfg.now()
    if (cert.released != null || now > cert.expiry) fail(ErrorCode.EXPIRED, 'capital certificate expired')
    const free = cert.escrow - cert.reserved - cert.held
    if (r.price > free)
      fail(ErrorCode.INSUFFICIENT_FUNDS, `price ${r.price} > what the certificate has not promised yet (${free})`)
    this.books.t.certificates.set(cert.hash, { ...cert, reserved: cert.reserved + r.price })
    this.books.t.cheques.set(key, {
      provider: r.provider,
      downloader: r.downloader,
      chequeSn: r.chequeSn,
      price: r.price,
      certificate: cert.hash,
      request: req.hash,
      reservedAt: now,
      status: 'reserved'
    })
    return {
      key,
      provider: r.provider,
      downloader: r.downloader,
      chequeSn: r.chequeSn,
      price: r.price,
      certificate: cert.hash,
      until
    }
  }

  /**
   * Deposits a batch of cheques for the provider that signed the request. Each
   * cheque is paid, held, or refused on its own (one bad cheque does not sink
   * the batch); the fee is charged once, only if something was paid, and
   * never more than was paid. A retry of a request that paid returns the
   * first answer. Refusals of the batch itself (bad request, wrong AC, nonce
   * REPLAY) throw.
   */
  deposit(requestB64: unknown, items: unknown): DepositResult {
    return deposit(this.context, requestB64, items)
  }

  /**
   * Returns the unpromised escrow of every certificate past its expiry and
   * deposit grace to its owner; reserved sales that never deposited lapse with
   * it (held ones stay until their release). A scan is fine at this scale.
   */
  releaseExpired(now = this.cfg.now()): Array<{ certificate: string; peer: string; amount: number }> {
    const out: Array<{ certificate: string; peer: string; amount: number }> = []
    for (const r of this.books.t.certificates.values()) {
      if (r.released != null || now <= r.expiry + this.cfg.depositGraceMs) continue
      out.push({ certificate: r.hash, peer: r.peer, amount: r.escrow - r.held })
    }
    for (const o of out) {
      const r = this.books.t.certificates.get(o.certificate)!
      this.books.t.certificates.set(o.certificate, {
        ...r,
        escrow: r.held,
        reserved: 0,
        released: { amount: o.amount, at: now }
      })
      if (o.amount > 0) this.books.credit(o.peer, o.amount)
    }
    const total = out.reduce((n, o) => n + o.amount, 0)
    if (total > 0) this.books.bump({ released: total })
    return out
  }

  /** Pays providers the held proceeds whose complaint window has passed (less each batch's deferred fee). */
  releaseHeld(now = this.cfg.now()): Array<{ deposit: string; provider: string; paid: number; fee: number }> {
    return releaseHeld(this.context, now)
  }

  /**
   * Voids a fixed-form cheque on the judge's providerBan verdict and refunds its
   * downloader. The caller (the broker service) has checked that the verdict is
   * signed by the configured judge and names this cheque; `verdictRef` (the
   * verdict's hash) is recorded. Voiding the same cheque again returns the same
   * record. `ban`, the judge's ban record of the provider, holds its proceeds
   * until it ends (accounting-bans.ts); a shortfall is paid from them first.
   */
  voidCheque(chequeB64: unknown, verdictRef: unknown, ban?: BanNotice & { peer: string }): VoidResult {
    if (!isHash(verdictRef)) fail(ErrorCode.BAD_REQUEST, 'verdictRef must be the 64-hex hash of the verdict')
    const cheque = openCheque(this.verifier, chequeB64, 'fairex-void')
    const c = cheque.body
    // only the fixed protocol has a judge; and only C* names the request and escrow of its sale
    if (c.form !== 'fixed') fail(ErrorCode.BAD_REQUEST, 'only fixed-form cheques can be voided')
    if (ban != null && ban.peer !== c.provider) fail(ErrorCode.BAD_REQUEST, "the ban is not of the cheque's provider")
    // noted whether or not this cheque was voided before: whoever brought the verdict first, the ban counts
    if (ban != null) noteBan(this.books, c.provider, ban)
    const key = saleKey(c.provider, c.downloader, c.chequeSn)
    const prev = this.books.t.cheques.get(key)
    const view = (r: ChequeRecord): VoidResult => ({
      ...r.void!,
      key,
      provider: r.provider,
      downloader: r.downloader,
      chequeSn: r.chequeSn,
      price: r.price
    })
    const now = this.cfg.now()
    if (prev == null) {
      // never reserved: the provider can never be paid for it, and D's escrow was never promised;
      // the void is recorded so that no reservation can be made for this sale later
      const rec: ChequeRecord = {
        provider: c.provider,
        downloader: c.downloader,
        chequeSn: c.chequeSn,
        price: c.price,
        certificate: c.certificate,
        request: c.req,
        reservedAt: now,
        status: 'void',
        hash: cheque.hash,
        void: { cheque: cheque.hash, verdict: verdictRef, at: now, from: 'escrow', refunded: 0, shortfall: 0 }
      }
      this.books.t.cheques.set(key, rec)
      return view(rec)
    }
    if (prev.status === 'void') {
      if (prev.void!.cheque !== cheque.hash)
        fail(ErrorCode.REPLAY, 'this sale was already voided on a different cheque')
      return view(prev)
    }
    // P signed this cheque for this very request: whichever of P's cheques was deposited, the sale is the one judged
    if (c.req !== prev.request)
      fail(ErrorCode.BAD_REQUEST, 'cheque is for another request than the sale reserved at this AC')
    if (prev.status === 'paid') {
      const refunded = Math.min(prev.price, Math.max(0, this.books.balance(prev.provider)))
      const shortfall = prev.price - refunded
      if (refunded > 0) {
        this.books.credit(prev.provider, -refunded)
        this.books.credit(prev.downloader, refunded)
      }
      const rec: ChequeRecord = {
        ...prev,
        status: 'void',
        void: { cheque: cheque.hash, verdict: verdictRef, at: now, from: 'provider', refunded, shortfall }
      }
      this.books.t.cheques.set(key, rec)
      this.books.bump({ clawedBack: refunded, shortfall })
      noteShortfall(this.books, prev.provider, key, prev.downloader, shortfall)
      return view(rec)
    }
    // reserved or held: the price is still in escrow, unless the certificate already
    // expired and handed its unpromised escrow (this reservation included) back to D
    const cert = this.books.t.certificates.get(prev.certificate)!
    const lapsed = prev.status === 'reserved' && cert.released != null
    const refunded = lapsed ? 0 : prev.price
    if (!lapsed) {
      this.books.spendEscrow(cert.hash, prev.price, prev.status, 'voidReleased')
      this.books.credit(prev.downloader, refunded)
      this.books.bump({ voidReleased: refunded })
    }
    const rec: ChequeRecord = {
      ...prev,
      status: 'void',
      hash: prev.hash ?? cheque.hash,
      void: { cheque: cheque.hash, verdict: verdictRef, at: now, from: 'escrow', refunded, shortfall: 0 }
    }
    this.books.t.cheques.set(key, rec)
    return view(rec)
  }

  /** What the AC must account for, and whether its own books hold (see AcBooks.audit). */
  audit(): AcAudit {
    return this.books.audit()
  }
}
