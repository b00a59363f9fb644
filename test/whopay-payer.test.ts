// The payer's side of WhoPay ends every transaction in a final state, with a judge, a broker and three nodes as
// separate processes: a purchase the broker refuses ends refused (GET /coins says why) and is never asked again,
// so topping the account up later debits nothing behind the owner's back; an owner that lost its records (an old
// backup restored) refuses a transfer NO_SUCH_COIN and the payment goes through the broker's downtime path; a held
// coin within the renewal margin of its expiry is renewed by the retry loop.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { waitFor, type Daemon, type Swarm } from './helpers/swarm.ts'
import { balance, coins, conserved, heldCoin, pay, startWhopay } from './helpers/whopay.ts'

let swarm: Swarm
let broker: Daemon, O: Daemon, A: Daemon, B: Daemon
const VALUE = 5
let coin = ''
let issuedAt = 0

before(async () => {
  ;({
    swarm,
    broker,
    nodes: [O, A, B]
  } = await startWhopay('whopay-payer', { nodes: 3, topup: 100 }))
})
after(async () => {
  await swarm?.stopAll()
})

test('a refused purchase ends refused and is not asked again once the account is topped up', async () => {
  const err: any = await A.api('POST', '/v1/whopay/buy', { value: 500 }).then(
    () => undefined,
    (e: unknown) => e
  )
  assert.equal(err?.code, 'INSUFFICIENT_FUNDS')
  const p = (await coins(A)).pending.find((x: any) => x.kind === 'buy')
  assert.equal(p?.refused?.code, 'INSUFFICIENT_FUNDS', JSON.stringify(await coins(A)))
  await broker.api('POST', '/v1/topup', { account: A.peerId, amount: 1000 })
  for (let i = 0; i < 2; i++) assert.equal((await A.api('POST', '/v1/whopay/retry')).waiting, 0)
  assert.equal(await balance(broker, A), 1100, 'nothing debited behind the owner')
  assert.deepEqual((await coins(A)).owned, [])
  await conserved(broker)
})

test("an owner that lost its records refuses NO_SUCH_COIN: the holder's payment goes via the broker", async () => {
  await O.stop()
  const backup = join(swarm.dir, 'owner-backup')
  cpSync(O.dataDir, backup, { recursive: true })
  await O.start()
  const issued = await pay(O, A, VALUE)
  coin = issued.paid[0].coin
  issuedAt = Date.now()
  await O.stop()
  rmSync(O.dataDir, { recursive: true, force: true })
  cpSync(backup, O.dataDir, { recursive: true })
  await O.start()
  assert.deepEqual((await coins(O)).owned, [], 'the owner restored a backup from before the coin')
  const r = await pay(A, B, VALUE)
  assert.deepEqual(r.paid, [{ coin, value: VALUE, how: 'downtime' }])
  assert.equal((await heldCoin(B, coin))?.seq, 2)
  assert.deepEqual(
    (await coins(A)).pending.filter((x: any) => x.refused == null),
    [],
    'the payment is finished'
  )
  await conserved(broker)
})

test('a held coin within the renewal margin is renewed by the retry loop', async () => {
  const before = await heldCoin(B, coin)
  assert.equal(before.gen, 0)
  // a margin just under the broker's 30 days: the coin, older than the rest, is due
  const restOfLife = 10
  await sleep(Math.max(0, issuedAt + (restOfLife + 2) * 1000 - Date.now()))
  await B.stop()
  B.args.push('--whopay-renew-before-days', String(30 - restOfLife / 86_400))
  await B.start()
  await waitFor('the retry loop renewed the coin', async () => ((await heldCoin(B, coin))?.gen ?? 0) >= 1, 30_000)
  assert.ok((await heldCoin(B, coin)).expiry > before.expiry)
  await conserved(broker)
})
