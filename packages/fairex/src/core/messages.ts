// The signed objects of the file market's purchase protocol (Zuo 05, and the
// survey's fix in section VI). Pure: types, signing helpers and validation.
//
//   1.1  REQ = Sig_D(P, D, T, fileId, sn, ts, price), sent with D's capital certificate
//   2.2  Sig_P(C, Z): the cheque, original C or fixed C* = P|D|T|sn|price|TS|H(SEK(KP))|REQ,
//        with z = H(Z) in it, so P's signature covers Z too
//   2.3  Sig_D(C, Z): D's acceptance, a separate envelope over the hash of P's cheque
//        envelope, so both signatures are over the very same bytes
//
// The capital certificate and the requests that move money at the AC (certificate
// issue, deposit) live here too: peers make and check them, not only the AC.
// Bodies are checked field by field and key set by key set, so one statement has
// one form (an original cheque can never be read as a fixed one).
import {
  ErrorCode,
  checkHash,
  checkTimestamp,
  checkToken,
  decodeSigned,
  exactKeys,
  fail,
  isUint,
  keyOfPeerId,
  type Opened,
  type Signer,
  type Verifier
} from '@p2pay/core'
import type { FairexKind } from '../kinds.ts'

/** Domain tags of the file market's signed objects. */
export const FAIREX_TAG = {
  request: 'p2pay/fairex/request/v1',
  cheque: 'p2pay/fairex/cheque/v1',
  chequeAccept: 'p2pay/fairex/cheque-accept/v1',
  capitalCert: 'p2pay/fairex/capital-cert/v1',
  certRequest: 'p2pay/fairex/cert-request/v1',
  deposit: 'p2pay/fairex/deposit/v1'
} as const

/** Message 1.1, signed by the downloader. `fileId` is the root of the file's hash tree. */
export interface RequestBody {
  provider: string
  downloader: string
  ttp: string
  fileId: string
  chequeSn: string
  ts: number
  price: number
}

interface ChequeCommon {
  provider: string
  downloader: string
  ttp: string
  chequeSn: string
  price: number
  ts: number
  /** H(SEK(KP)): what D checks the encrypted key piece of message 2.1 against */
  hSEK: string
  /** H(Z), Z = Enc_T(K, P, D): signing it is what makes the signature "over (C, Z)" */
  z: string
}

/** The paper's C (message 2.2): carries H(KP), binds no request. */
export interface OriginalChequeBody extends ChequeCommon {
  form: 'original'
  hKP: string
}

/**
 * The fixed C*: REQ (its envelope hash) is signed into the cheque by both
 * parties, so a downloader cannot show the judge another request; H(KP) is
 * dropped (the paper found it unused). `certificate` is the hash of D's capital
 * certificate: it names the escrow the cheque is paid from.
 */
export interface FixedChequeBody extends ChequeCommon {
  form: 'fixed'
  req: string
  certificate: string
  /** the judge Z also holds K for, so a complaint can be judged without the TTP */
  judge: string
  /** hash of P's signed manifest: fixes the file id and piece count the judge checks the key piece against */
  manifest: string
  /** which piece was sent encrypted */
  keyIndex: number
}

export type ChequeBody = OriginalChequeBody | FixedChequeBody
export type ChequeForm = ChequeBody['form']

/** Message 2.3, signed by the downloader: the countersignature of P's cheque envelope. */
export interface ChequeAcceptBody {
  cheque: string
  provider: string
  downloader: string
  chequeSn: string
}

/** Sig_AC(ac, peer, max, expiry, serial): `max` is held in escrow at the AC for it. */
export interface CapitalCertBody {
  ac: string
  peer: string
  max: number
  expiry: number
  serial: string
}

/** A peer asks its AC for a certificate; `nonce` makes a retry idempotent. */
export interface CertRequestBody {
  ac: string
  peer: string
  max: number
  nonce: string
}

/**
 * A provider deposits a batch; `cheques` are the hashes of P's cheque
 * envelopes, in the order the items are submitted, so the signature (and the
 * fee it authorises) covers exactly this batch.
 */
export interface DepositRequestBody {
  ac: string
  provider: string
  nonce: string
  cheques: string[]
}

// a signed body is at most 64 KiB (signed.ts): a deposit request listing 512 cheques is about 34 KiB
const MAX_ENVELOPE_B64 = 96 * 1024
/** A deposit request body stays well inside the envelope's 64 KiB. */
export const MAX_DEPOSIT_CHEQUES = 512
/** Amounts stay far below 2^53, so sums over many cheques stay exact. */
export const MAX_AMOUNT = 1e12

const isAmount = (v: unknown): v is number => isUint(v) && v > 0 && v <= MAX_AMOUNT

/** Table key of a cheque serial: serials are chosen by the downloader, so they are unique per downloader only. */
export const chequeKey = (downloader: string, chequeSn: string): string => `${downloader}|${chequeSn}`

/**
 * The AC's key of one sale: the same serial with another provider is another
 * sale, so neither a second provider nor a judge's verdict about it can touch
 * this one's money.
 */
export const saleKey = (provider: string, downloader: string, chequeSn: string): string =>
  `${provider}|${downloader}|${chequeSn}`

export const decodeEnvelope = (b64: unknown, what: string): Uint8Array => decodeSigned(b64, what, MAX_ENVELOPE_B64)

/** A peer id with an Ed25519 key: a party nobody can sign for could never countersign or deposit. */
export function checkPeer(v: unknown, what: string): void {
  if (typeof v !== 'string' || v.length === 0 || v.length > 128)
    fail(ErrorCode.BAD_REQUEST, `${what} must be a peer id`)
  keyOfPeerId(v)
}

function amount(v: unknown, what: string): void {
  if (!isAmount(v)) fail(ErrorCode.BAD_REQUEST, `${what} must be an integer in 1..${MAX_AMOUNT}`)
}

// ---- field validation ----

export function checkRequestBody(b: RequestBody): void {
  exactKeys(b, ['provider', 'downloader', 'ttp', 'fileId', 'chequeSn', 'ts', 'price'], 'download request')
  checkPeer(b.provider, 'provider')
  checkPeer(b.downloader, 'downloader')
  checkPeer(b.ttp, 'ttp')
  if (b.provider === b.downloader) fail(ErrorCode.BAD_REQUEST, 'a peer cannot buy from itself')
  checkHash(b.fileId, 'fileId')
  checkToken(b.chequeSn, 'chequeSn')
  checkTimestamp(b.ts, 'ts')
  amount(b.price, 'price')
}

const ORIGINAL_KEYS = ['form', 'provider', 'downloader', 'ttp', 'chequeSn', 'price', 'ts', 'hKP', 'hSEK', 'z'] as const
const FIXED_KEYS = [
  'form',
  'provider',
  'downloader',
  'ttp',
  'chequeSn',
  'price',
  'ts',
  'hSEK',
  'req',
  'z',
  'certificate',
  'judge',
  'manifest',
  'keyIndex'
] as const

export function checkChequeBody(b: ChequeBody): void {
  if (b.form === 'original') {
    exactKeys(b, ORIGINAL_KEYS, 'original cheque')
    checkHash(b.hKP, 'hKP')
  } else if (b.form === 'fixed') {
    exactKeys(b, FIXED_KEYS, 'fixed cheque')
    checkHash(b.req, 'req')
    checkHash(b.certificate, 'certificate')
    checkHash(b.manifest, 'manifest')
    checkPeer(b.judge, 'judge')
    if (!Number.isSafeInteger(b.keyIndex) || b.keyIndex < 0)
      fail(ErrorCode.BAD_REQUEST, 'keyIndex must be a piece index')
  } else {
    fail(ErrorCode.BAD_REQUEST, 'cheque form must be "original" or "fixed"')
  }
  checkPeer(b.provider, 'provider')
  checkPeer(b.downloader, 'downloader')
  checkPeer(b.ttp, 'ttp')
  if (b.provider === b.downloader) fail(ErrorCode.BAD_REQUEST, 'a peer cannot pay itself')
  checkToken(b.chequeSn, 'chequeSn')
  amount(b.price, 'price')
  checkTimestamp(b.ts, 'ts')
  checkHash(b.hSEK, 'hSEK')
  checkHash(b.z, 'z')
}

export function checkChequeAcceptBody(b: ChequeAcceptBody): void {
  exactKeys(b, ['cheque', 'provider', 'downloader', 'chequeSn'], 'cheque acceptance')
  checkHash(b.cheque, 'cheque')
  checkPeer(b.provider, 'provider')
  checkPeer(b.downloader, 'downloader')
  checkToken(b.chequeSn, 'chequeSn')
}

export function checkCertBody(b: CapitalCertBody): void {
  exactKeys(b, ['ac', 'peer', 'max', 'expiry', 'serial'], 'capital certificate')
  checkPeer(b.ac, 'ac')
  checkPeer(b.peer, 'peer')
  amount(b.max, 'max')
  checkTimestamp(b.expiry, 'expiry')
  checkToken(b.serial, 'serial')
}

export function checkCertRequestBody(b: CertRequestBody): void {
  exactKeys(b, ['ac', 'peer', 'max', 'nonce'], 'certificate request')
  checkPeer(b.ac, 'ac')
  checkPeer(b.peer, 'peer')
  amount(b.max, 'max')
  checkToken(b.nonce, 'nonce')
}

export function checkDepositRequestBody(b: DepositRequestBody): void {
  exactKeys(b, ['ac', 'provider', 'nonce', 'cheques'], 'deposit request')
  checkPeer(b.ac, 'ac')
  checkPeer(b.provider, 'provider')
  checkToken(b.nonce, 'nonce')
  if (!Array.isArray(b.cheques) || b.cheques.length === 0 || b.cheques.length > MAX_DEPOSIT_CHEQUES)
    fail(ErrorCode.BAD_REQUEST, `a deposit holds 1..${MAX_DEPOSIT_CHEQUES} cheques`)
  b.cheques.forEach((h, i) => checkHash(h, `cheque ${i}`))
}

// ---- signing (each helper refuses to sign what its verifier would refuse) ----

function signAs<T>(signer: Signer, who: string, role: string, tag: string, body: T, kind: FairexKind): Opened<T> {
  if (signer.peerId !== who) fail(ErrorCode.WRONG_SIGNER, `only the ${role} signs this object`)
  return signer.sign<T>(tag, body, kind)
}

export function signRequest(
  signer: Signer,
  body: RequestBody,
  kind: FairexKind = 'fairex-request'
): Opened<RequestBody> {
  checkRequestBody(body)
  return signAs(signer, body.downloader, 'downloader', FAIREX_TAG.request, body, kind)
}

export function signCheque(signer: Signer, body: ChequeBody, kind: FairexKind = 'fairex-cheque'): Opened<ChequeBody> {
  checkChequeBody(body)
  return signAs(signer, body.provider, 'provider', FAIREX_TAG.cheque, body, kind)
}

/** D's countersignature (message 2.3) of P's cheque envelope. */
export function acceptCheque(
  signer: Signer,
  cheque: Opened<ChequeBody>,
  kind: FairexKind = 'fairex-cheque'
): Opened<ChequeAcceptBody> {
  const c = cheque.body
  return signAs<ChequeAcceptBody>(
    signer,
    c.downloader,
    'downloader',
    FAIREX_TAG.chequeAccept,
    { cheque: cheque.hash, provider: c.provider, downloader: c.downloader, chequeSn: c.chequeSn },
    kind
  )
}

export function signCertRequest(
  signer: Signer,
  body: CertRequestBody,
  kind: FairexKind = 'fairex-cert'
): Opened<CertRequestBody> {
  checkCertRequestBody(body)
  return signAs(signer, body.peer, 'peer', FAIREX_TAG.certRequest, body, kind)
}

export function signCertificate(
  signer: Signer,
  body: CapitalCertBody,
  kind: FairexKind = 'fairex-cert'
): Opened<CapitalCertBody> {
  checkCertBody(body)
  return signAs(signer, body.ac, 'AC', FAIREX_TAG.capitalCert, body, kind)
}

export function signDepositRequest(
  signer: Signer,
  body: DepositRequestBody,
  kind: FairexKind = 'fairex-deposit'
): Opened<DepositRequestBody> {
  checkDepositRequestBody(body)
  return signAs(signer, body.provider, 'provider', FAIREX_TAG.deposit, body, kind)
}

// ---- opening (signature, fields, and that the signer is the party the body names) ----

export function openRequest(
  verifier: Verifier,
  b64: unknown,
  kind: FairexKind = 'fairex-request'
): Opened<RequestBody> {
  const env = verifier.open<RequestBody>(decodeEnvelope(b64, 'download request'), FAIREX_TAG.request, kind)
  checkRequestBody(env.body)
  if (env.signer !== env.body.downloader) fail(ErrorCode.WRONG_SIGNER, 'download request not signed by its downloader')
  return env
}

export function openCheque(verifier: Verifier, b64: unknown, kind: FairexKind = 'fairex-cheque'): Opened<ChequeBody> {
  const env = verifier.open<ChequeBody>(decodeEnvelope(b64, 'cheque'), FAIREX_TAG.cheque, kind)
  checkChequeBody(env.body)
  if (env.signer !== env.body.provider) fail(ErrorCode.WRONG_SIGNER, 'cheque not signed by its provider')
  return env
}

/** Opens D's acceptance and checks it countersigns exactly `cheque`. */
export function openChequeAccept(
  verifier: Verifier,
  b64: unknown,
  cheque: Opened<ChequeBody>,
  kind: FairexKind = 'fairex-cheque'
): Opened<ChequeAcceptBody> {
  const env = verifier.open<ChequeAcceptBody>(decodeEnvelope(b64, 'cheque acceptance'), FAIREX_TAG.chequeAccept, kind)
  const a = env.body
  checkChequeAcceptBody(a)
  const c = cheque.body
  if (
    a.cheque !== cheque.hash ||
    a.provider !== c.provider ||
    a.downloader !== c.downloader ||
    a.chequeSn !== c.chequeSn
  )
    fail(ErrorCode.BAD_REQUEST, 'acceptance is for another cheque')
  if (env.signer !== c.downloader) fail(ErrorCode.WRONG_SIGNER, 'cheque not countersigned by its downloader')
  return env
}

/**
 * Opens a capital certificate; with `ac`, it must be that AC's. Expiry is the caller's check (it depends on whose
 * clock).
 */
export function openCertificate(
  verifier: Verifier,
  b64: unknown,
  ac?: string,
  kind: FairexKind = 'fairex-cert'
): Opened<CapitalCertBody> {
  const env = verifier.open<CapitalCertBody>(decodeEnvelope(b64, 'capital certificate'), FAIREX_TAG.capitalCert, kind)
  checkCertBody(env.body)
  if (env.signer !== env.body.ac) fail(ErrorCode.WRONG_SIGNER, 'capital certificate not signed by the AC it names')
  if (ac !== undefined && env.body.ac !== ac) fail(ErrorCode.WRONG_BROKER, 'capital certificate issued by another AC')
  return env
}

export function openCertRequest(
  verifier: Verifier,
  b64: unknown,
  kind: FairexKind = 'fairex-cert'
): Opened<CertRequestBody> {
  const env = verifier.open<CertRequestBody>(decodeEnvelope(b64, 'certificate request'), FAIREX_TAG.certRequest, kind)
  checkCertRequestBody(env.body)
  if (env.signer !== env.body.peer) fail(ErrorCode.WRONG_SIGNER, 'certificate request not signed by its peer')
  return env
}

export function openDepositRequest(
  verifier: Verifier,
  b64: unknown,
  kind: FairexKind = 'fairex-deposit'
): Opened<DepositRequestBody> {
  const env = verifier.open<DepositRequestBody>(decodeEnvelope(b64, 'deposit request'), FAIREX_TAG.deposit, kind)
  checkDepositRequestBody(env.body)
  if (env.signer !== env.body.provider) fail(ErrorCode.WRONG_SIGNER, 'deposit request not signed by its provider')
  return env
}
