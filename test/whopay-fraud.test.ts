// WhoPay fraud with processes: a holder A that pays a coin on and then spends
// it again from its old coin key, by a second transfer (through the broker's
// downtime path) or by a deposit. With the real-time check (each coin's state
// at the k peers nearest it in the DHT) the second spend is refused as it is
// made; without it (the paper's basic version, a second swarm) it goes through
// and is found at deposit. Either way the judge opens the two group signatures,
// the broker names A's peer id through its registry, and the honest holders are
// paid, the one left out from A's account. Conservation after each.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { waitFor, type Daemon } from './helpers/swarm.ts'
import {
  balance,
  conserved,
  frauds,
  heldCoin,
  openings,
  pay,
  purse,
  startWhopay,
  type WhopaySwarm
} from './helpers/whopay.ts'

const VALUE = 7

const paid = (xs: Array<{ value: number }>): number => xs.reduce((n, x) => n + x.value, 0)

/** O issues a fresh coin to A and A pays it on to B (via O): the coin key A used is now spent. */
async function paidOn(O: Daemon, A: Daemon, B: Daemon): Promise<string> {
  const coin = (await O.api('POST', '/v1/whopay/buy', { value: VALUE })).coins[0].coin
  await O.api('POST', '/v1/whopay/pay', { to: A.addr, amount: VALUE })
  assert.ok((await heldCoin(A, coin)) != null, 'A holds the coin')
  await pay(A, B, VALUE)
  assert.ok((await heldCoin(B, coin)) != null, 'B holds the coin')
  return coin
}

/** The broker's fraud record of `coin`, once there; it names `cheater` through the judge's openings. */
async function convicted(s: WhopaySwarm, coin: string, cheater: Daemon): Promise<any> {
  const f = await waitFor(
    `a fraud record of ${coin}`,
    async () => (await frauds(s.broker)).find(x => x.coin === coin),
    30_000
  )
  assert.equal(f.cheater, cheater.peerId)
  assert.equal(f.kind, 'holder')
  // the judge opened both group signatures to A's member key, and the broker's registry maps it to A's peer id
  const c = (await openings(s.judge)).find(x => x.coin === coin && x.case === f.id)
  assert.ok(c != null, 'the judge keeps the case it opened')
  const mine = (await s.broker.api('GET', '/v1/whopay/registry')).members.find((m: any) => m.peer === cheater.peerId)
  assert.deepEqual(c.members, [mine.member, mine.member])
  assert.deepEqual(f.openings, c.openings, "the broker's record carries the judge's signed openings")
  return f
}

describe('real-time check on: a second spend is refused as it is made', () => {
  let s: WhopaySwarm, O: Daemon, A: Daemon, B: Daemon, C: Daemon
  before(async () => {
    s = await startWhopay('whopay-fraud-rt', { nodes: 4, topup: 500, nodeArgs: ['--allow-cheats'] })
    ;[O, A, B, C] = s.nodes
  })
  after(async () => {
    await s?.swarm.stopAll()
  })

  it('double transfer: refused, A convicted, B deposits in full, C got nothing and gave nothing', async () => {
    const coin = await paidOn(O, A, B)
    const aBefore = await balance(s.broker, A)
    await assert.rejects(
      A.api('POST', '/v1/whopay/cheat/double-transfer', { coin, to: C.addr }),
      (e: any) => e.code === 'FRAUD',
      'the broker finds the first transfer in the DHT and refuses'
    )
    assert.equal(await heldCoin(C, coin), undefined)
    await convicted(s, coin, A)
    assert.equal((await B.api('POST', '/v1/whopay/deposit', { coin })).total, VALUE)
    assert.equal(await purse(s.broker, B), VALUE)
    assert.equal(await balance(s.broker, A), aBefore, 'nothing taken: nobody honest lost anything')
    await conserved(s.broker)
  })

  it('double deposit: refused, A convicted, B deposits in full', async () => {
    const coin = await paidOn(O, A, B)
    const bPurse = await purse(s.broker, B)
    await assert.rejects(A.api('POST', '/v1/whopay/cheat/double-deposit', { coin }), (e: any) => e.code === 'FRAUD')
    assert.equal(await purse(s.broker, A), 0, 'nothing credited to the cheater')
    await convicted(s, coin, A)
    assert.equal((await B.api('POST', '/v1/whopay/deposit', { coin })).total, VALUE)
    assert.equal(await purse(s.broker, B), bPurse + VALUE)
    await conserved(s.broker)
  })
})

describe('real-time check off: a second spend is found at deposit', () => {
  let s: WhopaySwarm, O: Daemon, A: Daemon, B: Daemon, C: Daemon
  before(async () => {
    s = await startWhopay('whopay-fraud-basic', {
      nodes: 4,
      topup: 500,
      realtime: false,
      nodeArgs: ['--allow-cheats']
    })
    ;[O, A, B, C] = s.nodes
  })
  after(async () => {
    await s?.swarm.stopAll()
  })

  it("double transfer: both payees hold it; both deposits paid, the second from A's account", async () => {
    const coin = await paidOn(O, A, B)
    const aBefore = await balance(s.broker, A)
    await A.api('POST', '/v1/whopay/cheat/double-transfer', { coin, to: C.addr })
    assert.ok((await heldCoin(C, coin)) != null, 'the broker, with no DHT check, signed the second transfer')
    const first = await B.api('POST', '/v1/whopay/deposit', { coin })
    const second = await C.api('POST', '/v1/whopay/deposit', { coin })
    assert.deepEqual([first.total, second.total], [VALUE, VALUE])
    assert.deepEqual([await purse(s.broker, B), await purse(s.broker, C)], [VALUE, VALUE])
    const f = await convicted(s, coin, A)
    assert.equal(paid(f.compensated), VALUE)
    assert.equal(paid(f.shortfall), 0)
    assert.equal(await balance(s.broker, A), aBefore - VALUE, 'the honest holder was paid from the cheater')
    await conserved(s.broker)
  })

  it("double deposit: the cheater's deposit is credited, B's found conflicting, paid back from A's purse", async () => {
    const coin = await paidOn(O, A, B)
    const [aBefore, aPurse, bPurse] = [await balance(s.broker, A), await purse(s.broker, A), await purse(s.broker, B)]
    const cheat = await A.api('POST', '/v1/whopay/cheat/double-deposit', { coin })
    assert.equal(cheat.total ?? VALUE, VALUE)
    const d = await B.api('POST', '/v1/whopay/deposit', { coin })
    assert.equal(d.total, VALUE)
    assert.equal(await purse(s.broker, B), bPurse + VALUE)
    const f = await convicted(s, coin, A)
    // the purse A's own deposit credited pays first (A's account would pay what it no longer held)
    assert.equal(paid(f.reclaimed ?? []), VALUE)
    assert.equal(paid(f.compensated), 0)
    assert.equal(await purse(s.broker, A), aPurse, "the cheat's deposit taken back from A's purse")
    assert.equal(await balance(s.broker, A), aBefore)
    await conserved(s.broker)
  })
})
