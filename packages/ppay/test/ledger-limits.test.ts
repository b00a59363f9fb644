// The broker's ledger and the bound on money (MAX_MONEY, 2^50): the money
// topped up, and so every balance and coin, stays within it; a topup past it
// is refused and changes nothing; the audit does not hold for books past it.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, MAX_MONEY } from '@p2pay/core'
import { world, buyRequest, assertHolds, bal, rejects } from './fixtures.ts'

describe('ledger limits', () => {
  it('a topup whose amount or sum would pass MAX_MONEY is BAD_REQUEST and changes nothing', async () => {
    const w = await world()
    // two topups of MAX_SAFE_INTEGER once left a balance past 2^53 that the audit passed
    for (const amount of [Number.MAX_SAFE_INTEGER, MAX_MONEY + 1]) {
      const e = rejects(w.ledger.t, () => w.ledger.topup(w.X.id, amount), ErrorCode.BAD_REQUEST)
      assert.equal(e.details?.limit, MAX_MONEY)
    }
    assert.deepEqual(w.ledger.topup(w.X.id, MAX_MONEY - 10), { account: w.X.id, balance: MAX_MONEY - 10 })
    // each amount is in range, the money in the books would not be: on this account and on another
    for (const who of [w.X, w.Y]) {
      const e = rejects(w.ledger.t, () => w.ledger.topup(who.id, 11), ErrorCode.BAD_REQUEST)
      assert.equal(e.details?.limit, MAX_MONEY)
    }
    assert.deepEqual([bal(w, w.X), bal(w, w.Y), w.ledger.audit().toppedUp], [MAX_MONEY - 10, 0, MAX_MONEY - 10])
    assert.deepEqual(w.ledger.topup(w.Y.id, 10), { account: w.Y.id, balance: 10 })
    assert.equal(w.ledger.audit().toppedUp, MAX_MONEY)
    // money at the bound still moves: coins bought from it keep the books whole
    assert.equal(w.ledger.buy(buyRequest(w, w.X, 10, 1e12)).coins.length, 10)
    assert.equal(bal(w, w.X), MAX_MONEY - 10 - 1e13)
    assertHolds(w)
  })

  it('the audit does not hold when a balance, a coin or the money topped up is past MAX_MONEY', async () => {
    // books as two topups of MAX_SAFE_INTEGER left them: balances = toppedUp, both past 2^53
    const w = await world()
    w.ledger.t.accounts.set(w.X.id, { balance: 2 * Number.MAX_SAFE_INTEGER })
    w.ledger.t.meta.set('meta', { toppedUp: 2 * Number.MAX_SAFE_INTEGER, downtime: {} })
    assert.equal(w.ledger.audit().holds, false)

    // each balance in range, their sum not
    const v = await world()
    v.ledger.t.accounts.set(v.X.id, { balance: MAX_MONEY })
    v.ledger.t.accounts.set(v.Y.id, { balance: MAX_MONEY })
    v.ledger.t.meta.set('meta', { toppedUp: 2 * MAX_MONEY, downtime: {} })
    assert.equal(v.ledger.audit().holds, false)

    // an unpaid coin worth more than the bound
    const u = await world()
    u.ledger.t.coins.set('sn-0000000001', { owner: u.X.id, value: 2 ** 53, expiry: 0, status: 'out' })
    u.ledger.t.meta.set('meta', { toppedUp: 2 ** 53, downtime: {} })
    assert.equal(u.ledger.audit().holds, false)
  })
})
