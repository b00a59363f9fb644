// The service side of a bank member over fakes (no libp2p): what it records as
// evidence of lies, and how it reacts to hand-over hints.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, P2payError } from '@p2pay/core'
import { BankDuties } from '../src/net/bank-duties.ts'
import type { KarmaCalls } from '../src/net/context.ts'
import { KarmaErrorCode } from '../src/errors.ts'
import { conflictingNotice } from '../src/cheats.ts'
import { DEFAULT_KARMA, OUTBOX_HORIZON_MS } from '../src/core/config.ts'
import { bankSet } from '../src/core/bankset.ts'
import { Member } from '../src/core/member.ts'
import { makeJoin } from '../src/core/state-messages.ts'
import { solvePow } from '../src/core/pow.ts'
import {
  duties,
  net,
  joinedPair,
  byId,
  context,
  ident,
  idents,
  memberTables,
  unreachablePeers,
  verifier,
  DIFFICULTY,
  INITIAL,
  type Ident,
  type Net
} from './fixtures.ts'

describe('evidence of lies', () => {
  it('is recorded only by a member of bank(B) about a member of bank(A), one row per member and reason', async () => {
    const { w, A, B } = await joinedPair()
    const liar = byId(w, w.bank(A.id)[0])
    const inB = duties(w, w.bank(B.id)[0])
    const outside = w.peers.find(
      p => p !== A && p !== B && !w.bank(A.id).includes(p.id) && !w.bank(B.id).includes(p.id)
    )!
    const notB = duties(w, outside.id)
    for (let i = 0; i < 5; i++) {
      const lie = conflictingNotice(liar.signer, w.request(A, B.id, 1 + i))
      await inB.credits.notice(lie)
      await notB.credits.notice(lie).catch(() => undefined)
    }
    assert.equal(inB.caughtList().length, 1)
    assert.equal(inB.caughtList()[0].member, liar.id)
    assert.equal(notB.caughtList().length, 0)
  })
})

describe('hand-over hints', () => {
  it(
    'are only a trigger, rate-limited: hints for many accounts in a burst ' + 'start a bounded number of hand-overs',
    async () => {
      const w = await net()
      const calls: string[] = []
      const d = duties(w, w.ids[0], calls)
      const accounts = (await idents(100)).map(p => p.id)
      for (const a of accounts) {
        d.handover.handoff(a)
        await new Promise(resolve => setTimeout(resolve, 1))
      }
      assert.ok(calls.length > 0 && calls.length <= 64, `${calls.length} hand-overs started`)
      // a hint never adopts anything by itself: the member was in none of these banks
      assert.ok(accounts.every(a => w.member(w.ids[0]).account(a) === undefined))
    }
  )
})

describe('the outbox', () => {
  it(
    'keeps a notice until delivered, however long, and drops it only when ' +
      'its request is too old for any member to accept',
    async () => {
      const { w, A, B } = await joinedPair()
      const m = w.bank(A.id)[0]
      const d = duties(w, m)
      const req = w.request(A, B.id, 5)
      const r = w.member(m).debit(req.b64, w.bank(A.id))
      d.ctx.t.outbox.set(r.requestHash, {
        from: A.id,
        to: B.id,
        requestHash: r.requestHash,
        notice: r.notice,
        request: req.b64,
        delivered: [],
        at: Date.now() - 24 * 3600_000
      })
      await d.tick()
      assert.ok(d.ctx.t.outbox.has(r.requestHash), 'an undelivered notice a day old is still resent')
      w.member(m).rescale(1, { num: 1, den: 1 })
      await d.tick()
      assert.ok(d.ctx.t.outbox.has(r.requestHash), 'epoch 0 notices are still accepted in epoch 1')
      w.member(m).rescale(2, { num: 1, den: 1 })
      await d.tick()
      assert.equal(d.ctx.t.outbox.has(r.requestHash), false)
    }
  )
})

describe('notice delivery', () => {
  type FakePeers = { send: (m: string) => Promise<void>; call: (m: string, op: string, args: any) => Promise<unknown> }
  /** A member of bank(A) that debited a transfer A -> B and talks to bank(B) through `peers`. */
  async function debited(peers: (bankB: string[]) => FakePeers): Promise<{ d: BankDuties; bankB: string[] }> {
    const { w, A, B } = await joinedPair()
    const bankB = w.bank(B.id)
    const d = duties(w, w.bank(A.id)[0], [], peers(bankB) as unknown as KarmaCalls)
    await d.debits.debit(w.request(A, B.id, 5).b64)
    return { d, bankB }
  }

  it(
    'counts a member as served only once it took the notice: one that does ' +
      'not see the sender in bank(A) yet, or itself in bank(B), is asked ' +
      'again',
    async () => {
      const oneway: string[] = []
      const { d, bankB } = await debited(bankB => ({
        // the one-way notices of the debit are lost here: only the tick's answers count
        send: async (m: string) => {
          oneway.push(m)
        },
        call: async (m: string, op: string) => {
          if (op === 'credited') return { credited: [] }
          if (m === bankB[0]) return { status: 'ignored', reason: 'non-member' }
          if (m === bankB[1]) throw new P2payError(ErrorCode.WRONG_BROKER, 'not in bank(B) as it computes it')
          return { status: 'counted' }
        }
      }))
      await waitUntil(() => oneway.length === bankB.length)
      assert.deepEqual(oneway.sort(), [...bankB].sort())
      const fresh = [...d.ctx.t.outbox.values()][0]
      await d.tick()
      assert.deepEqual(
        d.ctx.t.outbox.get(fresh.requestHash)?.delivered,
        [],
        'within the grace period one-way notices may still arrive: no answers asked yet'
      )
      d.ctx.t.outbox.set(fresh.requestHash, { ...fresh, at: Date.now() - 60_000 })
      await d.tick()
      const row = d.ctx.t.outbox.get(fresh.requestHash)!
      assert.deepEqual(row.delivered, bankB.slice(2).sort())
      await d.tick()
      assert.ok(d.ctx.t.outbox.has(row.requestHash), 'resent on every tick')
      // once a majority took it, the rest are asked for OUTBOX_HORIZON_MS at most
      d.ctx.t.outbox.set(row.requestHash, {
        ...d.ctx.t.outbox.get(row.requestHash)!,
        at: Date.now() - OUTBOX_HORIZON_MS - 1
      })
      await d.tick()
      assert.equal(d.ctx.t.outbox.has(row.requestHash), false)
    }
  )

  it('a member of bank(B) that says it credited the request is served without another notice', async () => {
    const notices: string[] = []
    const { d, bankB } = await debited(bankB => ({
      send: async () => {},
      call: async (m: string, op: string, args: any) => {
        if (op === 'credited') return { credited: m === bankB[4] ? [] : args.hashes }
        if (op === 'notice') notices.push(m)
        return { status: 'counted' }
      }
    }))
    const row = [...d.ctx.t.outbox.values()][0]
    d.ctx.t.outbox.set(row.requestHash, { ...row, at: Date.now() - 60_000 })
    await d.tick()
    assert.deepEqual(notices, [bankB[4]], 'the notice went again only where it was not credited')
    assert.equal(d.ctx.t.outbox.has(row.requestHash), false, 'every member of bank(B) served: the row is gone')
  })
})

describe('requests that overtake each other', () => {
  it('a request whose nonce is one ahead waits for its predecessor instead of being refused as a gap', async () => {
    const { w, A, B } = await joinedPair()
    const m = w.bank(A.id)[0]
    const d = duties(w, m)
    w.clock.t = Date.now() // signed just now: a member holds a request up to GAP_WAIT_MS after its signing time
    const first = w.request(A, B.id, 5)
    const second = w.request(A, B.id, 7)
    const late = d.debits.debit(second.b64)
    await new Promise(resolve => setTimeout(resolve, 100))
    assert.equal(w.member(m).account(A.id)!.nonce, 0, 'nothing applied while the first is missing')
    await d.debits.debit(first.b64)
    await late
    assert.equal(w.member(m).account(A.id)!.nonce, 2)
    assert.equal(w.member(m).account(A.id)!.balance, 1000 - 12)
  })

  it(
    'a gapped request that reaches a member late is refused at once, and ' +
      'is not applied when its predecessor arrives',
    async () => {
      const { w, A, B } = await joinedPair()
      const m = w.bank(A.id)[0]
      const d = duties(w, m)
      // signed 5 s ago: the rest of the bank stopped holding it 3 s ago, and the payer was told it was refused
      w.clock.t = Date.now() - 5000
      const first = w.request(A, B.id, 5)
      const second = w.request(A, B.id, 7)
      const late = d.debits.debit(second.b64).then(
        () => 'applied',
        (err: P2payError) => err.code
      )
      await new Promise(resolve => setTimeout(resolve, 100))
      await d.debits.debit(first.b64)
      assert.equal(await late, ErrorCode.STALE_SEQ)
      const row = w.member(m).account(A.id)!
      assert.deepEqual([row.nonce, row.balance], [1, 1000 - 5], 'only the first request is debited')
      assert.equal(d.ctx.t.outbox.size, 1, 'one outbox row, for the first request')
    }
  )
})

describe('an account awaited from an old bank out of reach', () => {
  /** member `me` of bank(account) in `w`, whose old bank's `state` calls go to `answer` */
  function memberOf(w: Net, account: string, answer: (m: string) => Promise<unknown>): BankDuties {
    const me = w.bank(account)[0]
    const view = { bank: async () => w.bank(account), karmaPeersNear: async () => w.ids } as any
    const peers = { call: async (m: string) => await answer(m), send: async () => {} } as any
    return new BankDuties(context(byId(w, me), w.member(me), { view, peers }))
  }

  it('is answered STALE_SEQ (no vote), not "no account", until its old bank says it is new', async () => {
    const w = await net()
    const account = (await ident()).id
    let reachable = false
    const d = memberOf(w, account, async () => {
      if (!reachable) throw new Error('unreachable')
      throw new P2payError(ErrorCode.NOT_FOUND, 'no such account')
    })
    const before = d.ctx.member.account(account)
    await assert.rejects(d.handover.takeOver(account), (e: unknown) => e instanceof P2payError)
    for (const ask of [
      async () => await d.balance(account, 'c'.repeat(16), w.ids[1]),
      async () => await d.handover.exportState(account, w.ids[1])
    ]) {
      const err = await ask().catch((e: unknown) => e)
      assert.ok(err instanceof P2payError && err.code === ErrorCode.STALE_SEQ, String(err))
      assert.equal(err.details?.sync, true)
    }
    assert.equal(d.ctx.member.account(account), before, 'no row made')
    // the old bank answers now, and says it has no such account: "no account" again
    reachable = true
    await assert.rejects(d.handover.takeOver(account), (e: unknown) => e instanceof P2payError)
    const err = await d.balance(account, 'c'.repeat(16), w.ids[1]).catch((e: unknown) => e)
    assert.ok(err instanceof P2payError && err.code === ErrorCode.NOT_FOUND, String(err))
  })
})

describe('a hand-over in a half of a partition', () => {
  it(
    'counts the old members out of sight: the peers near the key there, new to the account, make it awaited, ' +
      'not absent',
    async () => {
      const { w, B } = await joinedPair()
      // the half: k + 1 peers new to B, one of them in the bank it re-forms there; the old bank is across the cut
      const half = await idents(w.k + 1)
      const inHalf = half.map(p => p.id)
      const me = byId({ peers: half } as Net, bankSet(B.id, inHalf, w.k)[0])
      const newcomer = new Member(memberTables(), me.signer, verifier, { k: w.k, now: w.clock.now })
      const view = {
        bank: async (a: string) => bankSet(a, inHalf, w.k),
        karmaPeersNear: async () => inHalf,
        away: () => w.bank(B.id)
      } as any
      const peers = {
        call: async (m: string) => {
          if (!inHalf.includes(m)) throw new Error('unreachable')
          throw new P2payError(ErrorCode.NOT_FOUND, 'no such account')
        },
        send: async () => {}
      } as any
      const d = new BankDuties(context(me, newcomer, { cfg: { ...DEFAULT_KARMA, k: w.k }, view, peers }))
      await assert.rejects(d.handover.takeOver(B.id), (e: unknown) => e instanceof P2payError)
      const err = await d.balance(B.id, 'c'.repeat(16), inHalf[1]).catch((e: unknown) => e)
      assert.ok(err instanceof P2payError && err.code === ErrorCode.STALE_SEQ, String(err))
      assert.equal(newcomer.account(B.id), undefined)
    }
  )
})

describe('joins', () => {
  /**
   * Duties of `who` (in `w`, or a newcomer with its own books) among w's peers; its 'state' calls reach their books.
   */
  function joinDuties(w: Net, who: Ident, member: Member): BankDuties {
    const ids = [...new Set([...w.ids, who.id])]
    const view = {
      bank: async (a: string) => bankSet(a, ids, w.k),
      candidates: async () => ids.filter(i => i !== who.id)
    } as any
    const peers = {
      call: async (m: string, op: string, args: any) => {
        if (op !== 'state') throw new Error('unreachable')
        const [state, ...more] = w.member(m).exportStates(args.account, who.id)
        return { state, more }
      }
    } as any
    const cfg = { ...DEFAULT_KARMA, k: w.k, powBits: DIFFICULTY, initialKarma: INITIAL }
    return new BankDuties(context(who, member, { cfg, view, peers }))
  }

  /** A joined B that was paid 30, and a newcomer N that entered bank(B) since. */
  async function entered(): Promise<{ w: Net; B: Ident; N: Ident; newcomer: Member; proof: string }> {
    const { w, A, B } = await joinedPair()
    w.transfer(A, B, 30)
    let N = await ident()
    while (!bankSet(B.id, [...w.ids, N.id], w.k).includes(N.id)) N = await ident()
    const newcomer = new Member(memberTables(), N.signer, verifier, { k: w.k, now: w.clock.now })
    return { w, B, N, newcomer, proof: makeJoin(B.signer, solvePow(B.id, DIFFICULTY), DIFFICULTY).b64 }
  }

  it(
    'a join replayed to a member that entered the bank since adopts ' + "the old bank's state: nothing is minted",
    async () => {
      const { w, B, N, newcomer, proof } = await entered()
      const out = await joinDuties(w, N, newcomer).join(proof)
      assert.deepEqual(out, { account: B.id, balance: INITIAL + 30, opened: false })
      assert.equal(newcomer.account(B.id)?.balance, INITIAL + 30)
      assert.equal(newcomer.isSynced(B.id), true)
      assert.deepEqual(w.balances(B.id), Array(w.k).fill(INITIAL + 30), 'the old members are untouched')
    }
  )

  it(
    'is refused, changing nothing, when the old bank neither agrees on a ' + 'state nor says the account is new',
    async () => {
      const { w, B, N, newcomer, proof } = await entered()
      const old = w.bank(B.id)
      // three old members with three different balances, two that lost the account: no majority either way
      for (const [i, m] of old.slice(0, 3).entries())
        w.member(m).t.accounts.set(B.id, { ...w.member(m).account(B.id)!, balance: INITIAL + i })
      for (const m of old.slice(3)) w.member(m).t.accounts.delete(B.id)
      await assert.rejects(
        joinDuties(w, N, newcomer).join(proof),
        (err: unknown) => err instanceof P2payError && err.code === KarmaErrorCode.NO_MAJORITY
      )
      assert.equal(newcomer.account(B.id), undefined)
    }
  )

  it(
    'a join replayed in a half of a partition cut off from the old bank is refused, minting nothing: ' +
      'the peers out of sight count in the old bank and do not answer',
    async () => {
      const { w, B, N, newcomer, proof } = await entered()
      // the half: N and k peers new to B (no books of it); the old bank of B is across the cut. Peers new to B that
      // are nearer its key than most of its bank would have taken its books over before the cut: not this scenario
      const old = w.bank(B.id)
      const fits = (half: Ident[]): boolean =>
        bankSet(B.id, [N.id, ...half.map(p => p.id)], w.k).includes(N.id) &&
        bankSet(B.id, [...half.map(p => p.id), ...old], w.k).filter(m => old.includes(m)).length > w.k / 2
      let half = await idents(w.k)
      while (!fits(half)) half = await idents(w.k)
      const books = new Map(
        half.map(p => [p.id, new Member(memberTables(), p.signer, verifier, { k: w.k, now: w.clock.now })])
      )
      const inHalf = [N.id, ...half.map(p => p.id)]
      const halfDuties = (away: string[]): BankDuties => {
        const view = {
          bank: async (a: string) => bankSet(a, inHalf, w.k),
          candidates: async () => inHalf.filter(i => i !== N.id),
          away: () => away
        } as any
        const peers = {
          call: async (m: string, op: string, args: any) => {
            const member = books.get(m)
            if (op !== 'state' || member == null) throw new Error('unreachable')
            return { state: member.exportState(args.account, N.id) }
          }
        } as any
        const cfg = { ...DEFAULT_KARMA, k: w.k, powBits: DIFFICULTY, initialKarma: INITIAL }
        return new BankDuties(context(N, newcomer, { cfg, view, peers }))
      }
      const err = await halfDuties(old)
        .join(proof)
        .catch((e: unknown) => e)
      assert.ok(err instanceof P2payError && err.code === KarmaErrorCode.NO_MAJORITY, String(err))
      assert.equal(newcomer.account(B.id), undefined, 'nothing opened at the newcomer')
      assert.deepEqual(w.balances(B.id), Array(w.k).fill(INITIAL + 30), 'the old members are untouched')
      // without the peers out of sight, the half's "no such account" answers would open it anew (what this guards)
      const minted = await halfDuties([]).join(proof)
      assert.equal(minted.opened, true)
    }
  )

  it('with fewer than k other Karma peers in sight, a member without the row answers UNREACHABLE', async () => {
    const { w, B, N, newcomer, proof } = await entered()
    const few = w.ids.filter(i => i !== N.id).slice(0, w.k - 1)
    const view = { bank: async (a: string) => bankSet(a, [...w.ids, N.id], w.k), candidates: async () => few } as any
    const cfg = { ...DEFAULT_KARMA, k: w.k, powBits: DIFFICULTY, initialKarma: INITIAL }
    const d = new BankDuties(context(N, newcomer, { cfg, view, peers: unreachablePeers }))
    const err = await d.join(proof).catch((e: unknown) => e)
    assert.ok(err instanceof P2payError && err.code === ErrorCode.UNREACHABLE, String(err))
    assert.equal(err.details?.sync, true)
    assert.equal(newcomer.account(B.id), undefined)
  })

  it(
    'a first join opens at a member while the rest of its bank have no ' + 'account yet or have just opened it',
    async () => {
      const w = await net()
      const C = await ident()
      const bank = w.bank(C.id)
      const proof = makeJoin(C.signer, solvePow(C.id, DIFFICULTY), DIFFICULTY).b64
      // two members opened it a moment earlier, two have not yet: neither a majority state nor a majority without one
      for (const m of bank.slice(1, 3)) w.member(m).openAccount(proof, INITIAL, DIFFICULTY, bank, true)
      const first = bank[0]
      const out = await joinDuties(w, byId(w, first), w.member(first)).join(proof)
      assert.deepEqual(out, { account: C.id, balance: INITIAL, opened: true })
      assert.equal(w.member(first).isSynced(C.id), true)
    }
  )
})

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise(resolve => setTimeout(resolve, 10))
}
