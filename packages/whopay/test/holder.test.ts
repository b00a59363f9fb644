// Holder requests: a coin key signs, the group signature covers HOLDER_DOMAIN | the envelope bytes, and opening
// checks the coin-key signature against the bytes received (a flipped byte anywhere is refused).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64, toB64, utf8, concat } from '@p2pay/core'
import { throwsCode } from '@p2pay/test-utils'
import { coinKeyFromSeed, newCoinKey, openHolder, publicKeyOfSeed } from '../src/core/holder.ts'
import { HOLDER_DOMAIN, TAG, holderDigest } from '../src/core/messages.ts'
import { groupVerify, member, request, verifier } from './core-fixtures.ts'
import { keyOfPeerId } from '@p2pay/core'

const alice = member()

describe('coin keys', () => {
  it('derive the same id from the same seed, and a peer id whose key is the public half', () => {
    const k = newCoinKey()
    assert.equal(coinKeyFromSeed(k.seed).id, k.id)
    assert.deepEqual(keyOfPeerId(k.id), publicKeyOfSeed(k.seed))
    assert.notEqual(newCoinKey().id, k.id)
    throwsCode(() => publicKeyOfSeed(new Uint8Array(31)), ErrorCode.BAD_REQUEST)
  })
})

describe('holder requests', () => {
  const key = newCoinKey()
  const to = newCoinKey().id
  const at = { coin: key.id, gen: 0, seq: 0 }

  it('open to their body, signer and digest; the group signature verifies over the digest', () => {
    const s = request(key, alice, TAG.transfer, at, to)
    const o = openHolder(verifier, s, [TAG.transfer], 'whopay-transfer')
    assert.equal(o.holder, key.id)
    assert.equal(o.tag, TAG.transfer)
    assert.deepEqual(o.body, { ...at, to, at: o.body.at })
    assert.deepEqual(o.digest, concat([utf8(HOLDER_DOMAIN), fromB64(s.env)]))
    assert.deepEqual(o.digest, holderDigest(o.env))
    assert.ok(groupVerify(o.digest, o.group))
    // the group signature is bound to the envelope: another request's digest does not verify
    const other = openHolder(
      verifier,
      request(key, alice, TAG.transfer, at, newCoinKey().id),
      TAG.transfer,
      'whopay-transfer'
    )
    assert.ok(!groupVerify(other.digest, o.group))
  })

  it('refuses a flipped byte anywhere in the envelope, another tag, a short group signature, extra fields', () => {
    const s = request(key, alice, TAG.transfer, at, to)
    const env = fromB64(s.env)
    for (let i = 0; i < env.byteLength; i += 7) {
      const bad = env.slice()
      bad[i] ^= 1
      assert.throws(() => openHolder(verifier, { ...s, env: toB64(bad) }, TAG.transfer, 'whopay-transfer'))
    }
    const body = env.slice()
    body[body.byteLength - 70] ^= 1
    throwsCode(
      () => openHolder(verifier, { ...s, env: toB64(body) }, TAG.transfer, 'whopay-transfer'),
      ErrorCode.BAD_SIGNATURE
    )
    throwsCode(() => openHolder(verifier, s, [TAG.deposit], 'whopay-deposit'), ErrorCode.WRONG_TAG)
    const shortSig = toB64(fromB64(s.group).subarray(0, 300))
    throwsCode(
      () => openHolder(verifier, { ...s, group: shortSig }, TAG.transfer, 'whopay-transfer'),
      ErrorCode.BAD_REQUEST
    )
    throwsCode(() => openHolder(verifier, { ...s, x: 1 }, TAG.transfer, 'whopay-transfer'), ErrorCode.BAD_REQUEST)
    throwsCode(() => openHolder(verifier, { env: s.env }, TAG.transfer, 'whopay-transfer'), ErrorCode.BAD_REQUEST)
  })

  it('a flipped group signature byte opens (the coin key is fine) but fails the group check', () => {
    const s = request(key, alice, TAG.deposit, at, newCoinKey().id)
    const g = fromB64(s.group)
    g[200] ^= 1
    const o = openHolder(verifier, { ...s, group: toB64(g) }, TAG.deposit, 'whopay-deposit')
    assert.ok(!groupVerify(o.digest, o.group))
  })
})
