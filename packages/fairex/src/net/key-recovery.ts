// Getting the key of a purchase D has paid for (signed 2.3): from P's 2.4,
// else from the TTP (3.1), else, in the fixed form, from the judge's verdict
// on D's complaint. Works from the evidence persisted before 2.3 only, so a
// purchase a crash, a stop or an unreachable TTP left unfinished is resumed by
// the retry loop.
import { existsSync } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import { ErrorCode, P2payError, asError, fail, fromB64, isTransient } from '@p2pay/core'
import { keyPieceFor } from '../core/keypiece.ts'
import type { NodeContext } from './node-context.ts'
import { splitHashes, type KeyCheck, type PurchaseRecord } from './node-records.ts'
import { KEY_TIMEOUT_MS } from './sale-stream.ts'

type Finish = (keyPiece: Uint8Array, via: PurchaseRecord['via']) => Promise<PurchaseRecord>

/** What the judge answers a complaint with. */
export interface Judgement {
  ruling: string
  reason: string
  verdict: string
  ban?: string
  key?: string
}

/** The key piece K opens, or null: checked against the evidence persisted before 2.3. */
function openKeyPiece(k: KeyCheck, keyHex: unknown): Uint8Array | null {
  const fileId = new Uint8Array(Buffer.from(k.fileId, 'hex'))
  const check = {
    fileId,
    keyIndex: k.keyIndex,
    pieceCount: k.pieceCount,
    sek: fromB64(k.sek),
    pieceHashes: splitHashes(k.pieces)
  }
  return keyPieceFor(check, keyHex)
}

/** Writes the key piece into the downloaded file, moves it into place, and records the purchase done. */
function finisher(n: NodeContext, serial: string): Finish {
  return async (keyPiece, via) => {
    const rec = n.t.purchases.get(serial)!
    const k = rec.evidence!.key
    const part = `${rec.out}.part`
    // after a crash between the rename and the record, the file is already in place
    if (existsSync(part)) {
      const fh = await open(part, 'r+')
      try {
        await fh.write(keyPiece, 0, keyPiece.byteLength, k.keyIndex * k.pieceSize)
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(part, rec.out)
    }
    const done: PurchaseRecord = { ...n.t.purchases.get(serial)!, status: 'done', via }
    await n.store.apply(() => n.t.purchases.set(serial, done))
    n.log.child('keys').info('file bought', { fileId: rec.fileId, out: rec.out, via })
    return done
  }
}

/** Key from P, else from the TTP (3.1), else, in the fixed form, the judge. */
export async function resolveKey(n: NodeContext, serial: string, key: string | undefined): Promise<PurchaseRecord> {
  if (n.resolving.has(serial)) return n.t.purchases.get(serial)!
  n.resolving.add(serial)
  try {
    const rec = n.t.purchases.get(serial)!
    const ev = rec.evidence!
    const finish = finisher(n, serial)
    const fromP = openKeyPiece(ev.key, key)
    if (fromP != null) return await finish(fromP, 'key')
    if (rec.status !== 'dispute') await n.store.apply(() => n.t.purchases.set(serial, { ...rec, status: 'dispute' }))
    let ttpKey: string | undefined
    try {
      const r = await n.ttp.call<{ key: string }>(
        n.init.ttp!,
        'resolve',
        { bundle: ev.dispute },
        { kind: 'fairex-dispute' }
      )
      ttpKey = r.key
    } catch (err) {
      // a TTP that cannot open Z (P sealed it badly) is the judge's matter; an unreachable one is retried
      if (!(err instanceof P2payError) || isTransient(err) || ev.complaint == null) throw err
    }
    const fromTtp = openKeyPiece(ev.key, ttpKey)
    if (fromTtp != null) return await finish(fromTtp, 'ttp')
    if (ev.complaint == null || n.init.judge == null) {
      // the original protocol's flaw: the TTP handed out what P sealed, and it is garbage
      const failed: PurchaseRecord = {
        ...n.t.purchases.get(serial)!,
        status: 'failed',
        via: 'ttp',
        error: 'the key from the TTP does not open the key piece'
      }
      await n.store.apply(() => n.t.purchases.set(serial, failed))
      return failed
    }
    return await complain(n, serial, finish)
  } finally {
    n.resolving.delete(serial)
  }
}

/**
 * The stored complaint, with D's certificate: evidence stored before complaints
 * carried it has it in the dispute bundle, which the judge now needs to keep
 * the cheque for P.
 */
function withCertificate(ev: { dispute: unknown; complaint?: unknown }): unknown {
  const comp = ev.complaint as Record<string, unknown>
  if (typeof comp.certificate === 'string') return comp
  const certificate = (ev.dispute as { certificate?: unknown } | null)?.certificate
  return typeof certificate === 'string' ? { ...comp, certificate } : comp
}

/**
 * Takes a fixed-form purchase's evidence to the judge. A providerBan refunds D
 * (the judge voids the cheque at the AC); an invalidComplain that carries the
 * key finishes the purchase when `finish` is given.
 */
export async function complain(
  n: NodeContext,
  serial: string,
  finish?: Finish
): Promise<PurchaseRecord & { judgement?: Judgement }> {
  const ev = n.t.purchases.get(serial)?.evidence
  const judge = n.init.judge
  if (ev?.complaint == null || judge == null)
    fail(ErrorCode.NOT_FOUND, 'no fixed-form purchase with that serial has evidence to complain with')
  const v = await n.judge.call<Judgement>(judge, 'complain', { comp: withCertificate(ev) }, { kind: 'fairex-judge' })
  if (v.ban != null) await n.bans.add([v.ban])
  if (v.ruling === 'invalidComplain' && v.key != null && finish != null) {
    const piece = openKeyPiece(ev.key, v.key)
    if (piece != null) return await finish(piece, 'judge')
  }
  const rec: PurchaseRecord = {
    ...n.t.purchases.get(serial)!,
    status: v.ruling === 'providerBan' ? 'refunded' : 'failed',
    via: 'judge',
    ruling: v.ruling
  }
  await n.store.apply(() => n.t.purchases.set(serial, rec))
  return { ...rec, judgement: v }
}

/** Purchases left between 2.3 and a key (crash, stop, unreachable TTP or judge) are taken up again. */
export async function retryUnfinished(n: NodeContext): Promise<void> {
  for (const p of [...n.t.purchases.values()]) {
    if (n.life.stopped) return
    if (
      (p.status === 'paid' || p.status === 'dispute') &&
      p.evidence != null &&
      Date.now() - p.at > KEY_TIMEOUT_MS &&
      !n.active.has(p.serial)
    ) {
      await resolveKey(n, p.serial, undefined).catch(err => {
        if (!n.life.stopped)
          n.log.child('keys').warn('unfinished purchase still unresolved', { serial: p.serial, err: asError(err) })
      })
    }
  }
}

/** A purchase cut off before 2.3 paid nothing and cannot continue: say so (at start). */
export async function failInterrupted(n: NodeContext): Promise<void> {
  const cut = [...n.t.purchases.values()].filter(p => p.status === 'downloading')
  // nothing was paid for them: their partial files go (a new purchase starts afresh), freeing the disk first
  for (const p of cut) await rm(`${p.out}.part`, { force: true })
  await n.store.apply(() => {
    for (const p of cut) n.t.purchases.set(p.serial, { ...p, status: 'failed', error: 'interrupted before payment' })
  })
}
