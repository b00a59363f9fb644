// A minority of faulty bank members changes nothing: up to 2 of the 5 members
// of bank(A) lie (another amount, double notices, transfers A never made,
// notices signed by non-members, or silence) and up to 2 of bank(B) credit
// twice or drop notices. Every honest member's books stay right, the transfer
// completes at the honest majority, and majority reads give the right value.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { TAG, noticeFor, seal, makeTransfer, type NoticeBody } from '../src/core/messages.ts'
import { net, disjointPair, rng, shuffle, ident, INITIAL, type Net, type Ident } from './fixtures.ts'
import type { Member } from '../src/core/member.ts'

interface Cast {
  w: Net
  A: Ident
  B: Ident
  bankA: string[]
  bankB: string[]
  liarsA: string[]
  liarsB: string[]
  honestA: string[]
  honestB: string[]
}

async function cast(): Promise<Cast> {
  const w = await net(16)
  const [A, B] = disjointPair(w)
  w.join(A)
  w.join(B)
  const bankA = w.bank(A.id)
  const bankB = w.bank(B.id)
  const liarsA = [bankA[1], bankA[3]]
  const liarsB = [bankB[0], bankB[4]]
  return {
    w,
    A,
    B,
    bankA,
    bankB,
    liarsA,
    liarsB,
    honestA: bankA.filter(m => !liarsA.includes(m)),
    honestB: bankB.filter(m => !liarsB.includes(m))
  }
}

const signerOf = (w: Net, id: string): Ident => w.peers.find(p => p.id === id)!
const lie = (who: Ident, body: NoticeBody): string => seal(who.signer, TAG.notice, body, 'test').b64

describe('Byzantine members', () => {
  it(
    '2 lying members of bank(A) and 2 faulty members of bank(B): honest ' +
      'books right, transfer done at the honest majority',
    async () => {
      const c = await cast()
      const { w, A, B, bankA, bankB } = c
      const outsider = w.peers.find(p => p !== A && p !== B && !bankA.includes(p.id) && !bankB.includes(p.id))!
      const req = w.request(A, B.id, 30)
      const honestNotices = c.honestA.map(m => w.member(m).debit(req.b64, bankA).notice)

      // what the liars send instead of (never along with) a true notice
      const [l1, l2] = c.liarsA.map(id => signerOf(w, id))
      const madeUp = seal(
        l2.signer,
        TAG.transfer,
        { from: A.id, to: B.id, amount: 900, nonce: 1, epoch: 0, ts: 0 },
        'test'
      )
      const otherAmount = lie(l1, { ...noticeFor(l1.id, req), amount: 3000 })
      const lies = [
        otherAmount,
        otherAmount, // another amount, twice
        lie(l1, { ...noticeFor(l1.id, req), to: outsider.id }), // another payee
        lie(l2, noticeFor(l2.id, madeUp)),
        lie(l2, noticeFor(l2.id, madeUp)), // a request A never made
        lie(outsider, noticeFor(outsider.id, req)), // a non-member, true content
        lie(outsider, noticeFor(outsider.id, madeUp)) // a non-member, made-up content
      ]
      // double notices from honest members too (retries): counted once
      const traffic = shuffle([...honestNotices, ...honestNotices, ...lies], rng(1))

      // bank(B): the liars drop everything; honest members get it all in random order
      const creditedAt: number[] = []
      for (const m of c.honestB) {
        const member = w.member(m)
        let votesWhenCredited = -1
        for (const [i, n] of traffic.entries()) {
          const o = member.receiveNotice(n, bankA, bankB)
          if (o.status === 'credited') {
            votesWhenCredited = o.votes
            creditedAt.push(i)
          }
        }
        assert.equal(votesWhenCredited, 3, 'credited when the third honest member of bank(A) was heard')
        assert.ok(
          member.ignored.mismatch >= 3 && member.ignored.forged >= 2 && member.ignored['non-member'] === 2,
          JSON.stringify(member.ignored)
        )
      }
      assert.equal(creditedAt.length, 3, 'credited once at each honest member of bank(B)')
      // one faulty member of bank(B) credits twice on its own books
      const doubler = w.member(c.liarsB[0])
      doubler.t.accounts.set(B.id, { ...doubler.t.accounts.get(B.id)!, balance: INITIAL + 60 })

      for (const m of c.honestA) assert.equal(w.member(m).account(A.id)?.balance, INITIAL - 30)
      for (const m of c.honestB) assert.equal(w.member(m).account(B.id)?.balance, INITIAL + 30)
      const reader = await ident()
      assert.deepEqual(w.read(B.id, reader), { balance: INITIAL + 30, nonce: 0, epoch: 0 })
      // the liars of bank(A) never debited A: the reader still gets the honest majority
      assert.deepEqual(w.read(A.id, reader), { balance: INITIAL - 30, nonce: 1, epoch: 0 })
    }
  )

  it(
    'A colluding with 2 members of its bank cannot be credited for a ' + 'transfer its honest majority refused',
    async () => {
      const c = await cast()
      const { w, A, B, bankA, bankB } = c
      const tooMuch = makeTransfer(A.signer, { to: B.id, amount: INITIAL * 5, nonce: 1, epoch: 0, ts: 0 })
      // the honest members refuse it; the colluders sign notices that are, content-wise, perfect
      for (const m of c.honestA) assert.throws(() => w.member(m).debit(tooMuch.b64, bankA))
      const notices = c.liarsA.map(id => lie(signerOf(w, id), noticeFor(id, tooMuch)))
      for (const m of bankB) {
        const out = notices.map(n => w.member(m).receiveNotice(n, bankA, bankB))
        assert.deepEqual(
          out.map(o => o.status),
          ['counted', 'counted']
        )
      }
      for (const m of bankB) assert.equal(w.member(m).account(B.id)?.balance, INITIAL)
    }
  )

  it('a member whose view of bank(A) differs counts only the members it computes itself', async () => {
    const c = await cast()
    const { w, A, B, bankA, bankB } = c
    const req = w.request(A, B.id, 10)
    const notices = bankA.map(m => w.member(m).debit(req.b64, bankA).notice)
    // this member of bank(B) believes two of bank(A) are other peers: their notices are non-member notices
    const others = w.peers
      .filter(p => p !== A && !bankA.includes(p.id))
      .slice(0, 2)
      .map(p => p.id)
    const itsView = [bankA[0], bankA[1], bankA[2], ...others]
    const m: Member = w.member(bankB[0])
    const out = notices.map(n => m.receiveNotice(n, itsView, bankB))
    assert.deepEqual(
      out.map(o => o.status),
      ['counted', 'counted', 'credited', 'ignored', 'ignored']
    )
    assert.equal(m.ignored['non-member'], 2)
  })

  it("every lie leaves the honest member's tables as they were", async () => {
    const c = await cast()
    const { w, A, B, bankA, bankB } = c
    const req = w.request(A, B.id, 30)
    const m = w.member(c.honestB[0])
    const before = JSON.stringify([...m.t.accounts.entries(), ...m.t.credits.entries()])
    const l1 = signerOf(w, c.liarsA[0])
    for (const n of [
      lie(l1, { ...noticeFor(l1.id, req), amount: 1 }),
      lie(l1, { ...noticeFor(l1.id, req), request: 'AAAA' })
    ]) {
      assert.equal(m.receiveNotice(n, bankA, bankB).status, 'ignored')
    }
    assert.equal(JSON.stringify([...m.t.accounts.entries(), ...m.t.credits.entries()]), before)
  })
})
