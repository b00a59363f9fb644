// Double spending at depth 0 (two mints with one serial), 1 (the minter signs
// layer 1 twice), 4 and 8: the broker pays the first chain from the coin, the
// second from the cheater, names the cheater with a proof anyone can check,
// and no honest party loses value.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { checkFraudProof } from '../src/core/fraud.ts'
import type { WireCoin } from '../src/core/messages.ts'
import { MAX_LAYERS, T0, chainCoin, peer } from './fixtures.ts'
import { bal, certified, conserved, holders, topup, type Holder, type World, world } from './ledger-fixtures.ts'

const VALUE = 30

const balances = (w: World, ps: Holder[]): number[] => ps.map(p => bal(w, p))

/** Checks the fraud record of `w` convicts `culprit` at `depth`, and that its proof says so on its own. */
function convicts(w: World, kind: string, culprit: Holder, depth: number): void {
  const frauds = [...w.ledger.t.frauds.values()]
  assert.equal(frauds.length, 1)
  const f = frauds[0]
  assert.deepEqual([f.kind, f.culprit, f.depth], [kind, culprit.id, depth])
  const c = checkFraudProof(f.proof, { certs: w.ledger.lookup, now: T0, maxLayers: MAX_LAYERS })
  assert.deepEqual([c.kind, c.culprit, c.cert, c.depth], [kind, culprit.id, culprit.cert.hash, depth])
}

describe('double spend', () => {
  for (const depth of [1, 2, 3, 4, 5, 6, 7, 8]) {
    for (const order of ['first chain first', 'second chain first']) {
      it(`at depth ${depth} (${order}): the signer of both layer ${depth}s is named, both paid`, async () => {
        const w = await world()
        const hs = await holders(w, 8, 100)
        const alt = certified(w, await peer(), 0)
        const culprit = hs[depth - 1]
        // the culprit's money: the minter's is its escrow, anyone else's its balance
        if (depth > 1) topup(w, culprit, VALUE)
        const a = chainCoin(hs, VALUE)
        const b = chainCoin([...hs.slice(0, depth), alt], VALUE)
        const start = balances(w, [...hs, alt])
        const runs: Array<[WireCoin, Holder]> = [
          [a, hs[8]],
          [b, alt]
        ]
        if (order === 'second chain first') runs.reverse()
        const r1 = w.ledger.cash(runs[0][0], runs[0][1].id)
        conserved(w)
        const r2 = w.ledger.cash(runs[1][0], runs[1][1].id)
        conserved(w)
        assert.deepEqual([r1.status, r1.status === 'paid' && r1.from], ['paid', 'coin'])
        assert.ok(r2.status === 'paid')
        assert.deepEqual([r2.from, r2.culprit, r2.value, r2.shortfall], ['compensation', culprit.id, VALUE, undefined])
        convicts(w, 'double-spend', culprit, depth)
        // both last holders got the value; the culprit lost it; the minter paid for one coin only
        const end = balances(w, [...hs, alt])
        hs.concat(alt).forEach((p, i) => {
          const want = p === hs[8] || p === alt ? VALUE : p === culprit && depth > 1 ? -VALUE : 0
          assert.equal(end[i] - start[i], want, `balance of holder ${i}`)
        })
        const escrow = w.ledger.t.certs.get(hs[0].cert.hash)!.escrow
        assert.equal(escrow, depth === 1 ? 100 - 2 * VALUE : 100 - VALUE)
      })
    }
  }

  it('at depth 0: two mints with one serial name the minter; the second holder is paid from its escrow', async () => {
    const w = await world()
    const hs = await holders(w, 2, 100)
    const a = chainCoin(hs.slice(0, 2), VALUE, 7)
    const b = chainCoin([hs[0], hs[2]], VALUE + 1, 7)
    assert.equal(w.ledger.cash(a, hs[1].id).status, 'paid')
    const r = w.ledger.cash(b, hs[2].id)
    assert.ok(r.status === 'paid')
    assert.deepEqual([r.from, r.culprit, r.value], ['compensation', hs[0].id, VALUE + 1])
    convicts(w, 'double-mint', hs[0], 0)
    assert.deepEqual(balances(w, hs), [0, VALUE, VALUE + 1])
    assert.equal(w.ledger.t.certs.get(hs[0].cert.hash)!.escrow, 100 - 2 * VALUE - 1)
    conserved(w)
  })
})
