// Deposit: a coin this node holds (or owns and never spent) goes to the broker
// into this node's purse, from a fresh identity: the request names the purse
// key, never the node. The request is written before it leaves and sent again
// as it is until the broker answers (a repeat gets the same answer).
import { ErrorCode, fail, textOf } from '@p2pay/core'
import { TAG } from '../core/messages.ts'
import type { DepositResult } from '../core/ledger-records.ts'
import { WhopayErrorCode } from '../errors.ts'
import type { WhopayKind } from '../kinds.ts'
import { LEDGER_PROTOCOL } from './protocols.ts'
import type { Pending } from './tables.ts'
import { asHolder, errorOf, retryable, signHeld, signHolder, type WalletContext } from './wallet-context.ts'
import { active, unspentOwned } from './wallet-payments.ts'
import { purseKey } from './wallet-purse.ts'

const KIND: WhopayKind = 'whopay-deposit'

/** A coin this node may spend as its holder: a held one, or an owned one never spent (seq 0, the coin key). */
export interface Spendable {
  /** the key that signs: the holding key, or the coin key */
  key: string
  seed: string
  coin: string
  cert: string
  gen: number
  seq: number
  binding?: string
  value: number
  owned: boolean
}

export function spendables(w: WalletContext): Spendable[] {
  const held = w.wallet
    .spendable()
    .filter(h => !active(w, h.key) && !w.busy.has(h.key))
    .map(h => ({ ...h, owned: false }))
  const owned = unspentOwned(w).map(o => ({
    key: o.coin,
    seed: o.seed,
    coin: o.coin,
    cert: o.cert,
    gen: 0,
    seq: 0,
    value: o.value,
    owned: true
  }))
  return [...held, ...owned]
}

export interface DepositOutcome {
  deposited: number
  total: number
  coins: Array<{ coin: string; value: number; from: string; fraud?: string }>
  refused: Array<{ coin: string; code: string; message: string }>
}

/** deposits in flight at once when a node deposits all it holds */
const DEPOSIT_CONCURRENCY = 8

/** Deposits `coin` (a coin id), or every coin this node may spend, a few at a time (each its own identity). */
export async function deposit(w: WalletContext, coinIn?: unknown): Promise<DepositOutcome> {
  let list = spendables(w)
  if (coinIn != null) {
    const id = textOf(coinIn)
    list = list.filter(s => s.coin === id)
    if (list.length === 0) fail(WhopayErrorCode.NO_SUCH_COIN, 'no coin of that id to deposit')
  }
  const out: DepositOutcome = { deposited: 0, total: 0, coins: [], refused: [] }
  let next = 0
  const one = async (s: Spendable): Promise<void> => {
    try {
      const p = await record(w, s)
      const r = await send(w, p)
      out.deposited++
      out.total += r.value
      out.coins.push({ coin: r.coin, value: r.value, from: r.from, ...(r.fraud != null ? { fraud: r.fraud } : {}) })
    } catch (err) {
      out.refused.push({ coin: s.coin, ...errorOf(err) })
    }
  }
  await Promise.all(
    Array.from({ length: Math.min(DEPOSIT_CONCURRENCY, list.length) }, async () => {
      while (next < list.length) await one(list[next++])
    })
  )
  return out
}

/** Signs the deposit request and writes it (and the coin as being spent) before anything leaves. */
export async function record(w: WalletContext, s: Spendable): Promise<Pending> {
  // an owner's own coin is credited to its account (the certificate names it anyway): the request names the
  // coin's key as its purse, so this node's purse is never tied to its long-term id
  const request = s.owned
    ? await signHolder(w, s.seed, TAG.deposit, { coin: s.coin, gen: 0, seq: 0, purse: s.coin, at: Date.now() }, KIND)
    : await signHeld(w, s.key, TAG.deposit, await purseKey(w), KIND)
  return await w.store.apply(() => {
    if (active(w, s.key)) fail(WhopayErrorCode.COIN_SPENT, 'that coin is being spent')
    const p: Pending = {
      id: s.key,
      coin: s.coin,
      kind: 'deposit',
      value: s.value,
      seq: s.seq,
      cert: s.cert,
      ...(s.binding != null ? { binding: s.binding } : {}),
      request,
      attempts: 0,
      at: Date.now()
    }
    w.t.pending.set(s.key, p)
    // an owned coin deposited by its owner is never issued after; a held one is spent from here on
    if (s.owned) w.t.ownSpent.set(s.coin, { at: Date.now() })
    else w.wallet.spending(s.key, request)
    return p
  })
}

/** Sends a recorded deposit to the broker from a fresh identity; on the answer the coin is deposited. */
export async function send(w: WalletContext, p: Pending): Promise<DepositResult> {
  let r: DepositResult
  try {
    r = await asHolder(
      w,
      async anon =>
        await anon.call<DepositResult>(
          w.c.broker,
          LEDGER_PROTOCOL,
          'deposit',
          { cert: p.cert, ...(p.binding != null ? { binding: p.binding } : {}), request: p.request },
          { kind: KIND, timeoutMs: 60_000 }
        )
    )
  } catch (err) {
    await failedWithBroker(w, p, err)
    throw err
  }
  if (r.purse !== (p.seq === 0 ? p.coin : await purseKey(w)))
    fail(ErrorCode.BAD_REQUEST, 'the broker credited another purse')
  await w.store.apply(() => {
    if (w.t.pending.has(p.id) && w.wallet.t.held.has(p.id)) w.wallet.settled(p.id, 'deposited')
    w.t.pending.delete(p.id)
  })
  return r
}

/**
 * A deposit or renewal the broker did not take: counted and sent again later, unless the broker refused it; then
 * it ends with the reason kept and the coin is free again (held, or owned and unspent), nothing of it having moved.
 */
export async function failedWithBroker(w: WalletContext, p: Pending, err: unknown): Promise<void> {
  if (w.life.stopped) return
  const refused = retryable(err) ? undefined : errorOf(err)
  await w.store.apply(() => {
    const now = w.t.pending.get(p.id)
    if (now == null || now.refused != null) return
    w.t.pending.set(p.id, { ...now, attempts: now.attempts + 1, ...(refused != null ? { refused } : {}) })
    if (refused == null) return
    const h = w.wallet.t.held.get(p.id)
    if (h != null && now.request != null) w.wallet.unspend(p.id, now.request)
    else if (h == null && now.kind === 'deposit') w.t.ownSpent.delete(now.coin)
  })
}
