// A coordinator's side of an epoch round: whose reports it takes, and that it
// gives one factor per round and, once it finished an epoch, the factor it applied.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { rejectsCode } from '@p2pay/test-utils'
import type { BankView } from '../src/net/context.ts'
import { EpochService } from '../src/net/epoch-service.ts'
import { Member } from '../src/core/member.ts'
import { makeReport, openFactor } from '../src/core/epoch-messages.ts'
import { DEFAULT_KARMA } from '../src/core/config.ts'
import { Clock, K, context, idents, memberTables, throwsCode, verifier } from './fixtures.ts'

async function coordinator(): Promise<{ rounds: EpochService; member: Member; id: string }> {
  const [c] = await idents(1)
  const member = new Member(memberTables(), c.signer, verifier, { k: K, now: new Clock().now })
  // the coordinator's side uses only the keys, the member's books and a view in which every peer runs Karma (who may
  // report is tested in epoch-reports.test.ts)
  const view = {
    isKarmaPeer: async () => true,
    coordinators: async () => [c.id]
  } as unknown as BankView
  const rounds = new EpochService(context(c, member, { cfg: { ...DEFAULT_KARMA, k: K, initialKarma: 1000 }, view }))
  return { rounds, member, id: c.id }
}

const factorOf = (r: EpochService, epoch: number, attempt: number): { num: number; den: number } => {
  const b = openFactor(verifier, r.factor(epoch, attempt).factor, epoch, attempt).body
  return { num: b.num, den: b.den }
}

describe('epoch coordinator', () => {
  it('takes a report only from the peer that signed it; a relayed or forged one changes nothing', async () => {
    const { rounds } = await coordinator()
    const [a, b] = await idents(2)
    const report = makeReport(a.signer, { epoch: 0, accounts: 4, active: 2, total: 4000 }).b64
    await rejectsCode(rounds.takeReport(report, b.id), ErrorCode.WRONG_SIGNER)
    // nothing was counted: the factor of epoch 0 comes from no reports (1/1)
    assert.deepEqual(factorOf(rounds, 0, 0), { num: 1, den: 1 })
    assert.equal((await rounds.takeReport(report, a.id)).reports, 1)
    assert.equal(
      (await rounds.takeReport(makeReport(a.signer, { epoch: 0, accounts: 4, active: 2, total: 4000 }).b64, a.id))
        .reports,
      1,
      'one report per peer, the latest'
    )
  })

  it(
    'one answer per round; rounds per epoch are bounded and a flood of attempt numbers ' +
      "does not change a live round's answer",
    async () => {
      const { rounds } = await coordinator()
      const first = rounds.factor(0, 0).factor
      assert.equal(rounds.factor(0, 0).factor, first)
      for (let i = 1; i < 32; i++) rounds.factor(0, i)
      throwsCode(() => rounds.factor(0, 99), ErrorCode.BAD_REQUEST)
      assert.equal(rounds.factor(0, 0).factor, first)
      throwsCode(() => rounds.factor(5, 0), ErrorCode.STALE_SEQ)
      throwsCode(() => rounds.factor(-1, 0), ErrorCode.BAD_REQUEST)
    }
  )
})
