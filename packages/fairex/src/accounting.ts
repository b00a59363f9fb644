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
// balances + outstanding coins + escrow = toppedUp.
import {
  ErrorCode,
  P2payError,
  fail,
  randomId,
  sha256Hex,
  toB64,
  type Opened,
  type Signer,
  type Table,
  type Verifier
} from '@p2pay/core'
import {
  decodeEnvelope,
  isHash,
  openCertRequest,
  openCertificate,
  openCheque,
  openChequeAccept,
  openDepositRequest,
  openRequest,
  saleKey,
  signCertificate,
  type ChequeBody
} from './messages.ts'

export interface Account {
  balance: number
}

export interface CertificateRecord {
  /** sha256 of the certificate envelope: its identity, and the table key */
  hash: string
  serial: string
  peer: string
  max: number
  expiry: number
  issuedAt: number
  /** value still held for this certificate (includes `reserved` and `held`) */
  escrow: number
  /** promised to sales that reserved it and have not deposited */
  reserved: number
  /** deposited, waiting out the complaint window */
  held: number
  /** paid out to providers */
  paid: number
  /** handed back to the owner by voids */
  voidReleased: number
  /** handed back to the owner at expiry; set once */
  released?: { amount: number; at: number }
  /** the envelope, base64: a retried issue request gets these exact bytes */
  cert: string
}

export interface VoidRecord {
  /** hash of the voided cheque envelope */
  cheque: string
  /** reference to the judge's verdict (hash of its signed record) */
  verdict: string
  at: number
  /** 'provider': paid, clawed back from the provider; 'escrow': not paid yet, refunded from the escrow */
  from: 'provider' | 'escrow'
  /** what the downloader got back */
  refunded: number
  /** what could not be clawed back: the provider's balance ran dry */
  shortfall: number
}

/**
 * One sale at the AC, keyed by saleKey(provider, downloader, serial):
 * reserved before the pieces go out, then held or paid on deposit, or void.
 */
export interface ChequeRecord {
  provider: string
  downloader: string
  chequeSn: string
  price: number
  /** hash of the certificate whose escrow backs it */
  certificate: string
  /** hash of D's signed request: a cheque of this sale must be for it (fixed form signs it in) */
  request: string
  reservedAt: number
  status: 'reserved' | 'held' | 'paid' | 'void'
  /** hash of the deposited (or voided) cheque envelope */
  hash?: string
  /** set on deposit; the envelopes are the provider's evidence */
  deposited?: { at: number; deposit: string; cheque: string; accept: string; releaseAt: number }
  paidAt?: number
  void?: VoidRecord
}

export type DepositItemResult =
  | { status: 'paid' | 'held'; cheque: string; downloader: string; chequeSn: string; price: number }
  | { status: 'refused'; cheque: string; code: string; message: string }

export interface DepositResult {
  /** hash of the signed deposit request */
  deposit: string
  provider: string
  results: DepositItemResult[]
  /** sum of the prices credited now */
  paid: number
  /** sum of the prices held until `releaseAt` */
  held: number
  releaseAt?: number
  /** charged once per batch, never more than the batch pays; with nothing paid now it is taken at release */
  fee: number
}

export interface DepositItem {
  cheque: string
  accept: string
  certificate: string
}

export interface ReserveResult {
  key: string
  provider: string
  downloader: string
  chequeSn: string
  price: number
  certificate: string
  until: number
}

export interface VoidResult extends VoidRecord {
  key: string
  provider: string
  downloader: string
  chequeSn: string
  price: number
}

export interface IssueResult {
  certificate: string
  hash: string
  serial: string
  max: number
  expiry: number
}

/** A deposit batch waiting out the complaint window. */
export interface HoldRecord {
  provider: string
  releaseAt: number
  keys: string[]
  fee: number
}

export interface AcMeta {
  /** escrowed by certificates, ever */
  issued: number
  /** escrow paid out to providers */
  paid: number
  /** escrow returned at expiry */
  released: number
  /** escrow returned by voids of unpaid cheques */
  voidReleased: number
  /** deposit fees credited to the AC */
  fees: number
  /** moved back from providers to downloaders by voids */
  clawedBack: number
  /** what voids could not claw back */
  shortfall: number
}

export interface AccountingTables {
  /** shared with the PPay ledger */
  accounts: Table<Account>
  /** by certificate hash */
  certificates: Table<CertificateRecord>
  /** `peer|nonce` -> the request hash and the certificate it got */
  certRequests: Table<{ hash: string; certificate: string }>
  /** saleKey(provider, downloader, chequeSn) */
  cheques: Table<ChequeRecord>
  /** `provider|nonce` */
  deposits: Table<{ hash: string; at: number; result: DepositResult }>
  /** by deposit hash: batches whose proceeds are held */
  holds: Table<HoldRecord>
  meta: Table<AcMeta>
}

/** The AC's own buckets (the accounts table is the PPay ledger's). */
export const ACCOUNTING_TABLES = [
  'certificates',
  'certRequests',
  'cheques',
  'deposits',
  'holds',
  'meta'
] as const satisfies ReadonlyArray<keyof AccountingTables>

export interface AccountingConfig {
  now: () => number
  certTtlMs: number
  maxCertValue: number
  /** charged per deposit batch that paid anything, credited to the AC */
  depositFee: number
  /** escrow stays this long past a certificate's expiry, so reserved sales can still be deposited */
  depositGraceMs: number
  maxDepositBatch: number
  /** a cheque dated further in the future than this is refused */
  maxClockSkewMs: number
  /**
   * The complaint window: a deposited fixed-form cheque's price stays in escrow
   * this long, so a providerBan verdict inside it refunds the downloader in
   * full. 0 pays at once (then a void can only claw back what the provider still has).
   */
  holdMs: number
}

const EMPTY_META: AcMeta = { issued: 0, paid: 0, released: 0, voidReleased: 0, fees: 0, clawedBack: 0, shortfall: 0 }

interface Checked {
  cheque: Opened<ChequeBody>
  cert: CertificateRecord
  key: string
  sale: ChequeRecord
}

export class Accounting {
  readonly t: AccountingTables
  private readonly signer: Signer
  private readonly verifier: Verifier
  readonly cfg: AccountingConfig

  constructor(t: AccountingTables, signer: Signer, verifier: Verifier, cfg: AccountingConfig) {
    if (!Number.isSafeInteger(cfg.depositFee) || cfg.depositFee < 0)
      throw new TypeError('depositFee must be a non-negative integer')
    if (!Number.isSafeInteger(cfg.holdMs) || cfg.holdMs < 0)
      throw new TypeError('holdMs must be a non-negative integer')
    this.t = t
    this.signer = signer
    this.verifier = verifier
    this.cfg = cfg
  }

  /** The AC's peer id: certificates name it, and deposit fees go to its account. */
  get ac(): string {
    return this.signer.peerId
  }

  private meta(): AcMeta {
    return this.t.meta.get('meta') ?? EMPTY_META
  }
  private bump(delta: Partial<AcMeta>): void {
    const m = { ...this.meta() }
    for (const [k, v] of Object.entries(delta) as Array<[keyof AcMeta, number]>) m[k] += v
    this.t.meta.set('meta', m)
  }

  balance(account: string): number {
    return this.t.accounts.get(account)?.balance ?? 0
  }

  private credit(account: string, delta: number): void {
    const next = this.balance(account) + delta
    // every caller checked first; reaching this is a bug, and the service rolls the call back
    if (next < 0) throw new Error(`balance of ${account} would go negative`)
    this.t.accounts.set(account, { balance: next })
  }

  /** Moves `price` of a certificate's escrow out: to the provider (paid) or back to the owner (void). */
  private spendEscrow(certHash: string, price: number, from: 'reserved' | 'held', to: 'paid' | 'voidReleased'): void {
    const c = this.t.certificates.get(certHash)!
    this.t.certificates.set(certHash, { ...c, [from]: c[from] - price, escrow: c.escrow - price, [to]: c[to] + price })
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
    const done = this.t.certRequests.get(key)
    if (done != null) {
      if (done.hash !== req.hash) fail(ErrorCode.REPLAY, 'nonce already used for a different certificate request')
      return this.issued(this.t.certificates.get(done.certificate)!)
    }
    if (b.max > this.cfg.maxCertValue)
      fail(ErrorCode.BAD_REQUEST, `a certificate covers at most ${this.cfg.maxCertValue}`)
    if (this.balance(b.peer) < b.max) fail(ErrorCode.INSUFFICIENT_FUNDS, `balance ${this.balance(b.peer)} < ${b.max}`)
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
    this.credit(b.peer, -b.max)
    this.t.certificates.set(rec.hash, rec)
    this.t.certRequests.set(key, { hash: req.hash, certificate: rec.hash })
    this.bump({ issued: b.max })
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
    const cert = this.t.certificates.get(certEnv.hash)
    if (cert == null) fail(ErrorCode.NOT_FOUND, 'capital certificate unknown to this AC')
    if (cert.peer !== r.downloader)
      fail(ErrorCode.WRONG_OWNER, "capital certificate belongs to another peer than the request's downloader")
    const key = saleKey(r.provider, r.downloader, r.chequeSn)
    const until = cert.expiry + this.cfg.depositGraceMs
    const prev = this.t.cheques.get(key)
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
    this.t.certificates.set(cert.hash, { ...cert, reserved: cert.reserved + r.price })
    this.t.cheques.set(key, {
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
    const req = openDepositRequest(this.verifier, requestB64)
    const b = req.body
    if (b.ac !== this.ac) fail(ErrorCode.WRONG_BROKER, 'deposit request is for another AC')
    const depositKey = `${b.provider}|${b.nonce}`
    const done = this.t.deposits.get(depositKey)
    if (done != null) {
      if (done.hash !== req.hash) fail(ErrorCode.REPLAY, 'nonce already used for a different deposit')
      return done.result
    }
    if (b.cheques.length > this.cfg.maxDepositBatch)
      fail(ErrorCode.BAD_REQUEST, `a deposit holds at most ${this.cfg.maxDepositBatch} cheques`)
    if (!Array.isArray(items) || items.length !== b.cheques.length)
      fail(ErrorCode.BAD_REQUEST, 'items must match the cheques the deposit request lists')
    // the provider's signature names each cheque; the batch must be exactly what it signed
    const list = items.map((it: unknown, i: number): DepositItem => {
      if (it == null || typeof it !== 'object')
        fail(ErrorCode.BAD_REQUEST, `item ${i} must be {cheque, accept, certificate}`)
      const { cheque, accept, certificate } = it as Record<string, unknown>
      if (sha256Hex(decodeEnvelope(cheque, `item ${i} cheque`)) !== b.cheques[i])
        fail(ErrorCode.BAD_REQUEST, `item ${i} is not the cheque the deposit request lists`)
      return { cheque: cheque as string, accept: accept as string, certificate: certificate as string }
    })

    const now = this.cfg.now()
    const releaseAt = now + this.cfg.holdMs
    const results: DepositItemResult[] = []
    const heldKeys: string[] = []
    let paid = 0
    let held = 0
    for (const [i, item] of list.entries()) {
      let ok: Checked
      try {
        ok = this.checkItem(item, b.provider, now)
      } catch (err) {
        if (!(err instanceof P2payError)) throw err
        results.push({ status: 'refused', cheque: b.cheques[i], code: err.code, message: err.message })
        continue
      }
      // checked, now settle: later items see this one (a serial twice in one batch pays once)
      const c = ok.cheque.body
      // only a fixed-form cheque can be voided by the judge, so only its price waits out the window
      const hold = c.form === 'fixed' && this.cfg.holdMs > 0
      const deposited = {
        at: now,
        deposit: req.hash,
        cheque: item.cheque,
        accept: item.accept,
        releaseAt: hold ? releaseAt : now
      }
      if (hold) {
        const cert = this.t.certificates.get(ok.cert.hash)!
        this.t.certificates.set(cert.hash, { ...cert, reserved: cert.reserved - c.price, held: cert.held + c.price })
        this.t.cheques.set(ok.key, { ...ok.sale, status: 'held', hash: ok.cheque.hash, deposited })
        heldKeys.push(ok.key)
        held += c.price
      } else {
        this.spendEscrow(ok.cert.hash, c.price, 'reserved', 'paid')
        this.t.cheques.set(ok.key, { ...ok.sale, status: 'paid', hash: ok.cheque.hash, deposited, paidAt: now })
        this.credit(c.provider, c.price)
        paid += c.price
      }
      results.push({
        status: hold ? 'held' : 'paid',
        cheque: ok.cheque.hash,
        downloader: c.downloader,
        chequeSn: c.chequeSn,
        price: c.price
      })
    }
    const fee = Math.min(this.cfg.depositFee, paid)
    if (fee > 0) {
      this.credit(b.provider, -fee)
      this.credit(this.ac, fee)
    }
    const result: DepositResult = {
      deposit: req.hash,
      provider: b.provider,
      results,
      paid,
      held,
      ...(held > 0 ? { releaseAt } : {}),
      fee
    }
    // a batch that settled nothing moved nothing: it leaves no trace, and a retry is simply re-checked
    if (paid > 0 || held > 0) {
      if (paid > 0) this.bump({ paid, fees: fee })
      // the fee was not charged now if nothing was paid now: it is taken when the held part is released
      if (held > 0)
        this.t.holds.set(req.hash, {
          provider: b.provider,
          releaseAt,
          keys: heldKeys,
          fee: fee > 0 ? 0 : this.cfg.depositFee
        })
      this.t.deposits.set(depositKey, { hash: req.hash, at: now, result })
    }
    return result
  }

  /** Everything that must hold before a cheque is settled; throws the first thing that does not. */
  private checkItem(item: DepositItem, depositor: string, now: number): Checked {
    const cheque = openCheque(this.verifier, item.cheque, 'fairex-deposit')
    const c = cheque.body
    openChequeAccept(this.verifier, item.accept, cheque, 'fairex-deposit')
    const certEnv = openCertificate(this.verifier, item.certificate, this.ac, 'fairex-deposit')
    if (c.provider !== depositor) fail(ErrorCode.WRONG_HOLDER, "only the cheque's provider can deposit it")
    const key = saleKey(c.provider, c.downloader, c.chequeSn)
    const sale = this.t.cheques.get(key)
    if (sale == null)
      fail(
        ErrorCode.NOT_FOUND,
        'no reservation for this sale: a provider reserves the price at the AC before it sends pieces'
      )
    if (sale.status === 'void')
      fail(ErrorCode.FRAUD, 'this sale was voided by the judge', { verdict: sale.void?.verdict })
    if (sale.status !== 'reserved')
      fail(ErrorCode.ALREADY_CASHED, 'this sale was already deposited', { cheque: sale.hash })
    if (sale.certificate !== certEnv.hash)
      fail(ErrorCode.BAD_REQUEST, 'the sale was reserved under another capital certificate')
    if (c.price !== sale.price) fail(ErrorCode.BAD_REQUEST, `cheque price ${c.price} is not the reserved ${sale.price}`)
    if (c.form === 'fixed' && (c.req !== sale.request || c.certificate !== sale.certificate))
      fail(ErrorCode.BAD_REQUEST, 'cheque signs another request or certificate than the reservation')
    if (c.ts > now + this.cfg.maxClockSkewMs) fail(ErrorCode.BAD_REQUEST, 'cheque dated in the future')
    const cert = this.t.certificates.get(sale.certificate)!
    if (cert.released != null || now > cert.expiry + this.cfg.depositGraceMs)
      fail(ErrorCode.EXPIRED, 'capital certificate expired and its escrow was returned')
    return { cheque, cert, key, sale }
  }

  /**
   * Returns the unpromised escrow of every certificate past its expiry and
   * deposit grace to its owner; reserved sales that never deposited lapse with
   * it (held ones stay until their release). A scan is fine at this scale.
   */
  releaseExpired(now = this.cfg.now()): Array<{ certificate: string; peer: string; amount: number }> {
    const out: Array<{ certificate: string; peer: string; amount: number }> = []
    for (const r of this.t.certificates.values()) {
      if (r.released != null || now <= r.expiry + this.cfg.depositGraceMs) continue
      out.push({ certificate: r.hash, peer: r.peer, amount: r.escrow - r.held })
    }
    for (const o of out) {
      const r = this.t.certificates.get(o.certificate)!
      this.t.certificates.set(o.certificate, {
        ...r,
        escrow: r.held,
        reserved: 0,
        released: { amount: o.amount, at: now }
      })
      if (o.amount > 0) this.credit(o.peer, o.amount)
    }
    const total = out.reduce((n, o) => n + o.amount, 0)
    if (total > 0) this.bump({ released: total })
    return out
  }

  /** Pays providers the held proceeds whose complaint window has passed (less each batch's deferred fee). */
  releaseHeld(now = this.cfg.now()): Array<{ deposit: string; provider: string; paid: number; fee: number }> {
    const due = [...this.t.holds.entries()].filter(([, h]) => h.releaseAt <= now)
    const out: Array<{ deposit: string; provider: string; paid: number; fee: number }> = []
    for (const [deposit, h] of due) {
      let sum = 0
      for (const key of h.keys) {
        const sale = this.t.cheques.get(key)
        if (sale?.status !== 'held') continue // voided inside the window
        this.spendEscrow(sale.certificate, sale.price, 'held', 'paid')
        this.t.cheques.set(key, { ...sale, status: 'paid', paidAt: now })
        sum += sale.price
      }
      const fee = Math.min(h.fee, sum)
      if (sum > 0) this.credit(h.provider, sum - fee)
      if (fee > 0) this.credit(this.ac, fee)
      this.bump({ paid: sum, fees: fee })
      this.t.holds.delete(deposit)
      out.push({ deposit, provider: h.provider, paid: sum, fee })
    }
    return out
  }

  /**
   * Voids a fixed-form cheque on the judge's providerBan verdict and refunds its
   * downloader. The caller (the broker service) has checked that the verdict is
   * signed by the configured judge and names this cheque; `verdictRef` (the
   * verdict's hash) is recorded. Voiding the same cheque again returns the same
   * record.
   */
  voidCheque(chequeB64: unknown, verdictRef: unknown): VoidResult {
    if (!isHash(verdictRef)) fail(ErrorCode.BAD_REQUEST, 'verdictRef must be the 64-hex hash of the verdict')
    const cheque = openCheque(this.verifier, chequeB64, 'fairex-void')
    const c = cheque.body
    // only the fixed protocol has a judge; and only C* names the request and escrow of its sale
    if (c.form !== 'fixed') fail(ErrorCode.BAD_REQUEST, 'only fixed-form cheques can be voided')
    const key = saleKey(c.provider, c.downloader, c.chequeSn)
    const prev = this.t.cheques.get(key)
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
      this.t.cheques.set(key, rec)
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
      const refunded = Math.min(prev.price, Math.max(0, this.balance(prev.provider)))
      const shortfall = prev.price - refunded
      if (refunded > 0) {
        this.credit(prev.provider, -refunded)
        this.credit(prev.downloader, refunded)
      }
      const rec: ChequeRecord = {
        ...prev,
        status: 'void',
        void: { cheque: cheque.hash, verdict: verdictRef, at: now, from: 'provider', refunded, shortfall }
      }
      this.t.cheques.set(key, rec)
      this.bump({ clawedBack: refunded, shortfall })
      return view(rec)
    }
    // reserved or held: the price is still in escrow, unless the certificate already
    // expired and handed its unpromised escrow (this reservation included) back to D
    const cert = this.t.certificates.get(prev.certificate)!
    const lapsed = prev.status === 'reserved' && cert.released != null
    const refunded = lapsed ? 0 : prev.price
    if (!lapsed) {
      this.spendEscrow(cert.hash, prev.price, prev.status, 'voidReleased')
      this.credit(prev.downloader, refunded)
      this.bump({ voidReleased: refunded })
    }
    const rec: ChequeRecord = {
      ...prev,
      status: 'void',
      hash: prev.hash ?? cheque.hash,
      void: { cheque: cheque.hash, verdict: verdictRef, at: now, from: 'escrow', refunded, shortfall: 0 }
    }
    this.t.cheques.set(key, rec)
    return view(rec)
  }

  /**
   * What the AC must account for: every balance plus the escrow it holds.
   * `holds` checks the AC's own books: each certificate's escrow is its max less
   * what left it and covers what it promised, the escrow total matches the
   * running totals, and no balance is negative. The broker adds PPay's
   * outstanding coins for conservation.
   */
  audit(): {
    balances: number
    escrow: number
    held: number
    holds: boolean
    certificates: number
    cheques: number
    voids: number
    meta: AcMeta
  } {
    let balances = 0
    let negative = false
    for (const a of this.t.accounts.values()) {
      balances += a.balance
      if (a.balance < 0) negative = true
    }
    let escrow = 0
    let held = 0
    let books = true
    for (const r of this.t.certificates.values()) {
      escrow += r.escrow
      held += r.held
      if (r.escrow !== r.max - r.paid - r.voidReleased - (r.released?.amount ?? 0)) books = false
      if (r.reserved < 0 || r.held < 0 || r.reserved + r.held > r.escrow) books = false
    }
    let voids = 0
    for (const c of this.t.cheques.values()) if (c.status === 'void') voids++
    const m = this.meta()
    const holds = books && !negative && escrow === m.issued - m.paid - m.released - m.voidReleased
    return {
      balances,
      escrow,
      held,
      holds,
      certificates: this.t.certificates.size,
      cheques: this.t.cheques.size,
      voids,
      meta: m
    }
  }
}
