// Two rules of bank(B)'s vote count that nothing else pins down: a late notice
// is answered unchecked only when the request it carries is the credited one,
// and a credit needs a majority of bank(A) as the member computes it now, not
// of every member that ever voted.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { KIND } from '../src/kinds.ts'
import { noticeOf, seal, TAG } from '../src/core/messages.ts'
import { byId, duties, joinedPair } from './fixtures.ts'

describe('late notices', () => {
  it(
    'a lying member of bank(A) whose late notice carries other request bytes under the credited hash ' +
      'is not answered as late: the lie is recorded and the books do not change',
    async () => {
      const { w, A, B } = await joinedPair()
      const bankA = w.bank(A.id)
      const bankB = w.bank(B.id)
      const req = w.request(A, B.id, 30)
      const notices = bankA.map(m => w.member(m).debit(req.b64, bankA).notice)
      const d = duties(w, bankB[0])
      for (const n of notices.slice(0, 3)) await d.credits.notice(n)
      const m = w.member(bankB[0])
      assert.equal(m.t.credits.get(req.hash)?.status, 'credited')
      // A signed a second request with the same fields but another time; the liar puts its bytes under req's hash:
      // every field the late path compares matches the credit, only the request bytes differ
      w.clock.advance(1000)
      const other = w.request(A, B.id, 30, { nonce: req.body.nonce })
      assert.notEqual(other.hash, req.hash)
      const liar = byId(w, bankA[3])
      const lie = seal(liar.signer, TAG.notice, noticeOf(liar.id, req.body, req.hash, other.b64), KIND.transfer).b64
      const books = JSON.stringify([m.account(B.id), m.t.credits.get(req.hash)])
      assert.equal(m.lateNotice(lie), undefined)
      const out = await d.credits.notice(lie)
      assert.deepEqual([out.status, out.status === 'ignored' && out.reason], ['ignored', 'mismatch'])
      assert.deepEqual(
        d.caughtList().map(c => c.member),
        [liar.id]
      )
      assert.equal(JSON.stringify([m.account(B.id), m.t.credits.get(req.hash)]), books)
      assert.equal(m.account(B.id)?.balance, 1030)
    }
  )
})

describe('vote counts', () => {
  it(
    'votes from members that left bank(A) (as the counting member computes it now) do not count: ' +
      'a bank that changed under a count credits only on a majority of its current members',
    async () => {
      const { w, A, B } = await joinedPair()
      const bankA = w.bank(A.id)
      const bankB = w.bank(B.id)
      const req = w.request(A, B.id, 40)
      const notices = bankA.map(m => w.member(m).debit(req.b64, bankA).notice)
      const m = w.member(bankB[0])
      // two votes counted while bankA[0] and bankA[1] were members
      for (const n of notices.slice(0, 2)) assert.equal(m.receiveNotice(n, bankA, bankB).status, 'counted')
      // then the view changes: two other peers replace them
      const others = w.ids.filter(id => id !== A.id && !bankA.includes(id)).slice(0, 2)
      const now = [...bankA.slice(2), ...others]
      const third = m.receiveNotice(notices[2], now, bankB)
      assert.equal(third.status, 'counted')
      assert.equal(third.status === 'counted' && third.votes, 1)
      assert.equal(m.account(B.id)?.balance, 1000)
      // two more current members make the majority
      assert.equal(m.receiveNotice(notices[3], now, bankB).status, 'counted')
      assert.equal(m.receiveNotice(notices[4], now, bankB).status, 'credited')
      assert.equal(m.account(B.id)?.balance, 1040)
    }
  )
})
