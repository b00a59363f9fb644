// AggSign renewal end to end: a broker and three nodes as separate processes
// started through the CLI (coins of at most 3 layers). A coin paid to its
// limit is renewed at its minter through the CLI (the same renewal again gets
// the same fresh coin), the fresh coin is paid on and cashed, the minter cashes
// the old one as a refund of its own escrow; conservation after each step.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Swarm, audit, type Daemon } from './helpers/swarm.ts'

const swarm = new Swarm('aggsign-renew')
const MAX = '3'
const LIMIT = 100
let broker: Daemon, A: Daemon, B: Daemon, C: Daemon

const balance = async (d: Daemon): Promise<number> => (await broker.api('GET', `/v1/account?id=${d.peerId}`)).balance
const coins = async (d: Daemon): Promise<any> => await d.api('GET', '/v1/aggsign/coins')
const pay = async (from: Daemon, to: Daemon, coin: string): Promise<any> =>
  await from.api('POST', '/v1/aggsign/pay', { to: to.peerId, coin })

/** balances + every scheme's custody = topped up, and every scheme's books hold */
async function conserved(): Promise<void> {
  const a: any = await audit(broker)
  assert.equal(a.holds, true, JSON.stringify(a))
  assert.equal(a.balances + a.outstanding + a.escrow + a.aggsign.escrow, a.toppedUp, JSON.stringify(a))
}

before(async () => {
  broker = await swarm.startBroker(['--aggsign-max-layers', MAX])
  ;[A, B, C] = await swarm.startNodes(3, ['--aggsign-max-layers', MAX])
  for (const d of [A, B, C]) await broker.cli('broker', 'topup', '--account', d.peerId, '--amount', '1000')
  for (const d of [A, B, C]) await d.api('POST', '/v1/aggsign/certify', { limit: LIMIT })
  await conserved()
})
after(async () => {
  await swarm.stopAll()
})

test('renewed at its minter at the limit: the fresh coin paid on and cashed, the old one by the minter', async () => {
  const id = (await A.cli('aggsign', 'mint', '--value', '5')).coins[0].id
  for (const [from, to] of [
    [A, B],
    [B, C],
    [C, B]
  ])
    await pay(from, to, id)
  await assert.rejects(pay(B, C, id), (e: any) => e.code === 'LAYER_LIMIT', 'past the limit only a renewal')

  const r = await B.cli('aggsign', 'renew', '--coin', id, '--minter', A.addr)
  assert.deepEqual([r.old, r.value], [id, 5])
  assert.notEqual(r.coin, id)
  assert.deepEqual(await B.api('POST', '/v1/aggsign/renew', { coin: id }), r, 'the same renewal, the same answer')
  const b = await coins(B)
  assert.deepEqual(
    b.held.map((h: any) => [h.id, h.layers]),
    [[r.coin, 1]]
  )
  assert.deepEqual(b.renewed, [{ id, value: 5, coin: r.coin }])
  assert.deepEqual(b.renewing, [])
  const a = await coins(A)
  assert.deepEqual(
    a.held.filter((h: any) => h.id === id).map((h: any) => [h.layers, h.holder]),
    [[4, A.peerId]],
    'the minter holds its old coin, with the renewal layer'
  )
  await assert.rejects(B.api('POST', '/v1/aggsign/cash', { coin: id }), (e: any) => e.code === 'NO_SUCH_COIN')
  await conserved()

  // the fresh coin goes on like any other
  assert.deepEqual((await pay(B, C, r.coin)).paid, [{ coin: r.coin, value: 5, layers: 2 }])
  const cBefore = await balance(C)
  const fresh = await C.cli('aggsign', 'cash', '--coin', r.coin)
  assert.deepEqual([fresh.cashed, fresh.total, fresh.refused], [1, 5, []])
  assert.equal(await balance(C), cBefore + 5)
  await conserved()

  // the minter cashes the coin it took back: a refund from its own escrow, no fraud
  const aBefore = await balance(A)
  const old = await A.api('POST', '/v1/aggsign/cash', { coin: id })
  assert.deepEqual([old.cashed, old.total, old.coins[0].from], [1, 5, 'coin'])
  assert.equal(await balance(A), aBefore + 5)
  assert.deepEqual((await broker.api('GET', '/v1/aggsign/frauds')).frauds, [])
  const cert = (await broker.api('GET', '/v1/aggsign/certs')).certs.find((c: any) => c.peer === A.peerId)
  assert.deepEqual([cert.paid, cert.escrow], [10, LIMIT - 10])
  await conserved()
})

test('a renewal whose minter is down waits, written; after the restart the same bytes get the fresh coin', async () => {
  const id = (await A.api('POST', '/v1/aggsign/mint', { value: 4 })).coins[0].id
  for (const [from, to] of [
    [A, B],
    [B, C],
    [C, B]
  ])
    await pay(from, to, id)
  await A.kill9()
  await assert.rejects(B.api('POST', '/v1/aggsign/renew', { coin: id, minter: A.addr }))
  const waiting = await coins(B)
  assert.deepEqual(
    waiting.renewing.map((r: any) => [r.id, r.minter]),
    [[id, A.peerId]]
  )
  assert.equal(
    waiting.held.find((h: any) => h.id === id),
    undefined,
    'a coin sent for renewal is not spent or cashed meanwhile'
  )
  await A.start()
  const r = await B.api('POST', '/v1/aggsign/renew', { coin: id })
  assert.deepEqual([r.old, r.value], [id, 4])
  const b = await coins(B)
  assert.deepEqual(b.renewing, [])
  assert.ok(b.held.some((h: any) => h.id === r.coin && h.layers === 1))
  const [fresh, old] = [
    await B.api('POST', '/v1/aggsign/cash', { coin: r.coin }),
    await A.api('POST', '/v1/aggsign/cash', { coin: id })
  ]
  assert.deepEqual([fresh.total, old.total], [4, 4])
  await conserved()
})
