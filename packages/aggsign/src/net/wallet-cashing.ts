// Cashing held coins at the broker, one request per coin, pipelined on one
// stream. A coin is marked cashed only on the broker's answer; one whose
// answer never came stays held and is asked again (the broker answers each
// chain once and a repeat gets the same answer).
import { ErrorCode, P2payError, fail, textOf } from '@p2pay/core'
import { AggsignErrorCode } from '../errors.ts'
import type { CashAnswer } from './ledger-service.ts'
import type { WalletContext } from './wallet-context.ts'

const CASH_TIMEOUT_MS = 30_000

export interface CashOutcome {
  cashed: number
  total: number
  coins: Array<{ coin: string; value: number; from: string; fraud?: string }>
  refused: Array<{ coin: string; code: string; message: string; fraud?: string; cheater?: string }>
  ms: number
}

export async function cash(w: WalletContext, coin?: unknown, concurrencyIn?: unknown): Promise<CashOutcome> {
  const t0 = performance.now()
  let ids = w.wallet.holdings().map(h => h.id)
  if (coin != null) {
    const id = textOf(coin)
    if (!ids.includes(id)) fail(AggsignErrorCode.NO_SUCH_COIN, 'no held coin of that id')
    ids = [id]
  }
  const concurrency = Math.max(1, Math.min(Number.isSafeInteger(concurrencyIn) ? (concurrencyIn as number) : 32, 256))
  const out: CashOutcome = { cashed: 0, total: 0, coins: [], refused: [], ms: 0 }
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, ids.length) }, async () => {
      while (next < ids.length) await cashOne(w, ids[next++], out)
    })
  )
  out.ms = Math.round(performance.now() - t0)
  return out
}

async function cashOne(w: WalletContext, id: string, out: CashOutcome): Promise<void> {
  const h = w.wallet.t.held.get(id)
  if (h?.status !== 'held') return
  let r: CashAnswer
  try {
    r = await w.broker.call<CashAnswer>(
      w.c.broker,
      'cash',
      { coin: h.coin },
      {
        kind: 'aggsign-cash',
        timeoutMs: CASH_TIMEOUT_MS
      }
    )
  } catch (err) {
    const e = err instanceof P2payError ? err : new P2payError(ErrorCode.INTERNAL, String(err))
    out.refused.push({ coin: id, code: e.code, message: e.message })
    return
  }
  if (r.status === 'error') {
    out.refused.push({ coin: id, code: r.code, message: r.message })
    return
  }
  await w.store.apply(() => w.wallet.cashed(id))
  if (r.status === 'convicted') {
    out.refused.push({
      coin: id,
      code: ErrorCode.FRAUD,
      message: 'this node cheated on this coin',
      fraud: r.fraud,
      cheater: r.culprit
    })
    return
  }
  out.cashed++
  out.total += r.value
  out.coins.push({ coin: id, value: r.value, from: r.from, ...(r.fraud != null ? { fraud: r.fraud } : {}) })
}
