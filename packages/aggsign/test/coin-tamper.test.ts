// Tampering with a coin's aggregate: whatever is dropped, moved, changed or
// spliced in, the coin no longer verifies.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, toB64 } from '@p2pay/core'
import { throwsCode } from '@p2pay/test-utils'
import { aggregate, sign } from '../src/core/bls.ts'
import { layerMessage, type WireCoin } from '../src/core/messages.ts'
import { cast, chainCoin, verified } from './fixtures.ts'
import { g2Point } from './bls-points.ts'

const withLayers = (c: WireCoin, layers: WireCoin['layers']): WireCoin => ({ ...c, layers })

describe('coin tampering', async () => {
  const { certs, hops } = await cast(5)
  const coin = chainCoin(hops, 10)
  const other = chainCoin(hops, 10, 2)

  it('the untouched coins verify', () => {
    assert.equal(verified(coin, certs).depth, 5)
    assert.equal(verified(other, certs).depth, 5)
  })

  it('a layer dropped: in the middle the chain breaks, at the top the aggregate fails', () => {
    throwsCode(
      () => verified(withLayers(coin, [...coin.layers.slice(0, 2), ...coin.layers.slice(3)]), certs),
      ErrorCode.BAD_REQUEST
    )
    throwsCode(() => verified(withLayers(coin, coin.layers.slice(0, 4)), certs), ErrorCode.BAD_SIGNATURE)
  })

  it('two layers reordered', () => {
    const l = coin.layers
    throwsCode(() => verified(withLayers(coin, [l[0], l[2], l[1], l[3], l[4]]), certs), ErrorCode.BAD_REQUEST)
  })

  it("a layer's body changed (payee switched to another certified peer, fields kept consistent)", () => {
    const l = [...coin.layers]
    l[4] = { ...l[4], toPeer: hops[1].id, toKey: hops[1].cert.key, toCert: hops[1].cert.hash }
    throwsCode(() => verified(withLayers(coin, l), certs), ErrorCode.BAD_SIGNATURE)
  })

  it("the mint's value changed: the layers name another coin; with no layers the aggregate fails", () => {
    throwsCode(() => verified({ ...coin, mint: { ...coin.mint, value: 11 } }, certs), ErrorCode.BAD_REQUEST)
    const bare = chainCoin(hops.slice(0, 1), 10)
    throwsCode(() => verified({ ...bare, mint: { ...bare.mint, value: 11 } }, certs), ErrorCode.BAD_SIGNATURE)
  })

  it("another coin's layer spliced in", () => {
    const l = [...coin.layers]
    l[2] = other.layers[2]
    throwsCode(() => verified(withLayers(coin, l), certs), ErrorCode.BAD_REQUEST)
  })

  it('the signature of another coin', () => {
    throwsCode(() => verified({ ...coin, sig: other.sig }, certs), ErrorCode.BAD_SIGNATURE)
  })

  it('a layer forged by its payee (signed with the payee key, not the holder below)', () => {
    const top = { ...coin.layers[4], toPeer: hops[1].id, toKey: hops[1].cert.key, toCert: hops[1].cert.hash }
    const below = chainCoin(hops.slice(0, 5), 10)
    const forged = sign(hops[5].bls.secretKey, layerMessage(top))
    const sig = toB64(aggregate([Buffer.from(below.sig, 'base64'), forged]))
    throwsCode(() => verified({ ...coin, layers: [...below.layers, top], sig }, certs), ErrorCode.BAD_SIGNATURE)
  })

  it('a signature outside the subgroup is refused before any pairing', () => {
    throwsCode(() => verified({ ...coin, sig: toB64(g2Point(7n)) }, certs), ErrorCode.BAD_REQUEST)
  })
})
