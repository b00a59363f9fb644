// AggSign under kill -9: the broker killed in the middle of a node's cashing,
// a payer and then a payee killed in the middle of a batch of payments; each
// restarted on its port. Afterwards every coin is where it should be: nothing
// paid twice, nothing lost, a coin the payee acknowledged is the payee's, and
// coins paid but not acknowledged reach their payee from the payer's outbox.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Swarm, audit, waitFor, type Daemon } from './helpers/swarm.ts'

const swarm = new Swarm('aggsign-crash')
let broker: Daemon, A: Daemon, B: Daemon, C: Daemon, D: Daemon

const balance = async (d: Daemon): Promise<number> => (await broker.api('GET', `/v1/account?id=${d.peerId}`)).balance
const coins = async (d: Daemon): Promise<any> => await d.api('GET', '/v1/aggsign/coins')
const ids = (list: Array<{ id: string }>): string[] => list.map(c => c.id).sort()

async function conserved(): Promise<void> {
  const a: any = await audit(broker)
  assert.equal(a.holds, true, JSON.stringify(a))
  assert.equal(a.balances + a.outstanding + a.escrow + a.aggsign.escrow, a.toppedUp, JSON.stringify(a))
  assert.deepEqual((await broker.api('GET', '/v1/aggsign/frauds')).frauds, [], 'nobody honest is convicted')
}

before(async () => {
  broker = await swarm.startBroker()
  ;[A, B, C, D] = await swarm.startNodes(4)
  for (const d of [A, B, C, D]) await broker.api('POST', '/v1/topup', { account: d.peerId, amount: 1000 })
  for (const d of [A, B, C]) await d.api('POST', '/v1/aggsign/certify', { limit: 400 })
})
after(async () => {
  await swarm.stopAll()
})

test('the broker killed mid-cashing: after its restart every coin is cashed exactly once', async t => {
  const n = 150
  const paid = await B.api('POST', '/v1/aggsign/pay-many', { to: C.peerId, value: 1, count: n, concurrency: 8 })
  assert.deepEqual([paid.payments, paid.failed], [n, 0])
  const before = await balance(C)
  const cashing = C.api('POST', '/v1/aggsign/cash', { concurrency: 2 })
  await waitFor('the first cashings', async () => ((await audit(broker)) as any).aggsign.coins > 0, 10_000)
  await broker.kill9()
  const first = await cashing
  t.diagnostic(`before the kill: ${first.cashed} cashed, ${first.refused.length} unanswered`)
  // a certificate request that got no answer is sent again, with the same terms, once the broker is back
  const ask = { limit: 50, ttlMs: 3_600_000 }
  await assert.rejects(D.api('POST', '/v1/aggsign/certify', ask), (e: any) => e.code === 'UNREACHABLE')
  await broker.start()
  const cert = await D.api('POST', '/v1/aggsign/certify', ask)
  assert.equal(cert.limit, 50)
  assert.equal(await balance(D), 1000 - 50)
  let cashed = first.cashed
  await waitFor(
    'every coin cashed after the restart',
    async () => {
      cashed += (await C.api('POST', '/v1/aggsign/cash', {})).cashed
      return (await coins(C)).held.length === 0
    },
    30_000
  )
  const after = await coins(C)
  assert.equal(after.cashed.length, n)
  assert.equal(cashed, n, 'each coin answered paid once to this node')
  assert.equal(await balance(C), before + n, 'nothing paid twice, nothing lost')
  await conserved()
})

/** `payer` pays `payee` `n` coins of 1 and is killed (or kills `victim`) once the payee holds `at` of them. */
async function payThroughKill(payer: Daemon, payee: Daemon, victim: Daemon, n: number, at: number): Promise<number> {
  const held0 = (await coins(payee)).held.length
  const paying = payer
    .api('POST', '/v1/aggsign/pay-many', { to: payee.peerId, value: 1, count: n, concurrency: 4 })
    .catch(() => undefined)
  await waitFor('payments under way', async () => (await coins(payee)).held.length >= held0 + at, 20_000)
  await victim.kill9()
  await paying
  await victim.start()
  // coins signed and not yet acknowledged when the restart ended (diagnostic: it depends on timing)
  return (await coins(payer)).pending.length
}

test('a payer killed mid-payment: what it signed reaches the payee, acknowledged coins are the payee’s', async t => {
  const bBefore = await balance(B)
  t.diagnostic(`pending after the restart: ${await payThroughKill(A, B, A, 60, 10)}`)
  const a = await waitFor(
    "the payer's outbox drained",
    async () => {
      const c = await coins(A)
      return c.pending.length === 0 ? c : undefined
    },
    30_000
  )
  const b = await coins(B)
  assert.deepEqual(ids(b.held), ids(a.spent), 'every coin the payer paid on is the payee’s, and no other')
  assert.equal(a.held.length, 0, 'a coin is minted and paid on in one batch')
  assert.equal(a.minted, a.spent.length)
  const r = await B.api('POST', '/v1/aggsign/cash', {})
  assert.equal(r.cashed, b.held.length)
  assert.equal(await balance(B), bBefore + b.held.length)
  await conserved()
})

test('a payee killed mid-payment: coins it stored are its own, the rest come from the payer’s outbox', async t => {
  const spent0 = new Set(ids((await coins(A)).spent))
  const cBefore = await balance(C)
  t.diagnostic(`pending after the restart: ${await payThroughKill(A, C, C, 60, 10)}`)
  const a = await waitFor(
    "the payer's outbox drained after the payee's restart",
    async () => {
      await A.api('POST', '/v1/aggsign/retry')
      const c = await coins(A)
      return c.pending.length === 0 ? c : undefined
    },
    30_000
  )
  const paidNow = ids(a.spent).filter(id => !spent0.has(id))
  const c = await coins(C)
  assert.deepEqual(ids(c.held), paidNow, 'the payee holds exactly the coins paid to it')
  const r = await C.api('POST', '/v1/aggsign/cash', {})
  assert.equal(r.cashed, paidNow.length)
  assert.equal(await balance(C), cBefore + paidNow.length)
  await conserved()
})
