// Coins that verify, and the checks of a coin's chain before its signature:
// layer limit, unknown certificates, value and expiry against the certificate.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { throwsCode } from '@p2pay/test-utils'
import { AggsignErrorCode } from '../src/errors.ts'
import { addLayer, mintCoin, verifyCoin } from '../src/core/coin.ts'
import { SIGNATURE_BYTES } from '../src/core/bls.ts'
import { CERT_TTL, COIN_TTL, T0, Certs, cast, certify, chainCoin, opts, payOn, verified } from './fixtures.ts'

describe('coin verification', () => {
  it('a coin minted and paid along 8 holders verifies with one aggregate signature', async () => {
    const { certs, hops } = await cast(8)
    const coin = chainCoin(hops, 10)
    const info = verified(coin, certs)
    assert.equal(info.depth, 8)
    assert.equal(info.holder.peer, hops[8].id)
    assert.deepEqual(
      info.holders.map(c => c.peer),
      hops.map(h => h.id)
    )
    assert.equal(new Set(info.hashes).size, 9)
    assert.equal(Buffer.from(coin.sig, 'base64').byteLength, SIGNATURE_BYTES)
    assert.equal(info.id, info.coin.layers[0].coin)
  })

  it('an unpaid coin verifies as its minter holds it', async () => {
    const { certs, hops } = await cast(1)
    const info = verified(chainCoin(hops.slice(0, 1), 7), certs)
    assert.equal(info.depth, 0)
    assert.equal(info.holder.peer, hops[0].id)
  })

  it('a ninth layer is refused with LAYER_LIMIT, to add and to verify', async () => {
    const { certs, hops } = await cast(9)
    const eight = chainCoin(hops.slice(0, 9), 10)
    throwsCode(() => payOn(eight, hops[8], hops[9]), AggsignErrorCode.LAYER_LIMIT)
    const nine = chainCoin(hops, 10, 1, T0 + COIN_TTL, 9)
    throwsCode(() => verified(nine, certs), AggsignErrorCode.LAYER_LIMIT)
    assert.equal(verifyCoin(nine, opts(certs, T0, 9)).depth, 9)
  })

  it('refuses a coin naming an unknown certificate, at the mint or at a layer', async () => {
    const { broker, certs, hops } = await cast(2)
    const stranger = certify(broker, hops[2], 0)
    const coin = payOn(chainCoin(hops.slice(0, 2), 5), hops[1], { ...hops[2], cert: stranger })
    const e = throwsCode(() => verified(coin, certs), AggsignErrorCode.UNKNOWN_CERT)
    assert.equal(e.details?.cert, stranger.hash)
    throwsCode(() => verified(chainCoin(hops.slice(0, 1), 5), new Certs()), AggsignErrorCode.UNKNOWN_CERT)
  })

  it("refuses a value past the minter's limit, and a key that only receives cannot mint", async () => {
    const { certs, hops } = await cast(1, 50)
    throwsCode(() => verified(chainCoin(hops, 51), certs), AggsignErrorCode.OVER_LIMIT)
    const byReceiver = mintCoin(hops[1].bls.secretKey, { cert: hops[1].cert.hash, serial: 1, value: 1, expiry: T0 })
    throwsCode(() => verified(byReceiver, certs), AggsignErrorCode.OVER_LIMIT)
  })

  it("refuses a coin that outlives its minter's certificate, and an expired coin unless told", async () => {
    const { certs, hops } = await cast(1)
    throwsCode(() => verified(chainCoin(hops, 5, 1, T0 + CERT_TTL + 1), certs), ErrorCode.BAD_REQUEST)
    const coin = chainCoin(hops, 5)
    throwsCode(() => verified(coin, certs, T0 + COIN_TTL + 1), ErrorCode.EXPIRED)
    assert.equal(verifyCoin(coin, { ...opts(certs, T0 + COIN_TTL + 1), allowExpired: true }).depth, 1)
  })

  it("refuses a layer whose key is not the one its certificate binds (the payee's key swapped)", async () => {
    const { certs, hops } = await cast(2)
    const coin = chainCoin(hops, 5)
    const other = { ...coin, layers: [coin.layers[0], { ...coin.layers[1], toKey: hops[1].cert.key }] }
    throwsCode(() => verified(other, certs), ErrorCode.BAD_REQUEST)
    const wrongPeer = { ...coin, layers: [coin.layers[0], { ...coin.layers[1], toPeer: hops[1].id }] }
    throwsCode(() => verified(wrongPeer, certs), ErrorCode.BAD_REQUEST)
  })

  it('refuses malformed coins as BAD_REQUEST', async () => {
    const { certs, hops } = await cast(1)
    const coin = chainCoin(hops, 5)
    for (const bad of [null, [], { ...coin, extra: 1 }, { ...coin, layers: {} }, { ...coin, sig: 'AAAA' }])
      throwsCode(() => verified(bad as any, certs), ErrorCode.BAD_REQUEST)
    throwsCode(() => verified({ ...coin, mint: { ...coin.mint, value: 0 } }, certs), ErrorCode.BAD_REQUEST)
    throwsCode(() => addLayer(coin, hops[0].bls.secretKey.subarray(1), hops[1].cert, 8), ErrorCode.BAD_REQUEST)
  })
})
