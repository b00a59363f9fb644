// The service side of a bank member over fakes (no libp2p): what it records as
// evidence of lies, and how it reacts to hand-over hints.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, P2payError, Table } from '@p2pay/core'
import { BankDuties, type CaughtRow, type OutboxRow } from '../src/bank-duties.ts'
import { conflictingNotice } from '../src/byzantine.ts'
import { DEFAULT_KARMA, OUTBOX_HORIZON_MS } from '../src/protocols.ts'
import { net, disjointPair, byId, idents, verifier, type Net } from './fixtures.ts'

function duties (w: Net, id: string, calls: string[] = []): BankDuties {
  const who = byId(w, id)
  const ctx = {
    signer: who.signer,
    verifier,
    log: { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} },
    store: { apply: async <T>(fn: () => T): Promise<T> => fn(), barrier: async () => {} }
  } as any
  const view = {
    bank: async (a: string, fresh?: boolean) => { if (fresh === true) calls.push(a); return w.bank(a) },
    karmaPeersNear: async () => w.ids
  } as any
  const peers = { call: async () => { throw new Error('unreachable') } } as any
  return new BankDuties(ctx, { ...DEFAULT_KARMA }, w.member(id), view, peers, new Table<OutboxRow>('outbox'), new Table<CaughtRow>('caught'))
}

/** A fresh network with two joined accounts whose banks do not overlap. */
async function joinedPair (): Promise<{ w: Net, A: ReturnType<typeof disjointPair>[0], B: ReturnType<typeof disjointPair>[1] }> {
  const w = await net()
  const [A, B] = disjointPair(w)
  w.join(A); w.join(B)
  return { w, A, B }
}

describe('evidence of lies', () => {
  it('is recorded only by a member of bank(B) about a member of bank(A), one row per member and reason', async () => {
    const { w, A, B } = await joinedPair()
    const liar = byId(w, w.bank(A.id)[0])
    const inB = duties(w, w.bank(B.id)[0])
    const outside = w.peers.find(p => p !== A && p !== B && !w.bank(A.id).includes(p.id) && !w.bank(B.id).includes(p.id))!
    const notB = duties(w, outside.id)
    for (let i = 0; i < 5; i++) {
      const lie = conflictingNotice(liar.signer, w.request(A, B.id, 1 + i))
      await inB.notice(lie)
      await notB.notice(lie).catch(() => undefined)
    }
    assert.equal(inB.caughtList().length, 1)
    assert.equal(inB.caughtList()[0].member, liar.id)
    assert.equal(notB.caughtList().length, 0)
  })
})

describe('hand-over hints', () => {
  it('are only a trigger, rate-limited: hints for many accounts in a burst start a bounded number of hand-overs', async () => {
    const w = await net()
    const calls: string[] = []
    const d = duties(w, w.ids[0], calls)
    const accounts = (await idents(100)).map(p => p.id)
    for (const a of accounts) {
      d.handoff(a)
      await new Promise(resolve => setTimeout(resolve, 1))
    }
    assert.ok(calls.length > 0 && calls.length <= 64, `${calls.length} hand-overs started`)
    // a hint never adopts anything by itself: the member was in none of these banks
    assert.ok(accounts.every(a => w.member(w.ids[0]).account(a) === undefined))
  })
})

describe('the outbox', () => {
  it('keeps a notice until delivered, however long, and drops it only when its request is too old for any member to accept', async () => {
    const { w, A, B } = await joinedPair()
    const m = w.bank(A.id)[0]
    const d = duties(w, m)
    const req = w.request(A, B.id, 5)
    const r = w.member(m).debit(req.b64, w.bank(A.id))
    d.outbox.set(r.requestHash, { from: A.id, to: B.id, requestHash: r.requestHash, notice: r.notice, request: req.b64, delivered: [], at: Date.now() - 24 * 3600_000 })
    await d.tick()
    assert.ok(d.outbox.has(r.requestHash), 'an undelivered notice a day old is still resent')
    w.member(m).rescale(1, { num: 1, den: 1 })
    await d.tick()
    assert.ok(d.outbox.has(r.requestHash), 'epoch 0 notices are still accepted in epoch 1')
    w.member(m).rescale(2, { num: 1, den: 1 })
    await d.tick()
    assert.equal(d.outbox.has(r.requestHash), false)
  })
})

describe('notice delivery', () => {
  it('counts a member as served only once it took the notice: one that does not see the sender in bank(A) yet, or itself in bank(B), is asked again', async () => {
    const { w, A, B } = await joinedPair()
    const bankB = w.bank(B.id)
    const d = duties(w, w.bank(A.id)[0])
    const oneway: string[] = []
    ;(d as any).peers = {
      // the one-way notices of the debit are lost here: only the tick's answers count
      send: async (m: string) => { oneway.push(m) },
      call: async (m: string, op: string) => {
        if (op === 'credited') return { credited: [] }
        if (m === bankB[0]) return { status: 'ignored', reason: 'non-member' }
        if (m === bankB[1]) throw new P2payError(ErrorCode.WRONG_BROKER, 'not in bank(B) as it computes it')
        return { status: 'counted' }
      }
    }
    await d.debit(w.request(A, B.id, 5).b64)
    await waitUntil(() => oneway.length === bankB.length)
    assert.deepEqual(oneway.sort(), [...bankB].sort())
    const fresh = [...d.outbox.values()][0]
    await d.tick()
    assert.deepEqual(d.outbox.get(fresh.requestHash)?.delivered, [], 'within the grace period one-way notices may still arrive: no answers asked yet')
    d.outbox.set(fresh.requestHash, { ...fresh, at: Date.now() - 60_000 })
    await d.tick()
    const row = d.outbox.get(fresh.requestHash)!
    assert.deepEqual(row.delivered, bankB.slice(2).sort())
    await d.tick()
    assert.ok(d.outbox.has(row.requestHash), 'resent on every tick')
    // once a majority took it, the rest are asked for OUTBOX_HORIZON_MS at most
    d.outbox.set(row.requestHash, { ...d.outbox.get(row.requestHash)!, at: Date.now() - OUTBOX_HORIZON_MS - 1 })
    await d.tick()
    assert.equal(d.outbox.has(row.requestHash), false)
  })

  it('a member of bank(B) that says it credited the request is served without another notice', async () => {
    const { w, A, B } = await joinedPair()
    const bankB = w.bank(B.id)
    const d = duties(w, w.bank(A.id)[0])
    const notices: string[] = []
    ;(d as any).peers = {
      send: async () => {},
      call: async (m: string, op: string, args: any) => {
        if (op === 'credited') return { credited: m === bankB[4] ? [] : args.hashes }
        if (op === 'notice') notices.push(m)
        return { status: 'counted' }
      }
    }
    await d.debit(w.request(A, B.id, 5).b64)
    const row = [...d.outbox.values()][0]
    d.outbox.set(row.requestHash, { ...row, at: Date.now() - 60_000 })
    await d.tick()
    assert.deepEqual(notices, [bankB[4]], 'the notice went again only where it was not credited')
    assert.equal(d.outbox.has(row.requestHash), false, 'every member of bank(B) served: the row is gone')
  })
})

describe('requests that overtake each other', () => {
  it('a request whose nonce is one ahead waits for its predecessor instead of being refused as a gap', async () => {
    const { w, A, B } = await joinedPair()
    const m = w.bank(A.id)[0]
    const d = duties(w, m)
    const first = w.request(A, B.id, 5)
    const second = w.request(A, B.id, 7)
    const late = d.debit(second.b64)
    await new Promise(resolve => setTimeout(resolve, 100))
    assert.equal(w.member(m).account(A.id)!.nonce, 0, 'nothing applied while the first is missing')
    await d.debit(first.b64)
    await late
    assert.equal(w.member(m).account(A.id)!.nonce, 2)
    assert.equal(w.member(m).account(A.id)!.balance, 1000 - 12)
  })
})

async function waitUntil (cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise(resolve => setTimeout(resolve, 10))
}
