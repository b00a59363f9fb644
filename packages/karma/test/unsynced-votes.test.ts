// A member whose row is not synced (it entered the bank while the old majority
// was away, or it is back from a time away itself) may hold books that lack
// what the bank did meanwhile: nothing it signs from that row is a vote.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, P2payError } from '@p2pay/core'
import { FINAL_REFUSALS, isReceiptFor, refusalError } from '../src/core/account.ts'
import { KarmaErrorCode } from '../src/errors.ts'
import { openReceipt } from '../src/core/messages.ts'
import { BankDuties } from '../src/net/bank-duties.ts'
import { byId, context, duties, joinedPair, throwsCode, unreachablePeers, verifier } from './fixtures.ts'

describe('votes from rows that are not synced', () => {
  it(
    'a new member of bank(B) that could not adopt (the old majority is away) credits, but its receipt says unsynced ' +
      'and is no vote, its balance answer and state export refuse with STALE_SEQ; once it adopts, its receipt counts',
    async () => {
      const { w, A, B } = await joinedPair()
      const bankA = w.bank(A.id)
      const bankB = w.bank(B.id)
      const fresh = bankB[0]
      const m = w.member(fresh)
      // it entered bank(B) after the account was opened: no row here
      m.t.accounts.delete(B.id)
      const d = duties(w, fresh)
      const req = w.request(A, B.id, 25)
      const notices = bankA.map(x => w.member(x).debit(req.b64, bankA).notice)
      let receipt: string | undefined
      for (const n of notices.slice(0, 3)) {
        const out = await d.credits.notice(n)
        if (out.status === 'credited') receipt = out.receipt
      }
      assert.ok(receipt !== undefined)
      const s = openReceipt(verifier, receipt)
      assert.equal(s.body.unsynced, true)
      assert.equal(isReceiptFor(s, fresh, 'credit', B.id, req.hash), false)
      // a payer's long-poll is not answered with it
      const poll = await d.credits.awaitCredit(req.hash, 50).catch((e: unknown) => e)
      assert.ok(poll instanceof P2payError && poll.code === ErrorCode.TIMEOUT)
      const row = JSON.stringify(m.account(B.id))
      throwsCode(() => m.balanceOf(B.id, A.id, 'c'.repeat(16)), ErrorCode.STALE_SEQ)
      throwsCode(() => m.exportStates(B.id, bankB[1]), ErrorCode.STALE_SEQ)
      assert.equal(JSON.stringify(m.account(B.id)), row)
      // the old bank answers: it adopts their majority, with its own credit on top
      const old = [...bankB.slice(1), w.ids.find(id => id !== B.id && !bankB.includes(id))!]
      const answers = bankB.slice(1).flatMap(x => w.member(x).exportStates(B.id, fresh))
      m.adoptState(B.id, answers, old, bankB)
      assert.equal(m.account(B.id)?.balance, 1025)
      const again = openReceipt(verifier, m.receiptFor(req.hash))
      assert.equal(again.body.unsynced, undefined)
      assert.equal(isReceiptFor(again, fresh, 'credit', B.id, req.hash), true)
      d.credits.wakeSynced()
      assert.equal((await d.credits.awaitCredit(req.hash, 50)).receipt, again.b64)
    }
  )
})

describe('debit refusals from members without a row', () => {
  it(
    'are no vote: three members new in bank(A) answer NOT_FOUND while the two that debited are not heard; ' +
      'the payer keeps the request pending (NO_MAJORITY) instead of freeing a nonce the others used',
    async () => {
      const { w, A, B } = await joinedPair()
      const bankA = w.bank(A.id)
      for (const m of bankA.slice(0, 3)) w.member(m).t.accounts.delete(A.id)
      const req = w.request(A, B.id, 14)
      const refusals: Array<PromiseSettledResult<unknown>> = []
      for (const m of bankA.slice(0, 3)) {
        const before = JSON.stringify([...w.member(m).t.accounts.entries()])
        const err = (() => {
          try {
            w.member(m).debit(req.b64, bankA)
          } catch (e) {
            return e
          }
        })()
        assert.ok(err instanceof P2payError && err.code === ErrorCode.NOT_FOUND && err.details?.sync === true)
        assert.equal(JSON.stringify([...w.member(m).t.accounts.entries()]), before)
        refusals.push({ status: 'rejected', reason: err })
      }
      // the two members that hold the account debit it; their receipts are lost on the way (a loaded network)
      for (const m of bankA.slice(3)) w.member(m).debit(req.b64, bankA)
      for (let i = 0; i < 2; i++)
        refusals.push({ status: 'rejected', reason: new P2payError(ErrorCode.TIMEOUT, 'no answer') })
      const e = refusalError(refusals, 3, 0)
      assert.equal(e.code, KarmaErrorCode.NO_MAJORITY)
      assert.equal(FINAL_REFUSALS.has(e.code), false)
    }
  )
})

describe('a member back from a time away', () => {
  it(
    'a member frozen past the gap (its own beat stood still) refuses balance answers and state exports and signs ' +
      'unsynced credit receipts until a bank sync round reached a majority of its fellow members',
    async () => {
      const { w, A, B } = await joinedPair()
      const bankB = w.bank(B.id)
      const me = bankB[0]
      const m = w.member(me)
      const d = duties(w, me)
      const rounds: Array<{ asked: number; answered: number }> = [
        { asked: 4, answered: 1 },
        { asked: 4, answered: 3 }
      ]
      let ran = 0
      ;(d.reconcile as any).steps = {
        syncRound: async () => rounds[ran++],
        resync: async () => 0,
        done: () => d.credits.wakeSynced()
      }
      d.ctx.cfg.syncMs = 20
      d.reconcile.start(20)
      assert.equal(m.reconciling, true, 'a start with books is a return')
      while (m.reconciling) await new Promise(resolve => setTimeout(resolve, 10))
      ran = 0
      const before = m.balanceOf(B.id, A.id, 'c'.repeat(16))
      assert.ok(before.length > 0)
      // the process stood still for longer than the gap: the next thing it serves notices it first
      ;(d.reconcile as any).lastBeat = Date.now() - 20_000
      d.reconcile.check()
      assert.equal(m.reconciling, true)
      throwsCode(() => m.balanceOf(B.id, A.id, 'c'.repeat(16)), ErrorCode.STALE_SEQ)
      throwsCode(() => m.exportStates(B.id, bankB[1]), ErrorCode.STALE_SEQ)
      const req = w.request(A, B.id, 5)
      const bankA = w.bank(A.id)
      for (const x of bankA.slice(0, 3)) await d.credits.notice(w.member(x).debit(req.b64, bankA).notice)
      assert.equal(openReceipt(verifier, m.receiptFor(req.hash)).body.unsynced, true)
      // the first round reached one of four fellows: still reconciling; the second reached three
      while (m.reconciling) await new Promise(resolve => setTimeout(resolve, 10))
      assert.equal(ran, 2)
      assert.equal(openReceipt(verifier, m.receiptFor(req.hash)).body.unsynced, undefined)
      assert.ok(m.balanceOf(B.id, A.id, 'c'.repeat(16)).length > 0)
      await d.ctx.life.stop()
    }
  )

  it(
    'a member cut off from every Karma peer for longer than the gap reconciles once a peer connects again',
    { timeout: 20_000 },
    async () => {
      const { w, A, B } = await joinedPair()
      const me = w.bank(B.id)[0]
      const m = w.member(me)
      let connected = 1
      const view = { bank: async (a: string) => w.bank(a), karmaConnected: () => connected } as any
      const d = new BankDuties(context(byId(w, me), m, { view, peers: unreachablePeers }))
      // the rounds after the first wait for the test, so it can look at the member while it reconciles
      let release = (): void => {}
      let rounds = 0
      ;(d.reconcile as any).steps = {
        syncRound: async () => {
          if (rounds++ > 0) await new Promise<void>(resolve => (release = resolve))
          return { asked: 4, answered: 4 }
        },
        resync: async () => 0,
        done: () => {}
      }
      d.ctx.cfg.syncMs = 20
      d.reconcile.start(20)
      while (m.reconciling) await new Promise(resolve => setTimeout(resolve, 10))
      connected = 0
      while ((d.reconcile as any).aloneSince === undefined) await new Promise(resolve => setTimeout(resolve, 50))
      // alone for longer than the gap (the beat's clock, moved back rather than waited for)
      ;(d.reconcile as any).aloneSince -= 20_000
      assert.equal(m.reconciling, false)
      connected = 1
      while (!m.reconciling) await new Promise(resolve => setTimeout(resolve, 50))
      assert.equal(d.reconcile.last?.why, 'reconnect')
      throwsCode(() => m.balanceOf(B.id, A.id, 'c'.repeat(16)), ErrorCode.STALE_SEQ)
      while (rounds < 2) await new Promise(resolve => setTimeout(resolve, 10))
      release()
      while (m.reconciling) await new Promise(resolve => setTimeout(resolve, 10))
      assert.ok(m.balanceOf(B.id, A.id, 'c'.repeat(16)).length > 0)
      await d.ctx.life.stop()
    }
  )
})
