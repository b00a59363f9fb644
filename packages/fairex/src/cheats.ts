// Deliberate misbehaviour, for testnets and the test suite only: a node exposes
// these only when started with --allow-cheats. The cheater is the paper's
// dishonest provider: it seals a garbage K' into Z and sends K' as 2.4, so the
// downloader pays for a file it cannot open. It produces exactly the signed
// objects a real cheater would, so the TTP's blindness (original form) and the
// judge's ban (fixed form) are tested for real.
import { ErrorCode, fail, textOf, type Routes } from '@p2pay/core'
import { KEY_LEN, newPieceKey } from './core/keypiece.ts'
import type { Message2_2 } from './core/sale-messages.ts'
import { chequeSealing, type ProviderSale } from './core/sale-provider.ts'
import { share } from './net/catalog.ts'
import type { FairexNodeService } from './net/node-service.ts'

/**
 * Message 2.2 of a cheating provider: the cheque over a Z that seals K'
 * (`garbageKey`, a fresh random key if not given) instead of K; 2.4 then
 * carries K' too. Pure, like chequeMessage.
 */
export function cheatingCheque(sale: ProviderSale, o: { now: number; garbageKey?: Uint8Array }): Message2_2 {
  const garbage = o.garbageKey ?? newPieceKey()
  if (!(garbage instanceof Uint8Array) || garbage.byteLength !== KEY_LEN)
    fail(ErrorCode.BAD_REQUEST, 'garbageKey must be 32 bytes')
  return chequeSealing(sale, garbage, { now: o.now })
}

/** A sale the cheater sealed K' in. */
export interface CheatedSale {
  serial: string
  downloader: string
  fileId: string
  at: number
}

/**
 * The cheating provider around a node's file market: files shared through
 * `POST /share` here are sold with K' sealed in Z; `GET /sales` lists the sales
 * it cheated in. Kept in memory: a restarted node sells honestly again.
 */
export function cheatRoutes(svc: FairexNodeService): Routes {
  const n = svc.n
  const baitFiles = new Set<string>()
  const cheated: CheatedSale[] = []
  const honest = n.keyToSeal
  n.keyToSeal = sale => {
    const fileId = sale.manifest.body.fileId
    if (!baitFiles.has(fileId)) return honest(sale)
    cheated.push({ serial: sale.serial, downloader: sale.req.body.downloader, fileId, at: Date.now() })
    return newPieceKey()
  }
  return {
    /** Shares a file (as `POST /v1/fairex/share` does) that this node will sell with K' in Z. */
    'POST /share': async b => {
      const opts = { name: b.name, form: b.form, ...(b.pieceSize != null ? { pieceSize: b.pieceSize } : {}) }
      const r = await n.life.run('fairex share', async () => await share(n, textOf(b.path), b.price, opts))
      baitFiles.add(r.fileId)
      return r
    },
    'GET /sales': () => ({ sales: cheated })
  }
}
