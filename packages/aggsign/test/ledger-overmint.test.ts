// A minter that mints past its certificate's limit is caught when the coin
// that crosses it is cashed: paid from what escrow is left, then the minter's
// balance, the rest recorded as shortfall; the coins prove it.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { checkFraudProof } from '../src/core/fraud.ts'
import { MAX_LAYERS, T0, chainCoin } from './fixtures.ts'
import { bal, conserved, holders, topup, world } from './ledger-fixtures.ts'

describe('over-minting', () => {
  it('the coin past the limit is paid from the minter balance, and the minter is named', async () => {
    const w = await world()
    const hs = await holders(w, 1, 100)
    topup(w, hs[0], 20)
    const coins = [1, 2, 3].map(serial => chainCoin(hs, 40, serial))
    assert.equal(w.ledger.cash(coins[0], hs[1].id).status, 'paid')
    assert.equal(w.ledger.cash(coins[1], hs[1].id).status, 'paid')
    assert.equal(w.ledger.t.frauds.size, 0)
    conserved(w)
    const r = w.ledger.cash(coins[2], hs[1].id)
    assert.ok(r.status === 'paid')
    // 20 left in escrow, 20 from the balance, nothing short
    assert.deepEqual([r.from, r.value, r.culprit, r.shortfall], ['coin', 40, hs[0].id, undefined])
    assert.deepEqual([bal(w, hs[0]), bal(w, hs[1])], [0, 120])
    const f = [...w.ledger.t.frauds.values()][0]
    assert.deepEqual([f.kind, f.culprit, f.proof.coins.length], ['over-mint', hs[0].id, 3])
    const c = checkFraudProof(f.proof, { certs: w.ledger.lookup, now: T0, maxLayers: MAX_LAYERS })
    assert.equal(c.culprit, hs[0].id)
    conserved(w)
  })

  it('with nothing left, the holder is short and nothing is created', async () => {
    const w = await world()
    const hs = await holders(w, 1, 50)
    w.ledger.cash(chainCoin(hs, 50, 1), hs[1].id)
    const r = w.ledger.cash(chainCoin(hs, 30, 2), hs[1].id)
    assert.ok(r.status === 'paid')
    assert.deepEqual([r.value, r.shortfall], [0, 30])
    assert.equal(bal(w, hs[1]), 50)
    assert.equal([...w.ledger.t.frauds.values()][0].shortfall[0].value, 30)
    conserved(w)
  })
})
