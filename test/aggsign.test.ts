// AggSign end to end: a broker and four nodes as separate processes started
// through the CLI, over real libp2p, state in LevelDB. Certify against escrow,
// mint, pay a coin along a chain of 8 layers (the 9th refused), cash; double
// spends at depth 1 and deeper through the cheat route (the broker names the
// cheater and pays the honest holder); over-minting caught at cashing and paid
// from escrow. Conservation after every scenario.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Swarm, audit, type Daemon } from './helpers/swarm.ts'

const swarm = new Swarm('aggsign')
const LIMIT = 300
let broker: Daemon, A: Daemon, B: Daemon, C: Daemon, D: Daemon

const balance = async (d: Daemon): Promise<number> => (await broker.api('GET', `/v1/account?id=${d.peerId}`)).balance
const coins = async (d: Daemon): Promise<any> => await d.api('GET', '/v1/aggsign/coins')
const pay = async (from: Daemon, to: Daemon, body: Record<string, unknown>): Promise<any> =>
  await from.api('POST', '/v1/aggsign/pay', { to: to.peerId, ...body })
const frauds = async (): Promise<any[]> => (await broker.api('GET', '/v1/aggsign/frauds')).frauds

/** balances + every scheme's custody = topped up, and every scheme's books hold */
async function conserved(): Promise<void> {
  const a: any = await audit(broker)
  assert.equal(a.holds, true, JSON.stringify(a))
  assert.equal(a.balances + a.outstanding + a.escrow + a.aggsign.escrow, a.toppedUp, JSON.stringify(a))
}

before(async () => {
  broker = await swarm.startBroker()
  ;[A, B, C, D] = await swarm.startNodes(4, ['--allow-cheats'])
  for (const d of [A, B, C, D]) await broker.cli('broker', 'topup', '--account', d.peerId, '--amount', '1000')
  const cert = await A.cli('aggsign', 'certify', '--limit', String(LIMIT))
  assert.equal(cert.limit, LIMIT)
  assert.ok(cert.expiry > Date.now())
  for (const d of [B, C, D]) await d.api('POST', '/v1/aggsign/certify', { limit: LIMIT })
  for (const d of [A, B, C, D]) assert.equal(await balance(d), 1000 - LIMIT, 'the limit is escrowed')
  const certs = (await broker.api('GET', '/v1/aggsign/certs')).certs
  assert.deepEqual(new Set(certs.map((c: any) => c.peer)), new Set([A, B, C, D].map(d => d.peerId)))
  await conserved()
})
after(async () => {
  await swarm.stopAll()
})

test('a coin paid along 8 layers, the 9th refused with the state unchanged, cashed by its last holder', async () => {
  const minted = await A.cli('aggsign', 'mint', '--value', '5')
  const id = minted.coins[0].id
  const ring = [A, B, C, D, A, B, C, D, A]
  for (let i = 0; i < 8; i++) {
    // through the CLI once (a payee by multiaddr), through the control API after
    const r =
      i === 0
        ? await ring[i].cli('aggsign', 'pay', '--to', ring[i + 1].addr, '--coin', id)
        : await pay(ring[i], ring[i + 1], { coin: id })
    assert.deepEqual(r.paid, [{ coin: id, value: 5, layers: i + 1 }])
  }
  const before = await coins(A)
  const held = before.held.find((h: any) => h.id === id)
  assert.equal(held.layers, 8)
  await assert.rejects(pay(A, B, { coin: id }), (e: any) => e.code === 'LAYER_LIMIT')
  assert.deepEqual(await coins(A), before, 'a refused layer changes nothing')
  assert.equal(
    (await coins(B)).held.find((h: any) => h.id === id),
    undefined
  )

  // the minter cashes its own coin, come back after 8 layers: paid from its escrow
  const cashed = await A.cli('aggsign', 'cash', '--coin', id)
  assert.deepEqual([cashed.cashed, cashed.total, cashed.refused], [1, 5, []])
  assert.equal(await balance(A), 1000 - LIMIT + 5)
  await conserved()
})

test('an exact amount from held coins, else one coin minted; past the limit a clear error', async () => {
  await B.api('POST', '/v1/aggsign/mint', { value: 2, count: 3 })
  const r = await pay(B, C, { amount: 4 })
  assert.deepEqual(
    r.paid.map((p: any) => [p.value, p.layers]),
    [
      [2, 1],
      [2, 1]
    ]
  )
  const fresh = await pay(B, C, { amount: 7 })
  assert.deepEqual(
    fresh.paid.map((p: any) => [p.value, p.layers]),
    [[7, 1]],
    'no held coins add up to 7: one is minted'
  )
  const before = await coins(B)
  await assert.rejects(pay(B, C, { amount: LIMIT }), (e: any) => e.code === 'OVER_LIMIT')
  assert.deepEqual(await coins(B), before, 'a refused payment changes nothing')
  const c = await C.cli('aggsign', 'coins')
  assert.equal(c.balance, 11)
  const cashed = await C.api('POST', '/v1/aggsign/cash', {})
  assert.deepEqual([cashed.cashed, cashed.total, cashed.refused], [3, 11, []])
  assert.equal((await C.api('POST', '/v1/aggsign/cash', {})).cashed, 0, 'nothing is cashed twice')
  await conserved()
})

test('a double spend at depth 1: the broker names the minter, both holders are paid', async () => {
  const [bBefore, cBefore] = [await balance(B), await balance(C)]
  const id = (await A.api('POST', '/v1/aggsign/mint', { value: 3 })).coins[0].id
  await pay(A, B, { coin: id })
  const cheat = await A.api('POST', '/v1/aggsign/cheat/double-spend', { coin: id, to: C.addr })
  assert.equal(cheat.layers, 1)
  assert.ok(
    (await coins(C)).held.some((h: any) => h.id === id),
    'the second payee took the coin'
  )
  assert.equal((await B.api('POST', '/v1/aggsign/cash', { coin: id })).total, 3)
  const second = await C.api('POST', '/v1/aggsign/cash', { coin: id })
  assert.equal(second.total, 3, 'the honest second holder is paid from the cheater')
  assert.equal(second.coins[0].from, 'compensation')
  assert.deepEqual([await balance(B), await balance(C)], [bBefore + 3, cBefore + 3])
  const f = (await frauds()).find(x => x.coin === id)
  assert.deepEqual([f.cheater, f.depth, f.reason], [A.peerId, 1, 'double-spend'])
  await conserved()
})

test('a double spend at depth 3: the broker names the holder that signed both layers', async () => {
  const [dBefore, aBefore, cBefore] = [await balance(D), await balance(A), await balance(C)]
  const id = (await A.api('POST', '/v1/aggsign/mint', { value: 4 })).coins[0].id
  await pay(A, B, { coin: id })
  await pay(B, C, { coin: id })
  await pay(C, D, { coin: id })
  await C.api('POST', '/v1/aggsign/cheat/double-spend', { coin: id, to: A.peerId })
  assert.equal((await D.api('POST', '/v1/aggsign/cash', { coin: id })).total, 4)
  const second = await A.api('POST', '/v1/aggsign/cash', { coin: id })
  assert.deepEqual([second.total, second.coins[0].from], [4, 'compensation'])
  const f = (await frauds()).find(x => x.coin === id && x.depth === 3)
  assert.deepEqual([f.cheater, f.reason], [C.peerId, 'double-spend'])
  assert.deepEqual([await balance(D), await balance(A), await balance(C)], [dBefore + 4, aBefore + 4, cBefore])
  const cert = (await broker.api('GET', '/v1/aggsign/certs')).certs.find((c: any) => c.peer === C.peerId)
  assert.equal(cert.fraudPaid, 4, "the honest holder was paid from the cheater's escrow")
  await conserved()
})

test("over-minting is caught at cashing and paid from the minter's escrow, then its balance", async () => {
  // each coin is within the limit (a payee checks that); together they are past it
  const value = LIMIT - 100
  const over = [
    await D.api('POST', '/v1/aggsign/cheat/over-mint', { value }),
    await D.api('POST', '/v1/aggsign/cheat/over-mint', { value })
  ]
  assert.ok(over[1].minted > LIMIT)
  await assert.rejects(
    D.api('POST', '/v1/aggsign/mint', { value: 1 }),
    (e: any) => e.code === 'OVER_LIMIT',
    'an honest wallet refuses'
  )
  for (const o of over) await pay(D, B, { coin: o.coin })
  const escrow = (await broker.api('GET', '/v1/aggsign/certs')).certs.find((c: any) => c.peer === D.peerId).escrow
  const [bBefore, dBefore] = [await balance(B), await balance(D)]
  let total = 0
  for (const o of over) total += (await B.api('POST', '/v1/aggsign/cash', { coin: o.coin })).total
  assert.equal(total, 2 * value, 'the holder is paid in full')
  assert.equal(await balance(B), bBefore + 2 * value)
  assert.equal(await balance(D), dBefore - (2 * value - escrow), 'what its escrow lacked came from its balance')
  const f = (await frauds()).find(x => x.reason === 'over-mint')
  assert.equal(f.cheater, D.peerId)
  await conserved()
})

test('counters: a payment is one message, one signature generated and one aggregate verification', async () => {
  const read = async (d: Daemon, kind: string): Promise<number[]> => {
    const text: string = await d.api('GET', '/metrics')
    return ['messages_sent', 'signatures_generated', 'signatures_verified'].map(m => {
      const line = text.split('\n').find(l => l.startsWith(`p2pay_${m}_total{kind="${kind}"}`))
      return Number(line?.split(' ')[1] ?? 0)
    })
  }
  const sum = async (kind: string): Promise<number[]> => {
    const [x, y] = [await read(B, kind), await read(C, kind)]
    return x.map((v, i) => v + y[i])
  }
  await B.api('POST', '/v1/aggsign/mint', { value: 1, count: 10 })
  const before = await sum('aggsign-pay')
  const r = await B.api('POST', '/v1/aggsign/pay-many', { to: C.peerId, value: 1, count: 10, concurrency: 4 })
  assert.deepEqual([r.payments, r.failed], [10, 0])
  const after = await sum('aggsign-pay')
  // the payee knows the payer's certificate from earlier payments: it is not verified again
  assert.deepEqual(
    after.map((v, i) => v - before[i]),
    [10, 10, 10]
  )
  await C.api('POST', '/v1/aggsign/cash', {})
  await conserved()
})
