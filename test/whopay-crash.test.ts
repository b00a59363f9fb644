// WhoPay under kill -9: the payee of an owner's issues, the owner in the middle
// of transfers it signs, a payee of transfers, the paying holder in the middle
// of its transfers, the broker in the middle of deposits and the judge with an
// opening due, each killed and restarted on its port. Afterwards every coin is held by exactly one node (or still its
// owner's), the owner's records follow its coins, nothing is deposited twice,
// nobody honest is convicted, and the audit holds.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { waitFor, type Daemon } from './helpers/swarm.ts'
import { coins, conserved, frauds, heldCoin, purse, startWhopay, type WhopaySwarm } from './helpers/whopay.ts'

let s: WhopaySwarm
let broker: Daemon, O: Daemon, A: Daemon, B: Daemon, C: Daemon
const BOUGHT = 60

const heldIds = async (d: Daemon): Promise<string[]> => (await coins(d)).held.map((c: any) => c.coin).sort()

/** pay-many from `payer` to `payee`, with `victim` killed -9 once the payee holds `at` more, then restarted */
async function payThroughKill(payer: Daemon, payee: Daemon, victim: Daemon, count: number, at: number): Promise<void> {
  const held0 = (await heldIds(payee)).length
  let outcome: unknown
  const paying = payer.api('POST', '/v1/whopay/pay-many', { to: payee.addr, value: 1, count, concurrency: 4 }).then(
    r => (outcome = r),
    err => (outcome = String(err))
  )
  await waitFor(
    'payments under way',
    async () => {
      if (outcome !== undefined) throw new Error(`pay-many ended first: ${JSON.stringify(outcome)}`)
      return (await heldIds(payee)).length >= held0 + at
    },
    60_000
  )
  await victim.kill9()
  await paying
  await victim.start()
}

/** Issues `n` more of O's coins to `d` (no kill) and waits until it holds them. */
async function topUpHeld(d: Daemon, n: number): Promise<void> {
  const held = (await heldIds(d)).length
  const r = await O.api('POST', '/v1/whopay/pay-many', { to: d.addr, value: 1, count: n, concurrency: 4 })
  assert.equal(r.payments, n, JSON.stringify(r))
  await waitFor(`${d.dataDir} holds ${n} more`, async () => (await heldIds(d)).length >= held + n, 30_000)
}

/** Waits until `d` has nothing pending (its retry loop sent it all). */
async function drained(d: Daemon): Promise<any> {
  return await waitFor(
    `${d.dataDir}: nothing pending`,
    async () => {
      const c = await coins(d)
      return c.pending.length === 0 ? c : undefined
    },
    60_000
  )
}

/** Every coin held by one node at most; the owner's record of each has the seq its holder has. */
async function where(): Promise<void> {
  const holders = new Map<string, string>()
  for (const d of [A, B, C]) {
    for (const h of (await coins(d)).held) {
      assert.equal(holders.get(h.coin), undefined, `${h.coin} held by ${holders.get(h.coin)} and ${d.dataDir}`)
      holders.set(h.coin, d.dataDir)
    }
  }
  await waitFor(
    "the owner's records follow its coins",
    async () => {
      const owned = (await coins(O)).owned
      const seqOf = new Map<string, number>(owned.map((c: any) => [c.coin, c.seq]))
      for (const d of [A, B, C]) for (const h of (await coins(d)).held) if (seqOf.get(h.coin) !== h.seq) return false
      return true
    },
    30_000
  )
}

before(async () => {
  s = await startWhopay('whopay-crash', { nodes: 4, topup: 1000, nodeArgs: ['--allow-cheats'] })
  broker = s.broker
  ;[O, A, B, C] = s.nodes
  await O.api('POST', '/v1/whopay/buy', { value: 1, count: BOUGHT })
})
after(async () => {
  await s?.swarm.stopAll()
})

test('the payee of issues killed: every coin the owner issued is the payee’s, none lost', async () => {
  await payThroughKill(O, A, A, 30, 5)
  const o = await drained(O)
  const issued = o.owned
    .filter((c: any) => c.seq >= 1)
    .map((c: any) => c.coin)
    .sort()
  assert.deepEqual(await heldIds(A), issued)
  await conserved(broker)
})

test('the owner killed mid-transfer: the broker takes over, the owner adopts after its restart', async () => {
  await topUpHeld(A, 12)
  const before = [...(await heldIds(A)), ...(await heldIds(B))].sort()
  await payThroughKill(A, B, O, 10, 3)
  await drained(A)
  const [a, b] = [await heldIds(A), await heldIds(B)]
  assert.deepEqual([...a, ...b].sort(), before, 'each coin A held is A’s or B’s, once')
  await where()
  await conserved(broker)
})

test('the payee of transfers killed: what it stored is its own, the rest reaches it after its restart', async () => {
  await topUpHeld(A, 8)
  const before = [...(await heldIds(A)), ...(await heldIds(C))].sort()
  await payThroughKill(A, C, C, 6, 2)
  await drained(A)
  assert.deepEqual([...(await heldIds(A)), ...(await heldIds(C))].sort(), before)
  await where()
  await conserved(broker)
})

test('the paying holder killed mid-transfer: after its restart each coin is its own or the payee’s, once', async () => {
  await topUpHeld(A, 8)
  const before = [...(await heldIds(A)), ...(await heldIds(B))].sort()
  await payThroughKill(A, B, A, 6, 2)
  // the requests it wrote before the kill are sent again (same bytes) by its retry loop
  await drained(A)
  assert.deepEqual([...(await heldIds(A)), ...(await heldIds(B))].sort(), before, 'no coin lost or doubled')
  await where()
  assert.deepEqual(await frauds(broker), [], 'a holder that only crashed is never taken for a double spender')
  await conserved(broker)
})

test('the broker killed mid-deposit: after its restart every coin is deposited exactly once', async () => {
  const held = (await heldIds(B)).length
  assert.ok(held > 1)
  let outcome: unknown
  const depositing = B.api('POST', '/v1/whopay/deposit', {}).then(
    r => (outcome = r),
    err => (outcome = String(err))
  )
  await waitFor(
    'the first deposits',
    async () => {
      if (outcome !== undefined) throw new Error(`the deposit ended first: ${JSON.stringify(outcome)}`)
      return ((await broker.api('GET', '/v1/audit')) as any).whopay.purses > 0
    },
    30_000
  )
  await broker.kill9()
  await depositing
  await broker.start()
  // the wallet sends the deposits left unanswered again by itself; asking again must not pay any twice
  await waitFor(
    'every coin deposited after the restart',
    async () => {
      await B.api('POST', '/v1/whopay/deposit', {})
      return (await heldIds(B)).length === 0 && (await purse(broker, B)) >= held
    },
    60_000
  )
  await drained(B)
  assert.equal(await purse(broker, B), held, 'nothing deposited twice, nothing lost')
  assert.deepEqual(await frauds(broker), [], 'nobody honest convicted')
  await conserved(broker)
})

test('the judge killed: a double spend is refused FRAUD while it is down, then convicted', async () => {
  await s.judge.kill9()
  const c = await C.api('POST', '/v1/whopay/pay', { to: B.addr, amount: 1 })
  assert.equal(c.paid[0].how, 'transfer', 'C pays with a coin it holds')
  const coin = c.paid[0].coin
  // found in the DHT: refused FRAUD at once, the case kept pending for the judge
  await assert.rejects(
    C.api('POST', '/v1/whopay/cheat/double-transfer', { coin, to: A.addr }),
    (e: any) => e.code === 'FRAUD'
  )
  assert.equal(await heldCoin(A, coin), undefined, 'the second payee got nothing')
  const kept = await broker.api('GET', '/v1/whopay/frauds')
  assert.ok(
    kept.cases.some((k: any) => k.coin === coin && k.state === 'pending'),
    'the case is kept while the judge is down'
  )
  await s.judge.start()
  // no second cheat: the broker's loop has the judge open the kept case
  const f = await waitFor(
    'the fraud record once the judge is back',
    async () => (await frauds(broker)).find(x => x.coin === coin),
    30_000
  )
  assert.equal(f.cheater, C.peerId)
  const after = await broker.api('GET', '/v1/whopay/frauds')
  assert.equal(after.frauds.filter((x: any) => x.coin === coin).length, 1, 'convicted once')
  assert.ok(after.cases.some((k: any) => k.coin === coin && k.state === 'convicted'))
  await conserved(broker)
})

test('in the end every coin is deposited once: purses hold what was issued, custody what was not', async () => {
  let deposited = 0
  for (const d of [A, B, C]) {
    await d.api('POST', '/v1/whopay/deposit', {})
    assert.deepEqual(await heldIds(d), [])
    deposited += await purse(broker, d)
  }
  const owned = (await coins(O)).owned
  const unissued = owned.filter((c: any) => c.seq === 0).length
  assert.equal(deposited, owned.length - unissued, 'every coin issued is in a purse, once')
  const a = await conserved(broker)
  assert.equal(a.whopay.outstanding, unissued)
  assert.equal(a.whopay.purses, deposited)
})
