// The Accounting Centre (AC) of the file market, part of the broker: a pure,
// synchronous state machine over in-memory tables, like the PPay ledger, whose
// `accounts` table it shares. The service runs each call inside `store.apply`,
// so a call either throws having changed nothing or is one atomic batch.
//
// Money model. A capital certificate moves its `max` from the peer's balance
// into escrow held for that certificate, so a cheque under it can always be
// paid. A deposited cheque moves its price from that escrow to the provider; at
// expiry (plus a grace period for deposits) the rest goes back to the owner.
// Hence: sum of balances + escrow changes only by topups and withdrawals, and
// the broker states conservation as balances + outstanding coins + escrow = toppedUp.
//
// Going past the paper: when the judge rules providerBan, `voidCheque` gives
// the downloader its money back, from the provider's balance if the cheque was
// already paid (as far as that balance reaches: nobody's money is minted), or
// from the escrow if it was not (and the serial can then never be deposited).
import { ErrorCode, P2payError, fail, randomId, sha256Hex, toB64, type Opened, type Signer, type Table, type Verifier } from '@p2pay/core'
import {
  chequeKey, decodeEnvelope, isHash, openCertRequest, openCertificate, openCheque, openChequeAccept, openDepositRequest, signCertificate,
  type ChequeBody
} from './messages.ts'

export interface Account { balance: number }

export interface CertificateRecord {
  /** sha256 of the certificate envelope: its identity, and the table key */
  hash: string
  serial: string
  peer: string
  max: number
  expiry: number
  issuedAt: number
  /** value still held for cheques under this certificate */
  escrow: number
  /** paid out to providers */
  paid: number
  /** handed back to the owner by voided, never-deposited cheques */
  voidReleased: number
  /** handed back to the owner at expiry; set once */
  released?: { amount: number, at: number }
  /** the envelope, base64: a retried issue request gets these exact bytes */
  cert: string
}

export interface VoidRecord {
  /** hash of the voided cheque envelope */
  cheque: string
  /** reference to the judge's verdict (hash of its signed record) */
  verdict: string
  at: number
  /** 'provider': the cheque was paid and is clawed back; 'escrow': it was not, and the escrow is released */
  from: 'provider' | 'escrow'
  /** what the downloader got back */
  refunded: number
  /** what could not be clawed back: the provider's balance ran dry */
  shortfall: number
}

export interface ChequeRecord {
  hash: string
  provider: string
  downloader: string
  chequeSn: string
  price: number
  /** hash of the certificate whose escrow backs it */
  certificate: string
  status: 'paid' | 'void'
  /** set when it was paid; kept when it is voided later */
  paid?: { at: number, deposit: string, cheque: string, accept: string }
  void?: VoidRecord
}

export type DepositItemResult =
  | { status: 'paid', cheque: string, downloader: string, chequeSn: string, price: number }
  | { status: 'refused', cheque: string, code: string, message: string }

export interface DepositResult {
  /** hash of the signed deposit request */
  deposit: string
  provider: string
  results: DepositItemResult[]
  /** sum of the prices paid */
  paid: number
  /** charged once per batch, never more than `paid` */
  fee: number
}

export interface DepositItem { cheque: string, accept: string, certificate: string }

export interface VoidResult extends VoidRecord { key: string, provider: string, downloader: string, chequeSn: string, price: number }

export interface IssueResult { certificate: string, hash: string, serial: string, max: number, expiry: number }

export interface AcMeta {
  /** escrowed by certificates, ever */
  issued: number
  /** escrow paid out to providers */
  paid: number
  /** escrow returned at expiry */
  released: number
  /** escrow returned by voids of undeposited cheques */
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
  certRequests: Table<{ hash: string, certificate: string }>
  /** `downloader|chequeSn` */
  cheques: Table<ChequeRecord>
  /** `provider|nonce` */
  deposits: Table<{ hash: string, at: number, result: DepositResult }>
  meta: Table<AcMeta>
}

/** The AC's own buckets (the accounts table is the PPay ledger's). */
export const ACCOUNTING_TABLES = ['certificates', 'certRequests', 'cheques', 'deposits', 'meta'] as const satisfies ReadonlyArray<keyof AccountingTables>

export interface AccountingConfig {
  now: () => number
  certTtlMs: number
  maxCertValue: number
  /** charged per deposit batch that paid anything, credited to the AC */
  depositFee: number
  /** escrow stays this long past a certificate's expiry, so cheques dated before it can still be deposited */
  depositGraceMs: number
  maxDepositBatch: number
  /** a cheque dated further in the future than this is refused */
  maxClockSkewMs: number
}

const EMPTY_META: AcMeta = { issued: 0, paid: 0, released: 0, voidReleased: 0, fees: 0, clawedBack: 0, shortfall: 0 }

interface Checked { cheque: Opened<ChequeBody>, cert: CertificateRecord, key: string }

export class Accounting {
  readonly t: AccountingTables
  private readonly signer: Signer
  private readonly verifier: Verifier
  readonly cfg: AccountingConfig

  constructor (t: AccountingTables, signer: Signer, verifier: Verifier, cfg: AccountingConfig) {
    if (!Number.isSafeInteger(cfg.depositFee) || cfg.depositFee < 0) throw new TypeError('depositFee must be a non-negative integer')
    this.t = t
    this.signer = signer
    this.verifier = verifier
    this.cfg = cfg
  }

  /** The AC's peer id: certificates name it, and deposit fees go to its account. */
  get ac (): string { return this.signer.peerId }

  private meta (): AcMeta { return this.t.meta.get('meta') ?? EMPTY_META }
  private bump (delta: Partial<AcMeta>): void {
    const m = { ...this.meta() }
    for (const [k, v] of Object.entries(delta) as Array<[keyof AcMeta, number]>) m[k] += v
    this.t.meta.set('meta', m)
  }

  balance (account: string): number { return this.t.accounts.get(account)?.balance ?? 0 }

  private credit (account: string, delta: number): void {
    const next = this.balance(account) + delta
    // every caller checked first; reaching this is a bug, and the service rolls the call back
    if (next < 0) throw new Error(`balance of ${account} would go negative`)
    this.t.accounts.set(account, { balance: next })
  }

  certificate (hash: string): CertificateRecord | undefined { return this.t.certificates.get(hash) }
  cheque (downloader: string, chequeSn: string): ChequeRecord | undefined { return this.t.cheques.get(chequeKey(downloader, chequeSn)) }

  /**
   * Issues a capital certificate against the peer's balance: `max` moves into
   * escrow for it. The same request again returns the same certificate; its
   * nonce with other content is REPLAY.
   */
  issueCertificate (requestB64: unknown): IssueResult {
    const req = openCertRequest(this.verifier, requestB64)
    const b = req.body
    if (b.ac !== this.ac) fail(ErrorCode.WRONG_BROKER, 'certificate request is for another AC')
    const key = `${b.peer}|${b.nonce}`
    const done = this.t.certRequests.get(key)
    if (done != null) {
      if (done.hash !== req.hash) fail(ErrorCode.REPLAY, 'nonce already used for a different certificate request')
      return this.issued(this.t.certificates.get(done.certificate)!)
    }
    if (b.max > this.cfg.maxCertValue) fail(ErrorCode.BAD_REQUEST, `a certificate covers at most ${this.cfg.maxCertValue}`)
    if (this.balance(b.peer) < b.max) fail(ErrorCode.INSUFFICIENT_FUNDS, `balance ${this.balance(b.peer)} < ${b.max}`)
    const now = this.cfg.now()
    const cert = signCertificate(this.signer, { ac: this.ac, peer: b.peer, max: b.max, expiry: now + this.cfg.certTtlMs, serial: randomId(16) })
    const rec: CertificateRecord = {
      hash: cert.hash, serial: cert.body.serial, peer: b.peer, max: b.max, expiry: cert.body.expiry, issuedAt: now,
      escrow: b.max, paid: 0, voidReleased: 0, cert: toB64(cert.bytes)
    }
    this.credit(b.peer, -b.max)
    this.t.certificates.set(rec.hash, rec)
    this.t.certRequests.set(key, { hash: req.hash, certificate: rec.hash })
    this.bump({ issued: b.max })
    return this.issued(rec)
  }

  private issued (r: CertificateRecord): IssueResult {
    return { certificate: r.cert, hash: r.hash, serial: r.serial, max: r.max, expiry: r.expiry }
  }

  /**
   * Deposits a batch of cheques for the provider that signed the request. Each
   * cheque is paid or refused on its own (one bad cheque does not sink the
   * batch); the fee is charged once, only if something was paid, and never
   * more than was paid. A retry of a request that paid returns the first answer.
   * Refusals of the batch itself (bad request, wrong AC, nonce REPLAY) throw.
   */
  deposit (requestB64: unknown, items: unknown): DepositResult {
    const req = openDepositRequest(this.verifier, requestB64)
    const b = req.body
    if (b.ac !== this.ac) fail(ErrorCode.WRONG_BROKER, 'deposit request is for another AC')
    const key = `${b.provider}|${b.nonce}`
    const done = this.t.deposits.get(key)
    if (done != null) {
      if (done.hash !== req.hash) fail(ErrorCode.REPLAY, 'nonce already used for a different deposit')
      return done.result
    }
    if (b.cheques.length > this.cfg.maxDepositBatch) fail(ErrorCode.BAD_REQUEST, `a deposit holds at most ${this.cfg.maxDepositBatch} cheques`)
    if (!Array.isArray(items) || items.length !== b.cheques.length) fail(ErrorCode.BAD_REQUEST, 'items must match the cheques the deposit request lists')
    // the provider's signature names each cheque; the batch must be exactly what it signed
    const list = items.map((it: unknown, i: number): DepositItem => {
      if (it == null || typeof it !== 'object') fail(ErrorCode.BAD_REQUEST, `item ${i} must be {cheque, accept, certificate}`)
      const { cheque, accept, certificate } = it as Record<string, unknown>
      if (sha256Hex(decodeEnvelope(cheque, `item ${i} cheque`)) !== b.cheques[i]) fail(ErrorCode.BAD_REQUEST, `item ${i} is not the cheque the deposit request lists`)
      return { cheque: cheque as string, accept: accept as string, certificate: certificate as string }
    })

    const now = this.cfg.now()
    const results: DepositItemResult[] = []
    let paid = 0
    for (const [i, item] of list.entries()) {
      let ok: Checked
      try {
        ok = this.checkItem(item, b.provider, now)
      } catch (err) {
        if (!(err instanceof P2payError)) throw err
        results.push({ status: 'refused', cheque: b.cheques[i], code: err.code, message: err.message })
        continue
      }
      // checked, now pay: later items see this one (a serial twice in one batch pays once)
      const c = ok.cheque.body
      this.t.certificates.set(ok.cert.hash, { ...ok.cert, escrow: ok.cert.escrow - c.price, paid: ok.cert.paid + c.price })
      this.t.cheques.set(ok.key, {
        hash: ok.cheque.hash, provider: c.provider, downloader: c.downloader, chequeSn: c.chequeSn, price: c.price, certificate: ok.cert.hash,
        status: 'paid', paid: { at: now, deposit: req.hash, cheque: item.cheque, accept: item.accept }
      })
      this.credit(c.provider, c.price)
      paid += c.price
      results.push({ status: 'paid', cheque: ok.cheque.hash, downloader: c.downloader, chequeSn: c.chequeSn, price: c.price })
    }
    const fee = Math.min(this.cfg.depositFee, paid)
    if (fee > 0) {
      this.credit(b.provider, -fee)
      this.credit(this.ac, fee)
    }
    const result: DepositResult = { deposit: req.hash, provider: b.provider, results, paid, fee }
    // a batch that paid nothing moved nothing: it leaves no trace, and a retry is simply re-checked
    if (paid > 0) {
      this.bump({ paid, fees: fee })
      this.t.deposits.set(key, { hash: req.hash, at: now, result })
    }
    return result
  }

  /** Everything that must hold before a cheque is paid; throws the first thing that does not. */
  private checkItem (item: DepositItem, depositor: string, now: number): Checked {
    const cheque = openCheque(this.verifier, item.cheque, 'fairex-deposit')
    const c = cheque.body
    openChequeAccept(this.verifier, item.accept, cheque, 'fairex-deposit')
    const certEnv = openCertificate(this.verifier, item.certificate, this.ac, 'fairex-deposit')
    const cert = this.t.certificates.get(certEnv.hash)
    if (cert == null) fail(ErrorCode.NOT_FOUND, 'capital certificate unknown to this AC')
    if (cert.peer !== c.downloader) fail(ErrorCode.WRONG_OWNER, 'capital certificate belongs to another peer than the cheque\'s downloader')
    if (c.form === 'fixed' && c.certificate !== cert.hash) fail(ErrorCode.BAD_REQUEST, 'cheque names another capital certificate')
    if (c.provider !== depositor) fail(ErrorCode.WRONG_HOLDER, 'only the cheque\'s provider can deposit it')
    const key = chequeKey(c.downloader, c.chequeSn)
    const prev = this.t.cheques.get(key)
    if (prev?.status === 'void') fail(ErrorCode.FRAUD, 'cheque serial was voided by the judge', { verdict: prev.void?.verdict })
    if (prev != null) fail(ErrorCode.ALREADY_CASHED, 'cheque serial already paid', { cheque: prev.hash })
    if (c.ts > now + this.cfg.maxClockSkewMs) fail(ErrorCode.BAD_REQUEST, 'cheque dated in the future')
    if (c.ts > cert.expiry) fail(ErrorCode.EXPIRED, 'cheque dated after its capital certificate expired')
    if (cert.released != null || now > cert.expiry + this.cfg.depositGraceMs) fail(ErrorCode.EXPIRED, 'capital certificate expired and its escrow was returned')
    if (c.price > cert.escrow) fail(ErrorCode.INSUFFICIENT_FUNDS, `price ${c.price} > remaining escrow ${cert.escrow}`)
    return { cheque, cert, key }
  }

  /**
   * Returns the unused escrow of every certificate past its expiry and deposit
   * grace to its owner. Certificates are few per peer; a scan is fine at this scale.
   */
  releaseExpired (now = this.cfg.now()): Array<{ certificate: string, peer: string, amount: number }> {
    const out: Array<{ certificate: string, peer: string, amount: number }> = []
    for (const r of this.t.certificates.values()) {
      if (r.released != null || now <= r.expiry + this.cfg.depositGraceMs) continue
      out.push({ certificate: r.hash, peer: r.peer, amount: r.escrow })
    }
    for (const o of out) {
      const r = this.t.certificates.get(o.certificate)!
      this.t.certificates.set(o.certificate, { ...r, escrow: 0, released: { amount: o.amount, at: now } })
      if (o.amount > 0) this.credit(o.peer, o.amount)
    }
    const total = out.reduce((n, o) => n + o.amount, 0)
    if (total > 0) this.bump({ released: total })
    return out
  }

  /**
   * Voids a fixed-form cheque on the judge's providerBan verdict and refunds its
   * downloader. The caller (the broker service) has checked that the verdict is
   * signed by the configured judge and names this cheque; `verdictRef` (the
   * verdict's hash) is recorded. Voiding the same cheque again returns the same
   * record.
   */
  voidCheque (chequeB64: unknown, verdictRef: unknown): VoidResult {
    if (!isHash(verdictRef)) fail(ErrorCode.BAD_REQUEST, 'verdictRef must be the 64-hex hash of the verdict')
    const cheque = openCheque(this.verifier, chequeB64, 'fairex-void')
    const c = cheque.body
    // only the fixed protocol has a judge; and only C* names the escrow to refund from
    if (c.form !== 'fixed') fail(ErrorCode.BAD_REQUEST, 'only fixed-form cheques can be voided')
    const key = chequeKey(c.downloader, c.chequeSn)
    const prev = this.t.cheques.get(key)
    const view = (r: ChequeRecord): VoidResult => ({ ...r.void!, key, provider: r.provider, downloader: r.downloader, chequeSn: r.chequeSn, price: r.price })
    if (prev?.status === 'void') {
      if (prev.void!.cheque !== cheque.hash) fail(ErrorCode.REPLAY, 'serial already voided for a different cheque')
      return view(prev)
    }
    const now = this.cfg.now()
    if (prev != null) {
      // the serial paid another cheque: nothing of D's ever went to this provider
      if (prev.hash !== cheque.hash) fail(ErrorCode.ALREADY_CASHED, 'serial was paid on a different cheque; nothing to void', { cheque: prev.hash })
      const refunded = Math.min(prev.price, Math.max(0, this.balance(prev.provider)))
      const shortfall = prev.price - refunded
      const rec: ChequeRecord = { ...prev, status: 'void', void: { cheque: cheque.hash, verdict: verdictRef, at: now, from: 'provider', refunded, shortfall } }
      if (refunded > 0) {
        this.credit(prev.provider, -refunded)
        this.credit(prev.downloader, refunded)
      }
      this.t.cheques.set(key, rec)
      this.bump({ clawedBack: refunded, shortfall })
      return view(rec)
    }
    const cert = this.t.certificates.get(c.certificate)
    if (cert == null) fail(ErrorCode.NOT_FOUND, 'cheque names a capital certificate unknown to this AC')
    if (cert.peer !== c.downloader) fail(ErrorCode.WRONG_OWNER, 'cheque names another peer\'s capital certificate')
    // whatever escrow is left for it; after expiry the owner already got it all back
    const refunded = Math.min(c.price, cert.escrow)
    const rec: ChequeRecord = {
      hash: cheque.hash, provider: c.provider, downloader: c.downloader, chequeSn: c.chequeSn, price: c.price, certificate: cert.hash,
      status: 'void', void: { cheque: cheque.hash, verdict: verdictRef, at: now, from: 'escrow', refunded, shortfall: 0 }
    }
    this.t.certificates.set(cert.hash, { ...cert, escrow: cert.escrow - refunded, voidReleased: cert.voidReleased + refunded })
    if (refunded > 0) this.credit(c.downloader, refunded)
    this.t.cheques.set(key, rec)
    this.bump({ voidReleased: refunded })
    return view(rec)
  }

  /**
   * What the AC must account for: every balance plus the escrow it holds.
   * `holds` checks the AC's own books: each certificate's escrow is its max less
   * what left it, the escrow total matches the running totals, and no balance
   * is negative. The broker adds PPay's outstanding coins for conservation.
   */
  audit (): { balances: number, escrow: number, holds: boolean, certificates: number, cheques: number, voids: number, meta: AcMeta } {
    let balances = 0
    let negative = false
    for (const a of this.t.accounts.values()) { balances += a.balance; if (a.balance < 0) negative = true }
    let escrow = 0
    let books = true
    for (const r of this.t.certificates.values()) {
      escrow += r.escrow
      if (r.escrow < 0 || r.escrow !== r.max - r.paid - r.voidReleased - (r.released?.amount ?? 0)) books = false
    }
    let voids = 0
    for (const c of this.t.cheques.values()) if (c.status === 'void') voids++
    const m = this.meta()
    const holds = books && !negative && escrow === m.issued - m.paid - m.released - m.voidReleased
    return { balances, escrow, holds, certificates: this.t.certificates.size, cheques: this.t.cheques.size, voids, meta: m }
  }
}
