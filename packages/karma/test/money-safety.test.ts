// Money safety across time and churn: a credit is never forgotten while a
// notice for it could still be accepted, hand-overs carry every such credit,
// and the old bank that votes on a hand-over is the nearest peers whether or
// not they answer.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { ErrorCode, P2payError } from '@p2pay/core'
import { KarmaErrorCode } from '../src/errors.ts'
import { bankSet } from '../src/core/bankset.ts'
import { oldBankOf, pagesSignedBy } from '../src/core/handover.ts'
import { refusalError } from '../src/core/account.ts'
import { Member } from '../src/core/member.ts'
import { MAX_EXPORTED_CREDITS } from '../src/core/messages.ts'
import { makeJoin, makeState } from '../src/core/state-messages.ts'
import { solvePow } from '../src/core/pow.ts'
import { RECORD_HORIZON_MS } from '../src/core/config.ts'
import {
  net,
  disjointPair,
  byId,
  ident,
  memberTables,
  rejects,
  throwsCode,
  verifier,
  DIFFICULTY,
  INITIAL,
  K
} from './fixtures.ts'

const hex64 = (): string => randomBytes(32).toString('hex')

describe('credits outlive the record horizon', () => {
  it(
    'a repeated debit request after prune makes bank(A) sign the notices ' +
      'again, and bank(B) does not credit B twice',
    async () => {
      const w = await net()
      const [A, B] = disjointPair(w)
      w.join(A)
      w.join(B)
      const req = w.transfer(A, B, 30)
      assert.deepEqual(w.balances(B.id), Array(K).fill(INITIAL + 30))
      w.clock.advance(RECORD_HORIZON_MS + 60_000)
      for (const m of w.members.values()) m.prune(w.clock.t - RECORD_HORIZON_MS)
      // B (who holds the request bytes) asks bank(A) again: the notices come back, signed afresh
      const bankA = w.bank(A.id)
      const again = bankA.map(m => w.member(m).debit(req.b64, bankA))
      assert.ok(again.every(r => r.duplicate))
      const out = w.deliver(
        again.map(r => r.notice),
        A.id,
        B.id
      )
      for (const list of out.values())
        assert.ok(
          list.every(o => o.status === 'already-credited'),
          JSON.stringify(list.map(o => o.status))
        )
      assert.deepEqual(w.balances(B.id), Array(K).fill(INITIAL + 30))
      assert.deepEqual(w.balances(A.id), Array(K).fill(INITIAL - 30))
      // the record is only the hash now
      const row = w.member(w.bank(B.id)[0]).t.credits.get(req.hash)!
      assert.deepEqual(row, { to: B.id, status: 'credited', voters: [], at: row.at, epoch: 0 })
    }
  )

  it(
    'a credit hash is dropped only once its request epoch is older than ' +
      'the current epoch minus one, when its notices are refused',
    async () => {
      const w = await net()
      const [A, B] = disjointPair(w)
      w.join(A)
      w.join(B)
      const req = w.transfer(A, B, 30)
      const m = w.member(w.bank(B.id)[0])
      const rescaleAll = (to: number): void => {
        for (const x of w.members.values()) x.rescale(to, { num: 1, den: 1 })
      }
      rescaleAll(1)
      w.clock.advance(RECORD_HORIZON_MS + 1)
      m.prune(w.clock.t - RECORD_HORIZON_MS)
      assert.equal(
        m.t.credits.get(req.hash)?.status,
        'credited',
        'kept: a notice of epoch 0 is still accepted in epoch 1'
      )
      rescaleAll(2)
      m.prune(w.clock.t - RECORD_HORIZON_MS)
      assert.equal(m.t.credits.get(req.hash), undefined)
      const bankA = w.bank(A.id)
      const notices = bankA.map(x => w.member(x).debit(req.b64, bankA).notice)
      throwsCode(() => m.receiveNotice(notices[0], bankA, w.bank(B.id)), ErrorCode.STALE_SEQ)
      assert.equal(m.account(B.id)?.balance, INITIAL + 30)
    }
  )

  it('with epochs off, credit hashes are never dropped', async () => {
    const w = await net()
    const [A, B] = disjointPair(w)
    w.join(A)
    w.join(B)
    const req = w.transfer(A, B, 5)
    const m = w.member(w.bank(B.id)[0])
    for (let i = 0; i < 5; i++) {
      w.clock.advance(10 * RECORD_HORIZON_MS)
      m.prune(w.clock.t - RECORD_HORIZON_MS)
    }
    assert.equal(m.t.credits.get(req.hash)?.status, 'credited')
    assert.ok(m.receiptFor(req.hash) !== undefined)
  })

  it(
    'a hand-over carries more than one page of credited hashes, and a late ' +
      'notice is not credited again at the new member',
    async () => {
      const w = await net()
      const [A, B] = disjointPair(w)
      w.join(A)
      w.join(B)
      const req = w.transfer(A, B, 30)
      const oldBank = w.bank(B.id)
      const extra = Array.from({ length: MAX_EXPORTED_CREDITS + 50 }, hex64)
      for (const x of oldBank)
        for (const h of extra)
          w.member(x).t.credits.set(h, { to: B.id, status: 'credited', voters: [], at: w.clock.t - 1, epoch: 0 })
      w.clock.advance(RECORD_HORIZON_MS + 1)
      for (const x of oldBank) w.member(x).prune(w.clock.t - RECORD_HORIZON_MS)
      let N = await ident()
      while (!bankSet(B.id, [...w.ids, N.id], K).includes(N.id)) N = await ident()
      const newcomer = new Member(memberTables(), N.signer, verifier, { k: K, now: w.clock.now })
      const pages = oldBank.map(x => w.member(x).exportStates(B.id, N.id))
      assert.ok(pages.every(p => p.length === 2))
      const r = newcomer.adoptState(B.id, pages.flat(), oldBank, bankSet(B.id, [...w.ids, N.id], K))
      assert.equal(r.credited, extra.length + 1)
      assert.equal(r.balance, INITIAL + 30)
      const bankA = w.bank(A.id)
      const bankB = bankSet(B.id, [...w.ids, N.id], K)
      for (const x of bankA) {
        const n = w.member(x).debit(req.b64, bankA).notice
        assert.equal(newcomer.receiveNotice(n, bankA, bankB).status, 'already-credited')
      }
      assert.equal(newcomer.account(B.id)?.balance, INITIAL + 30)
    }
  )
})

describe('the old bank that votes on a hand-over', () => {
  it(
    'is the k nearest peers without the new member, answering or not: 2 ' +
      'Byzantine members and an outsider cannot outvote the silent honest ' +
      'ones',
    async () => {
      const w = await net()
      const [A] = disjointPair(w)
      w.join(A)
      let N = await ident()
      while (!bankSet(A.id, [...w.ids, N.id], K).includes(N.id)) N = await ident()
      const newcomer = new Member(memberTables(), N.signer, verifier, { k: K, now: w.clock.now })
      const bank = w.bank(A.id)
      const old = oldBankOf(A.id, [...w.ids, N.id], N.id, K)
      assert.deepEqual(old, bank)
      // the 3 honest old members are silent; 2 of the old bank and the next-nearest outsider forge a state
      const outsider = bankSet(A.id, w.ids, K + 1)[K]
      const liars = [bank[0], bank[1], outsider]
      const forged = liars.map(
        id =>
          makeState(byId(w, id).signer, {
            account: A.id,
            to: N.id,
            epoch: 0,
            balance: 50_000,
            rem: 0,
            nonce: 0,
            lastRequest: null,
            joined: true,
            credited: []
          }).b64
      )
      rejects(
        newcomer,
        () => newcomer.adoptState(A.id, forged, old, bankSet(A.id, [...w.ids, N.id], K)),
        ErrorCode.NOT_FOUND
      )
    }
  )

  it(
    'counts an answer only for the peer asked: a relayed export of another ' + 'member is not a vote of the relay',
    async () => {
      const w = await net()
      const [A] = disjointPair(w)
      w.join(A)
      const N = await ident()
      const bank = w.bank(A.id)
      const genuine = w.member(bank[0]).exportState(A.id, N.id)
      assert.deepEqual(pagesSignedBy(verifier, bank[0], A.id, N.id, [genuine]), [genuine])
      assert.deepEqual(pagesSignedBy(verifier, bank[1], A.id, N.id, [genuine, 'junk', 42]), [])
      assert.deepEqual(pagesSignedBy(verifier, bank[0], A.id, bank[2], [genuine]), [])
    }
  )
})

describe('a bank split over one request (2 apply, 3 refuse)', () => {
  it(
    'the payer keeps the request pending when any member debited it; ' + 'without debits a majority refusal is final',
    () => {
      const no = (code: string): PromiseSettledResult<unknown> => ({
        status: 'rejected',
        reason: new P2payError(code as any, code)
      })
      const refusals = [no('INSUFFICIENT_FUNDS'), no('INSUFFICIENT_FUNDS'), no('INSUFFICIENT_FUNDS')]
      assert.equal(refusalError(refusals, 3, 0).code, ErrorCode.INSUFFICIENT_FUNDS)
      const e = refusalError(refusals, 3, 2)
      assert.equal(e.code, KarmaErrorCode.NO_MAJORITY)
      assert.equal(e.details?.refused, ErrorCode.INSUFFICIENT_FUNDS)
    }
  )

  it(
    'the 2 that applied resynchronise from the majority on the conflicting ' +
      'request and keep the credits they applied',
    async () => {
      const w = await net()
      const [A, B] = disjointPair(w)
      const bankA = w.bank(A.id)
      const C = w.peers.find(
        p =>
          p !== A &&
          p !== B &&
          !bankA.includes(p.id) &&
          !w.bank(p.id).includes(A.id) &&
          !w.bank(p.id).some(m => bankA.includes(m))
      )!
      for (const p of [A, B, C]) w.join(p)
      // C pays A 100: so far only 2 members of bank(A) have the credit
      const fromC = w.request(C, A.id, 100)
      const notices = w.debit(fromC)
      w.deliver(notices, C.id, A.id, bankA.slice(0, 2))
      // A asks for more than the 3 others see: 2 apply, 3 refuse
      const big = w.request(A, B.id, INITIAL + 50)
      for (const m of bankA.slice(0, 2)) w.member(m).debit(big.b64, bankA)
      for (const m of bankA.slice(2)) throwsCode(() => w.member(m).debit(big.b64, bankA), ErrorCode.INSUFFICIENT_FUNDS)
      // another request with the same nonce (what a payer that freed the nonce would sign): 3 apply, 2 see fraud
      const small = w.request(A, B.id, 10, { nonce: 1 })
      for (const m of bankA.slice(2)) w.member(m).debit(small.b64, bankA)
      for (const m of bankA.slice(0, 2)) throwsCode(() => w.member(m).debit(small.b64, bankA), ErrorCode.FRAUD)
      // the 2 resynchronise from their old bank (the k nearest without themselves)
      for (const m of bankA.slice(0, 2)) {
        const old = oldBankOf(A.id, w.ids, m, K)
        const answers = old.flatMap(o => {
          try {
            return w.member(o).exportStates(A.id, m)
          } catch {
            return []
          }
        })
        w.member(m).adoptState(A.id, answers, old, bankA)
      }
      w.deliver(notices, C.id, A.id, bankA.slice(2))
      assert.deepEqual(w.balances(A.id), Array(K).fill(INITIAL + 100 - 10))
      assert.deepEqual(
        bankA.map(m => w.member(m).account(A.id)?.lastRequest),
        Array(K).fill(small.hash)
      )
      // the refused request never reached a majority of bank(A): B is not credited for it
      w.deliver(w.debit(small), A.id, B.id)
      w.deliver(
        bankA.slice(0, 2).map(m => w.member(m).t.pending.get(big.hash)!.notice),
        A.id,
        B.id
      )
      assert.deepEqual(w.balances(B.id), Array(K).fill(INITIAL + 10))
    }
  )
})

describe('a resync racing a debit', () => {
  it(
    'never rolls a synced row back to fewer debits: answers older than a ' + 'debit applied since are refused',
    async () => {
      const w = await net()
      const [A, B] = disjointPair(w)
      w.join(A)
      w.join(B)
      const bankA = w.bank(A.id)
      const m = w.member(bankA[0])
      const old = oldBankOf(A.id, w.ids, m.id, K)
      const stale = old.flatMap(o => {
        try {
          return w.member(o).exportStates(A.id, m.id)
        } catch {
          return []
        }
      })
      w.transfer(A, B, 9)
      rejects(m, () => m.adoptState(A.id, stale, old, bankA), ErrorCode.STALE_SEQ)
      assert.equal(m.account(A.id)?.balance, INITIAL - 9)
    }
  )
})

describe('rows that did not come from a join or an adoption', () => {
  /** N enters bank(B): a newcomer Member whose bank(B) holds it. */
  async function entering(): Promise<{
    w: Awaited<ReturnType<typeof net>>
    A: Awaited<ReturnType<typeof ident>>
    B: Awaited<ReturnType<typeof ident>>
    newcomer: Member
    N: Awaited<ReturnType<typeof ident>>
    oldBank: string[]
    bankNow: string[]
  }> {
    const w = await net()
    const [A, B] = disjointPair(w)
    w.join(A)
    w.join(B)
    w.transfer(A, B, 30)
    let N = await ident()
    while (!bankSet(B.id, [...w.ids, N.id], K).includes(N.id) || bankSet(A.id, [...w.ids, N.id], K).includes(N.id))
      N = await ident()
    const newcomer = new Member(memberTables(), N.signer, verifier, { k: K, now: w.clock.now })
    return { w, A, B, N, newcomer, oldBank: w.bank(B.id), bankNow: bankSet(B.id, [...w.ids, N.id], K) }
  }

  it(
    'a new member that gets a notice before the hand-over ends with ' + "the majority's balance plus the credit",
    async () => {
      const { w, A, B, N, newcomer, oldBank, bankNow } = await entering()
      const req = w.request(A, B.id, 7)
      const bankA = w.bank(A.id)
      const notices = bankA.map(m => w.member(m).debit(req.b64, bankA).notice)
      for (const n of notices) newcomer.receiveNotice(n, bankA, bankNow)
      assert.equal(newcomer.account(B.id)?.balance, 7)
      assert.equal(newcomer.isSynced(B.id), false)
      // not synced: it neither debits nor opens before it adopted
      const out = w.request(B, A.id, 1)
      throwsCode(() => newcomer.debit(out.b64, bankNow), ErrorCode.STALE_SEQ)
      const proof = makeJoin(B.signer, solvePow(B.id, DIFFICULTY), DIFFICULTY)
      throwsCode(() => newcomer.openAccount(proof.b64, INITIAL, DIFFICULTY, bankNow), ErrorCode.STALE_SEQ)
      // the old bank has not got the notices yet: its state lacks the credit, which stays on top here
      const oldFirst = oldBank.map(m => w.member(m).exportState(B.id, N.id))
      newcomer.adoptState(B.id, oldFirst, oldBankOf(B.id, [...w.ids, N.id], N.id, K), bankNow)
      assert.equal(newcomer.account(B.id)?.balance, INITIAL + 30 + 7)
      assert.equal(newcomer.isSynced(B.id), true)
      // the old members get the notices too: every member agrees
      w.deliver(notices, A.id, B.id, oldBank)
      assert.deepEqual(
        oldBank.map(m => w.member(m).account(B.id)?.balance),
        Array(K).fill(INITIAL + 30 + 7)
      )
      // a join replayed now mints nothing
      assert.deepEqual(newcomer.openAccount(proof.b64, INITIAL, DIFFICULTY, bankNow), {
        account: B.id,
        balance: INITIAL + 37,
        opened: false
      })
    }
  )

  it(
    'a join replayed to a member without the row mints only if a majority ' + 'of the old bank has no account',
    async () => {
      const { w, B, N, newcomer, oldBank, bankNow } = await entering()
      const proof = makeJoin(B.signer, solvePow(B.id, DIFFICULTY), DIFFICULTY)
      rejects(newcomer, () => newcomer.openAccount(proof.b64, INITIAL, DIFFICULTY, bankNow), ErrorCode.STALE_SEQ)
      newcomer.adoptState(
        B.id,
        oldBank.map(m => w.member(m).exportState(B.id, N.id)),
        oldBank,
        bankNow
      )
      assert.deepEqual(newcomer.openAccount(proof.b64, INITIAL, DIFFICULTY, bankNow), {
        account: B.id,
        balance: INITIAL + 30,
        opened: false
      })
    }
  )

  it(
    'an adopting member counts the account active as a majority of the old ' +
      'bank does (epoch reports stay exact), a minority cannot raise it',
    async () => {
      const { B, N, newcomer, oldBank, bankNow, w } = await entering()
      for (const m of oldBank.slice(0, 3))
        w.member(m).t.accounts.set(B.id, { ...w.member(m).account(B.id)!, activeEpoch: -1 })
      const lowered = oldBank.map(m => w.member(m).exportState(B.id, N.id))
      rejects(newcomer, () => newcomer.adoptState(B.id, lowered.slice(0, 2), oldBank, bankNow), ErrorCode.NOT_FOUND)
      newcomer.adoptState(B.id, lowered, oldBank, bankNow)
      assert.equal(newcomer.account(B.id)?.activeEpoch, -1, 'only 2 of 5 vouch for epoch 0')
      // a join reaching it afterwards is the account's own signature: active here too, once
      const proof = makeJoin(B.signer, solvePow(B.id, DIFFICULTY), DIFFICULTY)
      newcomer.openAccount(proof.b64, INITIAL, DIFFICULTY, bankNow)
      assert.equal(newcomer.account(B.id)?.activeEpoch, 0)
      const fresh = new Member(memberTables(), N.signer, verifier, { k: K, now: w.clock.now })
      for (const m of oldBank) w.member(m).t.accounts.set(B.id, { ...w.member(m).account(B.id)!, activeEpoch: 0 })
      fresh.adoptState(
        B.id,
        oldBank.map(m => w.member(m).exportState(B.id, N.id)),
        oldBank,
        bankNow
      )
      assert.equal(fresh.account(B.id)?.activeEpoch, 0)
    }
  )

  it('a member that leaves a bank and enters it again adopts afresh instead of keeping its stale row', async () => {
    const { w, A, B } = await entering()
    const bankB = w.bank(B.id)
    const m = w.member(bankB[0])
    m.markUnsynced(B.id) // it left the bank; meanwhile B was paid without it
    const req = w.request(A, B.id, 11)
    w.deliver(w.debit(req), A.id, B.id, bankB.slice(1))
    const out = w.request(B, A.id, 1)
    throwsCode(() => m.debit(out.b64, bankB), ErrorCode.STALE_SEQ)
    const old = oldBankOf(B.id, w.ids, m.id, K)
    m.adoptState(
      B.id,
      old.flatMap(o => {
        try {
          return w.member(o).exportStates(B.id, m.id)
        } catch {
          return []
        }
      }),
      old,
      bankB
    )
    assert.equal(m.account(B.id)?.balance, INITIAL + 30 + 11)
    m.debit(out.b64, bankB)
  })
})
