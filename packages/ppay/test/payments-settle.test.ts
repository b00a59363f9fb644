// PPay's settler of journaled payments, over real wallets: a payment is
// settled from the rows its own id was written on, never from another
// payment to the same payee (in flight or crashed too), and a coin reassigned
// and delivered by its owner (spent, no outbox row) counts as paid.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, type PaymentEntry, type SettleContext } from '@p2pay/core'
import { ppaySettler } from '../src/net/ppay-settle.ts'
import { PPayErrorCode } from '../src/errors.ts'
import type { WalletService } from '../src/net/wallet-service.ts'
import { buyCoins, world, type Party } from './fixtures.ts'

/** the settler reads the wallet's tables only; the network is for `before`, which these tests do not run */
const settlerOf = (p: Party): ReturnType<typeof ppaySettler> =>
  ppaySettler({ wallet: p.wallet } as unknown as WalletService, {} as never)

function entry(id: string, peer: string, amount: number, created: number, more: Partial<PaymentEntry> = {}) {
  return {
    id,
    scheme: 'ppay',
    op: 'pay',
    peer,
    amount,
    state: 'pending',
    created,
    updated: created,
    deadline: created + 60_000,
    ...more
  } satisfies PaymentEntry
}

function ctxOf(entries: PaymentEntry[], now: number, answering = false): SettleContext {
  return { now, entries: () => entries, ...(answering ? { answering } : {}) }
}

/** Two payments of 5 to Y pending with one coin of 5, which only B signed. */
async function twoPaymentsOneCoin(tag: string) {
  const w = await world()
  const [c] = buyCoins(w, w.X, 1, 5)
  const now = w.clock.now()
  const A = entry(`pay-A-${tag}`, w.Y.id, 5, now)
  const B = entry(`pay-B-${tag}`, w.Y.id, 5, now)
  w.X.wallet.ownerPay(c.sn, w.Y.id, B.id)
  return { w, c, A, B, s: settlerOf(w.X) }
}

const coinsOf = (r: unknown): string[] => ((r as { coins?: Array<{ sn: string }> }).coins ?? []).map(c => c.sn)

describe('ppay settle', () => {
  it("a refused payment is not credited with another payment's coin to the same payee", async () => {
    // B signed the only coin of 5 and is still delivering it (no result yet); A found no coin
    const { w, c, A, B, s } = await twoPaymentsOneCoin('000001')
    const now = w.clock.now()
    const a = await s.settle!(
      { ...A, error: { code: PPayErrorCode.NO_EXACT_AMOUNT, message: 'no set of coins' } },
      ctxOf([A, B], now, true)
    )
    assert.equal(a?.state, 'failed')
    assert.equal(a?.error?.code, PPayErrorCode.NO_EXACT_AMOUNT)
    assert.deepEqual(coinsOf(a?.result ?? {}), [])
    const b = await s.settle!(B, ctxOf([A, B], now))
    assert.equal(b?.state, 'succeeded')
    assert.deepEqual(coinsOf(b?.result), [c.sn])
  })

  it('after a crash with two payments to one payee pending, each settles to its own coins, in any order', async () => {
    // only B signed before the crash
    const { w, c, A, B, s } = await twoPaymentsOneCoin('000002')
    w.clock.advance(5000)
    const a = await s.settle!(A, ctxOf([A, B], w.clock.now()))
    assert.equal(a?.state, 'failed')
    assert.deepEqual(coinsOf(a?.result ?? {}), [])
    const b = await s.settle!(B, ctxOf([A, B], w.clock.now()))
    assert.equal(b?.state, 'succeeded')
    assert.deepEqual(coinsOf(b?.result), [c.sn])
  })

  it('a coin given without a journaled payment (pay-many) is no pending payment to the same payee', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 5)
    const now = w.clock.now()
    const A = entry('pay-A-000003', w.Y.id, 5, now)
    w.X.wallet.ownerPay(c.sn, w.Y.id)
    const a = await settlerOf(w.X).settle!(A, ctxOf([A], now))
    assert.equal(a?.state, 'failed')
  })

  it('a held coin reassigned and delivered by its owner (spent, nothing queued) is paid, after a crash', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 5)
    const held = w.Y.wallet.accept(w.X.wallet.ownerPay(c.sn, w.Y.id), w.X.id).holding
    const now = w.clock.now()
    const P = entry('pay-P-000004', w.Z.id, 5, now)
    const { request } = w.Y.wallet.beginSpend(held.key, w.Z.id, P.id)
    const s = settlerOf(w.Y)
    // signed, the owner not yet answered: under way
    assert.equal((await s.settle!(P, ctxOf([P], now)))?.state, 'pending')
    w.Y.wallet.finishSpend(held.key, w.X.wallet.ownerReassign(held.proof, request).proof)
    const p = await s.settle!(P, ctxOf([P], now))
    assert.equal(p?.state, 'succeeded')
    assert.deepEqual(coinsOf(p?.result), [c.sn])
  })

  it('a partial payment lists the spent coin as paid, not "nothing was signed"', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 5)
    const held = w.Y.wallet.accept(w.X.wallet.ownerPay(c.sn, w.Y.id), w.X.id).holding
    const now = w.clock.now()
    const P = entry('pay-P-000005', w.Z.id, 8, now)
    const { request } = w.Y.wallet.beginSpend(held.key, w.Z.id, P.id)
    w.Y.wallet.finishSpend(held.key, w.X.wallet.ownerReassign(held.proof, request).proof)
    const p = await settlerOf(w.Y).settle!(
      { ...P, error: { code: PPayErrorCode.PARTIAL_PAYMENT, message: 'paid 5 of 8' } },
      ctxOf([P], now, true)
    )
    assert.equal(p?.state, 'failed')
    assert.match(p?.reason ?? '', /paid 5 of 8/)
    assert.deepEqual(coinsOf(p?.result), [c.sn])
    assert.notEqual(p?.error?.code, ErrorCode.INTERNAL)
  })
})
