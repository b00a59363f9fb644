// The downloader's side of the sale protocol: a capital certificate (see
// certificates.ts), then one stream to the provider: 1.1 out, 1.2 and the pieces in (each
// checked against the file id and written to disk as it comes, so memory stays
// at a few pieces), 2.2 in, 2.3 out, 2.4 in. The evidence a dispute needs is on
// disk before D's signature (2.3) leaves; a missing or wrong key goes to key
// recovery. A purchase a stop cuts after 2.3 is resumed by the retry loop; one
// cut before is marked failed at the next start.
import { open, rm, type FileHandle } from 'node:fs/promises'
import { isAbsolute, resolve as resolvePath } from 'node:path'
import type { Stream } from '@libp2p/interface'
import {
  ErrorCode,
  FrameReader,
  P2payError,
  abortReason,
  asError,
  dialTarget,
  fail,
  sendFrame,
  toB64,
  toHex,
  type Party
} from '@p2pay/core'
import { chequeKey } from '../core/messages.ts'
import { complaint, disputeBundle, onAccept, onCheque, onPiece, startPurchase } from '../core/sale-downloader.ts'
import type { Purchase } from '../core/sale-downloader.ts'
import type { Message1_1, SaleForm } from '../core/sale-messages.ts'
import { catalogOf } from './catalog.ts'
import { writeAll } from './file-pieces.ts'
import { resolveKey } from './key-recovery.ts'
import type { NodeContext } from './node-context.ts'
import type { KeyCheck, PurchaseRecord } from './node-records.ts'
import { FAIREX_PROTOCOL } from './protocols.ts'
import {
  KEY_TIMEOUT_MS,
  MAX_SALE_FRAME,
  PIECE_TIMEOUT_MS,
  STEP_TIMEOUT_MS,
  abortOnStop,
  json,
  parse
} from './sale-stream.ts'

/** a downloaded file is flushed to disk in the background every this many bytes */
const FLUSH_EVERY = 32 * 1024 * 1024
/** piece writes in flight at once while the next pieces arrive */
const MAX_WRITES = 4

/** A disk-full failure of the download's file as NO_SPACE (not a 500), or undefined. */
function noSpace(err: unknown, part: string): P2payError | undefined {
  const code = (err as { code?: unknown } | null)?.code
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return undefined
  return new P2payError(
    ErrorCode.NO_SPACE,
    `no space left for ${part}: the partial download was removed and nothing was paid; free space and buy again`,
    { path: part }
  )
}

/**
 * Buys a file: negotiation, pieces checked against the file id as they
 * arrive, the cheque checked before it is signed, then the key. A missing or
 * wrong key goes to the TTP, and in the fixed form a key that still does not
 * open the piece goes to the judge.
 */
export async function buy(
  n: NodeContext,
  provider: Party,
  fileId: string,
  out: string,
  opts: { form?: SaleForm } = {}
): Promise<PurchaseRecord> {
  const ttp = n.init.ttp
  if (ttp == null) fail(ErrorCode.BAD_REQUEST, 'no TTP configured (--ttp)')
  // absolute: a relative path would name a file in whatever directory the daemon was started from
  if (typeof out !== 'string' || !isAbsolute(out)) fail(ErrorCode.BAD_REQUEST, 'out must be an absolute path')
  // the judge's new bans and the provider's catalog, asked at once: neither waits for the other
  const [, catalog] = await Promise.all([n.bans.refresh().catch(() => {}), catalogOf(n, provider, fileId)])
  if (n.bans.isBanned(provider.id)) fail(ErrorCode.FRAUD, 'this provider is banned by the judge')
  const entry = catalog.find(f => f.fileId === fileId)
  if (entry == null) fail(ErrorCode.NOT_FOUND, `provider does not offer ${fileId}`)
  const cert = await n.certs.take(n, entry.price)
  const { state, message1_1 } = startPurchase({
    signer: n.c.signer,
    verifier: n.c.verifier,
    provider: provider.id,
    manifestHash: entry.manifest,
    fileId,
    price: entry.price,
    ttp: ttp.id,
    judge: n.init.judge?.id ?? ttp.id,
    certificate: cert,
    form: opts.form ?? 'fixed',
    now: Date.now()
  })
  const serial = chequeKey(n.me, state.req.body.chequeSn)
  n.active.add(serial)
  try {
    const rec: PurchaseRecord = {
      serial,
      provider: provider.id,
      fileId,
      price: entry.price,
      out: resolvePath(out),
      status: 'downloading',
      at: Date.now()
    }
    // the record is what removes the .part after a crash: it is on disk before the .part is made, and its write
    // overlaps the stream's opening and the provider's answer to 1.1
    const recorded = n.store.apply(() => n.t.purchases.set(serial, rec))
    recorded.catch(() => {})
    return await purchase(n, rec, state, message1_1, provider, recorded)
  } finally {
    n.active.delete(serial)
  }
}

async function purchase(
  n: NodeContext,
  rec: PurchaseRecord,
  state: Purchase,
  message1_1: Message1_1,
  provider: Party,
  recorded: Promise<void>
): Promise<PurchaseRecord> {
  const serial = rec.serial
  let stream: Stream
  try {
    stream = await n.c.network.dialProtocol(dialTarget(provider), FAIREX_PROTOCOL.sale, {
      signal: AbortSignal.any([n.life.signal, AbortSignal.timeout(STEP_TIMEOUT_MS)])
    })
  } catch (err) {
    // nothing was sent, nothing is owed: the purchase failed before it began
    const e = n.life.stopped
      ? abortReason(n.life.signal)
      : new P2payError(ErrorCode.UNREACHABLE, `cannot reach the provider: ${asError(err).message}`)
    await recorded
    await n.store.apply(() => n.t.purchases.set(serial, { ...rec, status: 'failed', error: e.message }))
    throw e
  }
  const untie = abortOnStop(n.life, stream)
  const part = `${rec.out}.part`
  let fh: FileHandle | undefined
  let key: string | undefined
  const file = async (): Promise<FileHandle> => {
    await recorded
    fh = await open(part, 'w')
    return fh
  }
  try {
    key = await exchange(n, stream, file, rec, state, message1_1)
    await stream.close({ signal: AbortSignal.timeout(5000) }).catch(() => stream.abort(new Error('close failed')))
  } catch (thrown) {
    const err = noSpace(thrown, part) ?? thrown
    stream.abort(asError(err))
    await recorded
    await fh?.close().catch(() => {})
    n.progress.delete(serial)
    const paid = n.t.purchases.get(serial)?.status === 'paid'
    // not paid, nothing owed: a partial download is removed at once (not resumed; a new purchase starts
    // afresh), so a full disk is freed before the failure is written down
    if (!paid) await rm(part, { force: true })
    // cut by a stop: before 2.3 the next start marks it failed, after 2.3 the retry loop resumes it
    if (n.life.stopped) throw abortReason(n.life.signal)
    if (!paid) {
      await n.store.apply(() => n.t.purchases.set(serial, { ...rec, status: 'failed', error: asError(err).message }))
      throw err
    }
    return await resolveKey(n, serial, undefined)
  } finally {
    untie()
  }
  await fh?.close()
  n.progress.delete(serial)
  return await resolveKey(n, serial, key)
}

/** The messages of one purchase on its stream; returns the key P sent in 2.4, if any. */
async function exchange(
  n: NodeContext,
  stream: Stream,
  file: () => Promise<FileHandle>,
  rec: PurchaseRecord,
  state: Purchase,
  message1_1: Message1_1
): Promise<string | undefined> {
  const { serial, fileId } = rec
  const reader = new FrameReader(stream, MAX_SALE_FRAME)
  await sendFrame(stream, json({ m: '1.1', fileId, ...message1_1 }), STEP_TIMEOUT_MS)
  n.c.metrics.messageSent('fairex-sale')
  const m12 = parse(await reader.read(STEP_TIMEOUT_MS), 'message 1.2')
  if (m12?.m === 'refuse') {
    n.certs.refused(message1_1.certificate, String(m12.code))
    throw new P2payError(m12.code, `provider refused: ${String(m12.message)}`)
  }
  const { m: _m, ...message1_2 } = m12
  onAccept(state, message1_2)
  const fh = await file()
  const offer = state.offer!
  const { size: total, pieceSize } = offer.manifest.body
  const progress = { serial, provider: rec.provider, fileId, received: 0, total, startedAt: Date.now() }
  n.progress.set(serial, progress)
  // a few disk writes in flight while the next pieces arrive; bounded, so memory is too
  const writing = new Set<Promise<unknown>>()
  // the file is synced before the purchase is done; flushing it in the background as it
  // grows overlaps that disk work with the download instead of paying it all at the end
  let flushing: Promise<void> | undefined
  let unflushed = 0
  for (let i = 0; i < offer.pieceHashes.length; i++) {
    // the piece as the chunks it came in: hashed and written without a copy into one buffer
    const frame = await reader.readList(PIECE_TIMEOUT_MS)
    if (frame == null) fail(ErrorCode.UNREACHABLE, 'provider closed the stream during the pieces')
    const chunks = [...frame]
    // a plain piece that fails its hash throws here, before anything is signed
    const kind = onPiece(state, i, chunks)
    // the key piece's place is written too (zeros until the key opens it), so the disk space the
    // whole file needs is taken before anything is paid
    const data = kind === 'plain' ? chunks : [new Uint8Array(Math.min(pieceSize, total - i * pieceSize))]
    const w = writeAll(fh, data, i * pieceSize)
    writing.add(w)
    void w.finally(() => writing.delete(w)).catch(() => {})
    if (writing.size >= MAX_WRITES) await Promise.race(writing)
    unflushed += frame.byteLength
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
    progress.received += i === offer.keyIndex ? Math.min(pieceSize, total - i * pieceSize) : frame.byteLength
  }
  await Promise.all(writing)
  await flushing
  // on disk before the evidence is (a 'paid' record always has its file behind it) and so before D signs: a disk
  // that fails now fails the purchase, not the file D paid for. The sync runs while 2.2 is on its way.
  const synced = fh.datasync()
  synced.catch(() => {})
  const { m: _m22, ...m22 } = parse(await reader.read(STEP_TIMEOUT_MS), 'message 2.2')
  const m23 = onCheque(state, m22)
  // the evidence is on disk before the signature leaves: a crash can still dispute
  const keyCheck: KeyCheck = {
    fileId,
    keyIndex: offer.keyIndex,
    pieceCount: offer.pieceHashes.length,
    pieceSize,
    sek: toB64(state.sek!),
    pieces: offer.pieceHashes.map(toHex).join(''),
    form: offer.form
  }
  const evidence = {
    dispute: disputeBundle(state),
    ...(offer.form === 'fixed' ? { complaint: complaint(state) } : {}),
    key: keyCheck
  }
  await synced
  await n.store.apply(() => n.t.purchases.set(serial, { ...rec, status: 'paid', evidence }))
  await sendFrame(stream, json({ m: '2.3', ...m23 }), STEP_TIMEOUT_MS)
  n.c.metrics.messageSent('fairex-sale')
  try {
    const m24 = parse(await reader.read(KEY_TIMEOUT_MS), 'message 2.4')
    return typeof m24?.key === 'string' ? m24.key : undefined
  } catch (err) {
    if (n.life.stopped) throw err
    n.log.child('purchase').warn('no key from the provider; going to the TTP', { serial, err: asError(err) })
    return undefined
  }
}
