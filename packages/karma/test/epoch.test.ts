// Epochs: the rescale factor, rescaling that keeps the average per active peer
// within rounding, late transfers of the previous epoch that commute with the
// rescale (so honest members keep identical numbers), activity and reports.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { FACTOR_DEN, rescaleFactor, rescaleBalance, estimateFromReports, applyAmount } from '../src/core/epoch.ts'
import { makeHeartbeat, openReport, type ReportBody } from '../src/core/epoch-messages.ts'
import { net, disjointPair, rng, rejects, throwsCode, verifier, INITIAL, K, type Net } from './fixtures.ts'

/** Rescales every member of the network to `epoch` with one factor, as an agreed epoch would. */
function rescaleAll(w: Net, epoch: number, f: { num: number; den: number }): void {
  for (const m of w.members.values()) m.rescale(epoch, f)
}

describe('rescaleFactor', () => {
  it('brings total/active to the target, in ppm, reduced, capped at maxStep', () => {
    assert.deepEqual(rescaleFactor(2000, 4, 1000), { num: 2, den: 1 })
    assert.deepEqual(rescaleFactor(4000, 2, 1000), { num: 1, den: 2 })
    assert.deepEqual(rescaleFactor(3000, 2, 1000), { num: 666667, den: FACTOR_DEN })
    assert.deepEqual(rescaleFactor(1000, 10, 1000), { num: 2, den: 1 }, 'capped')
    assert.deepEqual(rescaleFactor(1000, 10, 1000, 20), { num: 10, den: 1 })
    assert.deepEqual(rescaleFactor(0, 10, 1000), { num: 1, den: 1 })
    assert.deepEqual(rescaleFactor(1000, 0, 1000), { num: 1, den: 1 })
    throwsCode(() => rescaleFactor(-1, 1, 1), ErrorCode.BAD_REQUEST)
  })

  it('rescaleBalance floors and keeps the remainder exactly', () => {
    assert.deepEqual(rescaleBalance(1000, { num: 2, den: 3 }), { balance: 666, rem: 2 })
    assert.deepEqual(
      rescaleBalance(2 ** 50, { num: 2 ** 32, den: 2 ** 32 - 1 }).balance,
      Number((2n ** 50n * 2n ** 32n) / (2n ** 32n - 1n))
    )
  })
})

describe('rescale', () => {
  it('keeps the average per active peer at the target within rounding; totals change only by the factor', async () => {
    const w = await net(12)
    for (const p of w.peers) w.join(p)
    rescaleAll(w, 1, { num: 1, den: 1 }) // a fresh epoch: nobody active yet
    const rand = rng(3)
    // in epoch 1, peers 0..5 pay (active), 6..8 only send heartbeats (active), 9..11 stay silent
    for (let i = 0; i < 30; i++) {
      const a = w.peers[Math.floor(rand() * 6)]
      const b = w.peers[(w.peers.indexOf(a) + 1 + Math.floor(rand() * 11)) % 12]
      const req = w.request(a, b.id, 1 + Math.floor(rand() * 50), { epoch: 1 })
      w.deliver(w.debit(req), a.id, b.id)
    }
    for (const p of w.peers.slice(6, 9))
      for (const m of w.bank(p.id)) w.member(m).heartbeat(makeHeartbeat(p.signer, 1).b64, w.bank(p.id))
    const reports = [...w.members.values()].map(m => openReport(verifier, m.epochReport()))
    // every report trusted (no outliers dropped, none clamped): the raw sums
    const est = estimateFromReports(reports, 1, Infinity, 0)
    const total = 12 * INITIAL
    assert.equal(est.totalKarma, K * total, 'every account is counted by its k members')
    assert.equal(est.activePeers, K * 9)
    const f = rescaleFactor(est.totalKarma, est.activePeers, INITIAL)
    assert.deepEqual(f, { num: 3, den: 4 })
    rescaleAll(w, 2, f)
    let after = 0
    let exact = 0n
    for (const p of w.peers) {
      const v = w.read(p.id, w.peers[0])!
      assert.equal(v.epoch, 2)
      after += v.balance
      const row = w.member(w.bank(p.id)[0]).account(p.id)!
      exact += BigInt(row.balance) * BigInt(f.den) + BigInt(row.rem)
    }
    // exactly: sum(balance * den + rem) = total * num; the floor takes < 1 per account and never adds
    assert.equal(exact, BigInt(total) * BigInt(f.num))
    assert.ok(after <= (total * 3) / 4 && after > (total * 3) / 4 - 12, `total after ${after}`)
    assert.ok(Math.abs(after / 9 - INITIAL) < 12 / 9, `average per active peer ${after / 9}`)
  })

  it(
    'is idempotent for the epoch reached; another epoch or factor is ' + 'STALE_SEQ; a bad factor BAD_REQUEST',
    async () => {
      const w = await net(8)
      w.join(w.peers[0])
      const m = w.member(w.bank(w.peers[0].id)[0])
      assert.equal(m.rescale(1, { num: 1, den: 2 }).changed, true)
      assert.equal(m.rescale(1, { num: 1, den: 2 }).changed, false)
      assert.equal(m.account(w.peers[0].id)!.balance, INITIAL / 2)
      rejects(m, () => m.rescale(1, { num: 1, den: 3 }), ErrorCode.STALE_SEQ)
      rejects(m, () => m.rescale(3, { num: 1, den: 2 }), ErrorCode.STALE_SEQ)
      rejects(m, () => m.rescale(0, { num: 1, den: 2 }), ErrorCode.STALE_SEQ)
      for (const f of [
        { num: 0, den: 1 },
        { num: 1, den: 0 },
        { num: 1.5, den: 1 },
        { num: 2 ** 33, den: 1 }
      ])
        rejects(m, () => m.rescale(2, f), ErrorCode.BAD_REQUEST)
    }
  )

  it('a transfer of the previous epoch gives the same books whether a member rescaled before or after it', async () => {
    const w = await net()
    const [A, B] = disjointPair(w)
    w.join(A)
    w.join(B)
    const bankA = w.bank(A.id)
    const bankB = w.bank(B.id)
    const f = { num: 2, den: 3 } // leaves remainders
    const reqs = [w.request(A, B.id, 10), w.request(A, B.id, 7)] // both in epoch 0 units
    // bank(A): members 0..2 rescale first, then debit; 3..4 debit, then rescale
    const notices: string[][] = [[], []]
    for (const [i, m] of bankA.entries()) {
      const member = w.member(m)
      if (i < 3) member.rescale(1, f)
      for (const [j, r] of reqs.entries()) notices[j].push(member.debit(r.b64, bankA).notice)
      if (i >= 3) member.rescale(1, f)
    }
    const a = bankA.map(m => w.member(m).account(A.id)!)
    assert.deepEqual(
      a.map(x => [x.balance, x.rem]),
      Array(K).fill([655, 1]),
      '(1000 - 17) * 2/3 = 655 + 1/3'
    )
    // bank(B): the first notice of each before the rescale at some, all after at others
    for (const [i, m] of bankB.entries()) {
      const member = w.member(m)
      if (i % 2 === 0) member.rescale(1, f)
      for (const n of notices.flat()) member.receiveNotice(n, bankA, bankB)
      if (i % 2 === 1) member.rescale(1, f)
    }
    assert.deepEqual(
      bankB.map(m => {
        const x = w.member(m).account(B.id)!
        return [x.balance, x.rem]
      }),
      Array(K).fill([678, 0]),
      '(1000 + 17) * 2/3 = 678'
    )
    // exact conservation in epoch-1 units (times den): 655*3+1 + 678*3+0 = 2000*2
    assert.equal(655 * 3 + 1 + 678 * 3, 2 * INITIAL * 2)
  })

  it('messages two epochs old are refused, and messages of an epoch not reached yet wait (STALE_SEQ)', async () => {
    const w = await net()
    const [A, B] = disjointPair(w)
    w.join(A)
    w.join(B)
    const bankA = w.bank(A.id)
    const m = w.member(bankA[0])
    const future = w.request(A, B.id, 5, { epoch: 1 })
    rejects(m, () => m.debit(future.b64, bankA), ErrorCode.STALE_SEQ)
    m.rescale(1, { num: 1, den: 1 })
    m.rescale(2, { num: 1, den: 1 })
    const old = w.request(A, B.id, 5, { nonce: 1, epoch: 0 })
    rejects(m, () => m.debit(old.b64, bankA), ErrorCode.STALE_SEQ)
    throwsCode(() => applyAmount({ balance: 1, rem: 0 }, 1, 0, { epoch: 2, num: 1, den: 1 }), ErrorCode.STALE_SEQ)
    const current = w.request(A, B.id, 5, { nonce: 1, epoch: 2 })
    assert.equal(m.debit(current.b64, bankA).balance, INITIAL - 5)
  })
})

describe('activity and reports', () => {
  it('a signed heartbeat for the current epoch marks the account active; reports count it', async () => {
    const w = await net(8)
    const P = w.peers[0]
    w.join(P)
    const bank = w.bank(P.id)
    const m = w.member(bank[0])
    m.rescale(1, { num: 1, den: 1 })
    assert.deepEqual(openReport(verifier, m.epochReport()).body, {
      member: m.id,
      epoch: 1,
      accounts: 1,
      active: 0,
      total: INITIAL
    })
    rejects(m, () => m.heartbeat(makeHeartbeat(P.signer, 0).b64, bank), ErrorCode.STALE_SEQ)
    assert.deepEqual(m.heartbeat(makeHeartbeat(P.signer, 1).b64, bank), { account: P.id, epoch: 1 })
    assert.equal(openReport(verifier, m.epochReport()).body.active, 1)
    const stranger = w.peers.find(p => p !== P && w.bank(p.id).includes(m.id))
    if (stranger !== undefined)
      rejects(m, () => m.heartbeat(makeHeartbeat(stranger.signer, 1).b64, w.bank(stranger.id)), ErrorCode.NOT_FOUND)
  })

  it('estimateFromReports drops lying reporters and members that signed two reports', async () => {
    const honest: ReportBody[] = Array.from({ length: 12 }, (_, i) => ({
      member: `m${i}`,
      epoch: 4,
      accounts: 10,
      active: 8,
      total: 800 + i
    }))
    const liars: ReportBody[] = [
      { member: 'x1', epoch: 4, accounts: 10, active: 1, total: 1e12 },
      { member: 'x2', epoch: 4, accounts: 10, active: 10, total: 1 }
    ]
    const as = (b: ReportBody): { signer: string; body: ReportBody } => ({ signer: b.member, body: b })
    const est = estimateFromReports([...honest, ...liars].map(as), 4, 4)
    const ratio = est.totalKarma / est.activePeers
    assert.ok(ratio > 100 && ratio < 102, `ratio ${ratio}`)
    const twice = estimateFromReports([...honest.map(as), as({ ...honest[0], total: 99999 })], 4, Infinity)
    assert.equal(twice.used, 11)
    assert.equal(estimateFromReports(honest.map(as), 5).used, 0, 'other epochs do not count')
    throwsCode(() => estimateFromReports([], 4, 0), ErrorCode.BAD_REQUEST)
  })

  it(
    'estimateFromReports is exact when the members that bank departed ' + 'peers report more karma per active account',
    async () => {
      // 16 accounts of 1000 each, k = 4 members per account, 2 accounts inactive: 64 book entries over 16 members
      const reports: ReportBody[] = Array.from({ length: 16 }, (_, i) => {
        const inactive = i < 8 ? 1 : 0 // the 8 members that bank one of the 2 departed accounts each
        return { member: `m${i}`, epoch: 4, accounts: 4, active: 4 - inactive, total: 4000 }
      })
      const est = estimateFromReports(
        reports.map(b => ({ signer: b.member, body: b })),
        4
      )
      assert.equal(est.used, 16)
      assert.equal(
        est.totalKarma / est.activePeers,
        64_000 / 56,
        'total karma over active book entries: 16000 / 14 per account'
      )
    }
  )
})
