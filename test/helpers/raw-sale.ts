// A downloader played in this process: it speaks the sale protocol frame by
// frame to a real provider (and asks the AC for its certificate), so a test
// can stop after any message, keep the key, replay 1.1 or lie to the judge.
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { FrameReader, RpcClient, Verifier, fromUtf8, randomId, sendFrame, toB64, utf8 } from '@p2pay/core'
import {
  FAIREX_PROTOCOL,
  onAccept,
  onCheque,
  onPiece,
  signCertRequest,
  startPurchase,
  type IssueResult,
  type Message1_1,
  type Purchase,
  type ReserveResult,
  type SaleForm
} from '@p2pay/fairex'
import type { RawPeer } from './raw-peer.ts'

const MAX_SALE_FRAME = 8 * 1024 * 1024
const STEP_MS = 20_000

/** One call from `peer` to the AC at `acAddr` (a broker's multiaddr), on a client of its own. */
export async function acCall<T>(peer: RawPeer, acAddr: string, op: string, args: unknown): Promise<T> {
  const c = new RpcClient(peer.node, multiaddr(acAddr), FAIREX_PROTOCOL.ac, { defaultTimeoutMs: 15_000 })
  try {
    return await c.call<T>(op, args)
  } finally {
    await c.close()
  }
}

/** A capital certificate from the AC at `acAddr` for `peer`. */
export async function certificateFor(
  peer: RawPeer,
  acAddr: string,
  acId: string,
  max: number,
  nonce = randomId(8)
): Promise<IssueResult> {
  const req = signCertRequest(peer.key.signer, { ac: acId, peer: peer.peerId, max, nonce })
  return await acCall<IssueResult>(peer, acAddr, 'certificate', { request: toB64(req.bytes) })
}

/**
 * What a provider does before it sends any piece: reserves the price of the
 * sale D's message 1.1 asks for at the AC at `acAddr`. Throws the AC's refusal.
 */
export async function reserveAt(provider: RawPeer, acAddr: string, m11: Message1_1): Promise<ReserveResult> {
  return await acCall<ReserveResult>(provider, acAddr, 'reserve', {
    request: m11.request,
    certificate: m11.certificate
  })
}

export interface SaleStream {
  stream: Stream
  reader: FrameReader
}

/**
 * Opens a sale stream to a provider daemon and sends message 1.1 (as given: a test may send a replayed or forged one).
 */
export async function openSale(
  peer: RawPeer,
  providerAddr: string,
  fileId: string,
  m11: Message1_1
): Promise<SaleStream & { first: any }> {
  const stream = await peer.node.dialProtocol(multiaddr(providerAddr), FAIREX_PROTOCOL.sale, {
    signal: AbortSignal.timeout(STEP_MS)
  })
  const reader = new FrameReader(stream, MAX_SALE_FRAME)
  await sendFrame(stream, utf8(JSON.stringify({ m: '1.1', fileId, ...m11 })), AbortSignal.timeout(STEP_MS))
  const bytes = await reader.read(AbortSignal.timeout(STEP_MS))
  return { stream, reader, first: bytes == null ? null : JSON.parse(fromUtf8(bytes)) }
}

export async function closeSale(s: SaleStream): Promise<void> {
  await s.stream.close({ signal: AbortSignal.timeout(5000) }).catch(() => s.stream.abort(new Error('close failed')))
}

export interface RawPurchase {
  state: Purchase
  message1_1: Message1_1
  /** the plain pieces as received; the key piece is a hole until the key opens it */
  pieces: Array<Uint8Array | undefined>
  /** what the provider sent as 2.4 (not applied: the state stays awaitingKey for disputes and complaints) */
  key?: string
}

export interface RawBuyInput {
  peer: RawPeer
  verifier: Verifier
  /** the provider daemon's multiaddr ending in /p2p/<id> */
  providerAddr: string
  provider: string
  fileId: string
  price: number
  manifestHash?: string
  ttp: string
  judge: string
  certificate: string
  form?: SaleForm
}

/**
 * D's side of one purchase, in the test process, against a provider daemon:
 * 1.1, 1.2, the pieces (each checked by onPiece), 2.2, 2.3, then reads 2.4.
 * Throws on a refusal (with its code in the message).
 */
export async function rawBuy(o: RawBuyInput): Promise<RawPurchase> {
  const { state, message1_1 } = rawRequest(o)
  const sale = await openSale(o.peer, o.providerAddr, o.fileId, message1_1)
  return await finishBuy(sale, state, message1_1)
}

/** D's message 1.1 for `o` (a fresh serial) and the purchase state, nothing sent yet. */
export function rawRequest(o: Omit<RawBuyInput, 'providerAddr'>): { state: Purchase; message1_1: Message1_1 } {
  return startPurchase({
    signer: o.peer.key.signer,
    verifier: o.verifier,
    provider: o.provider,
    fileId: o.fileId,
    price: o.price,
    ttp: o.ttp,
    judge: o.judge,
    certificate: o.certificate,
    now: Date.now(),
    ...(o.manifestHash != null ? { manifestHash: o.manifestHash } : {}),
    ...(o.form != null ? { form: o.form } : {})
  })
}

/**
 * The rest of a purchase whose 1.1 went out with openSale: checks 1.2 (throws
 * on a refusal, with its code in the message), takes the pieces, signs 2.3 and
 * reads 2.4. Closes the stream.
 */
export async function finishBuy(
  sale: SaleStream & { first: any },
  state: Purchase,
  message1_1: Message1_1
): Promise<RawPurchase> {
  try {
    const { m, ...m12 } = sale.first ?? {}
    if (m === 'refuse') throw new Error(`provider refused: ${String(m12.code)} ${String(m12.message)}`)
    onAccept(state, m12)
    const offer = state.offer!
    const pieces: Array<Uint8Array | undefined> = []
    for (let i = 0; i < offer.pieceHashes.length; i++) {
      const bytes = await sale.reader.read(AbortSignal.timeout(STEP_MS))
      if (bytes == null) throw new Error(`stream ended at piece ${i}`)
      pieces.push(onPiece(state, i, bytes) === 'plain' ? bytes.slice() : undefined)
    }
    const m22 = JSON.parse(fromUtf8((await sale.reader.read(AbortSignal.timeout(STEP_MS)))!))
    const { m: _m, ...rest } = m22
    const m23 = onCheque(state, rest)
    await sendFrame(sale.stream, utf8(JSON.stringify({ m: '2.3', ...m23 })), AbortSignal.timeout(STEP_MS))
    const m24 = await sale.reader.read(AbortSignal.timeout(STEP_MS))
    const key = m24 == null ? undefined : JSON.parse(fromUtf8(m24)).key
    return { state, message1_1, pieces, key }
  } finally {
    await closeSale(sale)
  }
}

/** The whole file of a raw purchase, once `keyPiece` opened. */
export function assemble(p: RawPurchase, keyPiece: Uint8Array): Buffer {
  return Buffer.concat(p.pieces.map(x => x ?? keyPiece))
}

// ---- a market ----
