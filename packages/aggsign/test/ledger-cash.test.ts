// Cashing at the broker: the last holder paid once from the minter's escrow,
// refunds of unspent coins, retries, the grace period, expiry of certificates,
// and refusals that leave the tables as they were.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { rejects, snapshot } from '@p2pay/test-utils'
import { AggsignErrorCode } from '../src/errors.ts'
import { CERT_TTL, COIN_TTL, T0, certify, chainCoin, peer } from './fixtures.ts'
import { CASH_GRACE, bal, conserved, holders, world } from './ledger-fixtures.ts'

describe('cash', () => {
  it('the holder at depth 8 is paid from the minter escrow, once; a retry gets the same answer', async () => {
    const w = await world()
    const hs = await holders(w, 8, 100)
    conserved(w)
    const coin = chainCoin(hs, 30)
    const r = w.ledger.cash(coin, hs[8].id)
    assert.deepEqual(r, {
      coin: r.coin,
      status: 'paid',
      holder: hs[8].id,
      value: 30,
      from: 'coin',
      counts: { messages: 0, signed: 0, verified: 1 }
    })
    assert.equal(bal(w, hs[8]), 30)
    const cert = w.ledger.t.certs.get(hs[0].cert.hash)!
    assert.deepEqual([cert.escrow, cert.paid, cert.minted], [70, 30, 30])
    conserved(w)
    const before = snapshot(w.ledger.t)
    assert.deepEqual(w.ledger.cash(coin, hs[8].id), r)
    assert.equal(snapshot(w.ledger.t), before)
    assert.equal(w.ledger.t.frauds.size, 0)
  })

  it('the minter cashes an unpaid coin: a refund out of its own escrow', async () => {
    const w = await world()
    const [m] = await holders(w, 0, 50)
    const r = w.ledger.cash(chainCoin([m], 20), m.id)
    assert.equal(r.status, 'paid')
    assert.equal(bal(w, m), 20)
    assert.equal(w.ledger.t.certs.get(m.cert.hash)!.escrow, 30)
    conserved(w)
  })

  it('refuses, changing nothing: another cashier, a tampered coin, an unknown certificate', async () => {
    const w = await world()
    const hs = await holders(w, 3, 100)
    const coin = chainCoin(hs, 10)
    const t = w.ledger.t
    rejects(t, () => w.ledger.cash(coin, hs[2].id), ErrorCode.WRONG_HOLDER)
    rejects(t, () => w.ledger.cash(coin, hs[0].id), ErrorCode.WRONG_HOLDER)
    rejects(t, () => w.ledger.cash({ ...coin, layers: coin.layers.slice(0, 2) }, hs[2].id), ErrorCode.BAD_SIGNATURE)
    rejects(t, () => w.ledger.cash({ ...coin, sig: chainCoin(hs, 10, 2).sig }, hs[3].id), ErrorCode.BAD_SIGNATURE)
    const stranger = await peer()
    const foreign = certify(await peer(), stranger, 100)
    rejects(
      t,
      () => w.ledger.cash(chainCoin([{ ...stranger, cert: foreign }], 5), stranger.id),
      AggsignErrorCode.UNKNOWN_CERT
    )
    rejects(t, () => w.ledger.cash('coin', hs[3].id), ErrorCode.BAD_REQUEST)
    conserved(w)
  })

  it('an expired coin is cashed within the grace period, refused after it', async () => {
    const w = await world()
    const hs = await holders(w, 1, 100)
    const [a, b] = [chainCoin(hs, 10, 1), chainCoin(hs, 10, 2)]
    w.clock.advance(COIN_TTL + CASH_GRACE)
    assert.equal(w.ledger.cash(a, hs[1].id).status, 'paid')
    w.clock.advance(1)
    rejects(w.ledger.t, () => w.ledger.cash(b, hs[1].id), ErrorCode.EXPIRED)
    conserved(w)
  })

  it("a certificate's unspent escrow goes back after expiry and grace; its coins are then refused", async () => {
    const w = await world()
    const hs = await holders(w, 1, 100)
    const coin = chainCoin(hs, 10, 1, T0 + CERT_TTL)
    w.ledger.cash(chainCoin(hs, 25, 2), hs[1].id)
    assert.deepEqual(w.ledger.expire(T0 + CERT_TTL + CASH_GRACE), [])
    const out = w.ledger.expire(T0 + CERT_TTL + CASH_GRACE + 1)
    assert.deepEqual(
      out.map(o => o.amount),
      [75, 0]
    )
    assert.deepEqual(out[0], { cert: hs[0].cert.hash, peer: hs[0].id, amount: 75 })
    assert.equal(bal(w, hs[0]), 75)
    assert.deepEqual(w.ledger.expire(T0 + CERT_TTL + CASH_GRACE + 2), [])
    conserved(w)
    w.clock.t = T0 + CERT_TTL
    rejects(w.ledger.t, () => w.ledger.cash(coin, hs[1].id), ErrorCode.EXPIRED)
  })
})
