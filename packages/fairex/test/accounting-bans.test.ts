// The AC and the judge's bans (accounting-bans.ts): a banned provider's
// deposits are accepted but their proceeds are held until the ban ends, and
// then first cover what its voided cheques could not claw back. The cheating
// provider is the one who pays; its downloaders lose nothing.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import {
  FEE,
  world,
  bal,
  assertHolds,
  hex,
  issue,
  purchase,
  deposit,
  rejects,
  snapshot
} from './accounting-fixtures.ts'

const HOLD = 1000
const BAN = 30_000

describe("a banned provider's proceeds (the judge ruled providerBan)", () => {
  it(
    'a cheating provider that spent its earnings: its deposits while banned are held, not paid; ' +
      'after the ban they first repay the shortfall; the downloaders lose nothing',
    async () => {
      const w = await world({ holdMs: HOLD })
      const cD = issue(w, w.D, 100)
      const cD2 = issue(w, w.D2, 100)
      const value = (who: typeof w.D, c: typeof cD): number => bal(w, who) + w.acct.certificate(c.hash)!.escrow
      const start = { D: value(w.D, cD), D2: value(w.D2, cD2) }

      // the cheating sale to D: deposited, paid after the window; P moves its earnings away
      const cheat = purchase(w, { P: w.P, D: w.D, cert: cD, price: 10 })
      deposit(w, w.P, [cheat.item])
      w.clock.advance(HOLD)
      w.acct.releaseHeld()
      assert.equal(bal(w, w.P), 10 - FEE)
      issue(w, w.P, 10 - FEE, 0)
      // an honest sale to D2 made before the verdict, not yet deposited
      const honest = purchase(w, { P: w.P, D: w.D2, cert: cD2, price: 20 })
      // the late verdict: nothing left to claw back, and P is banned until T + BAN
      const until = w.clock.t + BAN
      const v = w.acct.voidCheque(cheat.item.cheque, hex(), { hash: hex(), until, peer: w.P.id })
      assert.deepEqual([v.from, v.refunded, v.shortfall], ['provider', 0, 10])

      // while banned: the honest cheque is accepted, its price held past the complaint window
      const d = deposit(w, w.P, [honest.item])
      assert.deepEqual([d.results[0].status, d.paid, d.held, d.releaseAt], ['held', 0, 20, until])
      // and a second cheat, on D2, is refunded in full from the escrow it is held in
      const cheat2 = purchase(w, { P: w.P, D: w.D2, cert: cD2, price: 15 })
      deposit(w, w.P, [cheat2.item])
      w.clock.advance(HOLD)
      assert.deepEqual(w.acct.releaseHeld(), [], 'nothing is paid to a banned provider')
      assert.equal(w.acct.cheque(w.P.id, w.D2.id, cheat2.req.body.chequeSn)!.deposited!.releaseAt, until)
      assert.equal(bal(w, w.P), 0)
      const v2 = w.acct.voidCheque(cheat2.item.cheque, hex(), { hash: hex(), until, peer: w.P.id })
      assert.deepEqual([v2.from, v2.refunded], ['escrow', 15])
      assertHolds(w)

      // the ban ends: the held proceeds (20, less the batch's fee) first repay D's shortfall
      w.clock.t = until
      const r = w.acct.releaseHeld()
      assert.deepEqual(
        r.map(x => x.paid),
        [20, 0]
      )
      assert.equal(bal(w, w.P), 20 - FEE - 10)
      assert.equal(value(w.D, cD), start.D, 'D lost nothing')
      // D2 paid for the file it got (20) and nothing for the cheat
      assert.equal(value(w.D2, cD2), start.D2 - 20)
      assert.equal(w.acct.cheque(w.P.id, w.D.id, cheat.req.body.chequeSn)!.void!.recovered, 10)
      assert.deepEqual([w.acct.audit().meta.shortfall, w.acct.audit().meta.recovered], [10, 10])
      assert.deepEqual(w.acct.t.bans.get(w.P.id)!.owed, [])
      // nothing is paid twice
      assert.deepEqual(w.acct.releaseHeld(), [])
      assert.equal(bal(w, w.P), 20 - FEE - 10)
      assertHolds(w)
    }
  )

  it('a ban of another provider than the cheque names is refused and changes nothing', async () => {
    const w = await world({ holdMs: HOLD })
    const c = issue(w, w.D, 100)
    const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
    deposit(w, w.P, [p.item])
    const before = snapshot(w)
    rejects(
      w,
      () => w.acct.voidCheque(p.item.cheque, hex(), { hash: hex(), until: w.clock.t + BAN, peer: w.P2.id }),
      ErrorCode.BAD_REQUEST
    )
    assert.equal(snapshot(w), before)
    // another provider's proceeds are not held by P's ban
    w.acct.voidCheque(p.item.cheque, hex(), { hash: hex(), until: w.clock.t + BAN, peer: w.P.id })
    const c2 = issue(w, w.D2, 100)
    const other = purchase(w, { P: w.P2, D: w.D2, cert: c2, price: 10, form: 'original' })
    assert.deepEqual([deposit(w, w.P2, [other.item]).paid, bal(w, w.P2)], [10, 10 - FEE])
    assertHolds(w)
  })
})
