// Lying epoch reporters: a report weighs no more than an honest member's, its
// counts are bounded by what a member of k-sets can bank for, and only Karma
// peers (bank-set candidates) may file one, so one liar or a minority of sybils
// cannot move the factor that every coordinator signs.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { rejectsCode } from '@p2pay/test-utils'
import { EpochService } from '../src/net/epoch-service.ts'
import { Member } from '../src/core/member.ts'
import { closestToKey, epochKeyBytes } from '../src/core/bankset.ts'
import { makeReport, openFactor, type ReportBody } from '../src/core/epoch-messages.ts'
import { MAX_KARMA, TAG, seal } from '../src/core/messages.ts'
import { KIND } from '../src/kinds.ts'
import { estimateFromReports } from '../src/core/epoch.ts'
import { maxActivePerMember, sizeFromClosest } from '../src/core/epoch-reports.ts'
import { DEFAULT_KARMA } from '../src/core/config.ts'
import type { BankView } from '../src/net/context.ts'
import {
  Clock,
  K,
  context,
  idents,
  memberTables,
  seeded,
  throwsCode,
  verifier,
  INITIAL,
  type Ident
} from './fixtures.ts'

interface Coordinator {
  rounds: EpochService
  member: Member
  id: string
}

/** k coordinators whose view knows `karma` as the Karma peers of the network (the bank-set candidates). */
async function coordinators(karma: Ident[]): Promise<{ cs: Coordinator[]; all: string[] }> {
  const all = [...karma.map(p => p.id)]
  const cs = await idents(K)
  for (const c of cs) all.push(c.id)
  const known = new Set(all)
  const view = {
    isKarmaPeer: async (id: string) => known.has(id),
    coordinators: async (epoch: number) => closestToKey(epochKeyBytes(epoch), all, K)
  } as unknown as BankView
  const coords = cs.map(c => {
    const member = new Member(memberTables(), c.signer, verifier, { k: K, now: new Clock().now })
    const rounds = new EpochService(
      context(c, member, { cfg: { ...DEFAULT_KARMA, k: K, initialKarma: INITIAL }, view })
    )
    return { rounds, member, id: c.id }
  })
  return { cs: coords, all }
}

const factorOf = (c: Coordinator, epoch: number, attempt = 0): { num: number; den: number } => {
  const b = openFactor(verifier, c.rounds.factor(epoch, attempt).factor, epoch, attempt).body
  return { num: b.num, den: b.den }
}

/** Every honest member banks 5 accounts, all active, at the initial karma: the network is at its target. */
const HONEST = { epoch: 0, accounts: 5, active: 5, total: 5 * INITIAL }

describe('lying epoch reporters', () => {
  for (const liars of [1, 3, K - 1])
    it(
      `${liars} lying reporter(s) among 16 honest ones do not move the factor: ` +
        'oversized reports are refused (BAD_REQUEST), bounded ones are outweighed; every coordinator signs 1/1',
      async () => {
        const honest = await idents(16)
        const liar = await idents(liars)
        const { cs, all } = await coordinators([...honest, ...liar])
        for (const c of cs) for (const h of honest) await c.rounds.takeReport(makeReport(h.signer, HONEST).b64, h.id)
        for (const c of cs) assert.deepEqual(factorOf(c, 0, 0), { num: 1, den: 1 }, '16 honest reports: 1/1')
        // the reports: a million active accounts with 3.9 or 0.26 times the karma per account
        const lies = [
          { epoch: 0, accounts: 1e6, active: 1e6, total: 3.9e9 },
          { epoch: 0, accounts: 1e6, active: 1e6, total: 2.6e8 }
        ]
        for (const c of cs)
          for (const [i, l] of liar.entries()) {
            const before = (await c.rounds.takeReport(makeReport(honest[0].signer, HONEST).b64, honest[0].id)).reports
            // a report claiming more than a member can bank for is refused
            await rejectsCode(c.rounds.takeReport(makeReport(l.signer, lies[i % 2]).b64, l.id), ErrorCode.BAD_REQUEST)
            assert.equal(
              (await c.rounds.takeReport(makeReport(honest[0].signer, HONEST).b64, honest[0].id)).reports,
              before,
              'the refused report was not counted'
            )
          }
        // the most a member may claim, with 3.9 or 0.26 times the karma per active account
        const bound = maxActivePerMember(K, sizeFromClosest(epochKeyBytes(0), closestToKey(epochKeyBytes(0), all, K)))
        for (const c of cs)
          for (const [i, l] of liar.entries()) {
            const per = i % 2 === 0 ? 3900 : 260
            await c.rounds.takeReport(
              makeReport(l.signer, { epoch: 0, accounts: bound, active: bound, total: bound * per }).b64,
              l.id
            )
          }
        const agreed = cs.map(c => factorOf(c, 0, 1))
        for (const f of agreed) assert.deepEqual(f, { num: 1, den: 1 }, 'the liars are outweighed')
        // no honest party lost value: a member applying the agreed factor keeps every balance
        const m = cs[0].member
        const r = m.rescale(1, agreed[0])
        assert.equal(r.after, r.before)
      }
    )

  it('an outsider that runs no Karma (no bank-set candidate): its report is refused, changes nothing', async () => {
    const honest = await idents(4)
    const [outsider] = await idents(1)
    const [c] = (await coordinators(honest)).cs
    await c.rounds.takeReport(makeReport(honest[0].signer, HONEST).b64, honest[0].id)
    await rejectsCode(c.rounds.takeReport(makeReport(outsider.signer, HONEST).b64, outsider.id), ErrorCode.WRONG_BROKER)
    const f = openFactor(verifier, c.rounds.factor(0, 0).factor, 0, 0).body
    assert.equal(f.reports, 1, "only the Karma peer's report counts")
  })
})

describe('report bounds', () => {
  it('a lying reporter: a total over accounts * MAX_KARMA is refused, changes nothing', async () => {
    const honest = await idents(3)
    const [c] = (await coordinators(honest)).cs
    await c.rounds.takeReport(makeReport(honest[0].signer, HONEST).b64, honest[0].id)
    const body = { member: honest[1].id, epoch: 0, accounts: 2, active: 1, total: 2 * MAX_KARMA + 1 }
    throwsCode(() => makeReport(honest[1].signer, body), ErrorCode.BAD_REQUEST)
    const forged = seal(honest[1].signer, TAG.report, body, KIND.epoch).b64
    await rejectsCode(c.rounds.takeReport(forged, honest[1].id), ErrorCode.BAD_REQUEST)
    assert.equal(openFactor(verifier, c.rounds.factor(0, 0).factor, 0, 0).body.reports, 1)
  })

  it('the size estimate from the k peers nearest a key is within a few times the real size', async () => {
    const ids = await Promise.all(Array.from({ length: 256 }, async (_, i) => (await seeded(i)).id))
    for (const e of [0, 1, 2, 3]) {
      const size = sizeFromClosest(epochKeyBytes(e), closestToKey(epochKeyBytes(e), ids, K))
      assert.ok(size >= 256 / 8 && size <= 256 * 8, `epoch ${e}: ${size}`)
    }
    // a member of 5-sets in a network of 256 may report up to 5 * (8 + 8) active accounts
    assert.equal(maxActivePerMember(5, 256), 80)
  })
})

describe('estimateFromReports against liars within the bounds', () => {
  const as = (b: ReportBody): { signer: string; body: ReportBody } => ({ signer: b.member, body: b })
  // 16 honest members; the 8 that bank one departed account each report more karma per active account
  const honest: ReportBody[] = Array.from({ length: 16 }, (_, i) => ({
    member: `m${i}`,
    epoch: 4,
    accounts: 4,
    active: i < 8 ? 3 : 4,
    total: 4000
  }))
  const exact = 64_000 / 56

  it('with no liars the estimate is the exact sum; k-1 liars move it by less than the honest spread', () => {
    const est = estimateFromReports(honest.map(as), 4)
    assert.equal(est.totalKarma / est.activePeers, exact)
    for (const liars of [1, 3, K - 1])
      for (const per of [3900, 400]) {
        const lies: ReportBody[] = Array.from({ length: liars }, (_, i) => ({
          member: `x${i}`,
          epoch: 4,
          accounts: 60,
          active: 60,
          total: 60 * per
        }))
        const e = estimateFromReports([...honest, ...lies].map(as), 4)
        const ratio = e.totalKarma / e.activePeers
        // honest members report 1000 and 1333 per active account
        assert.ok(ratio >= 1000 && ratio <= 4000 / 3, `${liars} liars at ${per}: ${ratio}`)
        assert.ok(Math.abs(ratio - exact) / exact < 0.06, `${liars} liars at ${per}: ${ratio} vs ${exact}`)
        // the same reports in another order give the same estimate (coordinators agree)
        assert.deepEqual(estimateFromReports([...lies, ...honest].reverse().map(as), 4), e)
      }
  })
})
