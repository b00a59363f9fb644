// One purchase of the file market, both sides, as pure synchronous steps: each
// takes the message received and returns the next one to send. Streams, disk,
// clocks and LevelDB are the service's; pieces pass through and are never kept
// (only the 32-byte piece hashes and the one encrypted key piece are).
//
//   D (Purchase)                                       P (ProviderSale)
//   startPurchase    -- 1.1 REQ, capital certificate -->  acceptRequest
//   onAccept         <-- 1.2 manifest, piece hashes, keyIndex, form (or a refusal)
//   onPiece, each    <-- 2.1 pieces in order, SEK(KP) at keyIndex --  pieceToSend
//   onCheque         <-- 2.2 Sig_P(C, Z), Z --  chequeMessage
//                    -- 2.3 Sig_D(C, Z) -->  onChequeAccepted (-> deposit item)
//   onKey            <-- 2.4 K
//   disputeBundle    -- 3.1 to the TTP: no key, or one that does not open SEK(KP)
//   complaint        -- COMP to the judge (fixed form)
//
// Form 'original' is the paper's protocol and keeps its flaw on purpose: the
// TTP cannot tell K from a garbage K' in Z. Form 'fixed' signs C* (REQ, D's
// certificate, the judge, the manifest and keyIndex) and seals K for the judge
// too, so a judge can decide whether Z opens SEK(KP) to the piece the file id names.
//
// States are mutated in place, and only after every check passed: a step that
// throws (P2payError) changed nothing and signed nothing.
import { randomInt } from 'node:crypto'
import {
  ErrorCode,
  P2payError,
  fail,
  fromB64,
  keyOfPeerId,
  randomId,
  toB64,
  toHex,
  type Opened,
  type Signer,
  type Verifier
} from '@p2pay/core'
import type { DepositItem } from './accounting.ts'
import { IV_LEN, KEY_LEN, decryptKeyPiece, encryptKeyPiece, keyOpensPiece, newPieceKey, sekHash } from './keypiece.ts'
import { openManifest, type ManifestBody } from './manifest.ts'
import { merkleProof, merkleRoot, pieceHash } from './merkle.ts'
import {
  acceptCheque,
  checkCertificateForRequest,
  checkChequeAgainstRequest,
  checkRequestBody,
  chequeKey,
  isHash,
  openCertificate,
  openCheque,
  openChequeAccept,
  openRequest,
  signCheque,
  signRequest,
  type CapitalCertBody,
  type ChequeBody,
  type ChequeExpectations,
  type ChequeForm,
  type RequestBody
} from './messages.ts'
import { pieceLength } from './pieces.ts'
import { sealZ, zHash } from './zbox.ts'

export type SaleForm = ChequeForm

/** The one error a piece that fails its hash gets, on either side. */
export const PIECE_MISMATCH = 'piece does not match the file id'
/** Z is opened by the TTP or judge, which refuse anything larger (zbox.ts). */
const MAX_Z = 4096

// ---- messages (all strings are base64 signed envelopes unless said otherwise) ----

/** 1.1: REQ signed by D, with D's capital certificate. */
export interface Message1_1 {
  request: string
  certificate: string
}
/**
 * 1.2 accept: P's signed manifest, the piece hashes (hex, in order), which
 * piece comes encrypted, the form, and (fixed form) the judge P will name in C*,
 * so D can refuse a judge it does not trust before downloading anything.
 */
export interface Message1_2 {
  manifest: string
  pieceHashes: string[]
  keyIndex: number
  form: SaleForm
  judge?: string
}
/** 1.2 refuse. */
export interface Refusal {
  code: ErrorCode
  message: string
}
/** 2.2: P's cheque and Z (base64 of the sealed box). */
export interface Message2_2 {
  cheque: string
  z: string
}
/** 2.3: D's countersignature of that cheque envelope. */
export interface Message2_3 {
  accept: string
}
/** 2.4 (and the TTP's 3.2): the key K, 64 hex. */
export interface Message2_4 {
  key: string
}
/** 3.1, D to the TTP. */
export interface Message3_1 {
  request: string
  cheque: string
  accept: string
  z: string
  certificate: string
}
/** COMP = C*, Z, Sig_D, Sig_P, REQ, SEK(KP), plus what fixes the file: the manifest and its piece hashes (hex). */
export interface ComplaintMessage {
  cheque: string
  accept: string
  z: string
  request: string
  sek: string
  manifest: string
  pieceHashes: string[]
}

// ---- shared checks ----

function fields(m: unknown, keys: readonly string[], what: string): Record<string, unknown> {
  if (m == null || typeof m !== 'object' || Array.isArray(m)) fail(ErrorCode.BAD_REQUEST, `${what} must be an object`)
  const have = Object.keys(m)
  if (have.length !== keys.length || !keys.every(k => Object.hasOwn(m, k)))
    fail(ErrorCode.BAD_REQUEST, `${what} must have exactly the fields ${keys.join(', ')}`)
  return m as Record<string, unknown>
}

function checkForm(form: unknown): SaleForm {
  if (form !== 'original' && form !== 'fixed') fail(ErrorCode.BAD_REQUEST, 'form must be "original" or "fixed"')
  return form
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.byteLength === b.byteLength && Buffer.compare(a, b) === 0

// ---- provider ----

export type ProviderPhase = 'sending' | 'chequeSent' | 'paid'

export interface ProviderSale {
  readonly form: SaleForm
  readonly signer: Signer
  readonly verifier: Verifier
  /** chequeKey(downloader, chequeSn): the key the service remembers to refuse a replayed request */
  readonly serial: string
  readonly req: Opened<RequestBody>
  readonly certificate: Opened<CapitalCertBody>
  readonly manifest: Opened<ManifestBody>
  readonly pieceHashes: Uint8Array[]
  readonly judge: string
  readonly keyIndex: number
  /** K: encrypts the key piece; secret until message 2.4 */
  readonly key: Uint8Array
  phase: ProviderPhase
  /** SEK(KP), made once: a resent key piece must hash to the same hSEK */
  sek?: Uint8Array
  /** set by chequeMessage */
  cheque?: Opened<ChequeBody>
  z?: Uint8Array
  /** a cheating provider's K', sealed in Z and sent in 2.4 instead of K */
  garbageKey?: Uint8Array
}

export interface AcceptRequestInput {
  signer: Signer
  verifier: Verifier
  /** P's own signed manifest of the file, base64 */
  manifest: string
  /** sha256 of each piece, in order: the leaves under the manifest's fileId */
  pieceHashes: Uint8Array[]
  message1_1: unknown
  /** peer id of the AC whose capital certificates P takes */
  ac: string
  /** the judge P names in a fixed cheque (and seals K for) */
  judge: string
  /** TTPs P agrees to; any when absent */
  ttps?: readonly string[]
  form: SaleForm
  now: number
  /** how far a request's ts may be from `now`, either way */
  maxSkewMs: number
  /**
   * Whether chequeKey(downloader, chequeSn) was accepted before. The service
   * keeps the serials it accepted; it may forget one once its request is older
   * than maxSkewMs, since a request that old is refused as stale anyway.
   */
  seen?: (serial: string) => boolean
}

export type AcceptResult = { refuse: Refusal } | { sale: ProviderSale; message1_2: Message1_2 }

/**
 * P's answer to 1.1. P's own inputs (manifest, piece hashes, judge) are checked
 * first and throw: they are P's bugs, not D's. Everything about D's request
 * ends in a refusal to send back (1.2 refuse) and creates no sale.
 */
export function acceptRequest(o: AcceptRequestInput): AcceptResult {
  const form = checkForm(o.form)
  const manifest = openManifest(o.verifier, o.manifest)
  const m = manifest.body
  if (m.provider !== o.signer.peerId) fail(ErrorCode.WRONG_SIGNER, "the manifest is another provider's")
  if (
    !Array.isArray(o.pieceHashes) ||
    o.pieceHashes.length !== m.pieceCount ||
    toHex(merkleRoot(o.pieceHashes)) !== m.fileId
  ) {
    fail(ErrorCode.BAD_REQUEST, "piece hashes do not match the manifest's file id")
  }
  if (form === 'fixed') keyOfPeerId(o.judge)
  if (!Number.isSafeInteger(o.maxSkewMs) || o.maxSkewMs < 0)
    fail(ErrorCode.BAD_REQUEST, 'maxSkewMs must be a non-negative integer')

  let req: Opened<RequestBody>
  let certificate: Opened<CapitalCertBody>
  try {
    const msg = fields(o.message1_1, ['request', 'certificate'], 'message 1.1')
    req = openRequest(o.verifier, msg.request)
    const r = req.body
    if (r.provider !== o.signer.peerId) fail(ErrorCode.BAD_REQUEST, 'request is for another provider')
    if (r.fileId !== m.fileId) fail(ErrorCode.NOT_FOUND, `this provider does not sell file ${r.fileId}`)
    if (r.price !== m.price)
      fail(ErrorCode.BAD_REQUEST, `request price ${r.price} is not the price ${m.price}`, { price: m.price })
    // Z is sealed to the request's TTP: a TTP the downloader controls would open it without paying
    if (o.ttps === undefined || o.ttps.length === 0)
      fail(ErrorCode.BAD_REQUEST, 'a provider must name the TTPs it accepts')
    if (!o.ttps.includes(r.ttp)) fail(ErrorCode.BAD_REQUEST, `TTP ${r.ttp} is not one this provider accepts`)
    if (r.ts < o.now - o.maxSkewMs) fail(ErrorCode.EXPIRED, 'request is stale')
    if (r.ts > o.now + o.maxSkewMs) fail(ErrorCode.BAD_REQUEST, 'request dated in the future')
    // a serial pays once at the AC: a second sale on it would deliver the file for nothing
    if (o.seen?.(chequeKey(r.downloader, r.chequeSn)) === true)
      fail(ErrorCode.REPLAY, 'cheque serial already used in a request to this provider')
    certificate = openCertificate(o.verifier, msg.certificate, o.ac)
    checkCertificateForRequest(certificate, req, o.now)
  } catch (err) {
    if (err instanceof P2payError) return { refuse: { code: err.code, message: err.message } }
    throw err
  }

  // random, so a downloader cannot plan to already hold the piece it must pay to open
  const keyIndex = randomInt(m.pieceCount)
  const sale: ProviderSale = {
    form,
    signer: o.signer,
    verifier: o.verifier,
    serial: chequeKey(req.body.downloader, req.body.chequeSn),
    req,
    certificate,
    manifest,
    pieceHashes: o.pieceHashes.slice(),
    judge: o.judge,
    keyIndex,
    key: newPieceKey(),
    phase: 'sending'
  }
  const message1_2: Message1_2 = { manifest: o.manifest, pieceHashes: o.pieceHashes.map(toHex), keyIndex, form }
  if (form === 'fixed') message1_2.judge = o.judge
  return { sale, message1_2 }
}

/**
 * Message 2.1, one piece at a time: the piece as read from disk, or SEK(KP)
 * for the key piece. Every piece is checked against its hash first, so a
 * file changed on disk is never sold (an SEK of a changed key piece would get
 * P banned by the judge). Can be called again to resend a piece.
 */
export function pieceToSend(sale: ProviderSale, index: number, plain: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(index) || index < 0 || index >= sale.pieceHashes.length)
    fail(ErrorCode.BAD_REQUEST, `piece ${index} out of range`)
  if (!(plain instanceof Uint8Array) || !sameBytes(pieceHash(plain), sale.pieceHashes[index]))
    fail(ErrorCode.BAD_REQUEST, PIECE_MISMATCH)
  if (index !== sale.keyIndex) return plain
  sale.sek ??= encryptKeyPiece(sale.key, plain)
  return sale.sek
}

/**
 * Message 2.2: P signs the cheque (original C with H(KP), or fixed C*) over
 * H(Z). Asked again, it returns the same cheque: one serial, one cheque.
 *
 * `garbageKey` seals K' in Z instead of K, and 2.4 will carry K' too: the
 * paper's attack on the original form, kept runnable on purpose so tests and
 * the demo can show the TTP handing out K' and the judge banning P (fixed form).
 */
export function chequeMessage(sale: ProviderSale, o: { now: number; garbageKey?: Uint8Array }): Message2_2 {
  if (sale.cheque !== undefined && sale.z !== undefined) return { cheque: toB64(sale.cheque.bytes), z: toB64(sale.z) }
  if (sale.sek === undefined) fail(ErrorCode.BAD_REQUEST, 'the key piece was not sent: the cheque commits to its hash')
  if (o.garbageKey !== undefined && (!(o.garbageKey instanceof Uint8Array) || o.garbageKey.byteLength !== KEY_LEN))
    fail(ErrorCode.BAD_REQUEST, 'garbageKey must be 32 bytes')
  const r = sale.req.body
  const parties = { provider: r.provider, downloader: r.downloader, chequeSn: r.chequeSn }
  const z = sealZ(
    o.garbageKey ?? sale.key,
    parties,
    sale.form === 'fixed' ? { ttp: r.ttp, judge: sale.judge } : { ttp: r.ttp }
  )
  // never dated before the request: D refuses that, and P's clock may lag D's
  const common = {
    ...parties,
    ttp: r.ttp,
    price: r.price,
    ts: Math.max(o.now, r.ts),
    hSEK: sekHash(sale.sek),
    z: zHash(z)
  }
  const body: ChequeBody =
    sale.form === 'original'
      ? { form: 'original', ...common, hKP: toHex(sale.pieceHashes[sale.keyIndex]) }
      : {
          form: 'fixed',
          ...common,
          req: sale.req.hash,
          certificate: sale.certificate.hash,
          judge: sale.judge,
          manifest: sale.manifest.hash,
          keyIndex: sale.keyIndex
        }
  const cheque = signCheque(sale.signer, body)
  sale.cheque = cheque
  sale.z = z
  sale.garbageKey = o.garbageKey?.slice()
  sale.phase = 'chequeSent'
  return { cheque: toB64(cheque.bytes), z: toB64(z) }
}

/**
 * P's step on 2.3: checks D countersigned exactly this cheque, then answers
 * with 2.4 (K, or a cheat's K') and the item to deposit at the AC.
 */
export function onChequeAccepted(
  sale: ProviderSale,
  message2_3: unknown
): { message2_4: Message2_4; deposit: DepositItem } {
  if (sale.cheque === undefined) fail(ErrorCode.BAD_REQUEST, 'no cheque was sent for this sale')
  const { accept } = fields(message2_3, ['accept'], 'message 2.3')
  openChequeAccept(sale.verifier, accept, sale.cheque)
  sale.phase = 'paid'
  return {
    message2_4: { key: toHex(sale.garbageKey ?? sale.key) },
    deposit: { cheque: toB64(sale.cheque.bytes), accept: accept as string, certificate: toB64(sale.certificate.bytes) }
  }
}

// ---- downloader ----

export type DownloaderPhase = 'requested' | 'downloading' | 'awaitingCheque' | 'awaitingKey' | 'done' | 'dispute'

/** What 1.2 fixed: the file as P signed it, and which piece comes encrypted. */
export interface Offer {
  form: SaleForm
  manifest: Opened<ManifestBody>
  /** base64, as received: forwarded to the judge */
  manifestB64: string
  pieceHashes: Uint8Array[]
  keyIndex: number
}

export interface Purchase {
  readonly signer: Signer
  readonly verifier: Verifier
  readonly req: Opened<RequestBody>
  readonly certificate: Opened<CapitalCertBody>
  readonly judge: string
  readonly manifestHash?: string
  /** the only form D takes, when set */
  readonly form?: SaleForm
  phase: DownloaderPhase
  offer?: Offer
  /** index of the next piece expected */
  next: number
  /** SEK(KP): the only piece D holds; the others go to the caller's disk */
  sek?: Uint8Array
  /** what D signed in 2.3: the evidence for the TTP and the judge */
  paid?: { cheque: Opened<ChequeBody>; z: Uint8Array; accept: string }
  /** K, once it opened SEK(KP) */
  key?: Uint8Array
}

export interface StartPurchaseInput {
  signer: Signer
  verifier: Verifier
  provider: string
  /** hash of the manifest D chose the file from, when it has one: 1.2 must carry that very manifest */
  manifestHash?: string
  /** 64 hex */
  fileId: string
  price: number
  ttp: string
  /** the judge D trusts: a fixed cheque must name it */
  judge: string
  /** D's capital certificate, base64 */
  certificate: string
  /** insist on one form (a careful downloader refuses 'original') */
  form?: SaleForm
  now: number
}

/** D's message 1.1: a fresh cheque serial, REQ signed, and D's certificate checked before it is shown. */
export function startPurchase(o: StartPurchaseInput): { state: Purchase; message1_1: Message1_1 } {
  const body: RequestBody = {
    provider: o.provider,
    downloader: o.signer.peerId,
    ttp: o.ttp,
    fileId: o.fileId,
    chequeSn: randomId(16),
    ts: o.now,
    price: o.price
  }
  checkRequestBody(body)
  keyOfPeerId(o.judge)
  if (o.manifestHash !== undefined && !isHash(o.manifestHash))
    fail(ErrorCode.BAD_REQUEST, 'manifestHash must be 64 lowercase hex digits')
  if (o.form !== undefined) checkForm(o.form)
  const certificate = openCertificate(o.verifier, o.certificate)
  const c = certificate.body
  // the same checks P will make: a certificate P must refuse is not worth a signature
  if (c.peer !== body.downloader) fail(ErrorCode.WRONG_OWNER, 'capital certificate belongs to another peer')
  if (o.now > c.expiry) fail(ErrorCode.EXPIRED, 'capital certificate expired')
  if (c.max < body.price) fail(ErrorCode.INSUFFICIENT_FUNDS, `certificate covers ${c.max} < price ${body.price}`)
  const req = signRequest(o.signer, body)
  const state: Purchase = {
    signer: o.signer,
    verifier: o.verifier,
    req,
    certificate,
    judge: o.judge,
    manifestHash: o.manifestHash,
    form: o.form,
    phase: 'requested',
    next: 0
  }
  return { state, message1_1: { request: toB64(req.bytes), certificate: o.certificate } }
}

function expectPhase(state: { phase: string }, ...phases: string[]): void {
  if (!phases.includes(state.phase))
    fail(ErrorCode.BAD_REQUEST, `purchase is ${state.phase}, not ${phases.join(' or ')}`)
}

/**
 * D's check of 1.2 (accept): the manifest is P's and is the file and price D asked for, the piece hashes are that
 * file's.
 */
export function onAccept(state: Purchase, message1_2: unknown): void {
  expectPhase(state, 'requested')
  const form = checkForm((message1_2 as Record<string, unknown> | null)?.form)
  const msg = fields(
    message1_2,
    form === 'fixed'
      ? ['manifest', 'pieceHashes', 'keyIndex', 'form', 'judge']
      : ['manifest', 'pieceHashes', 'keyIndex', 'form'],
    'message 1.2'
  )
  if (state.form !== undefined && form !== state.form)
    fail(ErrorCode.BAD_REQUEST, `provider offers the ${form} protocol, this purchase takes ${state.form} only`)
  if (form === 'fixed' && msg.judge !== state.judge) fail(ErrorCode.BAD_REQUEST, 'provider names another judge')
  const r = state.req.body
  const manifest = openManifest(state.verifier, msg.manifest)
  const m = manifest.body
  if (m.provider !== r.provider) fail(ErrorCode.WRONG_SIGNER, 'manifest signed by another provider')
  if (state.manifestHash !== undefined && manifest.hash !== state.manifestHash)
    fail(ErrorCode.BAD_REQUEST, 'not the manifest this purchase was made from')
  if (m.fileId !== r.fileId) fail(ErrorCode.BAD_REQUEST, 'manifest is for another file')
  if (m.price !== r.price) fail(ErrorCode.BAD_REQUEST, `manifest price ${m.price} is not the requested ${r.price}`)
  const list = msg.pieceHashes
  // the count comes from the signed manifest, never from the list: the root alone does not bind it
  if (!Array.isArray(list) || list.length !== m.pieceCount || !list.every(isHash))
    fail(ErrorCode.BAD_REQUEST, `piece hashes must be ${m.pieceCount} hashes of 64 hex`)
  const pieceHashes = (list as string[]).map(h => new Uint8Array(Buffer.from(h, 'hex')))
  if (toHex(merkleRoot(pieceHashes)) !== m.fileId) fail(ErrorCode.BAD_REQUEST, 'piece hashes do not match the file id')
  const keyIndex = msg.keyIndex
  if (!Number.isSafeInteger(keyIndex) || (keyIndex as number) < 0 || (keyIndex as number) >= m.pieceCount)
    fail(ErrorCode.BAD_REQUEST, 'keyIndex is not a piece of the file')
  state.offer = { form, manifest, manifestB64: msg.manifest as string, pieceHashes, keyIndex: keyIndex as number }
  state.phase = 'downloading'
}

/**
 * One piece of 2.1, in order. A plain piece must hash to its leaf: the caller
 * writes it to disk ('plain'). The key piece is kept here as SEK(KP) ('sek').
 * A bad piece throws and changes nothing, so the caller may ask for it again.
 */
export function onPiece(state: Purchase, index: number, bytes: Uint8Array): 'plain' | 'sek' {
  expectPhase(state, 'downloading')
  const offer = state.offer!
  if (index !== state.next) fail(ErrorCode.BAD_REQUEST, `expected piece ${state.next}, got ${String(index)}`)
  if (!(bytes instanceof Uint8Array)) fail(ErrorCode.BAD_REQUEST, 'a piece is bytes')
  const len = pieceLength(offer.manifest.body.size, offer.manifest.body.pieceSize, index)
  const isKey = index === offer.keyIndex
  if (isKey) {
    if (bytes.byteLength !== IV_LEN + len) fail(ErrorCode.BAD_REQUEST, 'encrypted key piece has the wrong length')
    state.sek = bytes.slice() // the caller may reuse its buffer
  } else if (bytes.byteLength !== len || !sameBytes(pieceHash(bytes), offer.pieceHashes[index])) {
    fail(ErrorCode.BAD_REQUEST, PIECE_MISMATCH)
  }
  state.next++
  if (state.next === offer.pieceHashes.length) state.phase = 'awaitingCheque'
  return isKey ? 'sek' : 'plain'
}

/**
 * D's check of 2.2 and, if it all holds, D's signature (2.3). The cheque must
 * be for this request and commit to the SEK(KP) and Z D holds; in the fixed
 * form also to D's certificate, the judge D trusts, the manifest and keyIndex
 * of 1.2. Anything else throws before D signs.
 */
export function onCheque(state: Purchase, message2_2: unknown): Message2_3 {
  expectPhase(state, 'awaitingCheque')
  const offer = state.offer!
  const msg = fields(message2_2, ['cheque', 'z'], 'message 2.2')
  if (typeof msg.z !== 'string') fail(ErrorCode.BAD_REQUEST, 'Z must be base64')
  const z = fromB64(msg.z)
  if (z.byteLength === 0 || z.byteLength > MAX_Z) fail(ErrorCode.BAD_REQUEST, `Z must be 1..${MAX_Z} bytes`)
  const cheque = openCheque(state.verifier, msg.cheque)
  const c = cheque.body
  if (c.form !== offer.form) fail(ErrorCode.BAD_REQUEST, `a ${c.form} cheque in a ${offer.form} sale`)
  const expect: ChequeExpectations = { hSEK: sekHash(state.sek!), z: zHash(z) }
  // H(KP) is the leaf hash D already has: the original form's one binding to the file
  if (offer.form === 'original') expect.hKP = toHex(offer.pieceHashes[offer.keyIndex])
  else expect.certificate = state.certificate.hash
  checkChequeAgainstRequest(cheque, state.req, expect)
  if (c.form === 'fixed') {
    if (c.judge !== state.judge) fail(ErrorCode.BAD_REQUEST, 'cheque names another judge')
    if (c.manifest !== offer.manifest.hash) fail(ErrorCode.BAD_REQUEST, 'cheque names another manifest')
    if (c.keyIndex !== offer.keyIndex) fail(ErrorCode.BAD_REQUEST, 'cheque names another key piece')
  }
  const accept = toB64(acceptCheque(state.signer, cheque).bytes)
  state.paid = { cheque, z, accept }
  state.phase = 'awaitingKey'
  return { accept }
}

/**
 * 2.4 from P, or 3.2 from the TTP: does the key open SEK(KP) to the key piece?
 * Then D has the whole file (the caller writes `keyPiece` at keyIndex).
 * Otherwise, a malformed key included, D goes to the TTP (disputeBundle) or,
 * in the fixed form, to the judge (complaint).
 */
export function onKey(state: Purchase, keyHex: unknown): { ok: true; keyPiece: Uint8Array } | { ok: false } {
  expectPhase(state, 'awaitingKey', 'dispute')
  const offer = state.offer!
  const sek = state.sek!
  if (typeof keyHex !== 'string' || !/^[0-9a-f]{64}$/.test(keyHex)) {
    state.phase = 'dispute'
    return { ok: false }
  }
  const key = new Uint8Array(Buffer.from(keyHex, 'hex'))
  const { fileId, pieceCount } = offer.manifest.body
  if (
    !keyOpensPiece(
      Buffer.from(fileId, 'hex'),
      offer.keyIndex,
      pieceCount,
      key,
      sek,
      merkleProof(offer.pieceHashes, offer.keyIndex)
    )
  ) {
    state.phase = 'dispute'
    return { ok: false }
  }
  state.key = key
  state.phase = 'done'
  return { ok: true, keyPiece: decryptKeyPiece(key, sek) }
}

/** Message 3.1 for the TTP, once D has signed 2.3 and has no working key. */
export function disputeBundle(state: Purchase): Message3_1 {
  expectPhase(state, 'awaitingKey', 'dispute')
  const p = state.paid!
  return {
    request: toB64(state.req.bytes),
    cheque: toB64(p.cheque.bytes),
    accept: p.accept,
    z: toB64(p.z),
    certificate: toB64(state.certificate.bytes)
  }
}

/**
 * COMP for the judge (fixed form only: the original cheque binds no request,
 * manifest or key piece a judge could check). D may complain whenever it has
 * no working key; a complaint about a key that works is the judge's invalidComplain.
 */
export function complaint(state: Purchase): ComplaintMessage {
  expectPhase(state, 'awaitingKey', 'dispute')
  const offer = state.offer!
  if (offer.form !== 'fixed') fail(ErrorCode.BAD_REQUEST, 'only a fixed-form sale can be taken to the judge')
  const p = state.paid!
  return {
    cheque: toB64(p.cheque.bytes),
    accept: p.accept,
    z: toB64(p.z),
    request: toB64(state.req.bytes),
    sek: toB64(state.sek!),
    manifest: offer.manifestB64,
    pieceHashes: offer.pieceHashes.map(toHex)
  }
}
