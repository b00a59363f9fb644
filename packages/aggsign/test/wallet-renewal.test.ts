// Renewing a coin at its minter: the holder at the layer limit signs the
// renewal layer, the minter takes its coin back and pays a fresh one of the
// same value (the same one to a repeat; none, and nothing taken, without room
// under its limit). A holder that cashes the coin after renewing it is named
// at the renewal depth and the minter, holding the renewal chain, is paid.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { rejects } from '@p2pay/test-utils'
import { addLayer } from '../src/core/coin.ts'
import { checkFraudProof } from '../src/core/fraud.ts'
import type { WireCoin } from '../src/core/messages.ts'
import { AggsignErrorCode } from '../src/errors.ts'
import { T0 } from './fixtures.ts'
import { bal, conserved, world, type World } from './ledger-fixtures.ts'
import { party, pay, type Party } from './wallet-fixtures.ts'

const MAX = 3
const VALUE = 10

/** A minter with `limit`, a coin of VALUE it minted paid along MAX holders; the last holds it at the limit. */
async function atLimit(limit = 100): Promise<{ w: World; m: Party; hs: Party[]; id: string }> {
  const w = await world(MAX)
  const m = await party(w, limit, MAX)
  const hs: Party[] = []
  for (let i = 0; i < MAX; i++) hs.push(await party(w, 0, MAX))
  const { id } = m.wallet.mint(VALUE)
  ;[m, ...hs].slice(0, MAX).forEach((p, i) => pay(p, hs[i], id))
  return { w, m, hs, id }
}

/** The holder's renewal layer, and the minter's answer. */
function renewAt(h: Party, m: Party, id: string): ReturnType<Party['wallet']['renew']> & { sent: WireCoin } {
  const { coin: sent } = h.wallet.renewLayer(id)
  return { ...m.wallet.renew(sent, h.wallet.certificatesOf(sent)), sent }
}

describe('renewal', () => {
  it('the holder gets a fresh coin of the same value, pays it on; both coins cash; books hold', async () => {
    const { w, m, hs, id } = await atLimit()
    const h = hs[MAX - 1]
    const minted = m.wallet.t.key.get('key')!.minted
    const r = renewAt(h, m, id)
    assert.deepEqual([r.old, r.value, r.duplicate, r.coin.layers.length], [id, VALUE, false, 1])
    // the mint and layer 1 signed; the aggregate and the two holders' certificates new to the minter verified
    assert.deepEqual(r.counts, { messages: 0, signed: 2, verified: 3 })
    assert.equal(m.wallet.t.key.get('key')!.minted, minted + VALUE)
    assert.deepEqual([m.wallet.t.held.get(id)!.status, m.wallet.t.held.get(id)!.depth], ['held', MAX + 1])
    // the holder takes the fresh coin; the old one is no longer its to spend or cash
    const got = h.wallet.accept(r.coin, m.wallet.certificatesOf(r.coin))
    assert.deepEqual([got.id, got.depth, got.value], [r.id, 1, VALUE])
    assert.deepEqual(
      h.wallet.holdings().map(x => x.id),
      [r.id]
    )
    assert.equal(h.wallet.t.held.get(id)!.status, 'renewed')
    rejects(h.wallet.t, () => h.wallet.cashed(id), ErrorCode.WRONG_HOLDER)
    pay(h, hs[0], r.id)
    const fresh = w.ledger.cash(hs[0].wallet.t.held.get(r.id)!.coin, hs[0].id)
    assert.ok(fresh.status === 'paid' && fresh.from === 'coin' && fresh.value === VALUE)
    // the minter cashes its old coin: a refund from its own escrow
    const before = bal(w, m)
    const old = w.ledger.cash(m.wallet.t.held.get(id)!.coin, m.id)
    assert.ok(old.status === 'paid' && old.from === 'coin' && old.culprit == null)
    assert.equal(bal(w, m), before + VALUE)
    assert.equal(w.ledger.t.frauds.size, 0)
    assert.equal(w.ledger.t.certs.get(m.certHash)!.escrow, 100 - 2 * VALUE)
    conserved(w)
  })

  it('the same renewal twice gets the same fresh coin, minting nothing more', async () => {
    const { m, hs, id } = await atLimit()
    const r = renewAt(hs[MAX - 1], m, id)
    const key = JSON.stringify(m.wallet.t.key.get('key'))
    const again = m.wallet.renew(r.sent, hs[MAX - 1].wallet.certificatesOf(r.sent))
    assert.deepEqual([again.id, again.coin, again.duplicate], [r.id, r.coin, true])
    assert.equal(JSON.stringify(m.wallet.t.key.get('key')), key)
    assert.equal(m.wallet.t.renewed.size, 1)
  })

  it('without room under the limit it is refused and the old coin is not taken', async () => {
    const { m, hs, id } = await atLimit(VALUE)
    const h = hs[MAX - 1]
    const { coin } = h.wallet.renewLayer(id)
    rejects(m.wallet.t, () => m.wallet.renew(coin, h.wallet.certificatesOf(coin)), AggsignErrorCode.OVER_LIMIT)
    assert.equal(m.wallet.t.held.get(id)!.status, 'spent')
  })

  it('refusals change nothing: below the limit, a non-minter payee past it, the wrong minter, no renewal', async () => {
    const { w, m, hs, id } = await atLimit()
    const [h, other] = [hs[MAX - 1], hs[0]]
    // the holder: only a coin at the limit, only its own, not to anyone but the minter
    rejects(hs[0].wallet.t, () => hs[0].wallet.renewLayer(id), ErrorCode.WRONG_HOLDER)
    rejects(h.wallet.t, () => h.wallet.renewLayer('f'.repeat(64)), AggsignErrorCode.NO_SUCH_COIN)
    h.wallet.learnCertificates([other.cert])
    rejects(h.wallet.t, () => h.wallet.pay(id, other.certHash), AggsignErrorCode.LAYER_LIMIT)
    const mine = m.wallet.mint(VALUE).id
    rejects(m.wallet.t, () => m.wallet.renewLayer(mine), AggsignErrorCode.LAYER_LIMIT)
    // a layer past the limit to a non-minter, signed anyway: its payee refuses it
    const held = h.wallet.t.held.get(id)!.coin
    const forged = addLayer(
      held,
      Buffer.from(h.wallet.key().sk, 'base64'),
      other.wallet.lookup(other.certHash)!,
      MAX + 1
    )
    rejects(
      other.wallet.t,
      () => other.wallet.accept(forged, h.wallet.certificatesOf(forged)),
      AggsignErrorCode.LAYER_LIMIT
    )
    rejects(m.wallet.t, () => m.wallet.renew(forged, h.wallet.certificatesOf(forged)), AggsignErrorCode.LAYER_LIMIT)
    assert.throws(
      () => w.ledger.cash(forged, other.id),
      (e: any) => e.code === AggsignErrorCode.LAYER_LIMIT
    )
    // a coin at the limit is not a renewal; a renewal is taken only by its minter, never as a payment
    rejects(m.wallet.t, () => m.wallet.renew(held, h.wallet.certificatesOf(held)), AggsignErrorCode.NOT_RENEWAL)
    const { coin } = h.wallet.renewLayer(id)
    const certs = h.wallet.certificatesOf(coin)
    rejects(m.wallet.t, () => m.wallet.accept(coin, certs), AggsignErrorCode.LAYER_LIMIT)
    rejects(other.wallet.t, () => other.wallet.renew(coin, certs), ErrorCode.WRONG_HOLDER)
    rejects(h.wallet.t, () => h.wallet.renewLayer(id), ErrorCode.WRONG_HOLDER)
    assert.equal(m.wallet.renew(coin, certs).duplicate, false)
    conserved(w)
  })

  for (const order of ['holder cashes first', 'minter cashes first']) {
    it(`a holder that renews and cashes the old coin too (${order}): named at the renewal depth`, async () => {
      const { w, m, hs, id } = await atLimit()
      const h = hs[MAX - 1]
      const kept = h.wallet.t.held.get(id)!.coin
      const r = renewAt(h, m, id)
      h.wallet.accept(r.coin, m.wallet.certificatesOf(r.coin))
      const renewal = m.wallet.t.held.get(id)!.coin
      const [hBefore, mBefore] = [bal(w, h), bal(w, m)]
      if (order === 'holder cashes first') {
        const first = w.ledger.cash(kept, h.id)
        assert.ok(first.status === 'paid' && first.value === VALUE)
        conserved(w)
        const second = w.ledger.cash(renewal, m.id)
        assert.ok(second.status === 'paid')
        assert.deepEqual([second.from, second.culprit, second.value], ['compensation', h.id, VALUE])
        // the holder's gain went to the minter: the minter is paid, the cheater is not
        assert.deepEqual([bal(w, h) - hBefore, bal(w, m) - mBefore], [0, VALUE])
        const f = [...w.ledger.t.frauds.values()]
        assert.deepEqual(
          f.map(x => [x.kind, x.culprit, x.depth]),
          [['cash-after-spend', h.id, MAX + 1]]
        )
        // the proof stands on its own: both chains verify, one past the other at the renewal depth
        const c = checkFraudProof(f[0].proof, { certs: w.ledger.lookup, now: T0, maxLayers: MAX })
        assert.deepEqual([c.culprit, c.depth], [h.id, MAX + 1])
      } else {
        assert.equal(w.ledger.cash(renewal, m.id).status, 'paid')
        assert.throws(
          () => w.ledger.cash(kept, h.id),
          (e: any) => e.code === ErrorCode.FRAUD
        )
        assert.deepEqual([bal(w, h) - hBefore, bal(w, m) - mBefore], [0, VALUE])
      }
      conserved(w)
    })
  }
})
