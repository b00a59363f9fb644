// Epoch coordinators and their signed factors: who coordinates an epoch (the
// peers closest to a key, with the bank-set rules) and what a factor may say.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { bankSet, closestToKey, epochKeyBytes, kadIdOfKey, kadIdOfPeer, xorCompare } from '../src/core/bankset.ts'
import { makeFactor, openFactor } from '../src/core/epoch-messages.ts'
import { seal, TAG } from '../src/core/messages.ts'
import { KIND } from '../src/kinds.ts'
import { idents, verifier, throwsCode } from './fixtures.ts'

describe('closestToKey', () => {
  it('ranks by XOR distance to sha256(key), ignores order and duplicates, skips non-peer ids', async () => {
    const ids = (await idents(12)).map(p => p.id)
    const key = epochKeyBytes(3)
    const set = closestToKey(key, [...ids, ids[0], 'not-a-peer'], 5)
    assert.equal(set.length, 5)
    assert.deepEqual(closestToKey(key, [...ids].reverse(), 5), set)
    const target = kadIdOfKey(key)
    const sorted = [...ids].sort((a, b) => xorCompare(target, kadIdOfPeer(a), kadIdOfPeer(b)))
    assert.deepEqual(set, sorted.slice(0, 5))
    // another epoch, another neighbourhood (with 12 peers the two sets differ with overwhelming probability)
    assert.notDeepEqual(closestToKey(epochKeyBytes(4), ids, 5), set)
    throwsCode(() => closestToKey(key, ids, 0), ErrorCode.BAD_REQUEST)
  })

  it("bankSet is closestToKey over the account's key without the account", async () => {
    const ids = (await idents(10)).map(p => p.id)
    const a = ids[0]
    const set = bankSet(a, ids, 4)
    assert.ok(!set.includes(a))
    assert.deepEqual(set, closestToKey(new TextEncoder().encode('karma|' + a), ids.slice(1), 4))
  })
})

describe('epoch factor', () => {
  it('binds the coordinator, the epoch, the attempt and the factor', async () => {
    const [c, other] = await idents(2)
    const f = makeFactor(c.signer, { epoch: 7, attempt: 2, num: 7, den: 8, reports: 12 })
    const o = openFactor(verifier, f.b64, 7, 2)
    assert.deepEqual(o.body, { member: c.id, epoch: 7, attempt: 2, num: 7, den: 8, reports: 12 })
    throwsCode(() => openFactor(verifier, f.b64, 8, 2), ErrorCode.STALE_SEQ)
    throwsCode(() => openFactor(verifier, f.b64, 7, 3), ErrorCode.STALE_SEQ)
    // a factor signed by one peer in another's name
    const forged = seal(
      other.signer,
      TAG.factor,
      { member: c.id, epoch: 7, attempt: 2, num: 1, den: 1, reports: 1 },
      KIND.epoch
    )
    throwsCode(() => openFactor(verifier, forged.b64, 7, 2), ErrorCode.WRONG_SIGNER)
    throwsCode(() => makeFactor(c.signer, { epoch: 7, attempt: 0, num: 0, den: 1, reports: 0 }), ErrorCode.BAD_REQUEST)
    throwsCode(
      () => makeFactor(c.signer, { epoch: 7, attempt: 0, num: 1, den: 2 ** 33, reports: 0 }),
      ErrorCode.BAD_REQUEST
    )
  })
})
