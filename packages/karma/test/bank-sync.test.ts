// Members of one bank agreeing again: a member that missed debits replays the payer's signed requests from another
// member, one that missed a credit pulls bank(A)'s notices for it, and a member that lies about what it applied
// moves nothing.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { snapshot } from '@p2pay/test-utils'
import { MAX_CREDITS_LISTED, creditsTo } from '../src/core/bank-sync.ts'
import { BankDuties } from '../src/net/bank-duties.ts'
import type { KarmaCalls } from '../src/net/context.ts'
import { T0, byId, context, joinedPair, type Net } from './fixtures.ts'

/** Every member's duties, calling each other in memory through the same methods the protocol's handlers call. */
function bankOf(w: Net, lie?: { member: string; requests: string[] }): Map<string, BankDuties> {
  const duties = new Map<string, BankDuties>()
  const view = { bank: async (a: string) => w.bank(a), karmaPeersNear: async () => w.ids } as any
  const peers = {
    send: async () => {},
    call: async (m: string, op: string, a: any) => {
      const d = duties.get(m)!
      if (op === 'digest') return d.sync.digest(a.accounts)
      if (op === 'requestsAfter')
        return m === lie?.member ? { requests: lie.requests } : d.sync.requestsAfter(a.account, a.after)
      if (op === 'creditsTo') return d.sync.creditsTo(a.account)
      if (op === 'noticeOf') return d.credits.noticeOf(a.requestHash)
      if (op === 'notice') return await d.credits.notice(a.notice)
      if (op === 'credited') return d.credits.credited(a.hashes)
      throw new Error(`unreachable for ${op}`)
    }
  } as unknown as KarmaCalls
  for (const id of w.ids) duties.set(id, new BankDuties(context(byId(w, id), w.member(id), { view, peers })))
  return duties
}

describe('members of one bank agreeing again', () => {
  it('a member that missed debits replays the requests another member applied, in nonce order', async () => {
    const { w, A, B } = await joinedPair()
    const bankA = w.bank(A.id)
    const me = bankA[0]
    // it was away for three of A's transfers: the rest of bank(A) debited them
    for (let i = 0; i < 3; i++) w.debit(w.request(A, B.id, 2), bankA.slice(1))
    assert.equal(w.member(me).account(A.id)!.nonce, 0)
    const duties = bankOf(w)
    await duties.get(me)!.sync.tick()
    assert.deepEqual(w.balances(A.id), Array(w.k).fill(1000 - 6), 'the member that was away still differs')
    assert.equal(w.member(me).account(A.id)!.nonce, 3)
  })

  it('a member that missed a credit pulls the notices of bank(A) for it and credits B', async () => {
    const { w, A, B } = await joinedPair()
    const bankB = w.bank(B.id)
    const me = bankB[0]
    const req = w.request(A, B.id, 7)
    w.deliver(w.debit(req), A.id, B.id, bankB.slice(1))
    assert.equal(w.member(me).t.credits.size, 0, 'it never heard of the transfer')
    const duties = bankOf(w)
    await duties.get(me)!.sync.tick()
    assert.deepEqual(w.balances(B.id), Array(w.k).fill(1000 + 7), 'the missed credit was never made')
    assert.equal(w.member(me).t.credits.get(req.hash)?.status, 'credited')
  })

  it('a member that claims debits it cannot show signed by the payer moves nothing', async () => {
    const { w, A, B } = await joinedPair()
    const bankA = w.bank(A.id)
    const [me, liar] = bankA
    // the liar's row says A made a transfer (it applied one the rest of the bank never saw) ...
    const real = w.request(A, B.id, 50)
    w.debit(real, [liar])
    // ... and, asked for it, hands over that request with its signature altered: only the signature check stops it
    const bytes = Buffer.from(real.b64, 'base64')
    bytes[bytes.byteLength - 1] ^= 1
    const duties = bankOf(w, { member: liar, requests: [bytes.toString('base64')] })
    const before = snapshot(w.member(me).t)
    await duties.get(me)!.sync.tick()
    assert.deepEqual(snapshot(w.member(me).t), before, 'a request A never signed changed the books')
    assert.equal(w.member(me).account(A.id)!.balance, 1000, 'A lost karma it never signed away')
    // an answer to a sync question is not signed: there is no evidence to convict the liar on, and none is recorded
    assert.equal(duties.get(me)!.ctx.t.caught.size, 0)
  })

  it('refuses a malformed question and changes nothing', async () => {
    const { w, A } = await joinedPair()
    const me = w.bank(A.id)[0]
    const d = bankOf(w).get(me)!
    const before = snapshot(w.member(me).t)
    for (const [fn, code] of [
      [() => d.sync.requestsAfter(A.id, -1), ErrorCode.BAD_REQUEST],
      [() => d.sync.digest(Array(300).fill(A.id)), ErrorCode.BAD_REQUEST],
      [() => d.sync.creditsTo('not a peer'), ErrorCode.BAD_REQUEST]
    ] as const)
      assert.throws(fn, (e: any) => e.code === code)
    assert.deepEqual(snapshot(w.member(me).t), before)
  })
})

describe('what one member lists to another', () => {
  it('lists the latest credits of a busy account first, so a recent one it missed is never crowded out', async () => {
    const { w, A, B } = await joinedPair()
    const me = w.bank(B.id)[0]
    const t = w.member(me).t
    for (let i = 0; i < MAX_CREDITS_LISTED + 10; i++)
      t.credits.set(i.toString(16).padStart(64, '0'), {
        to: B.id,
        from: A.id,
        status: 'credited',
        voters: [],
        // rows come back from LevelDB in key order, not in the order they were credited
        at: T0 + (i % 2 === 0 ? i : 10_000 + i)
      })
    const listed = creditsTo(t, B.id, Infinity)
    assert.equal(listed.length, MAX_CREDITS_LISTED)
    const last = (MAX_CREDITS_LISTED + 9).toString(16).padStart(64, '0')
    assert.equal(listed[0].requestHash, last, 'the latest credit is not listed first')
  })
})
