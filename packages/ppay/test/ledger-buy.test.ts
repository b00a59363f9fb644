// The broker's ledger, selling coins: topping up accounts and buying coins,
// replays and refused buy requests.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_MAX_FRAME, ErrorCode, MAX_MONEY, P2payError, utf8 } from '@p2pay/core'
import { Ledger } from '../src/core/ledger.ts'
import { LEDGER_OPTIONS, ledgerInit } from '../src/options.ts'
import { TAG } from '../src/core/types.ts'
import { verifyCoin } from '../src/core/verify.ts'
import {
  world,
  ident,
  sign,
  verifier,
  buyRequest,
  flip,
  layout,
  withVersion,
  assertHolds,
  bal,
  ledgerTables,
  rejects,
  snapshot,
  T0,
  COIN_TTL
} from './fixtures.ts'

describe('topup and buy', () => {
  it('topup credits the account and counts the money in; bad input is BAD_REQUEST with no change', async () => {
    const w = await world()
    assert.deepEqual(w.ledger.topup(w.X.id, 25), { account: w.X.id, balance: 25 })
    assert.deepEqual(w.ledger.topup(w.X.id, 5), { account: w.X.id, balance: 30 })
    assert.equal(w.ledger.audit().toppedUp, 30)
    for (const [acct, amount] of [
      [w.X.id, 0],
      [w.X.id, -5],
      [w.X.id, 1.5],
      ['', 5],
      ['x'.repeat(129), 5]
    ] as const) {
      rejects(w.ledger.t, () => w.ledger.topup(acct, amount), ErrorCode.BAD_REQUEST)
    }
    assertHolds(w)
  })

  it('buy debits the balance and returns coins signed by the broker, owned by the buyer', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 100)
    const { coins } = w.ledger.buy(buyRequest(w, w.X, 3, 10))
    assert.equal(coins.length, 3)
    assert.equal(bal(w, w.X), 70)
    const sns = new Set<string>()
    for (const b64 of coins) {
      const c = verifyCoin(verifier, b64, w.broker.id, 't')
      assert.deepEqual([c.body.owner, c.body.value, c.body.expiry], [w.X.id, 10, T0 + COIN_TTL])
      assert.deepEqual(w.ledger.t.coins.get(c.body.sn), {
        owner: w.X.id,
        value: 10,
        expiry: T0 + COIN_TTL,
        status: 'out'
      })
      sns.add(c.body.sn)
    }
    assert.equal(sns.size, 3, 'serials are unique')
    const a = w.ledger.audit()
    assert.deepEqual([a.toppedUp, a.balances, a.outstanding, a.coins], [100, 70, 30, 3])
    assertHolds(w)
  })

  it('the largest purchase --max-coins-per-buy allows is answered in one frame; the flag refuses more', async () => {
    const w = await world()
    const flags = Object.fromEntries(Object.entries(LEDGER_OPTIONS).map(([k, o]) => [k, o.default])) as any
    const max = flags['max-coins-per-buy'] as number
    const ledger = new Ledger(ledgerTables(), w.broker.signer, verifier, { ...ledgerInit(flags), now: w.clock.now })
    // the longest numbers a coin can carry: the reply at its largest
    const value = Math.min(1e12, Math.floor(MAX_MONEY / max))
    ledger.topup(w.X.id, value * max)
    const result = ledger.buy(buyRequest(w, w.X, max, value))
    assert.equal(result.coins.length, max)
    const reply = utf8(JSON.stringify({ id: Number.MAX_SAFE_INTEGER, ok: true, result }))
    assert.ok(reply.byteLength < DEFAULT_MAX_FRAME, `a reply of ${reply.byteLength} bytes`)
    for (const n of [max + 1, 0, 2.5])
      assert.throws(
        () => ledgerInit({ ...flags, 'max-coins-per-buy': n }),
        (e: unknown) =>
          e instanceof P2payError && e.code === ErrorCode.BAD_REQUEST && /max-coins-per-buy/.test(e.message)
      )
  })

  it('buy with insufficient funds is INSUFFICIENT_FUNDS and changes nothing', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 29)
    rejects(w.ledger.t, () => w.ledger.buy(buyRequest(w, w.X, 3, 10)), ErrorCode.INSUFFICIENT_FUNDS)
    rejects(w.ledger.t, () => w.ledger.buy(buyRequest(w, w.Y, 1, 1)), ErrorCode.INSUFFICIENT_FUNDS)
    assert.equal(bal(w, w.X), 29)
  })

  it('the same buy replayed returns the same coins and debits once', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 100)
    const req = buyRequest(w, w.X, 2, 10, 'nonce-0001')
    const first = w.ledger.buy(req)
    const before = snapshot(w.ledger.t)
    assert.deepEqual(w.ledger.buy(req), first)
    assert.equal(snapshot(w.ledger.t), before)
    assert.equal(bal(w, w.X), 80)
    assert.equal(w.ledger.t.coins.size, 2)
  })

  it('a nonce reused with different content is REPLAY and changes nothing', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 100)
    w.ledger.buy(buyRequest(w, w.X, 2, 10, 'nonce-0001'))
    rejects(w.ledger.t, () => w.ledger.buy(buyRequest(w, w.X, 3, 10, 'nonce-0001')), ErrorCode.REPLAY)
    rejects(w.ledger.t, () => w.ledger.buy(buyRequest(w, w.X, 2, 5, 'nonce-0001')), ErrorCode.REPLAY)
    // the nonce is per account
    w.ledger.topup(w.Y.id, 10)
    assert.equal(w.ledger.buy(buyRequest(w, w.Y, 1, 10, 'nonce-0001')).coins.length, 1)
  })

  it('malformed, forged or foreign buy requests are refused with no change', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 1000)
    const t = w.ledger.t
    const other = await ident()
    rejects(
      t,
      () =>
        w.ledger.buy(
          sign(w.Y, TAG.buy, { broker: w.broker.id, account: w.X.id, count: 1, value: 10, nonce: 'nonce-0002' })
        ),
      ErrorCode.WRONG_SIGNER
    )
    rejects(
      t,
      () =>
        w.ledger.buy(
          sign(w.X, TAG.buy, { broker: other.id, account: w.X.id, count: 1, value: 10, nonce: 'nonce-0002' })
        ),
      ErrorCode.WRONG_BROKER
    )
    rejects(t, () => w.ledger.buy(buyRequest(w, w.X, 0, 10)), ErrorCode.BAD_REQUEST)
    rejects(t, () => w.ledger.buy(buyRequest(w, w.X, 11, 10)), ErrorCode.BAD_REQUEST)
    rejects(t, () => w.ledger.buy(buyRequest(w, w.X, 1, 0)), ErrorCode.BAD_REQUEST)
    rejects(t, () => w.ledger.buy(buyRequest(w, w.X, 1, 10, 'short')), ErrorCode.BAD_REQUEST)
    const req = buyRequest(w, w.X, 1, 10)
    rejects(t, () => w.ledger.buy(flip(req, layout(req).bodyStart + 10)), ErrorCode.BAD_SIGNATURE)
    rejects(t, () => w.ledger.buy(withVersion(req, 2)), ErrorCode.UNKNOWN_VERSION)
    rejects(
      t,
      () =>
        w.ledger.buy(
          sign(w.X, TAG.cash, { broker: w.broker.id, account: w.X.id, count: 1, value: 10, nonce: 'nonce-0002' })
        ),
      ErrorCode.WRONG_TAG
    )
    rejects(t, () => w.ledger.buy(undefined), ErrorCode.BAD_REQUEST)
  })
})
