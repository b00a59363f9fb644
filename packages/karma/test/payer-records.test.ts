// The payer's karma-sent rows against what its bank applied. A transfer left
// pending (its relay found no majority) is completed by whichever comes first:
// the payer's next transfer or the payments settle loop. The settle loop found
// the row pending before it queued behind that transfer; relayed again after
// the payer had signed the next nonce, every member answered REPLAY and the
// row of a transfer the bank applied was deleted (the chaos run's "majority
// balance 1000 !== 1001").
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, P2payError, type PaymentEntry } from '@p2pay/core'
import { DEFAULT_KARMA } from '../src/core/config.ts'
import { AccountHolder, MAX_CREDITS_ASKED } from '../src/net/account.ts'
import type { KarmaCalls } from '../src/net/context.ts'
import { karmaSettler } from '../src/net/karma-settle.ts'
import type { KarmaService } from '../src/net/service.ts'
import { isReceiptFor } from '../src/core/account.ts'
import { makeReceipt, openReceipt, openTransfer } from '../src/core/messages.ts'
import { K, byId, context, joinedPair, verifier, type Ident, type Net } from './fixtures.ts'

/**
 * A's account holder over the members of `w`: a debit call is the member's debit, its notices delivered to bank(B) at
 * once, whose credit receipts are pushed to A as the service pushes them. While `down` is set, no member answers;
 * the members in `slow` answer a debit they applied 200 ms late; those in `lost` apply it and their answer is lost.
 */
function holderOf(w: Net, A: Ident, state: { down: boolean; slow?: Set<string>; lost?: Set<string> }): AccountHolder {
  const view = { bank: async (a: string) => w.bank(a) } as any
  const peers = {
    send: async () => {},
    call: async (m: string, op: string, args: { request?: string; requestHash?: string }) => {
      if (state.down) throw new P2payError(ErrorCode.UNREACHABLE, `${m} is away`)
      if (op === 'debit') {
        const member = w.member(m)
        const bankA = w.bank(A.id)
        const r = member.debit(args.request, bankA)
        const { to, from } = openTransfer(verifier, args.request).body
        for (const b of w.bank(to)) {
          const out = w.member(b).receiveNotice(r.notice, w.bank(from), w.bank(to))
          if (out.status === 'credited') h.takeCreditReceipt(out.receipt)
        }
        if (state.slow?.has(m) === true) await new Promise(resolve => setTimeout(resolve, 200))
        if (state.lost?.has(m) === true)
          throw new P2payError(ErrorCode.UNREACHABLE, `stream to ${m} failed: stream reset`, { stage: 'stream' })
        return { receipt: r.receipt }
      }
      if (op === 'awaitCredit') {
        for (const b of w.members.values()) {
          const receipt = b.id === m ? b.receiptFor(args.requestHash!) : undefined
          if (receipt !== undefined) return { receipt }
        }
        throw new P2payError(ErrorCode.TIMEOUT, 'not credited')
      }
      throw new P2payError(ErrorCode.UNKNOWN_OP, op)
    }
  } as unknown as KarmaCalls
  const ctx = context(A, w.member(A.id), { view, peers, cfg: { ...DEFAULT_KARMA, k: K, callTimeoutMs: 1500 } })
  const h = new AccountHolder(ctx)
  return h
}

function entry(id: string, peer: string): PaymentEntry {
  const now = Date.now()
  return {
    id,
    scheme: 'karma',
    op: 'transfer',
    peer,
    amount: 1,
    state: 'pending',
    created: now,
    updated: now,
    deadline: now + 60_000
  }
}

/**
 * C pays A 5 and only two members of bank(A) apply the credit; A then sends 1003 (> 1000): three members refuse
 * INSUFFICIENT_FUNDS, the two with the credit apply it and answer as `how` says (late, or never). The request must
 * stay pending, and complete once the rest of bank(A) has the credit (the nonce is not freed).
 */
async function refusedWhileApplied(how: 'slow' | 'lost'): Promise<void> {
  const { w, A, B } = await joinedPair()
  const C = w.peers.find(p => p.id !== A.id && p.id !== B.id && !w.bank(A.id).includes(p.id))!
  w.join(C)
  const bankA = w.bank(A.id)
  const early = bankA.slice(0, 2)
  const notices = w.debit(w.request(C, A.id, 5))
  w.deliver(notices, C.id, A.id, early)
  const state = { down: false, [how]: new Set(early) }
  const h = holderOf(w, A, state)
  h.known.add(B.id)
  h.ctx.t.wallet.set('self', { nonce: 0, joined: true })
  const err = await h.transfer(B.id, 1003).then(
    () => undefined,
    (e: P2payError) => e
  )
  assert.equal(err?.code, 'NO_MAJORITY', 'a request two members applied was refused for good')
  const [row] = [...h.ctx.t.sent.values()]
  assert.equal(row?.status, 'pending', 'the payer dropped a request members of its bank applied')
  assert.deepEqual(
    early.map(m => w.member(m).account(A.id)?.nonce),
    [1, 1]
  )
  // the rest of bank(A) takes the credit and every answer gets through; the next transfer completes the first
  state[how] = new Set()
  w.deliver(notices, C.id, A.id, bankA.slice(2))
  const next = await h.transfer(B.id, 1)
  assert.equal(next.nonce, 2)
  const rows = [...h.ctx.t.sent.values()].sort((a, b) => a.nonce - b.nonce)
  assert.deepEqual(
    rows.map(x => [x.nonce, x.amount, x.status]),
    [
      [1, 1003, 'done'],
      [2, 1, 'done']
    ]
  )
  assert.deepEqual(w.balances(A.id), Array(K).fill(1))
  assert.deepEqual(w.balances(B.id), Array(K).fill(2004))
  await h.ctx.life.stop()
}

describe("the payer's records of its transfers", () => {
  it(
    'a transfer left pending, completed by the next transfer while the settle loop waited to relay it, ' +
      'stays done (every member answers that relay REPLAY)',
    async () => {
      const { w, A, B } = await joinedPair()
      const state = { down: true }
      const h = holderOf(w, A, state)
      h.known.add(B.id)
      h.ctx.t.wallet.set('self', { nonce: 0, joined: true })
      const service = { ctx: h.ctx, life: h.ctx.life, account: h } as unknown as KarmaService
      const settler = karmaSettler(service)
      // bank(A) unreachable: the transfer signed nonce 1 and stays pending
      const first = entry('karma-first-0001', B.id)
      await assert.rejects(h.transfer(B.id, 1, first.id), (e: P2payError) => e.code === ErrorCode.UNREACHABLE)
      const [pending] = [...h.ctx.t.sent.values()]
      assert.equal(pending.status, 'pending')
      state.down = false
      // the payer's next transfer is queued first; the settle tick finds the first row pending and queues behind it
      const next = h.transfer(B.id, 1, 'karma-next-00001')
      const settled = settler.settle!(first, { now: Date.now(), entries: () => [first] })
      const r = await next
      assert.equal(r.nonce, 2)
      const s = await settled
      const rows = [...h.ctx.t.sent.values()].sort((a, b) => a.nonce - b.nonce)
      assert.deepEqual(
        rows.map(x => [x.nonce, x.status]),
        [
          [1, 'done'],
          [2, 'done']
        ],
        'the payer lost the record of a transfer its bank applied'
      )
      assert.equal(s?.state, 'succeeded')
      // what the bank applied: both debits, at every member
      for (const m of w.bank(A.id)) assert.equal(w.member(m).account(A.id)?.nonce, 2)
      assert.deepEqual(w.balances(A.id), Array(K).fill(998))
      assert.deepEqual(w.balances(B.id), Array(K).fill(1002))
      await h.ctx.life.stop()
    }
  )

  it(
    'a request a majority of bank(A) refuses for want of karma, which the members that had a credit more applied ' +
      'and answered last, stays pending and completes once the bank has the credit (the nonce is not freed)',
    async () => await refusedWhileApplied('slow')
  )

  it(
    'the same refusal where the members that applied the request are killed before they answer (their answers ' +
      'lost on a reset stream) stays pending too',
    async () => await refusedWhileApplied('lost')
  )

  it("keeps its completed transfers' credit receipts for bank(A)'s outboxes and answers only about those", async () => {
    const { w, A, B } = await joinedPair()
    const h = holderOf(w, A, { down: false })
    h.known.add(B.id)
    h.ctx.t.wallet.set('self', { nonce: 0, joined: true })
    const r = await h.transfer(B.id, 5)
    const { receipts } = h.creditsOf([r.requestHash, 'cd'.repeat(32), 'not a hash'])
    assert.deepEqual(Object.keys(receipts), [r.requestHash], 'only a request of its own, done')
    const signers = receipts[r.requestHash]
      .map(b64 => openReceipt(verifier, b64))
      .filter(s => isReceiptFor(s, s.signer, 'credit', B.id, r.requestHash))
      .map(s => s.signer)
    assert.ok(signers.length >= 3, `a majority of bank(B)'s receipts kept: ${signers.length}`)
    assert.ok(
      signers.every(m => w.bank(B.id).includes(m)),
      'every one signed by a member of bank(B)'
    )
    // malformed questions are refused and change nothing
    for (const bad of ['not a list', Array(MAX_CREDITS_ASKED + 1).fill(r.requestHash)])
      assert.throws(
        () => h.creditsOf(bad),
        (e: P2payError) => e.code === ErrorCode.BAD_REQUEST
      )
    assert.deepEqual(h.creditsOf([r.requestHash]).receipts, receipts)
    assert.equal(h.kept.size, 1)

    // a receipt that comes after the majority is kept once checked; anything else pushed is dropped
    const [late, other] = w.bank(B.id)
    const kept = h.kept.peek(r.requestHash)!
    kept.receipts.delete(late)
    const genuine = w.member(late).receiptFor(r.requestHash)!
    const flipped = Buffer.from(genuine, 'base64')
    flipped[flipped.length - 1] ^= 1
    const outsider = w.peers.find(p => !w.bank(B.id).includes(p.id))!
    const junk = [
      flipped.toString('base64'),
      makeReceipt(outsider.signer, { account: B.id, requestHash: r.requestHash, side: 'credit', epoch: 0 }).b64,
      makeReceipt(byId(w, late).signer, { account: A.id, requestHash: r.requestHash, side: 'credit', epoch: 0 }).b64,
      makeReceipt(byId(w, late).signer, { account: B.id, requestHash: r.requestHash, side: 'debit', epoch: 0 }).b64
    ]
    const size = kept.receipts.size
    for (const j of junk) h.takeCreditReceipt(j)
    assert.equal(kept.receipts.size, size, 'nothing unchecked, or not a credit of B by bank(B), is kept')
    const before = kept.receipts.get(other)
    h.takeCreditReceipt(
      makeReceipt(byId(w, other).signer, { account: B.id, requestHash: r.requestHash, side: 'credit', epoch: 1 }).b64
    )
    assert.equal(kept.receipts.get(other), before, "a member's receipt kept is not replaced")
    h.takeCreditReceipt(genuine)
    assert.equal(kept.receipts.get(late), genuine)
    await h.ctx.life.stop()
  })

  it('answers `creditsOf` up to half a frame of receipts; the requests left out are asked of bank(B)', async () => {
    const { w, A, B } = await joinedPair()
    const h = holderOf(w, A, { down: false })
    const hashes = Array.from({ length: MAX_CREDITS_ASKED }, (_, i) => i.toString(16).padStart(64, '0'))
    for (const hash of hashes)
      h.kept.set(hash, {
        to: B.id,
        bank: w.bank(B.id),
        receipts: new Map(w.bank(B.id).map(m => [m, 'x'.repeat(1000)]))
      })
    const { receipts } = h.creditsOf(hashes)
    const bytes = Object.values(receipts)
      .flat()
      .reduce((n, x) => n + x.length, 0)
    assert.ok(bytes <= 512 * 1024 && bytes > 400 * 1024, `${bytes} bytes of receipts`)
    assert.deepEqual(Object.keys(receipts), hashes.slice(0, Object.keys(receipts).length), 'the first requests asked')
    await h.ctx.life.stop()
  })
})
