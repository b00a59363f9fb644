// Hand-over: the credited hashes are part of the state a majority of the old
// bank must agree on. Two liars that sign the true balance without a hash can
// no longer side with an honest member: a new member that credited the
// transfer on its own votes never applies it again on top of a balance that
// holds it.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { bankSet } from '../src/core/bankset.ts'
import { Member } from '../src/core/member.ts'
import { MAX_EXPORTED_CREDITS } from '../src/core/messages.ts'
import { ident, joinedPair, memberTables, rejects, verifier, INITIAL, K, type Ident, type Net } from './fixtures.ts'

interface Scene {
  w: Net
  A: Ident
  B: Ident
  /** a peer that enters bank(B) after B's account was opened */
  newcomer: Member
  oldBank: string[]
  bankNow: string[]
}

async function scene(): Promise<Scene> {
  const { w, A, B } = await joinedPair()
  let N = await ident()
  while (!bankSet(B.id, [...w.ids, N.id], K).includes(N.id)) N = await ident()
  const newcomer = new Member(memberTables(), N.signer, verifier, { k: K, now: w.clock.now })
  return { w, A, B, newcomer, oldBank: w.bank(B.id), bankNow: bankSet(B.id, [...w.ids, N.id], K) }
}

/** A pays B 25; every member of the old bank(B) and the newcomer credit it; two old members then drop its hash. */
function payAndLie(s: Scene): { hash: string; notices: string[]; honest: string[]; liars: string[] } {
  const req = s.w.request(s.A, s.B.id, 25)
  const bankA = s.w.bank(s.A.id)
  const notices = s.w.debit(req)
  for (const n of notices.slice(0, 3)) s.newcomer.receiveNotice(n, bankA, s.bankNow)
  s.w.deliver(notices.slice(0, 3), s.A.id, s.B.id)
  const [liars, honest] = [s.oldBank.slice(0, 2), s.oldBank.slice(2)]
  for (const l of liars) s.w.member(l).t.credits.delete(req.hash)
  return { hash: req.hash, notices, honest, liars }
}

const states = (s: Scene, from: readonly string[]): string[] =>
  from.flatMap(m => s.w.member(m).exportStates(s.B.id, s.newcomer.id))

describe('hand-over with two lying old members', () => {
  it('a new member that credited the transfer ends with B credited once, as the honest old members', async () => {
    const s = await scene()
    const { hash, notices, honest, liars } = payAndLie(s)
    // credited here on its own votes, into a row it does not hold yet: the credit alone, not synced
    assert.deepEqual([s.newcomer.account(s.B.id)?.balance, s.newcomer.isSynced(s.B.id)], [25, false])
    // one honest member and the two liars answer: they agree on the balance, not on the list, so no majority
    const err = rejects(
      s.newcomer,
      () => s.newcomer.adoptState(s.B.id, states(s, [honest[0], ...liars]), s.oldBank, s.bankNow),
      ErrorCode.NOT_FOUND
    )
    assert.equal(err.details?.reason, 'no-majority')
    assert.deepEqual([s.newcomer.account(s.B.id)?.balance, s.newcomer.isSynced(s.B.id)], [25, false])
    // the whole old bank answers: the honest majority's balance and list are taken, the credit is not applied again
    const r = s.newcomer.adoptState(s.B.id, states(s, s.oldBank), s.oldBank, s.bankNow)
    assert.deepEqual(r.voters, [...honest].sort())
    assert.equal(r.credited, 1)
    assert.equal(s.newcomer.account(s.B.id)?.balance, INITIAL + 25)
    assert.deepEqual(s.w.balances(s.B.id, honest), [INITIAL + 25, INITIAL + 25, INITIAL + 25])
    assert.equal(s.newcomer.t.credits.get(hash)?.status, 'credited')
    // the notices still on their way do not credit B again here
    const bankA = s.w.bank(s.A.id)
    for (const n of notices) assert.equal(s.newcomer.receiveNotice(n, bankA, s.bankNow).status, 'already-credited')
    assert.equal(s.newcomer.account(s.B.id)?.balance, INITIAL + 25)
  })

  it('two old members signing the state before the transfer are outvoted by the three that credited it', async () => {
    const s = await scene()
    const { honest, liars } = payAndLie(s)
    // the liars undo the credit too: their state is the one before the transfer (B at INITIAL, no hash)
    for (const l of liars) {
      const row = s.w.member(l).account(s.B.id)!
      s.w.member(l).t.accounts.set(s.B.id, { ...row, balance: INITIAL })
    }
    const r = s.newcomer.adoptState(s.B.id, states(s, s.oldBank), s.oldBank, s.bankNow)
    assert.deepEqual([r.voters, r.balance, r.credited], [[...honest].sort(), INITIAL + 25, 1])
    assert.equal(s.newcomer.account(s.B.id)?.balance, INITIAL + 25)
  })
})

describe('the credited list in the agreed state', () => {
  /** `n` made-up credited hashes of B at every old member */
  function credits(s: Scene, n: number, epoch = 0, from = 0): string[] {
    const hashes = Array.from({ length: n }, (_, i) => (from + i).toString(16).padStart(64, '0'))
    for (const m of s.oldBank)
      for (const h of hashes)
        s.w.member(m).t.credits.set(h, { to: s.B.id, status: 'credited', voters: [], at: s.w.clock.now(), epoch })
    return hashes
  }

  it('the pages of one member are one answer: a list longer than a page is agreed on and taken whole', async () => {
    const s = await scene()
    const hashes = credits(s, MAX_EXPORTED_CREDITS + 5)
    assert.equal(s.w.member(s.oldBank[0]).exportStates(s.B.id, s.newcomer.id).length, 2)
    // one member lost its second page on the way: its answer differs from the others', and they are a majority
    const answers = s.oldBank.flatMap((m, i) => states(s, [m]).slice(0, i === 0 ? 1 : undefined))
    const r = s.newcomer.adoptState(s.B.id, answers, s.oldBank, s.bankNow)
    assert.deepEqual([r.credited, r.voters.length], [hashes.length, K - 1])
    assert.ok(hashes.every(h => s.newcomer.t.credits.get(h)?.status === 'credited'))
  })

  it('a member that pruned the hashes no notice can bring any more lists what one that did not lists', async () => {
    const s = await scene()
    credits(s, 3, 0)
    const recent = credits(s, 2, 1, 3)
    for (const m of [...s.oldBank.map(id => s.w.member(id)), s.newcomer]) {
      m.rescale(1, { num: 1, den: 1 })
      m.rescale(2, { num: 1, den: 1 })
    }
    // hashes of epoch 0 are refused everywhere in epoch 2: two members forgot them, three not yet
    for (const m of s.oldBank.slice(0, 2)) s.w.member(m).prune(0)
    assert.notEqual(s.w.member(s.oldBank[4]).t.credits.get('0'.padStart(64, '0')), undefined)
    const r = s.newcomer.adoptState(s.B.id, states(s, s.oldBank), s.oldBank, s.bankNow)
    assert.deepEqual([r.credited, r.voters.length], [2, K])
    assert.ok(recent.every(h => s.newcomer.t.credits.get(h)?.status === 'credited'))
  })
})
