// The payments journal and payment requests with real processes: a broker and
// five nodes started through the CLI (TCP + Noise + Yamux, LevelDB). A payment
// or transfer retried with its id pays once; a payee that does not answer gets
// nothing signed and the payment ends within its deadline; a node killed -9
// mid-transfer settles its entry after the restart to what the banks did; a
// payment request is paid once, and an expired or tampered one is refused with
// nothing changed.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { Swarm, Daemon, ApiError, waitFor } from './helpers/swarm.ts'

const K = 3
const INITIAL = 1000
const swarm = new Swarm('payments')
/** a machine busy with other work starts a daemon slowly */
const START_MS = 180_000
const KARMA_ARGS = [
  '--karma-k',
  String(K),
  '--karma-pow-bits',
  '8',
  '--karma-sync-ms',
  '1000',
  '--karma-initial',
  String(INITIAL)
]
let broker: Daemon, A: Daemon, B: Daemon, C: Daemon, D: Daemon, E: Daemon

const refused =
  (code: string) =>
  (err: unknown): boolean => {
    assert.ok(err instanceof ApiError, String(err))
    assert.equal(err.code, code, err.message)
    return true
  }
/** A's coins: those it owns unassigned, and what B holds. */
const spendable = async (d: Daemon): Promise<string[]> =>
  (await d.api('GET', '/v1/ppay/coins')).owned
    .filter((c: any) => c.seq === 0 && !c.refunded)
    .map((c: any) => c.sn)
    .sort()
const heldSns = async (d: Daemon): Promise<string[]> =>
  (await d.api('GET', '/v1/ppay/coins')).held.map((h: any) => h.sn).sort()
const entry = async (d: Daemon, id: string): Promise<any> => (await d.api('GET', `/v1/payments?id=${id}`)).payment
const karmaOf = async (reader: Daemon, peer: string): Promise<number> =>
  (
    await waitFor<{ balance: number }>(
      `a majority read of ${peer}`,
      async () => await reader.api('GET', `/v1/karma/balance?peer=${peer}`)
    )
  ).balance

before(async () => {
  broker = await swarm.startBroker()
  ;[A, B, C, D, E] = await Promise.all(
    Array.from({ length: 5 }, async (_, i) => {
      const d = new Daemon('node', join(swarm.dir, `node${i}`), [
        '--broker',
        broker.addr,
        '--owner-timeout-ms',
        '2000',
        '--retry-interval-ms',
        '1000',
        ...KARMA_ARGS
      ])
      swarm.nodes.push(d) // stopped by stopAll even if its start is slow
      return await d.start(START_MS)
    })
  )
  await broker.cli('broker', 'topup', '--account', A.peerId, '--amount', '1000')
  await A.api('POST', '/v1/ppay/buy', { count: 10, value: 5 })
})
after(async () => {
  await swarm.stopAll()
})

test('PPay: a payment retried with its id returns the same outcome and the payee is paid once', async () => {
  const before = await spendable(A)
  const first = await A.api('POST', '/v1/ppay/pay', { id: 'ppay-retry-0001', to: B.peerId, amount: 5 })
  assert.equal(first.payment.state, 'succeeded')
  assert.equal(first.coins.length, 1)
  const again = await A.api('POST', '/v1/ppay/pay', { id: 'ppay-retry-0001', to: B.peerId, amount: 5 })
  assert.deepEqual(again.coins, first.coins)
  assert.equal(again.payment.created, first.payment.created)
  // one coin left A and reached B, once
  assert.equal((await spendable(A)).length, before.length - 1)
  assert.deepEqual(await heldSns(B), [first.coins[0].sn])
  // the same id for another payment is refused and pays nothing
  await assert.rejects(
    A.api('POST', '/v1/ppay/pay', { id: 'ppay-retry-0001', to: C.peerId, amount: 5 }),
    refused('BAD_REQUEST')
  )
  assert.equal((await spendable(A)).length, before.length - 1)
  const listed = (await A.api('GET', `/v1/payments?peer=${B.peerId}`)).payments
  assert.deepEqual(
    listed.map((p: any) => [p.id, p.state]),
    [['ppay-retry-0001', 'succeeded']]
  )
})

test('PPay: a payee that does not answer gets nothing signed; the payment ends within its deadline', async () => {
  await E.stop()
  const before = await spendable(A)
  await assert.rejects(
    A.api('POST', '/v1/ppay/pay', { id: 'ppay-gone-0001', to: E.peerId, amount: 5, deadlineMs: 3000 }),
    refused('UNREACHABLE')
  )
  const e = await entry(A, 'ppay-gone-0001')
  assert.equal(e.state, 'expired', e.reason)
  assert.match(e.reason, /nothing was signed/)
  // the coins are where they were: A's, unassigned
  assert.deepEqual(await spendable(A), before)
  assert.equal((await A.api('GET', '/v1/ppay/status')).wallet.pendingDeliveries, 0)
  await E.start(START_MS)
})

test('Karma: a transfer retried with its id returns the same receipt and moves karma once', async () => {
  // a member that has not seen k Karma peers yet answers UNREACHABLE (sync): the join is asked again, as a node would
  for (const d of [A, B, C, D, E])
    await waitFor(`${d.peerId} to join Karma`, async () => await d.api('POST', '/v1/karma/join'), 60_000)
  const b0 = await karmaOf(C, B.peerId)
  const a0 = await karmaOf(C, A.peerId)
  const body = { id: 'karma-retry-001', to: B.peerId, amount: 25 }
  const first = await A.api('POST', '/v1/karma/transfer', body)
  assert.equal(first.payment.state, 'succeeded')
  const again = await A.api('POST', '/v1/karma/transfer', body)
  assert.equal(again.requestHash, first.requestHash)
  assert.equal(again.payment.state, 'succeeded')
  // the CLI's --id retries the same way
  const viaCli = await A.cli('karma', 'transfer', '--to', B.peerId, '--amount', '25', '--id', 'karma-retry-001')
  assert.equal(viaCli.requestHash, first.requestHash)
  assert.equal(await karmaOf(C, B.peerId), b0 + 25)
  assert.equal(await karmaOf(C, A.peerId), a0 - 25)
  const totals = await A.api('GET', '/v1/payments/peers')
  const row = totals.peers.find((p: any) => p.peer === B.peerId)
  assert.equal(row.schemes.karma.paid, 25)
  assert.equal(row.schemes.ppay.paid, 5)
  const atB = (await B.api('GET', '/v1/payments/peers')).peers.find((p: any) => p.peer === A.peerId)
  assert.equal(atB.schemes.ppay.uncashed, 5)
})

test('a node killed -9 mid-transfer settles its journal entry after the restart, as the banks decided', async () => {
  // killed as soon as the entry is on disk (before it signs), and a moment later (while bank(A) may be debiting)
  for (const delayMs of [0, 600]) {
    const id = `karma-crash-${delayMs}`
    const body = { id, to: D.peerId, amount: 7 }
    const b0 = await karmaOf(C, D.peerId)
    const a0 = await karmaOf(C, A.peerId)
    const sent = A.api('POST', '/v1/karma/transfer', body).catch(() => undefined)
    // GET /v1/payments shows only what is on disk: the entry is pending before the transfer starts
    await waitFor('the pending entry', async () => (await entry(A, id).catch(() => undefined)) != null, 10_000)
    await new Promise(resolve => setTimeout(resolve, delayMs))
    await A.kill9()
    await sent
    await A.start(START_MS)
    const settled = await waitFor(
      'the entry to settle',
      async () => {
        const e = await entry(A, id)
        return e.state !== 'pending' ? e : undefined
      },
      120_000
    )
    const moved = settled.state === 'succeeded' ? 7 : 0
    assert.ok(['succeeded', 'failed'].includes(settled.state), JSON.stringify(settled))
    assert.equal(await karmaOf(C, D.peerId), b0 + moved, settled.reason)
    assert.equal(await karmaOf(C, A.peerId), a0 - moved, settled.reason)
    // a retry after the restart gets the settled outcome and moves nothing more
    const retry = A.api('POST', '/v1/karma/transfer', body)
    if (settled.state === 'succeeded') assert.equal((await retry).payment.state, 'succeeded')
    else await assert.rejects(retry)
    assert.equal(await karmaOf(C, D.peerId), b0 + moved)
  }
})

test('a payment request is paid once; an expired or tampered one is refused and changes nothing', async () => {
  const req = await B.cli('request', '--scheme', 'ppay', '--amount', '5', '--memo', 'tea', '--no-qr')
  assert.match(req.request, /^p2pay:[A-Za-z0-9_-]+$/)
  assert.equal(req.payee, B.peerId)
  const heldBefore = await heldSns(B)
  const paid = await A.cli('pay', req.request)
  assert.equal(paid.payment.id, req.id)
  assert.equal(paid.payment.state, 'succeeded')
  const again = await A.cli('pay', req.request)
  assert.deepEqual(again.coins, paid.coins)
  assert.deepEqual(await heldSns(B), [...heldBefore, paid.coins[0].sn].sort())

  const unchanged = async (): Promise<[string[], string[], number]> => [
    await spendable(A),
    await heldSns(B),
    (await A.api('GET', '/v1/payments')).payments.length
  ]
  const was = await unchanged()
  const short = await B.api('POST', '/v1/payments/request', { scheme: 'ppay', amount: 5, expiresInMs: 1000 })
  await new Promise(resolve => setTimeout(resolve, 1500))
  await assert.rejects(A.api('POST', '/v1/pay', { request: short.text }), refused('EXPIRED'))
  assert.deepEqual(await unchanged(), was)

  // the same request with its amount changed in the signed bytes
  const fresh = await B.api('POST', '/v1/payments/request', { scheme: 'ppay', amount: 5 })
  const bytes = Buffer.from(fresh.text.slice('p2pay:'.length), 'base64url')
  const at = bytes.indexOf(Buffer.from('"amount":5'))
  assert.ok(at > 0)
  bytes[at + '"amount":'.length] = '9'.charCodeAt(0)
  const tampered = 'p2pay:' + bytes.toString('base64url')
  await assert.rejects(A.api('POST', '/v1/pay', { request: tampered }), refused('BAD_SIGNATURE'))
  assert.deepEqual(await unchanged(), was)
  // and the genuine one still pays
  assert.equal((await A.api('POST', '/v1/pay', { request: fresh.text })).payment.state, 'succeeded')
})

test('PPay: two payments at once to one payee with one coin: one pays, the other fails, credited nothing', async () => {
  await broker.cli('broker', 'topup', '--account', C.peerId, '--amount', '7')
  await C.api('POST', '/v1/ppay/buy', { count: 1, value: 7 })
  const heldBefore = await heldSns(D)
  const ids = ['ppay-race-0001', 'ppay-race-0002']
  // the one refused (no coin left) is settled while the other still delivers its coin: that coin is not its
  await Promise.allSettled(ids.map(async id => await C.api('POST', '/v1/ppay/pay', { id, to: D.peerId, amount: 7 })))
  const settled = await waitFor(
    'both entries final',
    async () => {
      const es = await Promise.all(ids.map(async id => await entry(C, id)))
      return es.every(e => e.state !== 'pending') ? es : undefined
    },
    30_000
  )
  const paid = settled.filter(e => e.state === 'succeeded')
  const failed = settled.filter(e => e.state === 'failed')
  assert.equal(paid.length, 1, JSON.stringify(settled))
  assert.equal(failed.length, 1, JSON.stringify(settled))
  assert.equal(failed[0].error.code, 'NO_EXACT_AMOUNT', failed[0].reason)
  const coin = paid[0].result.coins[0].sn
  assert.deepEqual(await heldSns(D), [...heldBefore, coin].sort())
  // each entry's peer totals count the one coin once
  const row = (await C.api('GET', '/v1/payments/peers')).peers.find((p: any) => p.peer === D.peerId)
  assert.equal(row.schemes.ppay.paid, 7)
})
