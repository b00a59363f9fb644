// What a node sells: sharing a file (hashed piece by piece with bounded
// memory, under a signed manifest), the catalog it answers other peers with,
// and asking a provider for its catalog.
import { stat } from 'node:fs/promises'
import { resolve as resolvePath } from 'node:path'
import { ErrorCode, fail, serveRpc, toHex, type Party } from '@p2pay/core'
import { openManifest, signManifest } from '../core/manifest.ts'
import { MAX_PIECES, checkPieceCount, checkPieceSize, pieceSizeFor } from '../core/pieces.ts'
import type { SaleForm } from '../core/sale-messages.ts'
import { hashFile } from './file-pieces.ts'
import type { NodeContext } from './node-context.ts'
import type { SharedFile } from './node-records.ts'
import { FAIREX_PROTOCOL } from './protocols.ts'
import { MAX_SALE_FRAME } from './sale-stream.ts'

export interface ShareOptions {
  name?: string
  form?: SaleForm
  pieceSize?: number
}

export interface Shared {
  fileId: string
  size: number
  pieces: number
  /** hash of the signed manifest: a buyer names it to get this very file */
  manifest: string
}

/** A file in a provider's catalog. */
export interface CatalogEntry {
  fileId: string
  name: string
  size: number
  price: number
  form: SaleForm
  manifest: string
}

/** entries per catalog answer (~230 bytes each, ~460 with long names) */
const CATALOG_PAGE = 1000
/** pages one listing reads at most (100,000 files), within a minute */
const MAX_CATALOG_PAGES = 100
const CATALOG_LISTING_MS = 60_000

/** Hashes a file piece by piece (bounded memory) and offers it at `price`. */
export async function share(n: NodeContext, path: string, price: number, opts: ShareOptions = {}): Promise<Shared> {
  if (typeof path !== 'string' || path === '') fail(ErrorCode.BAD_REQUEST, 'path is required')
  const abs = resolvePath(path)
  const st = await stat(abs).catch(() => fail(ErrorCode.NOT_FOUND, `no such file: ${abs}`))
  if (!st.isFile()) fail(ErrorCode.BAD_REQUEST, `${abs} is not a file`)
  const form = opts.form ?? n.init.form
  if (form !== 'original' && form !== 'fixed') fail(ErrorCode.BAD_REQUEST, 'form must be original or fixed')
  if (n.init.ttp == null)
    fail(ErrorCode.BAD_REQUEST, 'selling files needs a TTP (--ttp): without one a buyer could name its own and open Z')
  const pieceSize = opts.pieceSize ?? pieceSizeFor(st.size)
  // refused before an hour of hashing, not after
  checkPieceCount(st.size, checkPieceSize(pieceSize))
  const h = await hashFile(abs, pieceSize, n.life.signal)
  const name = opts.name ?? abs.split('/').pop()!
  const manifest = signManifest(n.c.signer, {
    fileId: toHex(h.fileId),
    name,
    size: h.size,
    pieceSize: h.pieceSize,
    price,
    createdAt: Date.now()
  })
  const opened = openManifest(n.c.verifier, manifest)
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
    pieces: h.pieceHashes.map(toHex).join('')
  }
  n.life.check()
  await n.store.apply(() => n.t.shared.set(rec.fileId, rec))
  n.log
    .child('catalog')
    .info('sharing', { fileId: rec.fileId, name, size: h.size, pieces: rec.pieceCount, price, form })
  return { fileId: rec.fileId, size: h.size, pieces: rec.pieceCount, manifest: opened.hash }
}

/**
 * Whether a buyer can take the file: files shared by earlier releases may have
 * more pieces than a judge takes in one complaint, and every buyer refuses their
 * manifest. They stay in the table (their owner sees them, and why) but are not
 * offered; shared again, a file gets pieces a buyer accepts.
 */
export const sellable = (f: Pick<SharedFile, 'pieceCount'>): boolean => f.pieceCount <= MAX_PIECES

/** Why a shared file is not offered, for its owner. */
export const unsellableReason = (f: Pick<SharedFile, 'pieceCount' | 'path'>): string =>
  `shared in ${f.pieceCount} pieces, more than the ${MAX_PIECES} a buyer accepts; share ${f.path} again to sell it`

/** This node's catalog, as other peers see it; with `fileId`, only that file's entry (if offered). */
export function catalogEntries(n: NodeContext, fileId?: string): CatalogEntry[] {
  const files = fileId === undefined ? [...n.t.shared.values()] : [n.t.shared.get(fileId)].filter(f => f != null)
  return files.filter(sellable).map(f => ({
    fileId: f.fileId,
    name: f.name,
    size: f.size,
    price: f.price,
    form: f.form,
    manifest: f.manifestHash
  }))
}

/** The catalog's entries after file id `after`, in file id order, a page at a time. */
export function catalogPage(n: NodeContext, after = ''): { files: CatalogEntry[]; more?: true } {
  const rest = catalogEntries(n)
    .filter(e => e.fileId > after)
    .sort((a, b) => (a.fileId < b.fileId ? -1 : 1))
  return rest.length > CATALOG_PAGE ? { files: rest.slice(0, CATALOG_PAGE), more: true } : { files: rest }
}

/** Answers other peers' `files` requests. */
export async function serveCatalog(n: NodeContext): Promise<void> {
  await serveRpc(
    n.c.network,
    FAIREX_PROTOCOL.catalog,
    // a buyer names the file it is about to buy: the answer is one entry, whatever the catalog's size
    {
      files: (args: any) =>
        typeof args?.fileId === 'string'
          ? { files: catalogEntries(n, args.fileId) }
          : catalogPage(n, typeof args?.after === 'string' ? args.after : undefined)
    },
    { metrics: n.c.metrics, life: n.life, maxReply: MAX_SALE_FRAME }
  )
}

/**
 * A provider's catalog, page by page; with `fileId`, its entry for that file only. A provider's pages are held to
 * the protocol (at most CATALOG_PAGE entries, file ids after the last one) and the listing to a time limit, so a
 * hostile provider cannot make the node hold or wait for more than a listing's worth.
 */
export async function catalogOf(n: NodeContext, provider: Party, fileId?: string): Promise<CatalogEntry[]> {
  const opts = { kind: 'fairex-catalog' as const, timeoutMs: 10_000 }
  if (fileId !== undefined)
    return (await n.catalog.call<{ files: CatalogEntry[] }>(provider, 'files', { fileId }, opts)).files
  const files: CatalogEntry[] = []
  const end = Date.now() + CATALOG_LISTING_MS
  for (let page = 0; page < MAX_CATALOG_PAGES && Date.now() < end; page++) {
    const after = files.at(-1)?.fileId
    const left = { ...opts, timeoutMs: Math.min(opts.timeoutMs, end - Date.now()) }
    const r = await n.catalog.call<{ files: CatalogEntry[]; more?: boolean }>(provider, 'files', { after }, left)
    if (!Array.isArray(r?.files)) fail(ErrorCode.BAD_REQUEST, 'the provider answered no catalog')
    // a provider of an earlier release sends everything at once, without `more` (bounded by its frame)
    if (r.more !== true) return [...files, ...r.files]
    let last = after ?? ''
    for (const f of r.files) {
      if (typeof f?.fileId !== 'string' || f.fileId <= last)
        fail(ErrorCode.BAD_REQUEST, 'the provider answered a catalog page out of file id order')
      last = f.fileId
    }
    if (r.files.length === 0 || r.files.length > CATALOG_PAGE)
      fail(ErrorCode.BAD_REQUEST, `the provider answered a catalog page of ${r.files.length} entries`)
    files.push(...r.files)
  }
  return files
}
