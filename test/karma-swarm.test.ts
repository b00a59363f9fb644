// Karma with 16 real daemons in this one process (startDaemon: libp2p over
// TCP + Noise + Yamux on 127.0.0.1, kad-dht, LevelDB, each hosting the real
// Karma service): Byzantine bank members, and epochs that rescale balances.
process.env.P2PAY_LOG_LEVEL ??= 'error'
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { bankSet } from '@p2pay/karma'
import { byzantine, type ByzantineMode } from '@p2pay/karma/cheats'
import { waitFor } from './helpers/swarm.ts'
import { KarmaSwarm, sum, type KarmaNode } from './helpers/karma.ts'

const K = 5
const N = 16
const INITIAL = 1000
const swarm = new KarmaSwarm('karma-swarm', { k: K, powBits: 8, syncMs: 1000, initialKarma: INITIAL })
const expected = new Map<string, number>()

const ids = (): string[] => swarm.ids
const bank = (account: string): string[] => bankSet(account, ids(), K)
const move = (from: string, to: string, amount: number): void => {
  expected.set(from, expected.get(from)! - amount)
  expected.set(to, expected.get(to)! + amount)
}

before(async () => {
  await swarm.start(N)
  await swarm.settle(ids().slice(0, 4), K, 120_000)
  for (let i = 0; i < N; i += 4) {
    await Promise.all(
      swarm.nodes.slice(i, i + 4).map(async n => {
        assert.equal((await n.svc.account.join()).balance, INITIAL)
        expected.set(n.id, INITIAL)
      })
    )
  }
})
after(async () => {
  await swarm.stopAll()
})

/** Two accounts whose bank-sets do not overlap and do not hold each other. */
/** Every member outside `liars` of each bank holds the expected balance of its account. */
function honestBooksRight(banks: ReadonlyArray<readonly [string, string[]]>, liars: Set<string>): boolean {
  for (const [account, set] of banks) {
    for (const m of set) {
      if (liars.has(m)) continue
      if (swarm.node(m).svc.member.account(account)?.balance !== expected.get(account)) return false
    }
  }
  return true
}

function disjointPair(): [KarmaNode, KarmaNode] {
  for (const a of swarm.nodes) {
    for (const b of swarm.nodes) {
      if (a === b) continue
      const ba = bank(a.id)
      const bb = bank(b.id)
      if (!ba.includes(b.id) && !bb.includes(a.id) && !ba.some(m => bb.includes(m))) return [a, b]
    }
  }
  throw new Error('no disjoint pair')
}

test(
  'Byzantine members (2 of 5 on each side) lie, double-credit, drop and ' +
    'sign conflicting notices: honest books stay right, every transfer ' +
    'completes, liars are named',
  async () => {
    const [A, B] = disjointPair()
    const bankA = bank(A.id)
    const bankB = bank(B.id)
    await swarm.settle([A.id, B.id], K, 120_000)
    // bank(A): one signs conflicting notices, one drops everything; bank(B): one lies about balances, one credits twice
    const roles = new Map<string, string>([
      [bankA[0], 'conflict'],
      [bankA[2], 'drop'],
      [bankB[1], 'lie-balance'],
      [bankB[3], 'double-credit']
    ])
    for (const [m, mode] of roles) byzantine(swarm.node(m).svc).set([mode as ByzantineMode])
    const liars = new Set(roles.keys())
    const honest = swarm.nodes.filter(n => !liars.has(n.id))
    const reader = honest.find(n => n !== A && n !== B && !bankA.includes(n.id) && !bankB.includes(n.id))!

    // one after another, both directions, then two at once in opposite directions
    for (const [from, to, amount] of [
      [A, B, 30],
      [A, B, 20],
      [B, A, 5]
    ] as const) {
      const r = await from.svc.account.transfer(to.id, amount)
      assert.ok(r.debitedBy.length >= 3 && r.creditedBy.length >= 3)
      assert.ok(r.debitedBy.every(m => bank(from.id).includes(m)) && r.creditedBy.every(m => bank(to.id).includes(m)))
      move(from.id, to.id, amount)
    }
    await Promise.all([A.svc.account.transfer(B.id, 7), B.svc.account.transfer(A.id, 3)])
    move(A.id, B.id, 7)
    move(B.id, A.id, 3)

    // reads by majority are right whoever reads, and the liars are named by the reader
    for (const n of [A, B, reader]) {
      const ra = await n.svc.account.read(A.id, true)
      const rb = await n.svc.account.read(B.id, true)
      assert.equal(ra.balance, expected.get(A.id))
      assert.equal(rb.balance, expected.get(B.id))
      assert.ok(rb.disagreed.includes(bankB[1]), 'the member that lies about balances is named')
      for (const m of [...ra.disagreed, ...rb.disagreed]) assert.ok(liars.has(m), `${m} named although honest`)
    }
    // every honest member's books are exactly right (the dropper missed A's debits: its books are its own problem)
    await waitFor(
      'honest members to hold the right balances',
      async () =>
        honestBooksRight(
          [
            [A.id, bankA],
            [B.id, bankB]
          ],
          liars
        ),
      30_000
    )
    // the double-crediting member's books show B richer than the majority: a read names it
    assert.ok(
      (await reader.svc.account.read(B.id, true)).disagreed.includes(bankB[3]),
      'the member that credited twice is named'
    )

    // conflicting notices: the members of bank(B) that got the false one hold the conflicting member's signed notice
    const caught = honest.flatMap(n => n.svc.duties.caughtList().map(c => ({ by: n.id, ...c })))
    const conflictEvidence = caught.filter(c => c.member === bankA[0] && c.reason.startsWith('mismatch'))
    assert.ok(
      conflictEvidence.length >= 1,
      'the member that signed conflicting notices is named with its signed notice'
    )
    assert.ok(conflictEvidence.every(c => bankB.includes(c.by)))
    for (const c of caught) assert.ok(liars.has(c.member), `honest ${c.member} named for ${c.reason}`)

    // nothing else moved: every account read by majority, total conserved exactly
    for (const n of swarm.nodes)
      assert.equal((await reader.svc.account.read(n.id)).balance, expected.get(n.id), `balance of ${n.id}`)
    assert.equal(sum(expected.values()), N * INITIAL)
    for (const m of liars) byzantine(swarm.node(m).svc).set([])
  }
)

test(
  'a member replays every request and notice it ever handled, another ' +
    'forges state exports: honest books stay exact, also after their ' +
    'records are pruned and on a resync',
  async () => {
    const [A, B] = disjointPair()
    const bankA = bank(A.id)
    const bankB = bank(B.id)
    const replayer = bankA[1]
    const forger = bankB[0]
    byzantine(swarm.node(replayer).svc).set(['replay-notices'])
    byzantine(swarm.node(forger).svc).set(['forge-state'])
    // bankB[3] credited twice in the test before: its books are off
    const liars = new Set([replayer, forger, bankB[3]])
    for (const [from, to, amount] of [
      [A, B, 4],
      [B, A, 2]
    ] as const) {
      await from.svc.account.transfer(to.id, amount)
      move(from.id, to.id, amount)
    }
    // the honest members forget their records as if the record horizon had passed: replays must still find every credit
    for (const n of swarm.nodes)
      if (!liars.has(n.id)) await n.daemon.ctx.components.store.apply(() => n.svc.member.prune(Date.now() + 1))
    await new Promise(resolve => setTimeout(resolve, 5000)) // several housekeeping ticks of replays
    // an honest member of bank(B) resynchronises: the forged export never makes a majority
    for (const m of bankB.filter(m => !liars.has(m)))
      await swarm
        .node(m)
        .svc.duties.handover.takeOver(B.id, true)
        .catch(() => undefined)
    await waitFor(
      'honest members to hold the right balances',
      async () =>
        honestBooksRight(
          [
            [A.id, bankA],
            [B.id, bankB]
          ],
          liars
        ),
      30_000
    )
    await new Promise(resolve => setTimeout(resolve, 2000))
    for (const [account, set] of [
      [A.id, bankA],
      [B.id, bankB]
    ] as const) {
      for (const m of set)
        if (!liars.has(m))
          assert.equal(
            swarm.node(m).svc.member.account(account)?.balance,
            expected.get(account),
            `${account} at honest ${m}`
          )
    }
    const reader = swarm.nodes.find(n => n !== A && n !== B && !bankA.includes(n.id) && !bankB.includes(n.id))!
    for (const n of swarm.nodes)
      assert.equal((await reader.svc.account.read(n.id, true)).balance, expected.get(n.id), `balance of ${n.id}`)
    assert.equal(sum(expected.values()), N * INITIAL)
    for (const m of [replayer, forger]) byzantine(swarm.node(m).svc).set([])
  }
)

test(
  'an epoch rescales every balance by the factor a majority of its ' +
    'coordinators signed; the average per active peer returns to the ' +
    'initial karma',
  async () => {
    // two peers go away: their accounts stay in their banks but stop signing heartbeats
    const gone = swarm.nodes.slice(-2)
    const goneIds = gone.map(n => n.id)
    const accounts = [...expected.keys()]
    for (const n of gone) await swarm.stop(n)
    // the banks that lost a member refill, by hand-over from the surviving majority
    await waitFor(
      'bank-sets that lost a member to refill',
      async () => {
        for (const a of accounts) {
          for (const m of bank(a)) if (swarm.node(m).svc.member.account(a) === undefined) return false
        }
        return true
      },
      120_000
    )
    const reader = swarm.nodes[0]
    const runRound = async (ending: number): Promise<void> => {
      for (let attempt = 0; attempt < 4; attempt++) {
        const r = await Promise.allSettled(swarm.nodes.map(async n => await n.svc.epochs.round(attempt, ending)))
        if (r.every(x => x.status === 'fulfilled')) return
      }
      assert.fail('epoch round did not complete')
    }
    // epoch 0 -> 1: everyone was active in epoch 0 (their join); then the live peers' heartbeats make them active in 1
    await runRound(0)
    await waitFor(
      'heartbeats of epoch 1',
      async () =>
        swarm.nodes.every(n => bank(n.id).every(m => swarm.node(m).svc.member.account(n.id)?.activeEpoch === 1)),
      30_000
    )
    // a member that took an account over, or missed a notice before the churn, may lag a moment: read once a majority
    // agrees
    const before = new Map<string, number>()
    for (const a of accounts)
      before.set(
        a,
        await waitFor(
          `a majority of bank(${a}) to agree`,
          async () =>
            await reader.svc.account.read(a, true).then(
              r => r.balance,
              () => undefined
            ),
          30_000
        )
      )
    // epoch 1 -> 2: 14 of 16 accounts active
    await runRound(1)
    const e = reader.svc.member.epoch()
    assert.equal(e.epoch, 2)
    assert.ok(e.num < e.den, `the factor ${e.num}/${e.den} shrinks balances: karma of departed peers is spread thinner`)
    for (const n of swarm.nodes) assert.deepEqual(n.svc.member.epoch(), e, 'every member applied the same factor')
    let after = 0
    for (const a of accounts) {
      const r = await reader.svc.account.read(a, true)
      assert.equal(r.epoch, 2)
      assert.equal(r.balance, Math.floor((before.get(a)! * e.num) / e.den), `balance of ${a} rescaled exactly`)
      after += r.balance
    }
    const active = accounts.length - goneIds.length
    const average = after / active
    assert.ok(
      Math.abs(average - INITIAL) <= INITIAL * 0.1,
      `average per active peer ${average} should be close to ${INITIAL}`
    )
    // transfers go on in the new epoch
    const [p, q] = swarm.nodes
    const bp = (await reader.svc.account.read(p.id)).balance
    await p.svc.account.transfer(q.id, 10)
    assert.equal((await reader.svc.account.read(p.id)).balance, bp - 10)
  }
)
