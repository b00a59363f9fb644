// One transfer across k = 5 members of bank(A) and 5 of bank(B), retries,
// many concurrent transfers delivered in random order, refusals that leave
// every table unchanged, and joining.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64, toB64 } from '@p2pay/core'
import {
  TAG,
  makeTransfer,
  openReceipt,
  openNotice,
  seal,
  type Signed,
  type TransferBody
} from '../src/core/messages.ts'
import { makeJoin } from '../src/core/state-messages.ts'
import { solvePow } from '../src/core/pow.ts'
import { majority } from '../src/core/majority.ts'
import { conflictingNotice } from '../src/cheats.ts'
import {
  net,
  disjointPair,
  joinedPair,
  byId,
  rng,
  rejects,
  throwsCode,
  ident,
  verifier,
  INITIAL,
  DIFFICULTY,
  K,
  type Net,
  type Ident
} from './fixtures.ts'

/** Total karma by majority read over every account: what the network holds. */
function networkTotal(w: Net, reader: Ident): number {
  let total = 0
  for (const p of w.peers) {
    const v = w.read(p.id, reader)
    if (v !== undefined) total += v.balance
  }
  return total
}

describe('a transfer A -> B with k = 5', () => {
  it(
    'debits A once at each member of bank(A), credits B once at each ' + 'member of bank(B) at the third notice',
    async () => {
      const w = await net()
      const [A, B] = disjointPair(w)
      w.join(A)
      w.join(B)
      const bankA = w.bank(A.id)
      const bankB = w.bank(B.id)
      assert.equal(majority(K), 3)

      const req = w.request(A, B.id, 30)
      const results = bankA.map(m => w.member(m).debit(req.b64, bankA))
      for (const [i, r] of results.entries()) {
        assert.equal(r.duplicate, false)
        assert.equal(r.balance, 970)
        const receipt = openReceipt(verifier, r.receipt).body
        assert.deepEqual(receipt, {
          member: bankA[i],
          account: A.id,
          requestHash: req.hash,
          side: 'debit',
          epoch: 0,
          balanceAfter: 970
        })
        assert.equal(openNotice(verifier, r.notice).notice.signer, bankA[i])
      }
      assert.deepEqual(w.balances(A.id), [970, 970, 970, 970, 970])
      assert.deepEqual(
        bankA.map(m => w.member(m).account(A.id)?.nonce),
        [1, 1, 1, 1, 1]
      )

      const outcomes = w.deliver(
        results.map(r => r.notice),
        A.id,
        B.id
      )
      for (const m of bankB) {
        const statuses = outcomes.get(m)!.map(o => o.status)
        assert.deepEqual(statuses, ['counted', 'counted', 'credited', 'already-credited', 'already-credited'])
        const credited = outcomes.get(m)![2]
        assert.ok(credited.status === 'credited')
        assert.deepEqual(openReceipt(verifier, credited.receipt).body, {
          member: m,
          account: B.id,
          requestHash: req.hash,
          side: 'credit',
          epoch: 0,
          balanceAfter: 1030
        })
      }
      assert.deepEqual(w.balances(B.id), [1030, 1030, 1030, 1030, 1030])
      // totals conserved exactly: what joined, no more, no less
      const reader = await ident()
      assert.deepEqual(w.read(A.id, reader), { balance: 970, nonce: 1, epoch: 0 })
      assert.deepEqual(w.read(B.id, reader), { balance: 1030, nonce: 0, epoch: 0 })
      assert.equal(networkTotal(w, reader), 2 * INITIAL)
    }
  )

  it('retries are idempotent: the same request gets the same notice, late notices the same receipt', async () => {
    const w = await net()
    const [A, B] = disjointPair(w)
    w.join(A)
    w.join(B)
    const bankA = w.bank(A.id)
    const req = w.request(A, B.id, 30)
    const first = bankA.map(m => w.member(m).debit(req.b64, bankA))
    const again = bankA.map(m => w.member(m).debit(req.b64, bankA))
    assert.deepEqual(
      again.map(r => [r.notice, r.receipt, r.duplicate]),
      first.map(r => [r.notice, r.receipt, true])
    )
    w.deliver(
      first.map(r => r.notice),
      A.id,
      B.id
    )
    const late = w.deliver(
      first.map(r => r.notice),
      A.id,
      B.id
    )
    for (const list of late.values()) assert.ok(list.every(o => o.status === 'already-credited'))
    assert.deepEqual(w.balances(A.id), [970, 970, 970, 970, 970])
    assert.deepEqual(w.balances(B.id), [1030, 1030, 1030, 1030, 1030])
  })

  it(
    'notices after the credit are answered without a signature check and ' +
      'change nothing; one that differs still goes the full way',
    async () => {
      const { w, A, B } = await joinedPair()
      const bankA = w.bank(A.id)
      const bankB = w.bank(B.id)
      const req = w.request(A, B.id, 30)
      const notices = bankA.map(m => w.member(m).debit(req.b64, bankA).notice)
      w.deliver(notices.slice(0, 3), A.id, B.id)
      const m = w.member(bankB[0])
      const state = (): string => JSON.stringify([m.account(B.id), m.t.credits.get(req.hash), m.ignored])
      const before = state()
      // the fourth member's notice with a broken signature: it repeats the credit, so it is answered unchecked
      const bytes = fromB64(notices[3])
      bytes[bytes.length - 1] ^= 1
      const broken = toB64(bytes)
      throwsCode(() => openNotice(verifier, broken), ErrorCode.BAD_SIGNATURE)
      assert.equal(m.lateNotice(broken)?.status, 'already-credited')
      assert.equal(m.lateNotice(notices[4])?.status, 'already-credited')
      // a notice that says something else than the credit (a lie: evidence), and one for a request not credited
      // here, are not late
      const lie = conflictingNotice(byId(w, bankA[3]).signer, req)
      assert.equal(m.lateNotice(lie), undefined)
      const next = w.request(A, B.id, 5)
      assert.equal(m.lateNotice(w.member(bankA[0]).debit(next.b64, bankA).notice), undefined)
      assert.equal(state(), before)
      // the lie, through the full path, is recognised as one
      const out = m.receiveNotice(lie, bankA, bankB)
      assert.deepEqual([out.status, out.status === 'ignored' && out.reason], ['ignored', 'mismatch'])
    }
  )

  it('a member in both banks counts its own notice like any other', async () => {
    const w = await net(10)
    let pair: [Ident, Ident] | undefined
    for (const a of w.peers)
      for (const b of w.peers)
        if (a !== b && pair === undefined && w.bank(a.id).some(m => w.bank(b.id).includes(m))) pair = [a, b]
    const [A, B] = pair!
    w.join(A)
    w.join(B)
    w.transfer(A, B, 100)
    assert.deepEqual(w.balances(A.id), Array(K).fill(900))
    assert.deepEqual(w.balances(B.id), Array(K).fill(1100))
  })
})

describe('concurrent transfers', () => {
  it(
    'many payers, interleaved debits and notices in random order: every ' + 'member agrees and totals are conserved',
    async () => {
      const w = await net(14)
      for (const p of w.peers) w.join(p)
      const rand = rng(42)
      const expected = new Map(w.peers.map(p => [p.id, INITIAL]))
      // 60 transfers between random pairs, each payer's requests in its nonce order
      const queues = new Map<string, Array<Signed<TransferBody>>>() // `${payer}|${member}` -> requests left
      for (let i = 0; i < 60; i++) {
        const a = w.peers[Math.floor(rand() * w.peers.length)]
        let b = a
        while (b === a) b = w.peers[Math.floor(rand() * w.peers.length)]
        const amount = 1 + Math.floor(rand() * 20)
        const req = w.request(a, b.id, amount)
        expected.set(a.id, expected.get(a.id)! - amount)
        expected.set(b.id, expected.get(b.id)! + amount)
        for (const m of w.bank(a.id)) {
          const key = `${a.id}|${m}`
          queues.set(key, [...(queues.get(key) ?? []), req])
        }
      }
      // ready actions: the head of every (payer, member) queue and every notice not yet delivered
      const inflight: Array<{ notice: string; from: string; to: string; at: string }> = []
      let credited = 0
      let steps = 0
      while (queues.size > 0 || inflight.length > 0) {
        steps++
        const pick = Math.floor(rand() * (queues.size + inflight.length))
        if (pick < queues.size) {
          const [key, list] = [...queues.entries()][pick]
          const m = key.split('|')[1]
          const req = list.shift()!
          if (list.length === 0) queues.delete(key)
          const { notice } = w.member(m).debit(req.b64, w.bank(req.body.from))
          for (const at of w.bank(req.body.to)) inflight.push({ notice, from: req.body.from, to: req.body.to, at })
        } else {
          const [d] = inflight.splice(pick - queues.size, 1)
          const o = w.member(d.at).receiveNotice(d.notice, w.bank(d.from), w.bank(d.to))
          if (o.status === 'credited') credited++
        }
      }
      assert.equal(steps, 60 * K + 60 * K * K)
      assert.equal(credited, 60 * K, 'each transfer credited once at each member of bank(B)')
      for (const p of w.peers)
        assert.deepEqual(w.balances(p.id), Array(K).fill(expected.get(p.id)), `books of ${p.id.slice(-6)}`)
      assert.equal(networkTotal(w, w.peers[0]), w.peers.length * INITIAL)
    }
  )

  it('a debit refused for lack of a credit still in flight goes through on retry; members converge', async () => {
    const w = await net()
    const [A, B] = disjointPair(w)
    const C = w.peers.find(p => p !== A && p !== B && w.bank(p.id).every(m => !w.bank(A.id).includes(m)))!
    for (const p of [A, B, C]) w.join(p)
    const bankA = w.bank(A.id)
    const notices = w.debit(w.request(C, A.id, 500))
    w.deliver(notices, C.id, A.id, bankA.slice(0, 3)) // only 3 members of bank(A) heard of the credit yet
    const big = w.request(A, B.id, 1200)
    for (const m of bankA.slice(0, 3)) w.member(m).debit(big.b64, bankA)
    for (const m of bankA.slice(3))
      rejects(w.member(m), () => w.member(m).debit(big.b64, bankA), ErrorCode.INSUFFICIENT_FUNDS)
    w.deliver(notices, C.id, A.id, bankA.slice(3))
    for (const m of bankA.slice(3)) assert.equal(w.member(m).debit(big.b64, bankA).duplicate, false)
    assert.deepEqual(w.balances(A.id), Array(K).fill(300))
  })
})

describe('refusals change nothing', () => {
  async function setup(): Promise<{ w: Net; A: Ident; B: Ident; bankA: string[]; all: ReturnType<Net['member']>[] }> {
    const w = await net()
    const [A, B] = disjointPair(w)
    w.join(A)
    w.join(B)
    const bankA = w.bank(A.id)
    return { w, A, B, bankA, all: [...new Set([...bankA, ...w.bank(B.id)])].map(m => w.member(m)) }
  }

  it('insufficient balance: INSUFFICIENT_FUNDS, and the nonce is not used up', async () => {
    const { w, A, B, bankA, all } = await setup()
    const req = w.request(A, B.id, INITIAL + 1)
    for (const m of bankA) rejects(all, () => w.member(m).debit(req.b64, bankA), ErrorCode.INSUFFICIENT_FUNDS)
    const ok = w.request(A, B.id, INITIAL, { nonce: 1 })
    for (const m of bankA) assert.equal(w.member(m).debit(ok.b64, bankA).balance, 0)
  })

  it(
    'replayed or old nonce: REPLAY; a gap: STALE_SEQ with the nonce expected; ' +
      "one nonce twice: FRAUD with A's two signatures",
    async () => {
      const { w, A, B, bankA, all } = await setup()
      const r1 = w.transfer(A, B, 10)
      const r2 = w.transfer(A, B, 10)
      for (const m of bankA) {
        rejects(all, () => w.member(m).debit(r1.b64, bankA), ErrorCode.REPLAY)
        assert.equal(w.member(m).debit(r2.b64, bankA).duplicate, true)
        const gap = rejects(
          all,
          () => w.member(m).debit(w.request(A, B.id, 10, { nonce: 4 }).b64, bankA),
          ErrorCode.STALE_SEQ
        )
        assert.equal(gap.details?.expected, 3)
        const twin = w.request(A, B.id, 11, { nonce: 2 })
        const fraud = rejects(all, () => w.member(m).debit(twin.b64, bankA), ErrorCode.FRAUD)
        assert.deepEqual(fraud.details?.evidence, [r2.b64, twin.b64])
      }
      assert.deepEqual(w.balances(A.id), Array(K).fill(980))
      assert.deepEqual(w.balances(B.id), Array(K).fill(1020))
    }
  )

  it('forged request (signed by another peer, or tampered): WRONG_SIGNER / BAD_SIGNATURE', async () => {
    const { w, A, B, bankA, all } = await setup()
    const forged = seal(B.signer, TAG.transfer, { from: A.id, to: B.id, amount: 10, nonce: 1, epoch: 0, ts: 0 }, 't')
    const bytes = fromB64(w.request(A, B.id, 10).b64)
    bytes[bytes.length - 3] ^= 4
    for (const m of bankA) {
      rejects(all, () => w.member(m).debit(forged.b64, bankA), ErrorCode.WRONG_SIGNER)
      rejects(all, () => w.member(m).debit(toB64(bytes), bankA), ErrorCode.BAD_SIGNATURE)
    }
  })

  it('unknown account: NOT_FOUND; self-transfer and amount <= 0: BAD_REQUEST', async () => {
    const { w, A, bankA, all } = await setup()
    const stranger = w.peers.find(p => p !== A && !w.member(bankA[0]).account(p.id) && w.bank(p.id).includes(bankA[0]))
    if (stranger !== undefined) {
      const bankS = w.bank(stranger.id)
      rejects(
        all,
        () =>
          w
            .member(bankA[0])
            .debit(makeTransfer(stranger.signer, { to: A.id, amount: 1, nonce: 1, epoch: 0, ts: 0 }).b64, bankS),
        ErrorCode.NOT_FOUND
      )
    }
    const outsider = await ident() // not in anybody's books
    const bankO = w.bank(outsider.id)
    rejects(
      w.member(bankO[0]),
      () =>
        w
          .member(bankO[0])
          .debit(makeTransfer(outsider.signer, { to: A.id, amount: 1, nonce: 1, epoch: 0, ts: 0 }).b64, bankO),
      ErrorCode.NOT_FOUND
    )
    const self = seal(A.signer, TAG.transfer, { from: A.id, to: A.id, amount: 10, nonce: 1, epoch: 0, ts: 0 }, 't')
    const zero = seal(A.signer, TAG.transfer, { from: A.id, to: bankA[0], amount: 0, nonce: 1, epoch: 0, ts: 0 }, 't')
    const negative = seal(
      A.signer,
      TAG.transfer,
      { from: A.id, to: bankA[0], amount: -5, nonce: 1, epoch: 0, ts: 0 },
      't'
    )
    for (const m of bankA)
      for (const r of [self, zero, negative]) rejects(all, () => w.member(m).debit(r.b64, bankA), ErrorCode.BAD_REQUEST)
  })

  it('a peer outside bank(A), as it computes it, refuses (WRONG_BROKER); a bad set is BAD_REQUEST', async () => {
    const { w, A, B, bankA, all } = await setup()
    const outside = w.peers.find(p => p !== A && !bankA.includes(p.id))!
    const req = w.request(A, B.id, 10)
    rejects(w.member(outside.id), () => w.member(outside.id).debit(req.b64, bankA), ErrorCode.WRONG_BROKER)
    const m = w.member(bankA[0])
    for (const bad of [
      bankA.slice(0, 4),
      [...bankA.slice(0, 4), A.id],
      [...bankA.slice(0, 4), bankA[0]],
      [...bankA.slice(0, 4), 'x']
    ]) {
      rejects(all, () => m.debit(req.b64, bad), ErrorCode.BAD_REQUEST)
    }
    // a notice delivered to a member outside bank(B): WRONG_BROKER
    const notice = m.debit(req.b64, bankA).notice
    const notB = w.peers.find(p => p !== B && !w.bank(B.id).includes(p.id))!
    rejects(
      w.member(notB.id),
      () => w.member(notB.id).receiveNotice(notice, bankA, w.bank(B.id)),
      ErrorCode.WRONG_BROKER
    )
  })
})

describe('joining', () => {
  it('opens an account with the initial karma once; not enough work or the wrong bank is refused', async () => {
    const w = await net()
    const P = w.peers[0]
    const bank = w.bank(P.id)
    const m = w.member(bank[0])
    const proof = makeJoin(P.signer, solvePow(P.id, DIFFICULTY), DIFFICULTY)
    assert.deepEqual(m.openAccount(proof.b64, INITIAL, DIFFICULTY, bank, true), {
      account: P.id,
      balance: INITIAL,
      opened: true
    })
    assert.deepEqual(m.openAccount(proof.b64, INITIAL, DIFFICULTY, bank), {
      account: P.id,
      balance: INITIAL,
      opened: false
    })
    const Q = w.peers[1]
    const weak = makeJoin(Q.signer, solvePow(Q.id, 2), 2)
    const bankQ = w.bank(Q.id)
    rejects(
      w.member(bankQ[0]),
      () => w.member(bankQ[0]).openAccount(weak.b64, INITIAL, DIFFICULTY, bankQ),
      ErrorCode.BAD_REQUEST
    )
    const outside = w.peers.find(p => p !== Q && !bankQ.includes(p.id))!
    const strong = makeJoin(Q.signer, solvePow(Q.id, DIFFICULTY), DIFFICULTY)
    rejects(
      w.member(outside.id),
      () => w.member(outside.id).openAccount(strong.b64, INITIAL, DIFFICULTY, bankQ),
      ErrorCode.WRONG_BROKER
    )
    throwsCode(() => m.openAccount(proof.b64, -1, DIFFICULTY, bank), ErrorCode.BAD_REQUEST)
  })

  it('a peer paid before it joined gets the initial karma on top, once', async () => {
    const w = await net()
    const [A, B] = disjointPair(w)
    w.join(A)
    w.transfer(A, B, 40)
    assert.deepEqual(w.balances(B.id), Array(K).fill(40))
    w.join(B)
    w.join(B)
    assert.deepEqual(w.balances(B.id), Array(K).fill(40 + INITIAL))
  })
})
