// The other ways a chain contradicts a paid one: a cheater that cannot pay in
// full (shortfall, never below zero), a cheater cashing its own fork, a holder
// that cashed and paid on too, and a fork off a fork.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { rejects, throwsCode } from '@p2pay/test-utils'
import { checkFraudProof } from '../src/core/fraud.ts'
import { MAX_LAYERS, T0, chainCoin, peer } from './fixtures.ts'
import { bal, certified, conserved, holders, topup, world } from './ledger-fixtures.ts'

describe('fraud paths', () => {
  it('a cheater short of money pays what it has; the rest is recorded as shortfall, not created', async () => {
    const w = await world()
    const hs = await holders(w, 5, 100)
    const alt = certified(w, await peer(), 0)
    topup(w, hs[3], 10)
    w.ledger.cash(chainCoin(hs, 30), hs[5].id)
    const r = w.ledger.cash(chainCoin([...hs.slice(0, 4), alt], 30), alt.id)
    assert.ok(r.status === 'paid')
    assert.deepEqual([r.value, r.shortfall, r.culprit], [10, 20, hs[3].id])
    assert.deepEqual([bal(w, hs[3]), bal(w, alt)], [0, 10])
    const f = [...w.ledger.t.frauds.values()][0]
    assert.deepEqual(f.shortfall, [{ holder: alt.id, value: 20 }])
    assert.equal(w.ledger.audit().meta.shortfall, 20)
    conserved(w)
  })

  it('a cheater cashing its own fork is convicted and paid nothing', async () => {
    const w = await world()
    const hs = await holders(w, 5, 100)
    const sybil = certified(w, await peer(), 0)
    topup(w, hs[3], 50)
    w.ledger.cash(chainCoin(hs, 30), hs[5].id)
    const own = chainCoin([...hs.slice(0, 4), sybil, hs[3]], 30)
    const r = w.ledger.cash(own, hs[3].id)
    assert.deepEqual([r.status, r.culprit], ['convicted', hs[3].id])
    assert.equal(bal(w, hs[3]), 50)
    assert.deepEqual(w.ledger.cash(own, hs[3].id), r)
    conserved(w)
  })

  it('a holder that cashed and paid on too is named; cashing a prefix of a paid chain is refused', async () => {
    const w = await world()
    const hs = await holders(w, 4, 100)
    const short = chainCoin(hs.slice(0, 4), 30)
    const long = chainCoin(hs, 30)
    assert.equal(w.ledger.cash(short, hs[3].id).status, 'paid')
    const r = w.ledger.cash(long, hs[4].id)
    assert.ok(r.status === 'paid')
    assert.deepEqual([r.from, r.culprit, r.value], ['compensation', hs[3].id, 30])
    const f = [...w.ledger.t.frauds.values()][0]
    assert.deepEqual([f.kind, f.depth], ['cash-after-spend', 4])
    const c = checkFraudProof(f.proof, { certs: w.ledger.lookup, now: T0, maxLayers: MAX_LAYERS })
    assert.equal(c.culprit, hs[3].id)
    assert.deepEqual([bal(w, hs[3]), bal(w, hs[4])], [0, 30])
    conserved(w)

    const w2 = await world()
    const hs2 = await holders(w2, 4, 100)
    w2.ledger.cash(chainCoin(hs2, 30), hs2[4].id)
    rejects(w2.ledger.t, () => w2.ledger.cash(chainCoin(hs2.slice(0, 4), 30), hs2[3].id), ErrorCode.FRAUD)
    conserved(w2)
  })

  it('cashed at depth 2 and at depth 4 along one line: the deeper cashier pays the holder at depth 6', async () => {
    const w = await world()
    const hs = await holders(w, 6, 100)
    assert.equal(w.ledger.cash(chainCoin(hs.slice(0, 3), 30), hs[2].id).status, 'paid')
    const r4 = w.ledger.cash(chainCoin(hs.slice(0, 5), 30), hs[4].id)
    const r6 = w.ledger.cash(chainCoin(hs, 30), hs[6].id)
    assert.ok(r4.status === 'paid' && r6.status === 'paid')
    assert.deepEqual([r4.culprit, r6.culprit], [hs[2].id, hs[4].id])
    assert.deepEqual([bal(w, hs[2]), bal(w, hs[4]), bal(w, hs[6])], [0, 0, 30])
    conserved(w)
  })

  it('a fork off a fork names the signer where the new chain leaves the tree of paid chains', async () => {
    const w = await world()
    const hs = await holders(w, 4, 100)
    const alt = await Promise.all([peer(), peer(), peer()])
    const [x, y, z] = alt.map(p => certified(w, p, 0))
    topup(w, hs[1], 30)
    topup(w, x, 30)
    w.ledger.cash(chainCoin(hs, 30), hs[4].id)
    const r1 = w.ledger.cash(chainCoin([hs[0], hs[1], x, y], 30), y.id)
    const r2 = w.ledger.cash(chainCoin([hs[0], hs[1], x, z], 30), z.id)
    assert.ok(r1.status === 'paid' && r2.status === 'paid')
    assert.deepEqual([r1.culprit, r2.culprit], [hs[1].id, x.id])
    assert.deepEqual([bal(w, hs[1]), bal(w, x), bal(w, y), bal(w, z)], [0, 0, 30, 30])
    conserved(w)
  })

  it('a fraud proof that proves nothing is refused', async () => {
    const w = await world()
    const hs = await holders(w, 2, 100)
    const opts = { certs: w.ledger.lookup, now: T0, maxLayers: MAX_LAYERS }
    const a = chainCoin(hs, 10, 1)
    const b = chainCoin(hs, 10, 2)
    throwsCode(() => checkFraudProof({ kind: 'double-spend', coins: [a, a], depth: 1 }, opts), ErrorCode.BAD_REQUEST)
    throwsCode(() => checkFraudProof({ kind: 'double-mint', coins: [a, b], depth: 0 }, opts), ErrorCode.BAD_REQUEST)
    throwsCode(() => checkFraudProof({ kind: 'over-mint', coins: [a, b], depth: 0 }, opts), ErrorCode.BAD_REQUEST)
    const forged = { ...b, sig: a.sig }
    throwsCode(
      () => checkFraudProof({ kind: 'double-mint', coins: [a, forged], depth: 0 }, opts),
      ErrorCode.BAD_SIGNATURE
    )
  })
})
