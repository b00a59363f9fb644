// Who a balance reader names a liar. A credit changes a balance without
// changing the nonce, so a member not yet told of one answers another balance
// at the same nonce and epoch: that is lag, and must convict no one. What does
// convict is another balance for the same nonce, epoch and history (the same
// debits and credits, applied in the same epochs) as a majority member's.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { contradicted } from '../src/core/account.ts'
import { makeBalance, openBalance } from '../src/core/state-messages.ts'
import { addEvent, rowWithEvent } from '../src/core/history.ts'
import { net, disjointPair, ident, verifier, INITIAL } from './fixtures.ts'

describe('a balance answer that differs from the majority', () => {
  it('from a member not yet told of a credit (same nonce and epoch, another history): not named', async () => {
    const w = await net()
    const [A, B] = disjointPair(w)
    w.join(A)
    w.join(B)
    const bankB = w.bank(B.id)
    const late = bankB[0]
    // the credit reaches every member of bank(B) but one
    const req = w.request(A, B.id, 30)
    w.deliver(w.debit(req), A.id, B.id, bankB.slice(1))
    assert.deepEqual(w.balances(B.id), [INITIAL, ...Array(bankB.length - 1).fill(INITIAL + 30)])
    const reader = await ident()
    const answers = bankB.map(m => {
      const b64 = w.member(m).balanceOf(B.id, reader.id, 'challenge-1')
      return { m, body: openBalance(verifier, b64, { account: B.id, asker: reader.id, challenge: 'challenge-1' }).body }
    })
    const behind = answers.find(a => a.m === late)!.body
    const majority = answers.filter(a => a.m !== late).map(a => a.body)
    assert.equal(behind.nonce, majority[0].nonce, 'a credit leaves the nonce as it was')
    assert.equal(behind.epoch, majority[0].epoch)
    assert.notEqual(behind.balance, majority[0].balance)
    assert.notEqual(behind.history, majority[0].history, 'the missed credit shows in the history')
    assert.equal(contradicted(behind, majority), undefined)
    // every member that applied the same events holds the same history
    assert.equal(new Set(majority.map(b => b.history)).size, 1)
    // once told, the late member agrees, history included
    w.deliver(w.debit(req), A.id, B.id, [late])
    const now = openBalance(verifier, w.member(late).balanceOf(B.id, reader.id, 'challenge-2'), {
      account: B.id,
      asker: reader.id,
      challenge: 'challenge-2'
    }).body
    assert.equal(now.balance, majority[0].balance)
    assert.equal(now.history, majority[0].history)
  })

  it('a lying member (another balance, same history): named, with the majority answer it contradicts', async () => {
    const w = await net()
    const [A, B] = disjointPair(w)
    w.join(A)
    w.join(B)
    w.transfer(A, B, 30)
    const bankB = w.bank(B.id)
    const reader = await ident()
    const honest = bankB.map(m => {
      const b64 = w.member(m).balanceOf(B.id, reader.id, 'challenge-3')
      return openBalance(verifier, b64, { account: B.id, asker: reader.id, challenge: 'challenge-3' }).body
    })
    const liar = honest[0]
    const lie = makeBalance(w.member(liar.member).signer, {
      account: B.id,
      balance: liar.balance + 1000,
      nonce: liar.nonce,
      epoch: liar.epoch,
      asker: reader.id,
      challenge: 'challenge-3',
      history: liar.history
    }).body
    assert.equal(contradicted(lie, honest.slice(1))?.member, honest[1].member)
    // the same lie from a row without a history (adopted from an old bank's state) proves nothing
    assert.equal(contradicted({ ...lie, history: undefined }, honest.slice(1)), undefined)
  })

  it('the history is the same whatever the order of credits, and differs with the epoch they were applied in', () => {
    const [h1, h2] = ['a'.repeat(64), 'b'.repeat(64)]
    const start = rowWithEvent(undefined, 'join', 'peer', 0)
    const ab = addEvent(addEvent(start, 'credit', h1, 0), 'credit', h2, 0)
    const ba = addEvent(addEvent(start, 'credit', h2, 0), 'credit', h1, 0)
    assert.equal(ab, ba)
    assert.notEqual(addEvent(addEvent(start, 'credit', h1, 1), 'credit', h2, 0), ab)
    assert.equal(addEvent(undefined, 'credit', h1, 0), undefined)
  })
})

describe('who a reader names', () => {
  it(
    'a member behind or ahead of the majority (another nonce or history) is not ' +
      'named; another balance for the same nonce, epoch and history is a lie',
    () => {
      const h = 'c'.repeat(64)
      const maj = [{ balance: 970, nonce: 3, epoch: 0, history: h }]
      assert.equal(contradicted({ balance: 1000, nonce: 2, epoch: 0, history: 'd'.repeat(64) }, maj), undefined)
      assert.equal(contradicted({ balance: 940, nonce: 4, epoch: 0, history: 'e'.repeat(64) }, maj), undefined)
      assert.equal(contradicted({ balance: 1000, nonce: 3, epoch: 0, history: 'f'.repeat(64) }, maj), undefined)
      assert.equal(contradicted({ balance: 1970, nonce: 3, epoch: 0, history: h }, maj), maj[0])
      assert.equal(contradicted({ balance: 1970, nonce: 3, epoch: 0 }, maj), undefined)
    }
  )
})
