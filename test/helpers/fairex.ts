// Helpers for the file market's integration tests: random files, a TCP proxy
// that lets a test stop a provider's bytes at an exact point of a sale, and a
// downloader that runs in the test process and speaks the sale protocol frame
// by frame to a real provider daemon (so a test can keep the key, replay 1.1,
// or take forged evidence to the judge). Every wait is bounded.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, writeFileSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { FrameReader, RpcClient, fromUtf8, randomId, sendFrame, toB64, utf8, type Verifier } from '@p2pay/core'
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

/** Writes `size` random bytes to `path`; returns their sha256 (hex). */
export function randomFile(path: string, size: number): string {
  const data = randomBytes(size)
  writeFileSync(path, data)
  return createHash('sha256').update(data).digest('hex')
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** Rejects after `ms` with `what` in the message, so no await in a test is unbounded. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let t: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_resolve, reject) => {
        t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
      })
    ])
  } finally {
    clearTimeout(t)
  }
}

/**
 * A TCP proxy in front of a provider's libp2p port. It forwards both ways
 * until the downloader, after at least `watchAfter` bytes went to it (the
 * pieces), sends a chunk of at least `minChunk` bytes: that is message 2.3
 * (D's countersignature; everything else D sends then is a few dozen bytes of
 * yamux window updates or pings). The chunk is forwarded to the provider, and
 * from then on nothing the provider sends reaches the downloader: message 2.4
 * is lost. `cut` resolves at that moment.
 */
export class CutProxy {
  readonly targetPort: number
  readonly watchAfter: number
  readonly minChunk: number
  port = 0
  /** bytes provider -> downloader forwarded, downloader -> provider forwarded, provider -> downloader dropped */
  down = 0
  up = 0
  dropped = 0
  connections = 0
  /** sizes of the chunks the downloader sent while the proxy watched for 2.3 (the last one is 2.3) */
  readonly watched: number[] = []
  phase: 'open' | 'watch' | 'cut' = 'open'
  readonly cut: Promise<void>
  private fire!: () => void
  private readonly server: Server
  private readonly sockets = new Set<Socket>()

  constructor(targetPort: number, watchAfter: number, minChunk = 300) {
    this.targetPort = targetPort
    this.watchAfter = watchAfter
    this.minChunk = minChunk
    this.cut = new Promise(resolve => {
      this.fire = resolve
    })
    this.server = createServer(client => {
      this.connections++
      const upstream = connect(this.targetPort, '127.0.0.1')
      for (const s of [client, upstream]) {
        this.sockets.add(s)
        s.on('error', () => {})
        s.on('close', () => {
          this.sockets.delete(s)
          client.destroy()
          upstream.destroy()
        })
      }
      client.on('data', (chunk: Buffer) => {
        if (this.phase === 'watch') this.watched.push(chunk.byteLength)
        if (this.phase === 'watch' && chunk.byteLength >= this.minChunk) {
          this.phase = 'cut'
          this.fire()
        }
        this.up += chunk.byteLength
        upstream.write(chunk)
      })
      upstream.on('data', (chunk: Buffer) => {
        if (this.phase === 'cut') {
          this.dropped += chunk.byteLength
          return
        }
        this.down += chunk.byteLength
        if (this.phase === 'open' && this.down >= this.watchAfter) this.phase = 'watch'
        client.write(chunk)
      })
    })
  }

  static async start(targetPort: number, watchAfter: number): Promise<CutProxy> {
    const p = new CutProxy(targetPort, watchAfter)
    await new Promise<void>((resolve, reject) => {
      p.server.once('error', reject)
      p.server.listen(0, '127.0.0.1', () => resolve())
    })
    p.port = (p.server.address() as { port: number }).port
    return p
  }

  /** The provider's multiaddr through this proxy. */
  addr(peerId: string): string {
    return `/ip4/127.0.0.1/tcp/${this.port}/p2p/${peerId}`
  }

  /** Cuts every connection through the proxy at once (the downloader sees a dead connection). */
  destroyAll(): void {
    for (const s of this.sockets) s.destroy()
  }

  async close(): Promise<void> {
    this.destroyAll()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}

/** A capital certificate from the AC at `ac` (a broker's multiaddr) for `peer`. */
export async function certificateFor(
  peer: RawPeer,
  acAddr: string,
  acId: string,
  max: number,
  nonce = randomId(8)
): Promise<IssueResult> {
  const c = new RpcClient(peer.node, multiaddr(acAddr), FAIREX_PROTOCOL.ac, { defaultTimeoutMs: 15_000 })
  try {
    const req = signCertRequest(peer.key.signer, { ac: acId, peer: peer.peerId, max, nonce })
    return await c.call<IssueResult>('certificate', { request: toB64(req.bytes) })
  } finally {
    await c.close()
  }
}

/**
 * What a provider does before it sends any piece: reserves the price of the
 * sale D's message 1.1 asks for at the AC at `acAddr`. Throws the AC's refusal.
 */
export async function reserveAt(provider: RawPeer, acAddr: string, m11: Message1_1): Promise<ReserveResult> {
  const c = new RpcClient(provider.node, multiaddr(acAddr), FAIREX_PROTOCOL.ac, { defaultTimeoutMs: 15_000 })
  try {
    return await c.call<ReserveResult>('reserve', { request: m11.request, certificate: m11.certificate })
  } finally {
    await c.close()
  }
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
