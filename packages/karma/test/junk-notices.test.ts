// Junk notices must not cost DHT queries: a notice whose request does not
// verify is refused before any bank-set is looked up, a peer that sends
// notices about accounts whose sets are not cached runs out of budget (BUSY),
// and the cache of sets is bounded.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, Lru, P2payError, fromB64, toB64 } from '@p2pay/core'
import { KIND } from '../src/kinds.ts'
import { makeTransfer, noticeOf, seal, TAG } from '../src/core/messages.ts'
import { BankDuties } from '../src/net/bank-duties.ts'
import { NOTICE_LOOKUP_BURST } from '../src/net/notice-budget.ts'
import { DEFAULT_KARMA } from '../src/core/config.ts'
import { T0, byId, context, ident, idents, joinedPair, unreachablePeers, type Ident, type Net } from './fixtures.ts'

/**
 * Duties of `id` over a view of `w` whose sets are cached for `w`'s peers only; every lookup is counted. The
 * service's clock stands still, so no budget refills while the test runs.
 */
function duties(w: Net, id: string): { d: BankDuties; lookups: string[] } {
  const lookups: string[] = []
  const view = {
    bank: async (a: string) => {
      if (!w.ids.includes(a)) lookups.push(a)
      return w.bank(a)
    },
    isCached: (a: string) => w.ids.includes(a),
    karmaPeersNear: async () => w.ids
  } as any
  const cfg = { ...DEFAULT_KARMA, now: () => T0 }
  return { d: new BankDuties(context(byId(w, id), w.member(id), { view, peers: unreachablePeers, cfg })), lookups }
}

/** A notice signed by `by` for a request from `from` to `to` (a made-up account), optionally with a bad signature. */
function junkNotice(by: Ident, from: Ident, to: string, brokenRequest = false): string {
  const req = makeTransfer(from.signer, { to, amount: 5, nonce: 1, epoch: 0, ts: 1 })
  let b64 = req.b64
  if (brokenRequest) {
    const bytes = fromB64(b64)
    bytes[bytes.length - 1] ^= 1
    b64 = toB64(bytes)
  }
  return seal(by.signer, TAG.notice, noticeOf(by.id, req.body, req.hash, b64), KIND.transfer).b64
}

describe('junk notices', () => {
  it('a notice from an outsider whose request does not verify is ignored as forged before any lookup', async () => {
    const { w } = await joinedPair()
    const me = w.ids[0]
    const { d, lookups } = duties(w, me)
    const attacker = await ident()
    const books = JSON.stringify([...w.member(me).t.accounts.entries(), ...w.member(me).t.credits.entries()])
    for (const to of await idents(20)) {
      const out = await d.credits.notice(junkNotice(attacker, await ident(), to.id, true), attacker.id)
      assert.deepEqual([out.status, out.status === 'ignored' && out.reason], ['ignored', 'forged'])
    }
    assert.deepEqual(lookups, [])
    assert.equal(w.member(me).ignored.forged, 20)
    assert.equal(d.caughtList().length, 0)
    assert.equal(JSON.stringify([...w.member(me).t.accounts.entries(), ...w.member(me).t.credits.entries()]), books)
  })

  it(
    'a peer flooding signed notices about made-up accounts is refused with BUSY past its budget of lookups; ' +
      'an honest member of bank(A) is not, and its notice still credits',
    async () => {
      const { w, A, B } = await joinedPair()
      const bankA = w.bank(A.id)
      const inB = w.bank(B.id)[0]
      const { d, lookups } = duties(w, inB)
      const attacker = await ident()
      let busy = 0
      for (let i = 0; i < 3 * NOTICE_LOOKUP_BURST; i++) {
        const made = await ident()
        try {
          await d.credits.notice(junkNotice(attacker, attacker, made.id), attacker.id)
        } catch (err) {
          if (err instanceof P2payError && err.code === ErrorCode.BUSY) busy++
          else if (!(err instanceof P2payError)) throw err
        }
      }
      assert.equal(busy, 2 * NOTICE_LOOKUP_BURST)
      // the attacker's own account, and one made-up payee per notice within its budget
      assert.equal(new Set(lookups).size, NOTICE_LOOKUP_BURST + 1)
      assert.equal(d.caughtList().length, 0)
      // the honest members' notices (accounts whose sets are cached) go through
      const req = w.request(A, B.id, 7)
      let status = ''
      for (const m of bankA.slice(0, 3))
        status = (await d.credits.notice(w.member(m).debit(req.b64, bankA).notice, m)).status
      assert.equal(status, 'credited')
      assert.equal(w.member(inB).account(B.id)?.balance, 1007)
    }
  )
})

describe('the cache of bank-set answers', () => {
  it('is bounded and forgets the least recently used key first', () => {
    const c = new Lru<string, number>(3)
    c.set('a', 1)
    c.set('b', 2)
    c.set('c', 3)
    assert.equal(c.get('a'), 1)
    c.set('d', 4)
    assert.equal(c.size, 3)
    assert.equal(c.peek('b'), undefined)
    assert.deepEqual(
      [...c.entries()].map(([k]) => k),
      ['c', 'a', 'd']
    )
    for (let i = 0; i < 1000; i++) c.set(`x${i}`, i)
    assert.equal(c.size, 3)
  })
})
