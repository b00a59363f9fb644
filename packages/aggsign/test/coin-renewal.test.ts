// The renewal layer at the coin level: one layer past the limit, at depth
// max + 1, and only back to the coin's minter (its peer and the mint's
// certificate); any other layer past the limit is LAYER_LIMIT.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { throwsCode } from '@p2pay/test-utils'
import { addLayer, addRenewalLayer, verifyCoin } from '../src/core/coin.ts'
import { AggsignErrorCode } from '../src/errors.ts'
import { MAX_LAYERS, cast, certify, chainCoin, opts, peer } from './fixtures.ts'

describe('renewal layer', () => {
  it('is taken at depth max + 1 to the minter, and only there', async () => {
    const { broker, certs, hops } = await cast(MAX_LAYERS)
    const full = chainCoin(hops, 7)
    assert.equal(full.layers.length, MAX_LAYERS)
    const [minter, holder] = [hops[0], hops[MAX_LAYERS]]
    const renewed = addRenewalLayer(full, holder.bls.secretKey, minter.cert, MAX_LAYERS)
    const c = verifyCoin(renewed, opts(certs))
    assert.deepEqual([c.depth, c.renewal, c.holder.peer], [MAX_LAYERS + 1, true, minter.id])
    assert.equal(verifyCoin(full, opts(certs)).renewal, false)

    // past the limit to anyone else: refused by the verifier, whatever signed it
    const other = hops[3]
    const toOther = addLayer(full, holder.bls.secretKey, other.cert, MAX_LAYERS + 1)
    throwsCode(() => verifyCoin(toOther, opts(certs)), AggsignErrorCode.LAYER_LIMIT)
    // the minter's peer under another certificate is not the minter of this coin
    const second = certs.add(certify(broker, await peer().then(p => ({ ...p, id: minter.id })), 0))
    const toSecond = addLayer(full, holder.bls.secretKey, second, MAX_LAYERS + 1)
    throwsCode(() => verifyCoin(toSecond, opts(certs)), AggsignErrorCode.LAYER_LIMIT)
    // one layer past the renewal layer
    const beyond = addLayer(renewed, minter.bls.secretKey, other.cert, MAX_LAYERS + 2)
    throwsCode(() => verifyCoin(beyond, opts(certs)), AggsignErrorCode.LAYER_LIMIT)
    // a verifier with a higher limit reads the same coin as an ordinary payment
    assert.equal(verifyCoin(toOther, opts(certs, undefined, MAX_LAYERS + 1)).renewal, false)
  })

  it('is written only at the limit and only to the minter', async () => {
    const { certs, hops } = await cast(MAX_LAYERS)
    const short = chainCoin(hops.slice(0, 4), 7)
    throwsCode(
      () => addRenewalLayer(short, hops[3].bls.secretKey, hops[0].cert, MAX_LAYERS),
      AggsignErrorCode.LAYER_LIMIT
    )
    const full = chainCoin(hops, 7)
    throwsCode(() => addRenewalLayer(full, hops[8].bls.secretKey, hops[2].cert, MAX_LAYERS), ErrorCode.BAD_REQUEST)
    throwsCode(() => addLayer(full, hops[8].bls.secretKey, hops[0].cert, MAX_LAYERS), AggsignErrorCode.LAYER_LIMIT)
    // paying the minter before the limit is an ordinary layer
    const back = addLayer(short, hops[3].bls.secretKey, hops[0].cert, MAX_LAYERS)
    assert.equal(verifyCoin(back, opts(certs)).renewal, false)
  })
})
