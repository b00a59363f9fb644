// The downloader's steps of one purchase (see sale-messages.ts for the whole
// exchange): D signs its request (1.1), checks the offer (1.2) and every piece
// (2.1) against the file id, checks the cheque against what it holds before it
// countersigns (2.2, 2.3), and checks the key (2.4) against the key piece; with
// no working key it has what the TTP (3.1) and, in the fixed form, the judge need.
import {
  ErrorCode,
  concat,
  fail,
  fromB64,
  isHash,
  keyOfPeerId,
  randomId,
  toB64,
  toHex,
  type Opened,
  type Signer,
  type Verifier
} from '@p2pay/core'
import { IV_LEN, keyPieceFor, sekHash } from './keypiece.ts'
import { openManifest, type ManifestBody } from './manifest.ts'
import { merkleRoot, pieceHash } from './merkle.ts'
import {
  acceptCheque,
  checkRequestBody,
  openCertificate,
  openCheque,
  signRequest,
  type CapitalCertBody,
  type ChequeBody,
  type RequestBody
} from './messages.ts'
import { checkChequeAgainstRequest, type ChequeExpectations } from './message-relations.ts'
import { pieceLength } from './pieces.ts'
import {
  MAX_Z,
  PIECE_MISMATCH,
  checkForm,
  fields,
  sameBytes,
  type ComplaintMessage,
  type Message1_1,
  type Message2_3,
  type Message3_1,
  type SaleForm
} from './sale-messages.ts'
import { zHash } from './zbox.ts'

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
 * One piece of 2.1, in order: its bytes whole, or the chunks it arrived in (the
 * caller's stream need not copy them into one buffer). A plain piece must hash
 * to its leaf: the caller writes it to disk ('plain'). The key piece is kept
 * here as SEK(KP) ('sek'). A bad piece throws and changes nothing, so the caller
 * may ask for it again.
 */
export function onPiece(state: Purchase, index: number, bytes: Uint8Array | readonly Uint8Array[]): 'plain' | 'sek' {
  expectPhase(state, 'downloading')
  const offer = state.offer!
  if (index !== state.next) fail(ErrorCode.BAD_REQUEST, `expected piece ${state.next}, got ${String(index)}`)
  const chunks = bytes instanceof Uint8Array ? [bytes] : bytes
  if (!Array.isArray(chunks) || !chunks.every(c => c instanceof Uint8Array))
    fail(ErrorCode.BAD_REQUEST, 'a piece is bytes')
  const byteLength = chunks.reduce((n: number, c: Uint8Array) => n + c.byteLength, 0)
  const len = pieceLength(offer.manifest.body.size, offer.manifest.body.pieceSize, index)
  const isKey = index === offer.keyIndex
  if (isKey) {
    if (byteLength !== IV_LEN + len) fail(ErrorCode.BAD_REQUEST, 'encrypted key piece has the wrong length')
    state.sek = concat([...chunks]) // a copy: the caller may reuse its buffers
  } else if (byteLength !== len || !sameBytes(pieceHash(chunks), offer.pieceHashes[index])) {
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
  const { fileId, pieceCount } = offer.manifest.body
  const check = { fileId: new Uint8Array(Buffer.from(fileId, 'hex')), keyIndex: offer.keyIndex, pieceCount }
  const keyPiece = keyPieceFor({ ...check, sek: state.sek!, pieceHashes: offer.pieceHashes }, keyHex)
  if (keyPiece == null) {
    state.phase = 'dispute'
    return { ok: false }
  }
  state.key = new Uint8Array(Buffer.from(keyHex as string, 'hex'))
  state.phase = 'done'
  return { ok: true, keyPiece }
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
    pieceHashes: offer.pieceHashes.map(toHex),
    certificate: toB64(state.certificate.bytes)
  }
}
