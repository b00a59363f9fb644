// The file market inside `p2pay node`: sharing files, selling them piece by
// piece (provider), buying them (downloader), disputes at the TTP, complaints to
// the judge, deposits at the accounting centre, and honouring ban records.
//
// One purchase is one stream carrying messages 1.1 .. 2.4 in order; pieces go
// as binary frames with backpressure on both sides (sendFrame waits on the
// stream's write buffer, FrameReader pauses the stream), and the downloader
// writes them to disk as they come: memory stays at a few pieces per sale.
// What a party must not lose is persisted before the message that depends on
// it: the provider's deposit item before it sends the key (2.4), the
// downloader's evidence before it sends its signature (2.3).
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { open, rename, stat } from 'node:fs/promises'
import { resolve as resolvePath } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import {
  ErrorCode,
  FrameReader,
  P2payError,
  RpcClient,
  asError,
  fail,
  fromB64,
  fromUtf8,
  randomId,
  sendFrame,
  serveRpc,
  sha256Hex,
  toB64,
  toHex,
  utf8,
  type DaemonContext,
  type Routes,
  type Table
} from '@p2pay/core'
import { FAIREX_PROTOCOL } from './protocols.ts'
import { hashFile, readPieceFrom, DEFAULT_PIECE_SIZE } from './pieces.ts'
import { signManifest, openManifest } from './manifest.ts'
import { signCertRequest, signDepositRequest, chequeKey } from './messages.ts'
import {
  acceptRequest,
  pieceToSend,
  chequeMessage,
  onChequeAccepted,
  startPurchase,
  onAccept,
  onPiece,
  onCheque,
  disputeBundle,
  complaint,
  type SaleForm,
  type Purchase
} from './sale.ts'
import { openBan } from './judgment.ts'
import { decryptKeyPiece, keyOpensPiece } from './keypiece.ts'
import { merkleProof } from './merkle.ts'
import type { DepositItem, DepositResult } from './accounting.ts'

const CATALOG = '/p2pay/fairex/catalog/1.0.0'
const MAX_SALE_FRAME = 8 * 1024 * 1024
const STEP_TIMEOUT_MS = 60_000
const PIECE_TIMEOUT_MS = 30_000
const KEY_TIMEOUT_MS = 10_000
const MAX_CONCURRENT_SALES = 32
/** a downloaded file is flushed to disk in the background every this many bytes */
const FLUSH_EVERY = 32 * 1024 * 1024
/** deposit refusals that no retry can change: the item leaves the queue (and is logged) */
const FINAL_REFUSALS = [
  'ALREADY_CASHED',
  'FRAUD',
  'EXPIRED',
  'WRONG_SIGNER',
  'WRONG_OWNER',
  'WRONG_BROKER',
  'WRONG_HOLDER',
  'NOT_FOUND',
  'BAD_REQUEST'
]

export interface Party {
  id: string
  addr?: string
}

export interface NodeFairexConfig {
  /** the accounting centre (the broker) */
  ac: Party
  ttp?: Party
  judge?: Party
  /** form of sales this node makes as a provider unless a share says otherwise */
  form: SaleForm
  maxSkewMs: number
  /**
   * Lets a share ask for provider misbehaviour, for demonstrations and tests
   * (--allow-cheats only): seal a garbage key in Z and send it as 2.4, the paper's attack.
   */
  allowCheats?: boolean
  /** deposit the queue once its oldest cheque has waited this long; 0 or unset: only when asked */
  autoDepositMs?: number
}

export interface SharedFile {
  fileId: string
  path: string
  name: string
  size: number
  pieceSize: number
  pieceCount: number
  price: number
  form: SaleForm
  manifest: string
  manifestHash: string
  /** piece hashes, hex, concatenated */
  pieces: string
  cheat?: boolean
}

export interface PurchaseRecord {
  serial: string
  provider: string
  fileId: string
  price: number
  out: string
  status: 'downloading' | 'paid' | 'done' | 'dispute' | 'failed' | 'refunded'
  via?: 'key' | 'ttp' | 'judge'
  ruling?: string
  error?: string
  /**
   * the evidence D keeps once it has signed (2.3): enough for the TTP, the judge, and to check a key after a restart
   */
  evidence?: { dispute: unknown; complaint?: unknown; key: KeyCheck }
  at: number
}

/** What it takes to check a key and finish the file, without the in-memory purchase. */
export interface KeyCheck {
  fileId: string
  keyIndex: number
  pieceCount: number
  pieceSize: number
  sek: string
  pieces: string
  form: SaleForm
}

interface SaleRecord {
  serial: string
  downloader: string
  fileId: string
  price: number
  status: 'sending' | 'refused' | 'paid'
  cheated: boolean
  at: number
  error?: string
}

export interface FairexTables {
  shared: Table<SharedFile>
  sales: Table<SaleRecord>
  purchases: Table<PurchaseRecord>
  deposits: Table<DepositItem & { id: string; at: number }>
  bans: Table<{ peer: string; ban: string; until: number }>
}
const TABLES: Array<keyof FairexTables> = ['shared', 'sales', 'purchases', 'deposits', 'bans']

const json = (o: unknown): Uint8Array => utf8(JSON.stringify(o))
const parse = (b: Uint8Array | null, what: string): any => {
  if (b == null) fail(ErrorCode.UNREACHABLE, `stream ended before ${what}`)
  try {
    return JSON.parse(fromUtf8(b))
  } catch {
    fail(ErrorCode.BAD_FRAME, `${what} is not JSON`)
  }
}

export class NodeFairex {
  readonly ctx: DaemonContext
  readonly cfg: NodeFairexConfig
  readonly t: FairexTables
  private readonly clients = new Map<string, RpcClient>()
  /** progress of purchases under way, for the CLI's progress bar */
  readonly progress = new Map<
    string,
    { serial: string; provider: string; fileId: string; received: number; total: number; startedAt: number }
  >()

  constructor(ctx: DaemonContext, cfg: NodeFairexConfig, t: FairexTables) {
    this.ctx = ctx
    this.cfg = cfg
    this.t = t
  }

  static async create(ctx: DaemonContext, cfg: NodeFairexConfig): Promise<NodeFairex> {
    const t: Record<string, unknown> = {}
    for (const name of TABLES) t[name] = await ctx.store.table(`fairex-${name}`)
    const svc = new NodeFairex(ctx, cfg, t as unknown as FairexTables)
    await svc.serve()
    return svc
  }

  private get store() {
    return this.ctx.store
  }
  private get me(): string {
    return this.ctx.signer.peerId
  }

  private client(party: Party, protocol: string): RpcClient {
    const key = `${party.id}|${party.addr ?? ''}|${protocol}`
    let c = this.clients.get(key)
    if (c == null) {
      const target = party.addr != null ? multiaddr(party.addr) : peerIdFromString(party.id)
      c = new RpcClient(this.ctx.libp2p, target, protocol, {
        metrics: this.ctx.metrics,
        maxFrame: MAX_SALE_FRAME,
        defaultTimeoutMs: STEP_TIMEOUT_MS
      })
      this.clients.set(key, c)
    }
    return c
  }

  isBanned(peer: string, now = Date.now()): boolean {
    const b = this.t.bans.get(peer)
    return b != null && b.until > now
  }

  /** Takes ban records (verified against the configured judge) into the local list. */
  async addBans(bans: string[]): Promise<number> {
    const judge = this.cfg.judge?.id
    if (judge == null) return 0
    const now = Date.now()
    const good = bans.flatMap(b => {
      try {
        const o = openBan(this.ctx.verifier, b, judge, now)
        return [{ peer: o.body.peer, ban: b, until: o.body.until }]
      } catch {
        return []
      }
    })
    await this.store.apply(() => {
      for (const g of good) this.t.bans.set(g.peer, g)
    })
    return good.length
  }

  /** the judge's clock at its newest ban we hold; 0 after a start, so the first ask gets them all */
  private banCursor = 0

  async refreshBans(): Promise<void> {
    if (this.cfg.judge == null) return
    const r = await this.client(this.cfg.judge, FAIREX_PROTOCOL.judge).call<{ bans: string[]; cursor?: number }>(
      'bans',
      { since: this.banCursor },
      { kind: 'fairex-ban', timeoutMs: 5000 }
    )
    if (r.bans.length > 0) await this.addBans(r.bans)
    if (Number.isSafeInteger(r.cursor) && r.cursor! > this.banCursor) this.banCursor = r.cursor!
  }

  // ---- provider --------------------------------------------------------

  /** Hashes a file piece by piece (bounded memory) and offers it at `price`. */
  async share(
    path: string,
    price: number,
    opts: { name?: string; form?: SaleForm; pieceSize?: number; cheat?: boolean } = {}
  ): Promise<{ fileId: string; size: number; pieces: number; manifest: string }> {
    if (typeof path !== 'string' || path === '') fail(ErrorCode.BAD_REQUEST, 'path is required')
    const abs = resolvePath(path)
    const st = await stat(abs).catch(() => fail(ErrorCode.NOT_FOUND, `no such file: ${abs}`))
    if (!st.isFile()) fail(ErrorCode.BAD_REQUEST, `${abs} is not a file`)
    const form = opts.form ?? this.cfg.form
    if (form !== 'original' && form !== 'fixed') fail(ErrorCode.BAD_REQUEST, 'form must be original or fixed')
    if (opts.cheat === true && this.cfg.allowCheats !== true)
      fail(ErrorCode.BAD_REQUEST, 'cheating shares need --allow-cheats')
    if (this.cfg.ttp == null)
      fail(
        ErrorCode.BAD_REQUEST,
        'selling files needs a TTP (--ttp): without one a buyer could name its own and open Z'
      )
    const h = await hashFile(abs, opts.pieceSize ?? DEFAULT_PIECE_SIZE)
    const name = opts.name ?? abs.split('/').pop()!
    const manifest = signManifest(this.ctx.signer, {
      fileId: toHex(h.fileId),
      name,
      size: h.size,
      pieceSize: h.pieceSize,
      price,
      createdAt: Date.now()
    })
    const opened = openManifest(this.ctx.verifier, manifest)
    const rec: SharedFile = {
      fileId: opened.body.fileId,
      path: abs,
      name,
      size: h.size,
      pieceSize: h.pieceSize,
      pieceCount: opened.body.pieceCount,
      price,
      form,
      manifest,
      manifestHash: opened.hash,
      pieces: h.pieceHashes.map(toHex).join(''),
      ...(opts.cheat === true ? { cheat: true } : {})
    }
    await this.store.apply(() => this.t.shared.set(rec.fileId, rec))
    this.ctx.log.info('sharing', { fileId: rec.fileId, name, size: h.size, pieces: rec.pieceCount, price, form })
    return { fileId: rec.fileId, size: h.size, pieces: rec.pieceCount, manifest: opened.hash }
  }

  private pieceHashes(f: SharedFile): Uint8Array[] {
    return splitHashes(f.pieces)
  }

  private async serve(): Promise<void> {
    await serveRpc(
      this.ctx.libp2p,
      CATALOG,
      {
        files: () => ({
          files: [...this.t.shared.values()].map(f => ({
            fileId: f.fileId,
            name: f.name,
            size: f.size,
            price: f.price,
            form: f.form,
            manifest: f.manifestHash
          }))
        })
      },
      { metrics: this.ctx.metrics }
    )
    await this.ctx.libp2p.handle(
      FAIREX_PROTOCOL.sale,
      async (stream, connection) => {
        // libp2p bounds inbound streams per connection; this bounds sales per node
        if (this.selling >= MAX_CONCURRENT_SALES) {
          stream.abort(new P2payError(ErrorCode.INTERNAL, 'too many sales at once'))
          return
        }
        this.selling++
        try {
          await this.sell(stream, connection.remotePeer.toString())
          await stream.close({ signal: AbortSignal.timeout(10_000) })
        } catch (err) {
          this.ctx.log.warn('sale ended early', { from: connection.remotePeer.toString(), err: asError(err) })
          stream.abort(asError(err))
        } finally {
          this.selling--
        }
      },
      { maxInboundStreams: 16 }
    )
  }

  /** Provider side of one sale: 1.1 in, 1.2 + pieces + 2.2 out, 2.3 in, 2.4 out. */
  private async sell(stream: Stream, from: string): Promise<void> {
    const reader = new FrameReader(stream, MAX_SALE_FRAME)
    const send = async (o: unknown): Promise<void> => {
      await sendFrame(stream, json(o), STEP_TIMEOUT_MS)
      this.ctx.metrics.messageSent('fairex-sale')
    }
    const m11 = parse(await reader.read(STEP_TIMEOUT_MS), 'message 1.1')
    const refuse = async (code: string, message: string): Promise<void> => {
      await send({ m: 'refuse', code, message })
    }
    // the judge's current bans are asked for before every sale (one round trip on an open
    // stream); the last list known is used when the judge cannot be reached
    await this.refreshBans().catch(() => {})
    if (this.isBanned(from)) return await refuse(ErrorCode.FRAUD, 'this peer is banned by the judge')
    const shared = [...this.t.shared.values()].find(f => typeof m11?.fileId === 'string' && f.fileId === m11.fileId)
    if (shared == null) return await refuse(ErrorCode.NOT_FOUND, 'no such file here')
    if (this.cfg.ttp == null)
      return await refuse(ErrorCode.NOT_FOUND, 'this node sells nothing: it has no TTP configured')
    const result = acceptRequest({
      signer: this.ctx.signer,
      verifier: this.ctx.verifier,
      manifest: shared.manifest,
      pieceHashes: this.pieceHashes(shared),
      message1_1: { request: m11.request, certificate: m11.certificate },
      ac: this.cfg.ac.id,
      judge: this.cfg.judge?.id ?? this.cfg.ttp.id,
      ttps: [this.cfg.ttp.id],
      form: shared.form,
      now: Date.now(),
      maxSkewMs: this.cfg.maxSkewMs,
      seen: serial => this.t.sales.has(serial)
    })
    if ('refuse' in result) return await refuse(result.refuse.code, result.refuse.message)
    const { sale } = result
    const cheated = shared.cheat === true
    // the serial is remembered in the same tick as the replay check, before anything is
    // awaited: concurrent copies of one request find it taken and are refused
    const record: SaleRecord = {
      serial: sale.serial,
      downloader: from,
      fileId: shared.fileId,
      price: shared.price,
      status: 'sending',
      cheated,
      at: Date.now()
    }
    await this.store.apply(() => this.t.sales.set(sale.serial, record))
    // the price is promised to this sale at the AC before any piece leaves: a certificate
    // shown to several providers pays each only what it still has
    try {
      await this.client(this.cfg.ac, FAIREX_PROTOCOL.ac).call(
        'reserve',
        { request: m11.request, certificate: m11.certificate },
        { kind: 'fairex-reserve' }
      )
    } catch (err) {
      const e = asError(err)
      await this.store.apply(() => this.t.sales.set(sale.serial, { ...record, status: 'refused', error: e.message }))
      return await refuse(
        e instanceof P2payError ? e.code : ErrorCode.UNREACHABLE,
        `the accounting centre did not reserve the price: ${e.message}`
      )
    }
    await send({ m: '1.2', ...result.message1_2 })
    const fh = await open(shared.path, 'r')
    try {
      // the next piece is read from disk while this one is sent
      let next = readPieceFrom(fh, shared.size, 0, shared.pieceSize)
      for (let i = 0; i < shared.pieceCount; i++) {
        const plain = await next
        if (i + 1 < shared.pieceCount) next = readPieceFrom(fh, shared.size, i + 1, shared.pieceSize)
        await sendFrame(stream, pieceToSend(sale, i, plain), PIECE_TIMEOUT_MS)
      }
    } finally {
      await fh.close()
    }
    this.ctx.metrics.messageSent('fairex-sale') // the pieces are message 2.1
    const garbage = cheated ? new Uint8Array(randomBytes(32)) : undefined
    await send({
      m: '2.2',
      ...chequeMessage(sale, { now: Date.now(), ...(garbage != null ? { garbageKey: garbage } : {}) })
    })
    const { m, ...m23 } = parse(await reader.read(STEP_TIMEOUT_MS), 'message 2.3')
    if (m !== '2.3') return
    const { message2_4, deposit } = onChequeAccepted(sale, m23)
    // the countersigned cheque is ours to deposit: on disk before the key leaves
    await this.store.apply(() => {
      const id = randomId(8)
      this.t.deposits.set(id, { id, ...deposit, at: Date.now() })
      this.t.sales.set(sale.serial, { ...this.t.sales.get(sale.serial)!, status: 'paid' })
    })
    await send({ m: '2.4', ...message2_4 })
  }

  // ---- downloader ------------------------------------------------------

  async catalog(
    provider: Party
  ): Promise<Array<{ fileId: string; name: string; size: number; price: number; form: SaleForm; manifest: string }>> {
    return (
      await this.client(provider, CATALOG).call<{ files: any[] }>(
        'files',
        {},
        { kind: 'fairex-catalog', timeoutMs: 10_000 }
      )
    ).files
  }

  /** A capital certificate for `max`, escrowed at the AC. */
  private async certificate(max: number): Promise<string> {
    const req = signCertRequest(this.ctx.signer, { ac: this.cfg.ac.id, peer: this.me, max, nonce: randomId(16) })
    const r = await this.client(this.cfg.ac, FAIREX_PROTOCOL.ac).call<{ certificate: string }>(
      'certificate',
      { request: toB64(req.bytes) },
      { kind: 'fairex-cert' }
    )
    return r.certificate
  }

  /**
   * Buys a file: negotiation, pieces checked against the file id as they
   * arrive, the cheque checked before it is signed, then the key. A missing or
   * wrong key goes to the TTP, and in the fixed form a key that still does not
   * open the piece goes to the judge.
   */
  async buy(provider: Party, fileId: string, out: string, opts: { form?: SaleForm } = {}): Promise<PurchaseRecord> {
    if (this.cfg.ttp == null) fail(ErrorCode.BAD_REQUEST, 'no TTP configured (--ttp)')
    if (typeof out !== 'string' || out === '') fail(ErrorCode.BAD_REQUEST, 'out path is required')
    await this.refreshBans().catch(() => {})
    if (this.isBanned(provider.id)) fail(ErrorCode.FRAUD, 'this provider is banned by the judge')
    const entry = (await this.catalog(provider)).find(f => f.fileId === fileId)
    if (entry == null) fail(ErrorCode.NOT_FOUND, `provider does not offer ${fileId}`)
    const certificate = await this.certificate(entry.price)
    const { state, message1_1 } = startPurchase({
      signer: this.ctx.signer,
      verifier: this.ctx.verifier,
      provider: provider.id,
      manifestHash: entry.manifest,
      fileId,
      price: entry.price,
      ttp: this.cfg.ttp.id,
      judge: this.cfg.judge?.id ?? this.cfg.ttp.id,
      certificate,
      form: opts.form ?? 'fixed',
      now: Date.now()
    })
    const serial = chequeKey(this.me, state.req.body.chequeSn)
    this.active.add(serial)
    try {
      return await this.purchase(serial, state, message1_1, provider, fileId, entry.price, out)
    } finally {
      this.active.delete(serial)
    }
  }

  private async purchase(
    serial: string,
    state: Purchase,
    message1_1: unknown,
    provider: Party,
    fileId: string,
    price: number,
    out: string
  ): Promise<PurchaseRecord> {
    const abs = resolvePath(out)
    const rec: PurchaseRecord = {
      serial,
      provider: provider.id,
      fileId,
      price,
      out: abs,
      status: 'downloading',
      at: Date.now()
    }
    await this.store.apply(() => this.t.purchases.set(serial, rec))
    const target = provider.addr != null ? multiaddr(provider.addr) : peerIdFromString(provider.id)
    const stream = await this.ctx.libp2p.dialProtocol(target, FAIREX_PROTOCOL.sale, {
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS)
    })
    const reader = new FrameReader(stream, MAX_SALE_FRAME)
    const part = `${abs}.part`
    const fh = await open(part, 'w')
    let key: string | undefined
    try {
      await sendFrame(stream, json({ m: '1.1', fileId, ...(message1_1 as object) }), STEP_TIMEOUT_MS)
      this.ctx.metrics.messageSent('fairex-sale')
      const m12 = parse(await reader.read(STEP_TIMEOUT_MS), 'message 1.2')
      if (m12?.m === 'refuse') throw new P2payError(m12.code, `provider refused: ${String(m12.message)}`)
      const { m: _m, ...message1_2 } = m12
      onAccept(state, message1_2)
      const offer = state.offer!
      const total = offer.manifest.body.size
      this.progress.set(serial, { serial, provider: provider.id, fileId, received: 0, total, startedAt: Date.now() })
      // a few disk writes in flight while the next pieces arrive; bounded, so memory is too
      const writing = new Set<Promise<unknown>>()
      // the file is synced before the purchase is done; flushing it in the background as it
      // grows overlaps that disk work with the download instead of paying it all at the end
      let flushing: Promise<void> | undefined
      let unflushed = 0
      for (let i = 0; i < offer.pieceHashes.length; i++) {
        const bytes = await reader.read(PIECE_TIMEOUT_MS)
        if (bytes == null) fail(ErrorCode.UNREACHABLE, 'provider closed the stream during the pieces')
        // a plain piece that fails its hash throws here, before anything is signed
        if (onPiece(state, i, bytes) === 'plain') {
          const w = fh.write(bytes, 0, bytes.byteLength, i * offer.manifest.body.pieceSize)
          writing.add(w)
          void w.finally(() => writing.delete(w)).catch(() => {})
          if (writing.size >= 4) await Promise.race(writing)
          unflushed += bytes.byteLength
          if (unflushed >= FLUSH_EVERY && flushing == null) {
            unflushed = 0
            // only what is already written: the pieces in flight are flushed by a later round
            flushing = Promise.all(writing)
              .then(async () => await fh.datasync())
              .catch(() => {})
              .finally(() => {
                flushing = undefined
              })
          }
        }
        this.progress.get(serial)!.received +=
          i === offer.keyIndex
            ? Math.min(offer.manifest.body.pieceSize, total - i * offer.manifest.body.pieceSize)
            : bytes.byteLength
      }
      await Promise.all(writing)
      await flushing
      const { m: _m22, ...m22 } = parse(await reader.read(STEP_TIMEOUT_MS), 'message 2.2')
      const m23 = onCheque(state, m22)
      // the evidence is on disk before the signature leaves: a crash can still dispute
      const keyCheck: KeyCheck = {
        fileId,
        keyIndex: offer.keyIndex,
        pieceCount: offer.pieceHashes.length,
        pieceSize: offer.manifest.body.pieceSize,
        sek: toB64(state.sek!),
        pieces: offer.pieceHashes.map(toHex).join(''),
        form: offer.form
      }
      await this.store.apply(() =>
        this.t.purchases.set(serial, {
          ...rec,
          status: 'paid',
          evidence: {
            dispute: disputeBundle(state),
            ...(offer.form === 'fixed' ? { complaint: complaint(state) } : {}),
            key: keyCheck
          }
        })
      )
      await sendFrame(stream, json({ m: '2.3', ...m23 }), STEP_TIMEOUT_MS)
      this.ctx.metrics.messageSent('fairex-sale')
      try {
        const m24 = parse(await reader.read(KEY_TIMEOUT_MS), 'message 2.4')
        key = typeof m24?.key === 'string' ? m24.key : undefined
      } catch (err) {
        this.ctx.log.warn('no key from the provider; going to the TTP', { serial, err: asError(err) })
      }
      await stream.close({ signal: AbortSignal.timeout(5000) }).catch(() => stream.abort(new Error('close failed')))
    } catch (err) {
      stream.abort(asError(err))
      await fh.close()
      this.progress.delete(serial)
      const paid = this.t.purchases.get(serial)?.status === 'paid'
      if (!paid) {
        await this.store.apply(() =>
          this.t.purchases.set(serial, { ...rec, status: 'failed', error: asError(err).message })
        )
        throw err
      }
      return await this.resolveKey(serial, undefined)
    }
    await fh.close()
    this.progress.delete(serial)
    return await this.resolveKey(serial, key)
  }

  /** The key piece K opens, or null: checked against the persisted piece hashes. */
  private openKeyPiece(k: KeyCheck, keyHex: unknown): Uint8Array | null {
    if (typeof keyHex !== 'string' || !/^[0-9a-f]{64}$/.test(keyHex)) return null
    const hashes = splitHashes(k.pieces)
    const key = new Uint8Array(Buffer.from(keyHex, 'hex'))
    const sek = fromB64(k.sek)
    const fileId = new Uint8Array(Buffer.from(k.fileId, 'hex'))
    return keyOpensPiece(fileId, k.keyIndex, k.pieceCount, key, sek, merkleProof(hashes, k.keyIndex))
      ? decryptKeyPiece(key, sek)
      : null
  }

  private readonly resolving = new Set<string>()
  private selling = 0

  /**
   * Key from P, else from the TTP (3.1), else, in the fixed form, the judge.
   * Works from the persisted evidence only, so a purchase a crash or an
   * unreachable TTP left unfinished is resumed by the retry loop.
   */
  private async resolveKey(serial: string, key: string | undefined): Promise<PurchaseRecord> {
    if (this.resolving.has(serial)) return this.t.purchases.get(serial)!
    this.resolving.add(serial)
    try {
      const rec = this.t.purchases.get(serial)!
      const ev = rec.evidence!
      const finish = async (keyPiece: Uint8Array, via: PurchaseRecord['via']): Promise<PurchaseRecord> => {
        const part = `${rec.out}.part`
        // after a crash between the rename and the record, the file is already in place
        if (existsSync(part)) {
          const fh = await open(part, 'r+')
          try {
            await fh.write(keyPiece, 0, keyPiece.byteLength, ev.key.keyIndex * ev.key.pieceSize)
            await fh.sync()
          } finally {
            await fh.close()
          }
          await rename(part, rec.out)
        }
        const done: PurchaseRecord = { ...this.t.purchases.get(serial)!, status: 'done', via }
        await this.store.apply(() => this.t.purchases.set(serial, done))
        this.ctx.log.info('file bought', { fileId: rec.fileId, out: rec.out, via })
        return done
      }
      const fromP = this.openKeyPiece(ev.key, key)
      if (fromP != null) return await finish(fromP, 'key')
      if (rec.status !== 'dispute')
        await this.store.apply(() => this.t.purchases.set(serial, { ...rec, status: 'dispute' }))
      let ttpKey: string | undefined
      try {
        ttpKey = (
          await this.client(this.cfg.ttp!, FAIREX_PROTOCOL.ttp).call<{ key: string }>(
            'resolve',
            { bundle: ev.dispute },
            { kind: 'fairex-dispute' }
          )
        ).key
      } catch (err) {
        // a TTP that cannot open Z (P sealed it badly) is the judge's matter; an unreachable one is retried
        if (
          !(err instanceof P2payError) ||
          err.code === ErrorCode.UNREACHABLE ||
          err.code === ErrorCode.TIMEOUT ||
          ev.complaint == null
        )
          throw err
      }
      const fromTtp = this.openKeyPiece(ev.key, ttpKey)
      if (fromTtp != null) return await finish(fromTtp, 'ttp')
      if (ev.complaint == null || this.cfg.judge == null) {
        // the original protocol's flaw: the TTP handed out what P sealed, and it is garbage
        const failed: PurchaseRecord = {
          ...this.t.purchases.get(serial)!,
          status: 'failed',
          via: 'ttp',
          error: 'the key from the TTP does not open the key piece'
        }
        await this.store.apply(() => this.t.purchases.set(serial, failed))
        return failed
      }
      return await this.complain(serial, finish)
    } finally {
      this.resolving.delete(serial)
    }
  }

  private async complain(
    serial: string,
    finish?: (k: Uint8Array, via: PurchaseRecord['via']) => Promise<PurchaseRecord>
  ): Promise<PurchaseRecord & { judgement?: Record<string, unknown> }> {
    const ev = this.t.purchases.get(serial)?.evidence
    if (ev?.complaint == null || this.cfg.judge == null)
      fail(ErrorCode.NOT_FOUND, 'no fixed-form purchase with that serial has evidence to complain with')
    const v = await this.client(this.cfg.judge, FAIREX_PROTOCOL.judge).call<{
      ruling: string
      reason: string
      verdict: string
      ban?: string
      key?: string
    }>('complain', { comp: ev.complaint }, { kind: 'fairex-judge' })
    if (v.ban != null) await this.addBans([v.ban])
    if (v.ruling === 'invalidComplain' && v.key != null && finish != null) {
      const piece = this.openKeyPiece(ev.key, v.key)
      if (piece != null) return await finish(piece, 'judge')
    }
    const rec: PurchaseRecord = {
      ...this.t.purchases.get(serial)!,
      status: v.ruling === 'providerBan' ? 'refunded' : 'failed',
      via: 'judge',
      ruling: v.ruling
    }
    await this.store.apply(() => this.t.purchases.set(serial, rec))
    return { ...rec, judgement: v }
  }

  /** Purchases left between 2.3 and a key (crash, unreachable TTP or judge) are taken up again. */
  async retryUnfinished(): Promise<void> {
    for (const p of [...this.t.purchases.values()]) {
      if (
        (p.status === 'paid' || p.status === 'dispute') &&
        p.evidence != null &&
        Date.now() - p.at > KEY_TIMEOUT_MS &&
        !this.active.has(p.serial)
      ) {
        await this.resolveKey(p.serial, undefined).catch(err =>
          this.ctx.log.warn('unfinished purchase still unresolved', { serial: p.serial, err: asError(err) })
        )
      }
    }
  }

  private timer?: NodeJS.Timeout
  /** purchases whose stream is still open: not for the retry loop */
  private readonly active = new Set<string>()

  start(intervalMs = 10_000): void {
    // a purchase cut off before 2.3 paid nothing and cannot continue: say so
    void this.store
      .apply(() => {
        for (const p of [...this.t.purchases.values()]) {
          if (p.status === 'downloading')
            this.t.purchases.set(p.serial, { ...p, status: 'failed', error: 'interrupted before payment' })
        }
      })
      .catch(() => {})
    const tick = (): void => {
      void this.refreshBans().catch(() => {})
      void this.retryUnfinished().catch(() => {})
      void this.autoDeposit().catch(err =>
        this.ctx.log.warn('automatic deposit failed; retried on the next tick', { err: asError(err) })
      )
    }
    tick()
    this.timer = setInterval(tick, intervalMs)
    this.timer.unref()
  }

  private depositing = false
  /** Batches cheques (the AC charges per batch) but deposits well before any certificate's grace runs out. */
  private async autoDeposit(): Promise<void> {
    const after = this.cfg.autoDepositMs ?? 0
    if (after <= 0 || this.depositing) return
    let oldest = Infinity
    for (const d of this.t.deposits.values()) oldest = Math.min(oldest, d.at)
    if (Date.now() - oldest < after) return
    this.depositing = true
    try {
      const r = await this.deposit()
      this.ctx.log.info('deposited automatically', {
        paid: r.paid,
        held: (r as DepositResult).held ?? 0,
        fee: r.fee,
        cheques: r.results.length
      })
    } finally {
      this.depositing = false
    }
  }

  /** Deposits the countersigned cheques it holds (and those the TTP kept for it) in one batch. */
  async deposit(): Promise<DepositResult | { paid: 0; fee: 0; results: [] }> {
    if (this.cfg.ttp != null) {
      try {
        const pend = await this.client(this.cfg.ttp, FAIREX_PROTOCOL.ttp).call<{
          items: Array<{ id: string; cheque: string; accept: string; certificate: string }>
        }>('pending', {}, { kind: 'fairex-dispute', timeoutMs: 5000 })
        if (pend.items.length > 0) {
          await this.store.apply(() => {
            for (const it of pend.items)
              this.t.deposits.set(`ttp-${it.id}`, {
                id: `ttp-${it.id}`,
                cheque: it.cheque,
                accept: it.accept,
                certificate: it.certificate,
                at: Date.now()
              })
          })
          await this.client(this.cfg.ttp, FAIREX_PROTOCOL.ttp).call(
            'delivered',
            { ids: pend.items.map(i => i.id) },
            { kind: 'fairex-dispute', timeoutMs: 5000 }
          )
        }
      } catch (err) {
        this.ctx.log.warn('could not pick up cheques from the TTP', { err: asError(err) })
      }
    }
    // one cheque per serial: the TTP and the sale itself may both hand us the same one
    const unique = new Map<string, DepositItem & { id: string }>()
    for (const d of this.t.deposits.values()) if (!unique.has(d.cheque)) unique.set(d.cheque, d)
    const items = [...unique.values()].slice(0, 256)
    if (items.length === 0) return { paid: 0, fee: 0, results: [] }
    const request = signDepositRequest(this.ctx.signer, {
      ac: this.cfg.ac.id,
      provider: this.me,
      nonce: randomId(16),
      cheques: items.map(i => sha256b64(i.cheque))
    })
    const result = await this.client(this.cfg.ac, FAIREX_PROTOCOL.ac).call<DepositResult>(
      'deposit',
      {
        request: toB64(request.bytes),
        items: items.map(({ cheque, accept, certificate }) => ({ cheque, accept, certificate }))
      },
      { kind: 'fairex-deposit' }
    )
    // a cheque paid or refused for good leaves the queue; one that failed for a passing reason stays
    const settled = new Set(
      result.results
        .filter(r => r.status === 'paid' || r.status === 'held' || FINAL_REFUSALS.includes((r as any).code))
        .map(r => r.cheque)
    )
    for (const r of result.results)
      if (r.status === 'refused' && settled.has(r.cheque))
        this.ctx.log.warn('cheque refused for good; dropped from the deposit queue', {
          cheque: r.cheque,
          code: r.code,
          message: r.message
        })
    await this.store.apply(() => {
      for (const d of [...this.t.deposits.values()]) if (settled.has(sha256b64(d.cheque))) this.t.deposits.delete(d.id)
    })
    return result
  }

  routes(): Routes {
    return {
      'POST /v1/fairex/share': async b =>
        await this.share(String(b.path ?? ''), b.price, {
          name: b.name,
          form: b.form,
          cheat: b.cheat === true,
          ...(b.pieceSize != null ? { pieceSize: b.pieceSize } : {})
        }),
      'GET /v1/fairex/files': () => ({
        files: [...this.t.shared.values()].map(({ pieces: _p, manifest: _m, ...f }) => f)
      }),
      'GET /v1/fairex/catalog': async (_b, q) => ({ files: await this.catalog(party(q.get('provider') ?? '')) }),
      'POST /v1/fairex/buy': async b =>
        await this.buy(
          {
            ...party(String(b.provider ?? '')),
            ...(Array.isArray(b.addrs) && b.addrs.length > 0
              ? { addr: `${String(b.addrs[0])}/p2p/${party(String(b.provider ?? '')).id}` }
              : {})
          },
          String(b.fileId ?? ''),
          String(b.out ?? ''),
          { form: b.form }
        ),
      'GET /v1/fairex/purchases': () => ({
        purchases: [...this.t.purchases.values()].map(({ evidence: _e, ...p }) => p),
        progress: [...this.progress.values()]
      }),
      'GET /v1/fairex/sales': () => ({ sales: [...this.t.sales.values()], pendingDeposits: this.t.deposits.size }),
      'POST /v1/fairex/deposit': async () => await this.deposit(),
      'GET /v1/fairex/bans': async () => {
        await this.refreshBans().catch(() => {})
        return { bans: [...this.t.bans.values()].filter(b => b.until > Date.now()) }
      },
      'POST /v1/fairex/complain': async b => {
        // the judge's answer (ruling, reason, verdict, ban, key), and what became of the purchase
        const { evidence: _e, judgement, ...rec } = await this.complain(chequeKey(this.me, String(b.chequeSn ?? '')))
        return { ...judgement, purchase: rec }
      }
    }
  }

  async stop(): Promise<void> {
    if (this.timer != null) clearInterval(this.timer)
    await Promise.all([...this.clients.values()].map(async c => await c.close()))
  }
}

/** A provider named by peer id, or by multiaddr ending in /p2p/<peer id>. */
export function party(s: string): Party {
  if (!s.startsWith('/')) return { id: s }
  const i = s.lastIndexOf('/p2p/')
  if (i < 0) fail(ErrorCode.BAD_REQUEST, 'a multiaddr must end in /p2p/<peer id>')
  return { id: s.slice(i + 5), addr: s }
}

/** Piece hashes are stored as one hex string (64 digits each): back to bytes. */
function splitHashes(hex: string): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < hex.length; i += 64) out.push(new Uint8Array(Buffer.from(hex.slice(i, i + 64), 'hex')))
  return out
}

/** A deposit request lists its cheques by the hash of their envelopes. */
const sha256b64 = (b64: string): string => sha256Hex(fromB64(b64))
