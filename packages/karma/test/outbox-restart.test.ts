// The outbox and a member that restarts: a member of bank(B) that drops out of the bank-sets others compute
// while it is away still gets the notice once it is back, and a restarted member takes in what its bank did
// meanwhile from the rest of the bank.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { bankSet } from '../src/core/bankset.ts'
import { BankDuties } from '../src/net/bank-duties.ts'
import { ErrorCode, P2payError } from '@p2pay/core'
import type { KarmaCalls } from '../src/net/context.ts'
import { byId, context, joinedPair, snapshot } from './fixtures.ts'

describe('a member of bank(B) that is away for a while', () => {
  it('is still sent the notice when it is back, though the others took it while it was out of bank(B)', async () => {
    const { w, A, B } = await joinedPair()
    const bankB = w.bank(B.id)
    const away = bankB[2]
    let back = true
    const noticed: string[] = []
    // bank(B) as this member computes it: without the member that is away, until it is back
    const view = {
      bank: async (a: string) => (a === B.id && !back ? bankB.filter(m => m !== away) : w.bank(a)),
      karmaPeersNear: async () => w.ids
    } as any
    const peers = {
      send: async () => {},
      call: async (m: string, op: string) => {
        if (op === 'credited') return { credited: [] }
        if (m === away && !back) throw new Error('unreachable: it is restarting')
        noticed.push(m)
        return { status: 'counted' }
      }
    } as unknown as KarmaCalls
    const m = w.bank(A.id)[0]
    const d = new BankDuties(context(byId(w, m), w.member(m), { view, peers }))
    await d.debits.debit(w.request(A, B.id, 5).b64)
    const row = [...d.ctx.t.outbox.values()][0]
    // it goes away after the debit: the ticks past the grace period see bank(B) without it
    d.ctx.t.outbox.set(row.requestHash, { ...row, at: Date.now() - 60_000 })
    back = false
    await d.tick()
    await d.tick()
    assert.ok(d.ctx.t.outbox.has(row.requestHash), 'the notice was dropped although a member of bank(B) never took it')
    assert.equal(noticed.includes(away), false)
    back = true
    await d.tick()
    assert.ok(noticed.includes(away), 'the member back from its restart never got the notice')
    assert.equal(d.ctx.t.outbox.has(row.requestHash), false, 'every member served: the row is gone')
  })

  it(
    'is let go once it is out of bank(B) by both views: this member computes it out, and it says ' + 'so itself',
    async () => {
      const { w, A, B } = await joinedPair()
      const bankB = w.bank(B.id)
      const left = bankB[1]
      let gone = false
      const view = {
        bank: async (a: string) => (a === B.id && gone ? bankB.filter(m => m !== left) : w.bank(a)),
        karmaPeersNear: async () => w.ids
      } as any
      const peers = {
        send: async () => {},
        call: async (m: string, op: string) => {
          if (op === 'credited') return { credited: [] }
          if (m === left) throw new P2payError(ErrorCode.WRONG_BROKER, 'not in bank(B) as it computes it')
          return { status: 'counted' }
        }
      } as unknown as KarmaCalls
      const m = w.bank(A.id)[0]
      const d = new BankDuties(context(byId(w, m), w.member(m), { view, peers }))
      await d.debits.debit(w.request(A, B.id, 5).b64)
      const row = [...d.ctx.t.outbox.values()][0]
      d.ctx.t.outbox.set(row.requestHash, { ...row, at: Date.now() - 60_000 })
      await d.tick()
      assert.ok(d.ctx.t.outbox.has(row.requestHash), 'a member of bank(B) whose own view is behind is asked again')
      gone = true
      await d.tick()
      assert.equal(d.ctx.t.outbox.has(row.requestHash), false, 'a member out of bank(B) by both views pins the notice')
    }
  )
})

describe('a member of bank(B) that finds itself out of it', () => {
  it("marks its row of B stale when it refuses B's notice: it adopts the bank's state if it enters again", async () => {
    const { w, A, B } = await joinedPair()
    const me = w.bank(B.id)[0]
    // its own fresh look leaves it out of bank(B) (a peer nearer B's key came back)
    const view = {
      bank: async (a: string) =>
        a === B.id
          ? bankSet(
              B.id,
              w.ids.filter(m => m !== me),
              w.k
            )
          : w.bank(a),
      karmaPeersNear: async () => w.ids
    } as any
    const d = new BankDuties(context(byId(w, me), w.member(me), { view }))
    assert.equal(w.member(me).isSynced(B.id), true)
    const sender = w.bank(A.id)[0]
    const { notice } = w.member(sender).debit(w.request(A, B.id, 5).b64, w.bank(A.id))
    await assert.rejects(d.credits.notice(notice), (e: unknown) => e instanceof P2payError && e.code === 'WRONG_BROKER')
    assert.equal(w.member(me).isSynced(B.id), false, 'a row that stops getting notices stays synced')
  })

  it('says it is out of bank(B) to a sender that has left bank(A) since: that sender lets it go', async () => {
    const { w, A, B } = await joinedPair()
    const me = w.bank(B.id)[0]
    const sender = w.bank(A.id)[0]
    const { notice } = w.member(sender).debit(w.request(A, B.id, 5).b64, w.bank(A.id))
    // its fresh look leaves it out of bank(B), and leaves the sender out of bank(A) (both moved while peers restarted)
    const without = (a: string, gone: string): string[] =>
      bankSet(
        a,
        w.ids.filter(m => m !== gone),
        w.k
      )
    const view = {
      bank: async (a: string) => (a === B.id ? without(B.id, me) : a === A.id ? without(A.id, sender) : w.bank(a)),
      karmaPeersNear: async () => w.ids
    } as any
    const d = new BankDuties(context(byId(w, me), w.member(me), { view }))
    const credits = snapshot({ credits: w.member(me).t.credits })
    await assert.rejects(d.credits.notice(notice), (e: unknown) => e instanceof P2payError && e.code === 'WRONG_BROKER')
    assert.equal(snapshot({ credits: w.member(me).t.credits }), credits, 'a notice it is not a member for was counted')
  })
})

describe('a member of bank(B) left short of notices', () => {
  it('pulls the missing notices from the members of bank(A) that debited, and credits', async () => {
    const { w, A, B } = await joinedPair()
    const me = w.bank(B.id)[0]
    const bankA = w.bank(A.id)
    const req = w.request(A, B.id, 5)
    const notices = bankA.map(m => w.member(m).debit(req.b64, bankA).notice)
    const asked: string[] = []
    const peers = {
      send: async () => {},
      call: async (m: string, op: string, args: any) => {
        assert.equal(op, 'noticeOf')
        asked.push(m)
        return { notice: w.member(m).t.pending.get(args.requestHash)!.notice }
      }
    } as unknown as KarmaCalls
    const view = { bank: async (a: string) => w.bank(a), karmaPeersNear: async () => w.ids } as any
    const d = new BankDuties(context(byId(w, me), w.member(me), { view, peers }))
    // only one member's notice reached this one (the others' outboxes counted it served by a view without it)
    const first = await d.credits.notice(notices[0])
    assert.equal(first.status, 'counted')
    const [hash, row] = [...w.member(me).t.credits.entries()][0]
    assert.equal(await d.credits.pullMissing(w.clock.now(), 60_000), 0, 'a young count is left to the outboxes')
    w.member(me).t.credits.set(hash, { ...row, at: w.clock.now() - 120_000 })
    assert.ok((await d.credits.pullMissing(w.clock.now(), 60_000)) > 0)
    assert.equal(w.member(me).t.credits.get(hash)?.status, 'credited')
    assert.ok(
      asked.every(m => m !== bankA[0]),
      'the member whose notice counted already was asked again'
    )
  })
})

describe('a restarted member whose first resync finds no majority', () => {
  it('keeps its row, tries again on the next ticks, and adopts once the rest of the bank answers', async () => {
    const { w, A, B } = await joinedPair()
    const bankB = w.bank(B.id)
    const me = bankB[0]
    // while it was away the rest of bank(B) credited a transfer to B that it never heard of
    const req = w.request(A, B.id, 5)
    w.deliver(w.debit(req), A.id, B.id, bankB.slice(1))
    const stale = w.member(me).account(B.id)!.balance
    assert.equal(
      w.balances(B.id, bankB.slice(1)).every(b => b === stale + 5),
      true
    )
    let reachable = false
    const peers = {
      send: async () => {},
      call: async (m: string, op: string, args: any) => {
        if (op !== 'state' || !reachable) throw new Error('unreachable: the bank is busy restarting')
        const [state, ...more] = w.member(m).exportStates(args.account, me)
        return { state, more }
      }
    } as unknown as KarmaCalls
    const view = { bank: async (a: string) => w.bank(a), karmaPeersNear: async () => w.ids } as any
    const d = new BankDuties(context(byId(w, me), w.member(me), { view, peers }))
    assert.equal(await d.handover.resyncAll(), 0)
    assert.equal(w.member(me).account(B.id)!.balance, stale, 'a row without a majority behind it changed')
    reachable = true
    await d.tick()
    assert.equal(w.member(me).account(B.id)!.balance, stale + 5, 'the stale row was never resynchronised')
    assert.equal(w.member(me).isSynced(B.id), true)
  })
})
