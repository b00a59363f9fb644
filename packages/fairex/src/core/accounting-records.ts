// The rows of the file market's accounting centre (the AC, inside the broker),
// what its calls return, and its configuration (accounting.ts says how money moves).
import type { Account, Table } from '@p2pay/core'

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
  /** of the shortfall, what the provider's later proceeds paid the downloader (see AcBanRecord) */
  recovered?: number
}

/**
 * A provider the judge banned, as the AC holds it: its proceeds are held
 * until `until` (a deposit is accepted, its price stays in escrow), and once
 * they are paid out they first cover what its voided cheques still owe.
 */
export interface AcBanRecord {
  provider: string
  /** the end of the latest ban the judge signed for it; 0 when the AC only knows its debts */
  until: number
  /** hashes of the ban records seen: each counts once */
  bans: string[]
  /** shortfalls of its voided cheques not yet covered, oldest first */
  owed: Array<{ key: string; downloader: string; amount: number }>
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
  /** of the shortfall, what a banned provider's later proceeds covered */
  recovered: number
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
  /** by provider: the judge's bans and what its voided cheques still owe */
  bans: Table<AcBanRecord>
  meta: Table<AcMeta>
}

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

export const EMPTY_AC_META: AcMeta = {
  issued: 0,
  paid: 0,
  released: 0,
  voidReleased: 0,
  fees: 0,
  clawedBack: 0,
  shortfall: 0,
  recovered: 0
}
