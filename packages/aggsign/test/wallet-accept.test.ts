// What a payee refuses: coins paid to someone else, tampered coins, foreign
// certificates, and a coin it holds or spent arriving on another chain (the
// cheater named); a coin that comes back around is taken.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { rejects, throwsCode } from '@p2pay/test-utils'
import { addLayer } from '../src/core/coin.ts'
import { world } from './ledger-fixtures.ts'
import { party, pay } from './wallet-fixtures.ts'

describe('wallet accept', () => {
  it('refuses a coin paid to another, a tampered coin, a certificate of another broker: nothing changes', async () => {
    const w = await world()
    const [x, y, z] = [await party(w, 100), await party(w), await party(w)]
    const { id } = x.wallet.mint(10)
    x.wallet.learnCertificates([y.cert])
    const { coin } = x.wallet.pay(id, y.certHash)
    const certs = x.wallet.certificatesOf(coin)
    rejects(z.wallet.t, () => z.wallet.accept(coin, certs), ErrorCode.WRONG_HOLDER)
    rejects(
      y.wallet.t,
      () => y.wallet.accept({ ...coin, sig: x.wallet.mint(10).coin.sig }, certs),
      ErrorCode.BAD_SIGNATURE
    )
    const other = await world()
    const foreign = await party(other)
    rejects(y.wallet.t, () => y.wallet.accept(coin, [foreign.cert]), ErrorCode.WRONG_BROKER)
    throwsCode(() => y.wallet.addCertificate(z.cert), ErrorCode.WRONG_OWNER)
    assert.equal(y.wallet.accept(coin, certs).duplicate, false)
    const before = JSON.stringify([...y.wallet.t.held.entries()])
    assert.equal(y.wallet.accept(coin, certs).duplicate, true)
    assert.equal(JSON.stringify([...y.wallet.t.held.entries()]), before)
  })

  it('a coin this wallet spent comes back around: taken', async () => {
    const w = await world()
    const [x, y, z] = [await party(w, 100), await party(w), await party(w)]
    const { id } = x.wallet.mint(10)
    pay(x, y, id)
    pay(y, z, id)
    const back = pay(z, y, id)
    assert.deepEqual([back.depth, back.duplicate], [3, false])
    assert.equal(y.wallet.balance(), 10)
    // the payment that first brought it to y, sent again: y already had it
    const first = x.wallet.t.held.get(id)!.coin
    rejects(y.wallet.t, () => y.wallet.accept(first, x.wallet.certificatesOf(first)), ErrorCode.REPLAY)
  })

  it('a coin this wallet holds, arriving on another chain: FRAUD naming the holder that signed both', async () => {
    const w = await world()
    const [x, y, z, v] = [await party(w, 100), await party(w), await party(w), await party(w)]
    const { id } = x.wallet.mint(10)
    pay(x, y, id)
    const atY = x.wallet.t.held.get(id)!.coin
    pay(y, z, id)
    // y signs layer 2 again, to v, with its own key: v has not seen the coin and takes it
    y.wallet.learnCertificates([v.cert])
    const toV = addLayer(atY, Buffer.from(y.wallet.key().sk, 'base64'), y.wallet.lookup(v.certHash)!, 8)
    assert.equal(v.wallet.accept(toV, y.wallet.certificatesOf(toV)).duplicate, false)
    v.wallet.learnCertificates([z.cert])
    const { coin } = v.wallet.pay(id, z.certHash)
    const e = rejects(z.wallet.t, () => z.wallet.accept(coin, v.wallet.certificatesOf(coin)), ErrorCode.FRAUD)
    assert.deepEqual([e.details?.culprit, e.details?.depth, e.details?.kind], [y.id, 2, 'double-spend'])
  })
})
