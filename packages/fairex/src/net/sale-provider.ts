// The provider's side of the sale protocol: 1.1 in, 1.2 + pieces + 2.2 out,
// 2.3 in, 2.4 out. The price is reserved at the AC before any piece leaves,
// and the countersigned cheque is on disk before the key does. A stop aborts
// the sales under way and waits for them.
import { open } from 'node:fs/promises'
import type { Stream } from '@libp2p/interface'
import { ErrorCode, FrameReader, P2payError, abortReason, asError, randomId, sendFrame } from '@p2pay/core'
import { acceptRequest, chequeSealing, onChequeAccepted, pieceToSend } from '../core/sale-provider.ts'
import { sellable, unsellableReason } from './catalog.ts'
import { readPieceFrom } from './file-pieces.ts'
import type { NodeContext } from './node-context.ts'
import { splitHashes, type SaleRecord } from './node-records.ts'
import { FAIREX_PROTOCOL } from './protocols.ts'
import { MAX_SALE_FRAME, PIECE_TIMEOUT_MS, STEP_TIMEOUT_MS, abortOnStop, json, parse } from './sale-stream.ts'

/** sales this node makes at once; libp2p bounds inbound streams per connection, this bounds them per node */
const MAX_CONCURRENT_SALES = 32
/** certificates remembered as spent (oldest forgotten first): each costs at most one more call to the AC */
const MAX_SPENT_CERTIFICATES = 4096
/** AC refusals that hold for a certificate whatever the serial: no later request on it can do better */
const CERTIFICATE_REFUSALS: readonly string[] = [
  ErrorCode.INSUFFICIENT_FUNDS,
  ErrorCode.EXPIRED,
  ErrorCode.NOT_FOUND,
  ErrorCode.WRONG_OWNER
]

/**
 * What the provider keeps of requests not yet reserved: serials under way
 * (so concurrent copies of one request are refused before anything is
 * awaited) and certificates the AC refused, with the smallest price refused.
 * Nothing of a refused request reaches the sales table: a row is written only
 * for a sale the AC reserved, so a downloader pays escrow for each row.
 */
export class SaleGate {
  readonly pending = new Set<string>()
  private readonly spent = new Map<string, { code: string; message: string; price: number }>()

  seen(n: NodeContext, serial: string): boolean {
    return this.pending.has(serial) || n.t.sales.has(serial)
  }

  /** The AC's refusal of an earlier request on this certificate, if a request at `price` would get it too. */
  refusal(certificate: string, price: number): { code: string; message: string } | undefined {
    const r = this.spent.get(certificate)
    return r != null && (r.code !== ErrorCode.INSUFFICIENT_FUNDS || price >= r.price) ? r : undefined
  }

  remember(certificate: string, price: number, code: string, message: string): void {
    if (!CERTIFICATE_REFUSALS.includes(code)) return
    const prev = this.spent.get(certificate)
    this.spent.delete(certificate)
    this.spent.set(certificate, { code, message, price: Math.min(price, prev?.price ?? price) })
    if (this.spent.size > MAX_SPENT_CERTIFICATES) this.spent.delete(this.spent.keys().next().value!)
  }
}

/** Registers the sale protocol. */
export async function serveSales(n: NodeContext): Promise<void> {
  let selling = 0
  const gate = new SaleGate()
  // rows of refused requests (earlier releases kept them) serve nothing: none of their serials was reserved
  const refused = [...n.t.sales.values()].filter(s => s.status === 'refused')
  if (refused.length > 0) await n.store.apply(() => refused.forEach(s => n.t.sales.delete(s.serial)))
  await n.c.network.handle(
    FAIREX_PROTOCOL.sale,
    async (stream, connection) => {
      if (n.life.stopped) {
        stream.abort(abortReason(n.life.signal))
        return
      }
      if (selling >= MAX_CONCURRENT_SALES) {
        stream.abort(new P2payError(ErrorCode.INTERNAL, 'too many sales at once'))
        return
      }
      selling++
      try {
        await n.life.track('fairex sale', sellOn(n, gate, stream, connection.remotePeer.toString()))
      } finally {
        selling--
      }
    },
    { maxInboundStreams: 16 }
  )
}

async function sellOn(n: NodeContext, gate: SaleGate, stream: Stream, from: string): Promise<void> {
  const untie = abortOnStop(n.life, stream)
  try {
    await sell(n, gate, stream, from)
    await stream.close({ signal: AbortSignal.timeout(10_000) })
  } catch (err) {
    if (!n.life.stopped) n.log.child('sale').warn('sale ended early', { from, err: asError(err) })
    stream.abort(asError(err))
  } finally {
    untie()
  }
}

/** Provider side of one sale. */
async function sell(n: NodeContext, gate: SaleGate, stream: Stream, from: string): Promise<void> {
  const reader = new FrameReader(stream, MAX_SALE_FRAME)
  const send = async (o: unknown): Promise<void> => {
    await sendFrame(stream, json(o), STEP_TIMEOUT_MS)
    n.c.metrics.messageSent('fairex-sale')
  }
  // the judge's current bans are asked for before every sale (one round trip on an open stream, made while 1.1
  // is on its way); the last list known is used when the judge cannot be reached
  const bans = n.bans.refresh().catch(() => {})
  const m11 = parse(await reader.read(STEP_TIMEOUT_MS), 'message 1.1')
  const refuse = async (code: string, message: string): Promise<void> => {
    await send({ m: 'refuse', code, message })
  }
  await bans
  if (n.bans.isBanned(from)) return await refuse(ErrorCode.FRAUD, 'this peer is banned by the judge')
  const shared = [...n.t.shared.values()].find(f => typeof m11?.fileId === 'string' && f.fileId === m11.fileId)
  if (shared == null) return await refuse(ErrorCode.NOT_FOUND, 'no such file here')
  if (!sellable(shared)) return await refuse(ErrorCode.NOT_FOUND, `file not offered: ${unsellableReason(shared)}`)
  const ttp = n.init.ttp
  if (ttp == null) return await refuse(ErrorCode.NOT_FOUND, 'this node sells nothing: it has no TTP configured')
  const result = acceptRequest({
    signer: n.c.signer,
    verifier: n.c.verifier,
    manifest: shared.manifest,
    pieceHashes: splitHashes(shared.pieces),
    message1_1: { request: m11.request, certificate: m11.certificate },
    ac: n.c.broker.id,
    judge: n.init.judge?.id ?? ttp.id,
    ttps: [ttp.id],
    form: shared.form,
    now: Date.now(),
    maxSkewMs: n.init.maxSkewMs,
    seen: serial => gate.seen(n, serial)
  })
  if ('refuse' in result) return await refuse(result.refuse.code, result.refuse.message)
  const { sale } = result
  const spent = gate.refusal(sale.certificate.hash, shared.price)
  if (spent != null)
    return await refuse(spent.code, `the accounting centre did not reserve the price: ${spent.message}`)
  // the serial is taken in the same tick as the replay check, before anything is awaited:
  // concurrent copies of one request find it taken and are refused
  gate.pending.add(sale.serial)
  let recorded: Promise<void>
  try {
    // the price is promised to this sale at the AC before any piece leaves: a certificate
    // shown to several providers pays each only what it still has
    try {
      await n.ac.call(
        n.c.broker,
        'reserve',
        { request: m11.request, certificate: m11.certificate },
        { kind: 'fairex-reserve' }
      )
    } catch (err) {
      const e = asError(err)
      const code = e instanceof P2payError ? e.code : ErrorCode.UNREACHABLE
      gate.remember(sale.certificate.hash, shared.price, code, e.message)
      return await refuse(code, `the accounting centre did not reserve the price: ${e.message}`)
    }
    // written once reserved: each row of the table is backed by the downloader's escrow
    const record: SaleRecord = {
      serial: sale.serial,
      downloader: from,
      fileId: shared.fileId,
      price: shared.price,
      status: 'sending',
      at: Date.now()
    }
    // in the table at once (a replay finds it), on disk before the cheque leaves: its write overlaps the pieces
    recorded = n.store.apply(() => n.t.sales.set(sale.serial, record))
    recorded.catch(() => {})
  } finally {
    gate.pending.delete(sale.serial)
  }
  await send({ m: '1.2', ...result.message1_2 })
  const fh = await open(shared.path, 'r')
  try {
    // the next piece is read from disk while this one is sent
    let next = readPieceFrom(fh, shared.size, 0, shared.pieceSize)
    for (let i = 0; i < shared.pieceCount; i++) {
      const plain = await next
      if (i + 1 < shared.pieceCount) next = readPieceFrom(fh, shared.size, i + 1, shared.pieceSize)
      // a piece is queued by reference, not copied into its frame
      await sendFrame(stream, pieceToSend(sale, i, plain), PIECE_TIMEOUT_MS)
    }
  } finally {
    await fh.close()
  }
  n.c.metrics.messageSent('fairex-sale') // the pieces are message 2.1
  await recorded
  await send({ m: '2.2', ...chequeSealing(sale, n.keyToSeal(sale), { now: Date.now() }) })
  const { m, ...m23 } = parse(await reader.read(STEP_TIMEOUT_MS), 'message 2.3')
  if (m !== '2.3') return
  const { message2_4, deposit } = onChequeAccepted(sale, m23)
  // the countersigned cheque is ours to deposit: on disk before the key leaves
  await n.store.apply(() => {
    const id = randomId(8)
    n.t.deposits.set(id, { id, ...deposit, at: Date.now() })
    n.t.sales.set(sale.serial, { ...n.t.sales.get(sale.serial)!, status: 'paid' })
  })
  await send({ m: '2.4', ...message2_4 })
}
