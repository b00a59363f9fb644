// What the sale tests share: a world of parties with a file cut into pieces
// and D's capital certificate, the steps of a purchase as the honest parties
// take them, and checks that a refusing party signed and changed nothing.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { Metrics, Verifier, nodeEd25519, randomId, signerFor, toB64, toHex, type Signer } from '@p2pay/core'
import { x25519FromEd25519Seed } from '../src/core/ecies.ts'
import { signManifest } from '../src/core/manifest.ts'
import { merkleRoot, pieceHash } from '../src/core/merkle.ts'
import { FAIREX_TAG, signCertificate, signRequest, type RequestBody } from '../src/core/messages.ts'
import { type Message1_1, type Message1_2, type Message2_2, type SaleForm } from '../src/core/sale-messages.ts'
import {
  acceptRequest,
  chequeMessage,
  onChequeAccepted,
  pieceToSend,
  type AcceptRequestInput,
  type ProviderSale
} from '../src/core/sale-provider.ts'
import { onAccept, onCheque, onPiece, startPurchase, type Purchase } from '../src/core/sale-downloader.ts'
import { throwsCode } from '@p2pay/test-utils'

export const backend = nodeEd25519()
export const verifier = new Verifier(backend)
export const T0 = 1_700_000_000_000
export const SKEW = 30_000
export const PIECE = 16 * 1024
export const PRICE = 12

export interface Ident {
  signer: Signer
  id: string
  metrics: Metrics
  x25519: Uint8Array
  unmetered: Signer
}
export async function ident(): Promise<Ident> {
  const key = await generateKeyPair('Ed25519')
  const metrics = new Metrics()
  const signer = signerFor(key, backend, metrics)
  // the X25519 key a TTP or judge opens its Z box with
  const x25519 = x25519FromEd25519Seed((key as Ed25519PrivateKey).raw.subarray(0, 32)).privateKey
  // for what a peer signed before the sale (P's manifest), so the counters count the sale alone
  return { signer, id: signer.peerId, metrics, x25519, unmetered: signerFor(key, backend) }
}

export const signatures = (who: Ident): number => who.metrics.get('signatures_generated_total')

/** Asserts D refuses with `code`, without signing and without moving its state. */
export function dRefuses(w: World, state: Purchase, fn: () => unknown, code: string, message?: string): void {
  const before = signatures(w.D)
  const snap = { phase: state.phase, next: state.next, paid: state.paid, sek: state.sek }
  throwsCode(fn, code, message)
  assert.equal(signatures(w.D), before, 'D signed something although it refused')
  assert.deepEqual({ phase: state.phase, next: state.next, paid: state.paid, sek: state.sek }, snap)
}

export interface World {
  P: Ident
  D: Ident
  D2: Ident
  T: Ident
  J: Ident
  AC: Ident
  X: Ident
  data: Uint8Array
  pieces: Uint8Array[]
  hashes: Uint8Array[]
  fileId: string
  manifest: string
  /** D's capital certificate, base64 */
  cert: string
}

export async function world(size = 5 * PIECE + 777): Promise<World> {
  const [P, D, D2, T, J, AC, X] = await Promise.all([ident(), ident(), ident(), ident(), ident(), ident(), ident()])
  const data = new Uint8Array(randomBytes(size))
  const pieces: Uint8Array[] = []
  for (let o = 0; o < size; o += PIECE) pieces.push(data.subarray(o, o + PIECE))
  const hashes = pieces.map(pieceHash)
  const fileId = toHex(merkleRoot(hashes))
  const manifest = signManifest(P.unmetered, {
    fileId,
    name: 'film.bin',
    size,
    pieceSize: PIECE,
    price: PRICE,
    createdAt: T0
  })
  const w = { P, D, D2, T, J, AC, X, data, pieces, hashes, fileId, manifest, cert: '' }
  w.cert = certFor(w, D)
  return w
}

export function certFor(
  w: World,
  who: Ident,
  over: { max?: number; expiry?: number; peer?: string; ac?: Ident } = {}
): string {
  const ac = over.ac ?? w.AC
  return toB64(
    signCertificate(ac.signer, {
      ac: ac.id,
      peer: over.peer ?? who.id,
      max: over.max ?? 100,
      expiry: over.expiry ?? T0 + 3_600_000,
      serial: randomId(16)
    }).bytes
  )
}

export function start(
  w: World,
  o: { form?: SaleForm; now?: number; manifestHash?: string } = {}
): { state: Purchase; message1_1: Message1_1 } {
  return startPurchase({
    signer: w.D.signer,
    verifier,
    provider: w.P.id,
    fileId: w.fileId,
    price: PRICE,
    ttp: w.T.id,
    judge: w.J.id,
    certificate: w.cert,
    form: o.form,
    manifestHash: o.manifestHash,
    now: o.now ?? T0
  })
}

export function accept(
  w: World,
  message1_1: unknown,
  over: Partial<AcceptRequestInput> = {}
): ReturnType<typeof acceptRequest> {
  return acceptRequest({
    signer: w.P.signer,
    verifier,
    manifest: w.manifest,
    pieceHashes: w.hashes,
    message1_1,
    ac: w.AC.id,
    judge: w.J.id,
    ttps: [w.T.id],
    form: 'fixed',
    now: T0 + 500,
    maxSkewMs: SKEW,
    ...over
  })
}

export function accepted(r: ReturnType<typeof acceptRequest>): { sale: ProviderSale; message1_2: Message1_2 } {
  assert.ok('sale' in r, `refused: ${JSON.stringify(r)}`)
  return r
}

/** 1.1 and 1.2, then all of 2.1 with D writing plain pieces into `out`. */
export function negotiateAndDownload(
  w: World,
  form: SaleForm
): { state: Purchase; sale: ProviderSale; out: Uint8Array } {
  const { state, message1_1 } = start(w, { form })
  const { sale, message1_2 } = accepted(accept(w, message1_1, { form }))
  onAccept(state, message1_2)
  const out = new Uint8Array(w.data.byteLength)
  w.pieces.forEach((plain, i) => {
    if (onPiece(state, i, pieceToSend(sale, i, plain)) === 'plain') out.set(plain, i * PIECE)
  })
  assert.equal(state.phase, 'awaitingCheque')
  return { state, sale, out }
}

/** A fixed or original sale up to a signed 2.3 (P's 2.2 made by `cheque`), with P's key message and deposit item. */
export function throughCheque(
  w: World,
  form: SaleForm,
  cheque: (sale: ProviderSale, now: number) => Message2_2 = (sale, now) => chequeMessage(sale, { now })
): ReturnType<typeof negotiateAndDownload> & ReturnType<typeof onChequeAccepted> & { message2_2: Message2_2 } {
  const d = negotiateAndDownload(w, form)
  const message2_2 = cheque(d.sale, T0 + 2000)
  const message2_3 = onCheque(d.state, message2_2)
  return { ...d, ...onChequeAccepted(d.sale, message2_3), message2_2 }
}

/**
 * A request and certificate for P's provider-side checks, signed outside startPurchase (which refuses some of them
 * itself).
 */
export function message11(w: World, over: Partial<RequestBody> = {}, cert = w.cert, by = w.D): Message1_1 {
  const body: RequestBody = {
    provider: w.P.id,
    downloader: w.D.id,
    ttp: w.T.id,
    fileId: w.fileId,
    chequeSn: randomId(16),
    ts: T0,
    price: PRICE,
    ...over
  }
  const req = by === w.D ? signRequest(w.D.signer, body) : by.signer.sign(FAIREX_TAG.request, body, 'test')
  return { request: toB64(req.bytes), certificate: cert }
}

/** A copy of `o` without key `k` (as it would arrive: JSON has no undefined). */
export function without(o: object, k: string): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...o }
  delete copy[k]
  return copy
}

export function refusedWith(r: ReturnType<typeof acceptRequest>, code: string): string {
  assert.ok('refuse' in r, 'expected a refusal')
  assert.equal(r.refuse.code, code, r.refuse.message)
  return r.refuse.message
}
