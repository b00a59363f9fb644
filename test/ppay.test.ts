// PPay end to end: a broker and four nodes as separate processes started
// through the CLI, talking over real libp2p connections, state in LevelDB.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Swarm, waitFor, audit, CLI, type Daemon } from './helpers/swarm.ts'

const swarm = new Swarm('ppay')
let broker: Daemon, X: Daemon, Y: Daemon, Z: Daemon, W: Daemon
const balance = async (d: Daemon): Promise<number> => (await broker.api('GET', `/v1/account?id=${d.peerId}`)).balance
/** Cashes whatever each node still holds, so a test's balance deltas are its own. */
const settle = async (): Promise<void> => {
  for (const d of [X, Y, Z, W]) await d.api('POST', '/v1/ppay/cash')
}
const paidFor = (cash: { coins: Array<{ sn: string }> }, sn: string): unknown => cash.coins.find(c => c.sn === sn)
const held = async (d: Daemon): Promise<any[]> => (await d.api('GET', '/v1/ppay/coins')).held

before(async () => {
  broker = await swarm.startBroker()
  ;[X, Y, Z, W] = await swarm.startNodes(4, ['--allow-cheats'])
  for (const d of [X, Y, Z, W]) await broker.cli('broker', 'topup', '--account', d.peerId, '--amount', '1000')
})
after(async () => {
  await swarm.stopAll()
})

test('buy, pay, reassign via owner, downtime path with sync, layered spend, cash', async () => {
  const bought = await X.cli('ppay', 'buy', '--count', '10', '--value', '5')
  assert.deepEqual(bought, { coins: 10, value: 50 })
  assert.equal(await balance(X), 950)

  const p1 = await X.cli('ppay', 'pay', '--to', Y.peerId, '--amount', '10')
  assert.deepEqual(
    p1.coins.map((c: any) => [c.via, c.delivered]),
    [
      ['assign', true],
      ['assign', true]
    ]
  )
  assert.equal((await held(Y)).filter(h => h.status === 'held').length, 2)

  // Y spends one on to Z: request to X, X assigns seq 2 to Z
  const p2 = await Y.cli('ppay', 'pay', '--to', Z.peerId, '--amount', '5')
  assert.equal(p2.coins[0].via, 'reassign')
  const sn = p2.coins[0].sn
  const trail = (await X.api('GET', `/v1/ppay/trail?sn=${sn}`)).trail
  assert.deepEqual(
    trail.map((e: any) => [e.seq, e.holder, e.by, e.request != null]),
    [
      [1, Y.peerId, 'owner', false],
      [2, Z.peerId, 'owner', true]
    ]
  )

  // the owner goes down: Z's spend of that coin takes the broker's downtime path
  const idBefore = X.peerId
  await X.stop()
  assert.equal(await X.exited, 0, 'SIGTERM is an orderly exit')
  assert.equal(existsSync(join(X.dataDir, 'api.json')), false, 'a stopped daemon removes its api.json')
  const p3 = await Z.cli('ppay', 'pay', '--to', W.peerId, '--amount', '5')
  assert.equal(p3.coins[0].via, 'downtime')
  assert.equal(p3.coins[0].sn, sn)
  await X.start()
  assert.equal(X.peerId, idBefore, 'the identity key in the data dir keeps the peer id')
  const synced = await waitFor('owner sync of the downtime log', async () => {
    const t = (await X.api('GET', `/v1/ppay/trail?sn=${sn}`)).trail
    return t.length === 3 ? t : undefined
  })
  assert.deepEqual([synced[2].seq, synced[2].holder, synced[2].by], [3, W.peerId, 'broker'])

  // after syncing, the owner serves W's request for seq 3 itself
  const p4 = await W.cli('ppay', 'pay', '--to', Y.peerId, '--amount', '5')
  assert.equal(p4.coins[0].via, 'reassign')

  // layered: Y adds a layer to Z, Z one more to W (max 3 layers)
  const p5 = await Y.cli('ppay', 'pay', '--to', Z.peerId, '--amount', '5', '--layered')
  assert.equal(p5.coins[0].via, 'layer')
  const p6 = await Z.cli('ppay', 'pay', '--to', W.peerId, '--amount', '5', '--layered')
  assert.equal(p6.coins[0].via, 'layer')
  assert.ok((await held(W)).some(h => h.depth === 2 && h.status === 'held'))

  const before = { Y: await balance(Y), W: await balance(W) }
  const cashY = await Y.cli('ppay', 'cash')
  const cashW = await W.cli('ppay', 'cash')
  assert.deepEqual([cashY.paid, cashY.value, cashY.refused], [1, 5, []])
  assert.deepEqual([cashW.paid, cashW.value, cashW.refused], [1, 5, []])
  assert.equal(await balance(Y), before.Y + 5)
  assert.equal(await balance(W), before.W + 5)
  // cashing again pays nothing more
  assert.deepEqual((await W.cli('ppay', 'cash')).paid, 0)
  assert.equal(await balance(W), before.W + 5)

  // the owner refunds the coins it never assigned
  const r = await X.cli('ppay', 'refund')
  assert.deepEqual(r, { refunded: 8, value: 40 })
  const a = await audit(broker)
  assert.equal(a.holds, true)
  assert.equal(a.toppedUp, 4000)
  assert.equal(a.outstanding, 0)
  assert.equal((await broker.api('GET', '/v1/ppay/frauds')).frauds.length, 0)
})

test('fraud: the owner assigns one coin to two holders; the owner is convicted and pays the second', async () => {
  await settle()
  await X.api('POST', '/v1/ppay/buy', { count: 1, value: 7 })
  const startX = await balance(X)
  const startY = await balance(Y)
  const startZ = await balance(Z)
  const { sn } = await X.api('POST', '/v1/ppay/cheat/double-assign', { to1: Y.peerId, to2: Z.peerId })
  assert.deepEqual(paidFor(await Y.api('POST', '/v1/ppay/cash'), sn), { sn, value: 7, from: 'coin' })
  assert.deepEqual(paidFor(await Z.api('POST', '/v1/ppay/cash'), sn), { sn, value: 7, from: 'compensation' })
  const frauds = (await broker.api('GET', '/v1/ppay/frauds')).frauds.filter((f: any) => f.sn === sn)
  assert.equal(frauds.length, 1)
  assert.equal(frauds[0].kind, 'owner-double-assign')
  assert.equal(frauds[0].culprit, X.peerId)
  assert.deepEqual(frauds[0].compensated, [{ holder: Z.peerId, value: 7 }])
  assert.equal(await balance(Y), startY + 7)
  assert.equal(await balance(Z), startZ + 7)
  assert.equal(await balance(X), startX - 7)
  assert.equal((await audit(broker)).holds, true)
})

test(
  'fraud: a holder cashes a coin it already spent; it is convicted by ' + 'its own request and pays the payee',
  async () => {
    await settle()
    await X.api('POST', '/v1/ppay/buy', { count: 1, value: 11 })
    await X.api('POST', '/v1/ppay/pay', { to: Y.peerId, amount: 11 })
    const {
      coins: [{ sn }]
    } = await Y.api('POST', '/v1/ppay/pay', { to: Z.peerId, amount: 11 })
    const startY = await balance(Y)
    const startZ = await balance(Z)
    // Y cashes its superseded assignment first, and is paid (the broker cannot know yet)
    const stale = await Y.api('POST', '/v1/ppay/cheat/cash-spent', { sn })
    assert.deepEqual(paidFor(stale, sn), { sn, value: 11, from: 'coin' })
    // Z cashes the real assignment: it carries Y's signed request, which convicts Y
    const honest = await Z.api('POST', '/v1/ppay/cash')
    assert.deepEqual(paidFor(honest, sn), { sn, value: 11, from: 'compensation' })
    const f = (await broker.api('GET', '/v1/ppay/frauds')).frauds.find((x: any) => x.sn === sn)
    assert.equal(f.kind, 'holder-cash-after-spend')
    assert.equal(f.culprit, Y.peerId)
    assert.deepEqual(f.compensated, [{ holder: Z.peerId, value: 11 }])
    assert.equal(await balance(Z), startZ + 11)
    assert.equal(await balance(Y), startY) // paid once by the coin, debited once by the fine
    assert.equal((await audit(broker)).holds, true)
  }
)

test(
  'fraud: a holder spends one coin on two payees (owner and downtime ' + 'path); it is convicted, both payees are paid',
  async () => {
    await settle()
    await X.api('POST', '/v1/ppay/buy', { count: 1, value: 13 })
    await X.api('POST', '/v1/ppay/pay', { to: Y.peerId, amount: 13 })
    const startY = await balance(Y)
    const startZ = await balance(Z)
    const startW = await balance(W)
    const { sn } = await Y.api('POST', '/v1/ppay/cheat/double-spend', { to1: Z.peerId, to2: W.peerId })
    // the owner finds the conflict when it syncs the broker's downtime log
    const sync = await X.api('POST', '/v1/ppay/sync')
    assert.equal(sync.frauds.length, 1)
    const f = (await broker.api('GET', '/v1/ppay/frauds')).frauds.find((x: any) => x.sn === sn)
    assert.equal(f.kind, 'holder-double-spend')
    assert.equal(f.culprit, Y.peerId)
    assert.deepEqual(paidFor(await Z.api('POST', '/v1/ppay/cash'), sn), { sn, value: 13, from: 'coin' })
    assert.deepEqual(paidFor(await W.api('POST', '/v1/ppay/cash'), sn), { sn, value: 13, from: 'compensation' })
    assert.equal(await balance(Z), startZ + 13)
    assert.equal(await balance(W), startW + 13)
    assert.equal(await balance(Y), startY - 13)
    assert.equal((await audit(broker)).holds, true)
  }
)

test('metrics count Table I work per transaction kind; the CLI explains itself and fails clearly', async () => {
  const metrics: string = await Y.api('GET', '/metrics')
  const value = (name: string, kind: string): number =>
    Number(new RegExp(`^p2pay_${name}\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0)
  assert.ok(value('signatures_verified_total', 'pay') > 0)
  assert.ok(value('signatures_generated_total', 'reassign') > 0)
  assert.ok(value('messages_sent_total', 'reassign') > 0)
  const run = promisify(execFile)
  const help = await run(process.execPath, [CLI, '--help'])
  assert.match(help.stdout, /p2pay <command>/)
  for (const cmd of [
    ['ppay', 'pay'],
    ['node', 'start'],
    ['broker', 'topup'],
    ['ppay', 'cash']
  ]) {
    const out = (await run(process.execPath, [CLI, ...cmd, '--help'])).stdout
    assert.match(out, /Usage: p2pay /, cmd.join(' '))
    assert.match(out, /Examples:\n {2}p2pay /, cmd.join(' '))
  }
  await assert.rejects(
    run(process.execPath, [CLI, 'ppay', 'balance', '--data-dir', join(swarm.dir, 'nowhere')]),
    (err: any) => err.code === 1 && /no running daemon found/.test(err.stderr)
  )
  await assert.rejects(
    run(process.execPath, [CLI, 'ppay', 'pay', '--data-dir', Y.dataDir, '--to', W.peerId]),
    (err: any) => err.code === 2 && /--amount is required/.test(err.stderr)
  )
  await assert.rejects(
    run(process.execPath, [
      CLI,
      'node',
      'start',
      '--data-dir',
      join(swarm.dir, 'x'),
      '--broker',
      '/ip4/127.0.0.1/tcp/1'
    ]),
    (err: any) => err.code === 2 && /\/p2p\/<peer id>/.test(err.stderr)
  )
})

test('an owner refunds more unassigned coins than one frame carries: every one, once', async () => {
  await settle()
  await broker.cli('broker', 'topup', '--account', X.peerId, '--amount', '1000')
  // each coin's proof is over 1 KiB on the wire: 900 of them fill more than one 1 MiB frame
  await X.api('POST', '/v1/ppay/buy', { count: 900, value: 1 })
  const afterBuy = await balance(X)
  const r = await X.cli('ppay', 'refund')
  assert.deepEqual(r, { refunded: 900, value: 900 })
  assert.equal(await balance(X), afterBuy + 900)
  assert.deepEqual(await X.cli('ppay', 'refund'), { refunded: 0, value: 0 }, 'nothing is refunded twice')
  assert.equal(await balance(X), afterBuy + 900)
  const a = await audit(broker)
  assert.equal(a.holds, true)
  assert.equal(a.outstanding, 0)
})
