// Cashing held coins at the broker, and refunds of owned coins never assigned.
// Each coin is marked before the request leaves and settled by the broker's
// answer; a coin whose answer never came stays 'cashing' and is asked again.
import type { CashResult } from '../core/ledger-records.ts'
import type { CoinProof } from '../core/types.ts'
import { callBroker, type WalletContext } from './wallet-context.ts'
import { chunkBySize, proofBytes } from './frame-size.ts'

/** coins per cash request (its reply must fit one frame) */
const CASH_CHUNK = 256
/** cash requests in flight at once, so the broker's group commit always has work to fold together */
const CASH_PARALLEL = 4
const CASH_TIMEOUT_MS = 60_000

type ItemResult = CashResult | { status: 'error'; code: string; message: string }

export interface CashOutcome {
  paid: number
  value: number
  coins: Array<{ sn: string; value: number; from: string }>
  refused: Array<{ sn: string; code: string; message: string }>
}

/** Cash items in requests of at most CASH_CHUNK coins and BATCH_FRAME_BYTES: each request and its reply fit a frame. */
function requestChunks<T extends { proof: CoinProof; cash: string }>(items: T[]): T[][] {
  const chunks: T[][] = []
  for (let i = 0; i < items.length; i += CASH_CHUNK)
    chunks.push(...chunkBySize(items.slice(i, i + CASH_CHUNK), c => proofBytes(c.proof) + c.cash.length + 32))
  return chunks
}

/** Cashes every held coin at the broker, in batches. */
export async function cash(w: WalletContext): Promise<CashOutcome> {
  const keys = [...w.wallet.t.held.values()].filter(h => h.status === 'held' || h.status === 'cashing').map(h => h.key)
  // one holder signature per request's worth of coins: each cash request is a batch envelope
  const items = await w.store.apply(() => {
    const out: Array<{ key: string; proof: CoinProof; cash: string }> = []
    for (let i = 0; i < keys.length; i += CASH_CHUNK) {
      const chunk = keys.slice(i, i + CASH_CHUNK)
      w.wallet.beginCashMany(chunk).forEach((c, j) => out.push({ key: chunk[j], ...c }))
    }
    return out
  })
  const out: CashOutcome = { paid: 0, value: 0, coins: [], refused: [] }
  const cashChunk = async (chunk: typeof items): Promise<void> => {
    const args = { items: chunk.map(c => ({ proof: c.proof, cash: c.cash })) }
    const { results } = await callBroker<{ results: ItemResult[] }>(w, 'cash', args, 'cash', CASH_TIMEOUT_MS)
    await w.store.apply(() =>
      chunk.forEach((c, j) => {
        const r = results[j]
        if (r?.status === 'error') return // malformed in the broker's eyes: stays 'cashing' for a retry
        w.wallet.finishCash(c.key, r)
      })
    )
    results.forEach((r, j) => {
      if (r?.status === 'paid') {
        out.paid++
        out.value += r.value
        out.coins.push({ sn: r.sn, value: r.value, from: r.from })
      } else {
        out.refused.push({ sn: w.wallet.t.held.get(chunk[j].key)?.sn ?? '', code: r?.code, message: r?.message })
      }
    })
  }
  const chunks = requestChunks(items)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(CASH_PARALLEL, chunks.length) }, async () => {
      while (next < chunks.length) await cashChunk(chunks[next++])
    })
  )
  return out
}

/** The owner takes back the value of coins it never assigned, in requests cut to fit a frame. */
export async function refund(w: WalletContext, sns?: string[]): Promise<{ refunded: number; value: number }> {
  const list = sns ?? w.wallet.spendableOwned().map(c => c.sn)
  const items = await w.store.apply(() => list.map(sn => ({ sn, ...w.wallet.beginRefund(sn) })))
  const out = { refunded: 0, value: 0 }
  for (const chunk of requestChunks(items)) {
    const args = { items: chunk.map(c => ({ proof: c.proof, cash: c.cash })) }
    const { results } = await callBroker<{ results: ItemResult[] }>(w, 'cash', args, 'refund', CASH_TIMEOUT_MS)
    await w.store.apply(() =>
      chunk.forEach((c, i) => {
        const r = results[i]
        if (r?.status === 'paid' || r?.status === 'refused') w.wallet.refunded(c.sn, r.status)
      })
    )
    for (const r of results) {
      if (r?.status !== 'paid') continue
      out.refunded++
      out.value += r.value
    }
  }
  return out
}
