// Churn: a peer that enters bank(A) takes A's state from the old members,
// the state a strict majority of them signed, or refuses. The credited request
// hashes come along so a late notice does not credit twice.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { bankSet } from '../src/core/bankset.ts'
import { Member } from '../src/core/member.ts'
import { makeState } from '../src/core/state-messages.ts'
import { openReceipt } from '../src/core/messages.ts'
import {
  net,
  disjointPair,
  ident,
  memberTables,
  rejects,
  verifier,
  INITIAL,
  K,
  type Net,
  type Ident
} from './fixtures.ts'

interface Scene {
  w: Net
  A: Ident
  B: Ident
  C: Ident
  N: Ident
  newcomer: Member
  oldBank: string[]
  bankNow: string[]
  fromC: { hash: string; notices: string[] }
}

/** A pays B, C pays A, then a peer N appears that belongs in bank(A). */
async function scene(): Promise<Scene> {
  const w = await net()
  const [A, B] = disjointPair(w)
  const C = w.peers.find(p => p !== A && p !== B && !w.bank(A.id).includes(p.id) && !w.bank(p.id).includes(A.id))!
  for (const p of [A, B, C]) w.join(p)
  w.transfer(A, B, 100)
  w.transfer(A, B, 20)
  const req = w.request(C, A.id, 50)
  const notices = w.debit(req)
  w.deliver(notices, C.id, A.id)
  let N = await ident()
  while (!bankSet(A.id, [...w.ids, N.id], K).includes(N.id)) N = await ident()
  const newcomer = new Member(memberTables(), N.signer, verifier, { k: K, now: w.clock.now })
  return {
    w,
    A,
    B,
    C,
    N,
    newcomer,
    oldBank: w.bank(A.id),
    bankNow: bankSet(A.id, [...w.ids, N.id], K),
    fromC: { hash: req.hash, notices }
  }
}

const exportsFor = (s: Scene, from = s.oldBank): string[] => from.map(m => s.w.member(m).exportState(s.A.id, s.N.id))

describe('adoptState', () => {
  it('takes the state a majority of the old bank signed, with the credits it already holds', async () => {
    const s = await scene()
    const r = s.newcomer.adoptState(s.A.id, exportsFor(s), s.oldBank, s.bankNow)
    assert.deepEqual([r.balance, r.nonce, r.voters, r.credited], [INITIAL - 120 + 50, 2, [...s.oldBank].sort(), 1])
    const row = s.newcomer.account(s.A.id)!
    assert.deepEqual([row.balance, row.rem, row.nonce, row.joined], [930, 0, 2, true])
    // a late notice of C's payment does not credit A again here
    const bankC = s.w.bank(s.C.id)
    for (const n of s.fromC.notices) {
      const o = s.newcomer.receiveNotice(n, bankC, s.bankNow)
      assert.equal(o.status, 'already-credited')
      if (o.status === 'already-credited') assert.equal(openReceipt(verifier, o.receipt).body.balanceAfter, undefined)
    }
    assert.equal(s.newcomer.account(s.A.id)!.balance, 930)
    // and it serves A's next debit, and a retry of A's last one
    const last = s.w.request(s.A, s.B.id, 20, { nonce: 2 })
    assert.equal(s.newcomer.debit(last.b64, s.bankNow).duplicate, true)
    const next = s.w.request(s.A, s.B.id, 30)
    assert.equal(s.newcomer.debit(next.b64, s.bankNow).balance, 900)
  })

  it('2 of 5 old members lying (balance, nonce, made-up credits) change nothing', async () => {
    const s = await scene()
    const answers = exportsFor(s)
    const liars = s.oldBank.slice(0, 2).map(id => s.w.peers.find(p => p.id === id)!)
    const fake = 'ee'.repeat(32)
    answers[0] = makeState(liars[0].signer, {
      account: s.A.id,
      to: s.N.id,
      epoch: 0,
      balance: 99999,
      rem: 0,
      nonce: 2,
      lastRequest: s.w.member(s.oldBank[2]).account(s.A.id)!.lastRequest,
      joined: true,
      credited: [fake]
    }).b64
    answers[1] = makeState(liars[1].signer, {
      account: s.A.id,
      to: s.N.id,
      epoch: 0,
      balance: 930,
      rem: 0,
      nonce: 0,
      lastRequest: null,
      joined: true,
      credited: [fake]
    }).b64
    const r = s.newcomer.adoptState(s.A.id, answers, s.oldBank, s.bankNow)
    assert.deepEqual([r.balance, r.nonce, r.voters.length, r.credited], [930, 2, 3, 1])
    assert.equal(s.newcomer.t.credits.get(fake), undefined, 'a hash listed by a minority is not taken')
    assert.equal(s.newcomer.t.credits.get(s.fromC.hash)?.status, 'credited')
  })

  it('refuses without a strict majority (too few answers, or a split), and changes nothing', async () => {
    const s = await scene()
    const all = exportsFor(s)
    rejects(s.newcomer, () => s.newcomer.adoptState(s.A.id, all.slice(0, 2), s.oldBank, s.bankNow), ErrorCode.NOT_FOUND)
    // a split: two members report an older state than the others (say, they missed A's second debit)
    const older = s.oldBank.slice(0, 2).map(id => s.w.peers.find(p => p.id === id)!)
    const stale = older.map(
      o =>
        makeState(o.signer, {
          account: s.A.id,
          to: s.N.id,
          epoch: 0,
          balance: 950,
          rem: 0,
          nonce: 1,
          lastRequest: 'aa'.repeat(32),
          joined: true,
          credited: []
        }).b64
    )
    const err = rejects(
      s.newcomer,
      () => s.newcomer.adoptState(s.A.id, [...stale, all[2], all[3]], s.oldBank, s.bankNow),
      ErrorCode.NOT_FOUND
    )
    assert.equal(err.details?.reason, 'no-majority')
    // answers from non-members of the old bank, for another new member, or garbage do not count
    const outsider = s.w.peers.find(p => !s.oldBank.includes(p.id) && p !== s.A)!
    const foreign =
      s.w.member(outsider.id).account(s.A.id) === undefined ? [] : [s.w.member(outsider.id).exportState(s.A.id, s.N.id)]
    const forOther = s.w.member(s.oldBank[4]).exportState(s.A.id, s.B.id)
    rejects(
      s.newcomer,
      () => s.newcomer.adoptState(s.A.id, [all[0], all[1], forOther, 'junk', ...foreign], s.oldBank, s.bankNow),
      ErrorCode.NOT_FOUND
    )
    assert.equal(s.newcomer.account(s.A.id), undefined)
  })

  it('refuses when it is not in the bank now, or the old bank is in another epoch', async () => {
    const s = await scene()
    rejects(
      s.newcomer,
      () => s.newcomer.adoptState(s.A.id, exportsFor(s), s.oldBank, s.oldBank),
      ErrorCode.WRONG_BROKER
    )
    s.newcomer.rescale(1, { num: 1, den: 1 })
    rejects(s.newcomer, () => s.newcomer.adoptState(s.A.id, exportsFor(s), s.oldBank, s.bankNow), ErrorCode.STALE_SEQ)
  })

  it(
    'a resync from a majority that has not credited a request this member knows only from an earlier adoption ' +
      'forgets it: its notices count again, once, and the member ends level with the bank',
    async () => {
      const w = await net()
      const [A, B] = disjointPair(w)
      const C = w.peers.find(p => p !== A && p !== B && !w.bank(A.id).includes(p.id) && !w.bank(p.id).includes(A.id))!
      for (const p of [A, B, C]) w.join(p)
      let N = await ident()
      while (!bankSet(A.id, [...w.ids, N.id], K).includes(N.id)) N = await ident()
      const newcomer = new Member(memberTables(), N.signer, verifier, { k: K, now: w.clock.now })
      const oldBank = w.bank(A.id)
      const bankNow = bankSet(A.id, [...w.ids, N.id], K)
      const states = (): string[] => oldBank.map(m => w.member(m).exportState(A.id, N.id))
      // signed while C's payment to A was still on its way to the old bank
      const before = states()
      const req = w.request(C, A.id, 50)
      const notices = w.debit(req)
      w.deliver(notices, C.id, A.id)
      newcomer.adoptState(A.id, states(), oldBank, bankNow)
      assert.equal(newcomer.account(A.id)!.balance, INITIAL + 50)
      assert.equal(newcomer.t.credits.get(req.hash)?.adopted, true)
      // a resync answered by a majority that had not credited it: their balance, without the credit's record
      newcomer.adoptState(A.id, before, oldBank, bankNow)
      assert.equal(newcomer.account(A.id)!.balance, INITIAL)
      assert.equal(newcomer.t.credits.get(req.hash), undefined)
      // the notices (resent by bank(C), or pulled by the bank sync) credit it here again, once
      const bankC = w.bank(C.id)
      const outs = notices.map(n => newcomer.receiveNotice(n, bankC, bankNow).status)
      assert.deepEqual(outs, ['counted', 'counted', 'credited', 'already-credited', 'already-credited'])
      assert.equal(newcomer.account(A.id)!.balance, INITIAL + 50)
      assert.deepEqual(w.balances(A.id), Array(K).fill(INITIAL + 50))
    }
  )
})
