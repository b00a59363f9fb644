// The holder's side: certify, mint, pay and accept along a chain, cash at the
// broker; per payment one message, one signature made, and two verified (the
// aggregate and a certificate not seen before) falling to one once cached.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { rejects } from '@p2pay/test-utils'
import { AggsignErrorCode } from '../src/errors.ts'
import { T0, CERT_TTL, COIN_TTL } from './fixtures.ts'
import { bal, conserved, world } from './ledger-fixtures.ts'
import { party, pay } from './wallet-fixtures.ts'

describe('wallet', () => {
  it('mints, pays along four holders, the last cashes; counts per payment', async () => {
    const w = await world()
    const [x, y, z, v] = [await party(w, 100), await party(w), await party(w), await party(w)]
    const { id, counts } = x.wallet.mint(40)
    assert.deepEqual(counts, { messages: 0, signed: 1, verified: 0 })
    assert.equal(x.wallet.balance(), 40)
    const r1 = pay(x, y, id)
    // the minter's certificate is new to y: the aggregate and one certificate
    assert.deepEqual([r1.depth, r1.duplicate, r1.counts.verified], [1, false, 2])
    assert.deepEqual([x.wallet.balance(), y.wallet.balance()], [0, 40])
    y.wallet.learnCertificates([z.cert])
    const paid = y.wallet.pay(id, z.certHash)
    assert.deepEqual(paid.counts, { messages: 1, signed: 1, verified: 0 })
    const r2 = z.wallet.accept(paid.coin, y.wallet.certificatesOf(paid.coin))
    // x's and y's certificates are new to z
    assert.equal(r2.counts.verified, 3)
    const r3 = pay(z, v, id)
    assert.equal(r3.depth, 3)
    const coin = v.wallet.t.held.get(id)!.coin
    const cashed = w.ledger.cash(coin, v.id)
    assert.equal(cashed.status, 'paid')
    v.wallet.cashed(id)
    assert.deepEqual([v.wallet.balance(), bal(w, v)], [0, 40])
    conserved(w)
  })

  it('a payee that knows every certificate verifies one aggregate only', async () => {
    const w = await world()
    const [x, y] = [await party(w, 100), await party(w)]
    pay(x, y, x.wallet.mint(5).id)
    assert.equal(pay(x, y, x.wallet.mint(5).id).counts.verified, 1)
  })

  it('mint refuses, changing nothing: past the limit, no certificate, bad value, past the certificate', async () => {
    const w = await world()
    const x = await party(w, 50)
    x.wallet.mint(30)
    rejects(x.wallet.t, () => x.wallet.mint(21), AggsignErrorCode.OVER_LIMIT)
    rejects(x.wallet.t, () => x.wallet.mint(0), ErrorCode.BAD_REQUEST)
    rejects(x.wallet.t, () => x.wallet.mint(5, T0 + CERT_TTL + 1), ErrorCode.BAD_REQUEST)
    const y = await party(w)
    rejects(y.wallet.t, () => y.wallet.mint(1), AggsignErrorCode.OVER_LIMIT)
    w.clock.t = T0 + CERT_TTL
    rejects(x.wallet.t, () => x.wallet.mint(5), ErrorCode.EXPIRED)
    assert.equal(x.wallet.t.key.get('key')!.nextSerial, 1)
  })

  it('pay refuses, changing nothing: unknown coin, spent coin, unknown payee, ninth layer, expired', async () => {
    const w = await world()
    const ps = [await party(w, 100)]
    for (let i = 0; i < 9; i++) ps.push(await party(w))
    const { id } = ps[0].wallet.mint(10, T0 + COIN_TTL)
    const t0 = ps[0].wallet.t
    rejects(t0, () => ps[0].wallet.pay('f'.repeat(64), ps[1].certHash), AggsignErrorCode.NO_SUCH_COIN)
    rejects(t0, () => ps[0].wallet.pay(id, ps[1].certHash), AggsignErrorCode.UNKNOWN_CERT)
    rejects(t0, () => ps[0].wallet.pay(id, ps[0].certHash), ErrorCode.BAD_REQUEST)
    for (let i = 0; i < 8; i++) pay(ps[i], ps[i + 1], id)
    rejects(t0, () => ps[0].wallet.pay(id, ps[1].certHash), ErrorCode.WRONG_HOLDER)
    const last = ps[8].wallet
    last.learnCertificates([ps[9].cert])
    rejects(last.t, () => last.pay(id, ps[9].certHash), AggsignErrorCode.LAYER_LIMIT)
    const { id: id2 } = ps[0].wallet.mint(10, T0 + COIN_TTL)
    w.clock.advance(COIN_TTL + 1)
    rejects(t0, () => ps[0].wallet.pay(id2, ps[1].certHash), ErrorCode.EXPIRED)
  })
})
