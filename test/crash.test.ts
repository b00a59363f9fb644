// Crash tests with real processes: a broker and three nodes started through the
// CLI; one daemon at a time is killed with SIGKILL in the middle of a
// concurrent batch of payments (chosen by the number of acknowledged payments,
// not by time), restarted on the same libp2p port, and only what was
// acknowledged before or after the crash is asserted:
//  - acknowledged payments end up in their payee's wallet and are cashed once,
//  - the broker's conservation audit holds and nobody is convicted of fraud,
//  - the balances paid out equal the distinct coins cashed (no double payout).
// Errors of calls that race with the kill are expected: they are counted and
// printed as diagnostics, never asserted.
import { test, before, after, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { Swarm, audit, type Daemon } from './helpers/swarm.ts'
import {
  Tally,
  attempt,
  call,
  cashAll,
  drain,
  heldOf,
  sleep,
  until,
  type Ack,
  type Holding,
  type Summary
} from './helpers/crash.ts'

const TOPUP = 1000
const swarm = new Swarm('crash')
let broker: Daemon, A: Daemon, B: Daemon, C: Daemon
const name = (d: Daemon): string => (d === broker ? 'broker' : d === A ? 'A' : d === B ? 'B' : d === C ? 'C' : d.peerId)

const balanceOf = async (d: Daemon): Promise<number> =>
  (await call<{ balance: number }>(broker, 'GET', `/v1/account?id=${d.peerId}`)).balance
const summaryOf = async (d: Daemon): Promise<Summary> =>
  (await call<{ wallet: Summary }>(d, 'GET', '/v1/ppay/status')).wallet
const cashedSns = (held: Holding[]): Map<string, number> =>
  new Map(held.filter(h => h.status === 'cashed').map(h => [h.sn, h.value]))

/**
 * A concurrent batch: `loops` loops of `perLoop` payments of 1 from `payer`
 * (round robin over `payees`), `casher` cashing in another loop, and `victim`
 * killed with SIGKILL once `killAt` payments were acknowledged, restarted once
 * `restartAt` were (or when the payments are over).
 */
async function crashBatch(o: {
  payer: Daemon
  payees: Daemon[]
  loops: number
  perLoop: number
  casher: Daemon
  victim: Daemon
  killAt: number
  restartAt: number
  /**
   * stop the victim (SIGSTOP) first and kill it once payments to it are under way: a payment in flight at the kill
   * is certain, not left to timing (pays take milliseconds, and a kill between them leaves none undelivered)
   */
  freezeFirst?: boolean
}) {
  const acks: Ack[] = []
  const inflight = new Map<Daemon, number>()
  const pay = new Tally()
  const cash = new Tally()
  let payDone = false
  const r = {
    killedAt: -1,
    killedMidBatch: false,
    restartedAt: -1,
    restartedMidBatch: false,
    restartMs: 0,
    cashCalls: 0,
    ms: 0
  }
  const t0 = Date.now()

  const payLoops = Array.from({ length: o.loops }, async (_, i) => {
    for (let j = 0; j < o.perLoop; j++) {
      const to = o.payees[(i + j) % o.payees.length]
      inflight.set(to, (inflight.get(to) ?? 0) + 1)
      try {
        const res = await call<{ coins: Array<{ sn: string; value: number; via: string; delivered: boolean }> }>(
          o.payer,
          'POST',
          '/v1/ppay/pay',
          { to: to.peerId, amount: 1 },
          15_000
        )
        for (const c of res.coins) acks.push({ to, sn: c.sn, value: c.value, delivered: c.delivered, via: c.via })
        pay.ok++
      } catch (err) {
        pay.fail(err)
        await sleep(20) // a refused connection fails at once: do not spin
      } finally {
        inflight.set(to, inflight.get(to)! - 1)
      }
    }
  })
  const paid = Promise.all(payLoops).then(() => {
    payDone = true
  })

  const cashLoop = (async () => {
    while (!payDone && r.cashCalls < 400) {
      r.cashCalls++
      try {
        await call(o.casher, 'POST', '/v1/ppay/cash', {}, 20_000)
        cash.ok++
      } catch (err) {
        cash.fail(err)
      }
      await sleep(25)
    }
  })()

  const crash = (async () => {
    await until(() => acks.length >= o.killAt || payDone, 60_000, 2)
    r.killedAt = acks.length
    r.killedMidBatch = !payDone
    if (o.freezeFirst === true) {
      process.kill(o.victim.pid, 'SIGSTOP')
      await until(() => (inflight.get(o.victim) ?? 0) >= 2 || payDone, 10_000, 2)
      await sleep(100) // their proofs signed and sent: the victim holds them unread
    }
    await o.victim.kill9()
    await until(() => acks.length >= o.restartAt || payDone, 60_000, 5)
    r.restartedAt = acks.length
    r.restartedMidBatch = !payDone
    const t = Date.now()
    await o.victim.start()
    r.restartMs = Date.now() - t
  })()

  await Promise.all([paid, cashLoop, crash])
  r.ms = Date.now() - t0
  return { acks, pay, cash, ...r }
}

/** Balances and cashed coins of the payees before a scenario, to compare with after. */
async function snapshot(payees: Daemon[]): Promise<Map<Daemon, { balance: number; cashed: Map<string, number> }>> {
  const m = new Map<Daemon, { balance: number; cashed: Map<string, number> }>()
  for (const p of payees) m.set(p, { balance: await balanceOf(p), cashed: cashedSns(await heldOf(p)) })
  return m
}

/** Every acknowledged payment is in its payee's wallet with one of `statuses`. */
function assertAllIn(acks: Ack[], wallets: Map<Daemon, Holding[]>, statuses: string[], what: string): void {
  const missing = acks.filter(a => !(wallets.get(a.to) ?? []).some(h => h.sn === a.sn && statuses.includes(h.status)))
  assert.deepEqual(
    missing.map(a => `${name(a.to)} ${a.sn} delivered=${String(a.delivered)} via=${a.via}`),
    [],
    `${what}: acknowledged payments missing from (or in the wrong state in) the payee's wallet`
  )
}

/**
 * After everything is cashed: nothing left to cash or refused, each payee's
 * balance grew by exactly the value of the distinct coins it cashed in this
 * scenario, no coin was cashed by two payees, the broker's audit holds and
 * nobody was convicted.
 */
async function assertSettled(
  t: TestContext,
  before: Map<Daemon, { balance: number; cashed: Map<string, number> }>,
  wallets: Map<Daemon, Holding[]>
): Promise<Set<string>> {
  const all = new Set<string>()
  let deltas = 0
  let cashedValue = 0
  for (const [p, b] of before) {
    const held = wallets.get(p)!
    assert.deepEqual(
      held.filter(h => ['held', 'cashing', 'spending', 'refused'].includes(h.status)).map(h => `${h.sn} ${h.status}`),
      [],
      `${name(p)} has coins not cashed (or refused) after cashing`
    )
    const now = cashedSns(held)
    const fresh = [...now].filter(([sn]) => !b.cashed.has(sn))
    const value = fresh.reduce((n, [, v]) => n + v, 0)
    const delta = (await balanceOf(p)) - b.balance
    assert.equal(
      delta,
      value,
      `${name(p)}: balance grew by ${delta} but it cashed ${fresh.length} distinct coins worth ${value}`
    )
    for (const [sn] of fresh) {
      assert.ok(!all.has(sn), `coin ${sn} was cashed by two payees`)
      all.add(sn)
    }
    deltas += delta
    cashedValue += value
  }
  assert.equal(deltas, cashedValue, 'sum of payee balance increases = distinct cashed coins x value')
  const a = await audit(broker)
  t.diagnostic(`audit ${JSON.stringify(a)}; payees paid ${deltas} for ${all.size} distinct coins`)
  assert.equal(a.holds, true, 'broker audit: balances + outstanding = toppedUp')
  assert.equal(a.balances + a.outstanding, a.toppedUp)
  assert.equal(a.toppedUp, 2 * TOPUP)
  assert.deepEqual(
    (await call<{ frauds: unknown[] }>(broker, 'GET', '/v1/ppay/frauds')).frauds,
    [],
    'an honest crash convicts nobody'
  )
  return all
}

/**
 * The value of coins the broker still owes that are neither unassigned at A nor held anywhere: assigned, never cashed.
 */
async function stuck(): Promise<number> {
  const a = await audit(broker)
  return a.outstanding - (await summaryOf(A)).ownedUnassigned.value
}

const report = (t: TestContext, label: string, r: Awaited<ReturnType<typeof crashBatch>>): void => {
  const undelivered = r.acks.filter(a => !a.delivered).length
  const via = Object.entries(
    r.acks.reduce<Record<string, number>>((m, a) => {
      m[a.via] = (m[a.via] ?? 0) + 1
      return m
    }, {})
  )
  t.diagnostic(
    `${label}: ${r.acks.length} acknowledged in ${r.ms} ms (${undelivered} delivered=false; ` +
      `via ${JSON.stringify(Object.fromEntries(via))}); killed at ${r.killedAt} acks ` +
      `(mid-batch ${String(r.killedMidBatch)}), restarted at ${r.restartedAt} ` +
      `(mid-batch ${String(r.restartedMidBatch)}) in ${r.restartMs} ms`
  )
  t.diagnostic(`${label}: pay calls ${r.pay.toString()}; cash calls ${r.cash.toString()}`)
  for (const s of [...r.pay.samples, ...r.cash.samples]) t.diagnostic(`${label}: sample error ${s}`)
}

before(
  async () => {
    broker = await swarm.startBroker()
    ;[A, B, C] = await swarm.startNodes(3)
    for (const d of [A, B]) await call(broker, 'POST', '/v1/topup', { account: d.peerId, amount: TOPUP })
    assert.deepEqual(await call(A, 'POST', '/v1/ppay/buy', { count: 300, value: 1 }, 30_000), {
      coins: 300,
      value: 300
    })
  },
  { timeout: 45_000 }
)

after(async () => {
  await swarm.stopAll()
})

test(
  'broker killed -9 while A pays B and C and B cashes: every acknowledged payment is cashed exactly once',
  { timeout: 50_000 },
  async t => {
    const before = await snapshot([B, C])
    const stuck0 = await stuck()
    const r = await crashBatch({
      payer: A,
      payees: [B, C],
      loops: 8,
      perLoop: 16,
      casher: B,
      victim: broker,
      killAt: 40,
      restartAt: 90
    })
    report(t, 'broker crash', r)
    assert.ok(r.killedMidBatch, 'the broker was killed while payments were under way')
    assert.ok(r.acks.length > 0 && r.killedAt >= 40)

    for (const d of [A, B, C]) assert.ok(await drain(d), `${name(d)} still has pending work after retries`)
    // before cashing: every acknowledged payment is held (or already cashed) by its payee
    assertAllIn(
      r.acks,
      new Map([
        [B, await heldOf(B)],
        [C, await heldOf(C)]
      ]),
      ['held', 'cashing', 'cashed'],
      'after the broker restart'
    )

    const wallets = new Map([
      [B, await cashAll(B)],
      [C, await cashAll(C)]
    ])
    assertAllIn(r.acks, wallets, ['cashed'], 'after cashing')
    const cashed = await assertSettled(t, before, wallets)
    assert.ok(r.acks.every(a => cashed.has(a.sn)))
    const s = await stuck()
    t.diagnostic(`broker crash: value assigned but never cashed: ${s} (${stuck0} before)`)
    if (r.pay.failed === 0)
      assert.equal(s, stuck0, 'every pay call was acknowledged, so every coin assigned in this scenario is cashed')
  }
)

test(
  'payee B killed -9 while receiving and cashing: delivered payments survive, undelivered ones arrive by retry',
  { timeout: 50_000 },
  async t => {
    const before = await snapshot([B, C])
    const stuck0 = await stuck()
    const r = await crashBatch({
      payer: A,
      payees: [B, C],
      loops: 8,
      perLoop: 12,
      casher: B,
      victim: B,
      killAt: 32,
      restartAt: 64,
      freezeFirst: true
    })
    report(t, 'payee crash', r)
    assert.ok(r.killedMidBatch, 'B was killed while payments were under way')
    assert.ok(
      r.acks.some(a => a.to === B && !a.delivered),
      'some payments to B were acknowledged while B was down (delivered=false)'
    )

    // a delivered: true answer means B had written the coin before replying: it survived the crash
    const delivered = r.acks.filter(a => a.delivered)
    assertAllIn(
      delivered,
      new Map([
        [B, await heldOf(B)],
        [C, await heldOf(C)]
      ]),
      ['held', 'cashing', 'cashed'],
      'delivered=true, right after B restarted'
    )
    // the rest wait in A's outbox; A's retries deliver them now that B is back
    assert.ok(await drain(A), 'A still has queued deliveries after retrying')
    for (const d of [B, C]) assert.ok(await drain(d))
    assertAllIn(
      r.acks,
      new Map([
        [B, await heldOf(B)],
        [C, await heldOf(C)]
      ]),
      ['held', 'cashing', 'cashed'],
      'after A retried'
    )

    const wallets = new Map([
      [B, await cashAll(B)],
      [C, await cashAll(C)]
    ])
    assertAllIn(r.acks, wallets, ['cashed'], 'after cashing')
    const cashed = await assertSettled(t, before, wallets)
    assert.ok(r.acks.every(a => cashed.has(a.sn)))
    const s = await stuck()
    t.diagnostic(`payee crash: value assigned but never cashed: ${s} (${stuck0} before)`)
    if (r.pay.failed === 0)
      assert.equal(s, stuck0, 'every pay call was acknowledged, so every coin assigned in this scenario is cashed')
  }
)

test(
  "owner A killed -9 while B spends held coins on to C: every acknowledged reassignment is in C's wallet and A's trail",
  { timeout: 50_000 },
  async t => {
    const stuck0 = await stuck()
    // B first receives coins from A (no crash)
    const first = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const sns: string[] = []
        for (let j = 0; j < 10; j++)
          sns.push(
            ...(await call(A, 'POST', '/v1/ppay/pay', { to: B.peerId, amount: 1 })).coins.map(
              (c: any) => c.sn as string
            )
          )
        return sns
      })
    )
    const fromA = new Set(first.flat())
    assert.equal(fromA.size, 40)
    assert.equal((await heldOf(B)).filter(h => h.status === 'held').length, 40)

    const before = await snapshot([C])
    const r = await crashBatch({
      payer: B,
      payees: [C],
      loops: 4,
      perLoop: 10,
      casher: C,
      victim: A,
      killAt: 12,
      restartAt: 28
    })
    report(t, 'owner crash', r)
    assert.ok(r.killedMidBatch, 'A was killed while B was spending')
    assert.ok(
      r.acks.every(a => fromA.has(a.sn)),
      'B spent the coins it had from A'
    )
    assert.ok(
      r.acks.some(a => a.via === 'downtime'),
      "some spends took the broker's downtime path while A was down"
    )

    // A pulls the broker's downtime log (it also does so on start); B finishes whatever it left half-spent
    await attempt(20, 250, async () => await call(A, 'POST', '/v1/ppay/sync', {}, 15_000))
    assert.ok(await drain(B), 'B still has coins half-spent after retrying')
    await attempt(20, 250, async () => await call(A, 'POST', '/v1/ppay/sync', {}, 15_000))

    assertAllIn(
      r.acks,
      new Map([[C, await heldOf(C)]]),
      ['held', 'cashing', 'cashed'],
      'reassignments acknowledged to B'
    )
    const missing: string[] = []
    const by: Record<string, number> = {}
    for (const a of r.acks) {
      const trail = (
        await call<{ trail: Array<{ seq: number; holder: string; by: string }> }>(A, 'GET', `/v1/ppay/trail?sn=${a.sn}`)
      ).trail
      const e = trail.find(x => x.seq === 2 && x.holder === C.peerId)
      if (e == null)
        missing.push(
          `${a.sn} via=${a.via} trail=` +
            JSON.stringify(trail.map(x => [x.seq, name(swarm.nodes.find(n => n.peerId === x.holder) ?? broker), x.by]))
        )
      else by[e.by] = (by[e.by] ?? 0) + 1
    }
    t.diagnostic(`owner crash: A's trail entries for the acknowledged reassignments, by signer: ${JSON.stringify(by)}`)
    assert.deepEqual(missing, [], "acknowledged reassignments missing from the owner's trail")

    const wallets = new Map([[C, await cashAll(C)]])
    assertAllIn(r.acks, wallets, ['cashed'], 'after cashing')
    const cashed = await assertSettled(t, before, wallets)
    assert.ok(r.acks.every(a => cashed.has(a.sn)))
    const s = await stuck()
    t.diagnostic(`owner crash: value assigned but never cashed: ${s} (${stuck0} before)`)
    if (r.pay.failed === 0)
      assert.equal(s, stuck0, 'every pay call was acknowledged, so every coin assigned in this scenario is cashed')
  }
)
