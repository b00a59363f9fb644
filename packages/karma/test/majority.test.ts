// Majority over a bank-set: strict majority of distinct members, equivocators
// and non-members without a vote, values compared canonically.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { majority, majorityValue } from '../src/core/majority.ts'

const a = (
  signer: string,
  balance: number,
  extra: Record<string, unknown> = {}
): { signer: string; body: { balance: number } } => ({ signer, body: { balance, ...extra } })
const M = ['m1', 'm2', 'm3', 'm4', 'm5']
const bal = (b: { balance: number }): { balance: number } => ({ balance: b.balance })

describe('majority', () => {
  it('is floor(k/2) + 1', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(majority), [1, 2, 2, 3, 3, 4, 4])
    assert.throws(() => majority(0), RangeError)
  })

  it('majorityValue: the value of a strict majority of distinct members, else undefined', () => {
    assert.deepEqual(majorityValue([a('m1', 5), a('m2', 5), a('m3', 5), a('m4', 6)], M, bal), {
      value: { balance: 5 },
      voters: ['m1', 'm2', 'm3']
    })
    assert.equal(majorityValue([a('m1', 5), a('m2', 5), a('m4', 6)], M, bal), undefined)
    // one member answering three times is one vote
    assert.equal(majorityValue([a('m1', 5), a('m1', 5), a('m1', 5)], M, bal), undefined)
    // non-members do not count
    assert.equal(majorityValue([a('m1', 5), a('x', 5), a('y', 5)], M, bal), undefined)
  })

  it('a member that reported two values has no vote, whatever the order', () => {
    const answers = [a('m1', 5), a('m2', 5), a('m3', 5), a('m3', 7)]
    assert.equal(majorityValue(answers, M, bal), undefined)
    assert.equal(majorityValue([...answers].reverse(), M, bal), undefined)
  })

  it('compares only what valueOf picks, canonically; k can be fixed above the set size', () => {
    const answers = [a('m1', 5, { challenge: 'x' }), a('m2', 5, { challenge: 'y' }), a('m3', 5, { challenge: 'z' })]
    assert.deepEqual(majorityValue(answers, M, bal)?.value, { balance: 5 })
    assert.equal(
      majorityValue(answers, M, b => b),
      undefined
    )
    assert.deepEqual(majorityValue(answers.slice(0, 2), ['m1', 'm2', 'm3'], bal)?.voters, ['m1', 'm2'])
    assert.equal(majorityValue(answers.slice(0, 2), ['m1', 'm2', 'm3'], bal, 5), undefined)
  })
})
