// WhoPay end to end: a judge, a broker and four nodes as separate processes
// started through the CLI, over real libp2p, state in LevelDB. O buys coins
// and issues one to A; A pays B and B pays C, each transfer signed over by the
// owner O; with O stopped, C pays A through the broker's downtime path, and O,
// back, adopts the broker's binding; A renews the coin, pays it on, and its last
// holder deposits it into its purse and withdraws. Conservation after each.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { waitFor, type Daemon, type Swarm } from './helpers/swarm.ts'
import { balance, coins, conserved, heldCoin, pay, purse, startWhopay } from './helpers/whopay.ts'

let swarm: Swarm
let broker: Daemon, judge: Daemon, O: Daemon, A: Daemon, B: Daemon, C: Daemon
const VALUE = 5
/** the coin followed through the scenarios */
let coin = ''

/** the one coin `to` holds now that `from` held before */
async function passedOn(to: Daemon, seq: number): Promise<any> {
  const h = await heldCoin(to, coin)
  assert.ok(h != null, `${to.dataDir} holds ${coin}: ${JSON.stringify(await coins(to))}`)
  assert.equal(h.seq, seq)
  return h
}

before(async () => {
  ;({
    swarm,
    broker,
    judge,
    nodes: [O, A, B, C]
  } = await startWhopay('whopay', { nodes: 4, topup: 1000, join: false }))
})
after(async () => {
  await swarm?.stopAll()
})

test('join: every node gets a member key once, the broker registers it under the peer id', async () => {
  const first = await O.cli('whopay', 'join')
  const again = await O.cli('whopay', 'join')
  assert.deepEqual(again, first, 'joining again gives the same member key')
  for (const d of [A, B, C]) await d.api('POST', '/v1/whopay/join')
  const registry = (await broker.api('GET', '/v1/whopay/registry')).members
  assert.deepEqual(new Set(registry.map((m: any) => m.peer)), new Set([O, A, B, C].map(d => d.peerId)))
  assert.equal(new Set(registry.map((m: any) => m.member)).size, 4, 'four distinct member keys')
  assert.deepEqual((await judge.api('GET', '/v1/whopay/openings')).openings, [], 'nothing opened without evidence')
  await conserved(broker)
})

test("buy: the owner's account is debited, the value is WhoPay's custody", async () => {
  const bought = await O.cli('whopay', 'buy', '--value', String(VALUE), '--count', '2')
  assert.equal(bought.coins.length, 2)
  coin = bought.coins[0].coin
  assert.equal(await balance(broker, O), 1000 - 2 * VALUE)
  const owned = (await coins(O)).owned
  assert.deepEqual(owned.map((c: any) => c.coin).sort(), bought.coins.map((c: any) => c.coin).sort())
  const a = await conserved(broker)
  assert.equal(a.whopay.outstanding, 2 * VALUE)
})

test('issue O -> A, then transfers A -> B -> C, each via the owner', async () => {
  const issued = await O.cli('whopay', 'pay', '--to', A.addr, '--amount', String(VALUE))
  assert.equal(issued.paid.length, 1)
  assert.equal(issued.paid[0].how, 'issue')
  coin = issued.paid[0].coin
  await passedOn(A, 1)
  assert.deepEqual((await pay(A, B, VALUE)).paid, [{ coin, value: VALUE, how: 'transfer' }])
  await passedOn(B, 2)
  assert.equal(await heldCoin(A, coin), undefined, 'the payer holds it no more')
  // by peer id alone: B's node finds C's address itself
  await B.api('POST', '/v1/whopay/pay', { to: C.peerId, amount: VALUE })
  await passedOn(C, 3)
  const mine = (await coins(O)).owned.find((c: any) => c.coin === coin)
  assert.equal(mine.seq, 3, "the owner's record follows the coin")
  await conserved(broker)
})

test('owner offline: the broker signs the transfer; the owner, back, adopts the higher seq', async () => {
  await O.stop()
  const r = await pay(C, A, VALUE)
  assert.deepEqual(r.paid, [{ coin, value: VALUE, how: 'downtime' }])
  await passedOn(A, 4)
  const b = (await broker.api('GET', '/v1/whopay/coins')).coins.find((c: any) => c.coin === coin)
  assert.equal(b.seq, 4, 'the broker keeps the binding it signed')
  await O.start()
  await waitFor(
    "the owner's sync adopted the broker's binding",
    async () => (await coins(O)).owned.find((c: any) => c.coin === coin)?.seq === 4,
    30_000
  )
  await conserved(broker)
})

test('renewal: a later certificate (gen + 1) and a fresh key; the renewed coin pays on', async () => {
  const before = await passedOn(A, 4)
  const r = await A.cli('whopay', 'renew', '--coin', coin)
  assert.equal(r.gen, before.gen + 1)
  const h = await heldCoin(A, coin)
  assert.equal(h.gen, before.gen + 1)
  assert.ok(h.expiry > before.expiry)
  await pay(A, B, VALUE)
  assert.equal((await heldCoin(B, coin)).gen, before.gen + 1)
  await conserved(broker)
})

test('deposit into the purse, withdraw to the account; nothing deposited twice', async () => {
  const bBefore = await balance(broker, B)
  const custody = (await conserved(broker)).whopay.outstanding
  const d = await B.cli('whopay', 'deposit', '--coin', coin)
  assert.equal(d.total, VALUE)
  assert.equal(await purse(broker, B), VALUE)
  assert.equal(await heldCoin(B, coin), undefined)
  assert.equal((await B.api('POST', '/v1/whopay/deposit', {})).total, 0, 'nothing left to deposit')
  const a = await conserved(broker)
  assert.equal(a.whopay.outstanding, custody - VALUE)
  const w = await B.cli('whopay', 'withdraw')
  assert.equal(w.amount, VALUE)
  assert.equal(await purse(broker, B), 0)
  assert.equal(await balance(broker, B), bBefore + VALUE)
  await conserved(broker)
})

test("an owner's own unissued coin deposits to its account, and its purse stays unnamed", async () => {
  const unissued = (await coins(O)).owned.filter((c: any) => c.seq === 0)
  assert.ok(unissued.length > 0, 'the second coin bought was never issued')
  const oBefore = await balance(broker, O)
  const d = await O.api('POST', '/v1/whopay/deposit', {})
  assert.equal(d.total, unissued.length * VALUE)
  assert.equal(await balance(broker, O), oBefore + unissued.length * VALUE, "credited to the owner's account")
  const purses = (await broker.api('GET', '/v1/whopay/coins')).purses
  assert.equal(purses[(await coins(O)).purse.key], undefined, "the owner's purse key is unknown to the broker")
  await conserved(broker)
})
