// The provider's steps of one purchase (see sale-messages.ts for the whole
// exchange): P answers D's request 1.1 with 1.2, sends the pieces (2.1) with
// the key piece encrypted, signs the cheque over Z (2.2), and on D's
// countersignature (2.3) hands over the key (2.4) and keeps the deposit item.
import { randomInt } from 'node:crypto'
import {
  ErrorCode,
  P2payError,
  checkClock,
  fail,
  keyOfPeerId,
  toB64,
  toHex,
  type Opened,
  type Signer,
  type Verifier
} from '@p2pay/core'
import type { DepositItem } from './accounting-records.ts'
import { KEY_LEN, encryptKeyPiece, newPieceKey, sekHash } from './keypiece.ts'
import { openManifest, type ManifestBody } from './manifest.ts'
import { merkleRoot, pieceHash } from './merkle.ts'
import {
  chequeKey,
  openCertificate,
  openChequeAccept,
  openRequest,
  signCheque,
  type CapitalCertBody,
  type ChequeBody,
  type RequestBody
} from './messages.ts'
import { checkCertificateForRequest } from './message-relations.ts'
import {
  PIECE_MISMATCH,
  checkForm,
  fields,
  sameBytes,
  type Message1_2,
  type Message2_2,
  type Message2_4,
  type Refusal,
  type SaleForm
} from './sale-messages.ts'
import { sealZ, zHash } from './zbox.ts'

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
  /** the key sealed in Z, set with the cheque: 2.4 hands over this very key */
  sealed?: Uint8Array
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
    // a request outside the window is stale or from a skewed clock: either way CLOCK_SKEW, with both clocks
    checkClock(r.ts, o.now, o.maxSkewMs, "the downloader's request")
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
 * H(Z), Z sealing K. Asked again, it returns the same cheque: one serial, one cheque.
 */
export function chequeMessage(sale: ProviderSale, o: { now: number }): Message2_2 {
  return chequeSealing(sale, sale.key, o)
}

/**
 * Message 2.2 over a Z that seals `key` (chequeMessage seals K, the key of
 * SEK(KP)); 2.4 will carry the same key. Whatever Z seals is P's commitment,
 * signed into the cheque: a key that does not open SEK(KP) is P's fault, which
 * the judge of the fixed form can tell and the TTP of the original form cannot.
 */
export function chequeSealing(sale: ProviderSale, key: Uint8Array, o: { now: number }): Message2_2 {
  if (sale.cheque !== undefined && sale.z !== undefined) return { cheque: toB64(sale.cheque.bytes), z: toB64(sale.z) }
  if (sale.sek === undefined) fail(ErrorCode.BAD_REQUEST, 'the key piece was not sent: the cheque commits to its hash')
  if (!(key instanceof Uint8Array) || key.byteLength !== KEY_LEN)
    fail(ErrorCode.BAD_REQUEST, 'the key sealed in Z must be 32 bytes')
  const r = sale.req.body
  const parties = { provider: r.provider, downloader: r.downloader, chequeSn: r.chequeSn }
  const z = sealZ(key, parties, sale.form === 'fixed' ? { ttp: r.ttp, judge: sale.judge } : { ttp: r.ttp })
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
  sale.sealed = key.slice()
  sale.phase = 'chequeSent'
  return { cheque: toB64(cheque.bytes), z: toB64(z) }
}

/**
 * P's step on 2.3: checks D countersigned exactly this cheque, then answers
 * with 2.4 (the key sealed in Z) and the item to deposit at the AC.
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
    message2_4: { key: toHex(sale.sealed ?? sale.key) },
    deposit: { cheque: toB64(sale.cheque.bytes), accept: accept as string, certificate: toB64(sale.certificate.bytes) }
  }
}
