// PPay across hosts, every party on a host of its own, 5 % packet loss on
// every host and 40 ms latency each way on the owner's: the broker (h0), the
// coins' owner X (h1), holders Y, Z, W (h2-h4) and V (h5), whom X pays one
// coin at a time all along.
//  1. X buys coins and pays Y; Y spends them on to Z through the owner
//     (reassign); V is frozen (SIGSTOP) for a while as X pays it, then thawed;
//  2. X's host is partitioned from every other host: Z's spends to W take the
//     broker's downtime path while X's payments to V are queued; healed, W is
//     killed with -9 and restarted on its data;
//  3. healed: X syncs the broker's downtime log on its own (or serves late a
//     request of Z's that TCP delivered after the cut, to the same holder W),
//     then serves W's spends to Y itself; Y and Z add layers to a coin;
//  4. everyone cashes, X has its unassigned coins refunded;
// then the books: X's trail of every coin names the holders in the order they
// were acknowledged, every acknowledged coin reached its payee and was paid once,
// each balance is what the acknowledged payments make it, the broker's audit
// holds with nothing outstanding, and no fraud proof names anyone.
import assert from 'node:assert/strict'
import { call, sleep } from '../../lib/api.ts'
import { auditHolds, Findings, ppayIntact } from '../../lib/invariants.ts'
import { payments, type AckedPayment } from '../../lib/load.ts'
import { waitFor, type Daemon } from '../../lib/swarm.ts'
import type { Testnet } from '../testnet.ts'

/** hosts the scenario places its parties on */
export const HOSTS = { short: 6, long: 6 }

const TOPUP = 10_000
const VALUE = 5
const LOSS_PERCENT = 5
/** one way, on X's host: every reassignment crosses it twice */
const LATENCY_MS = 40
/** a holder waits this long for the owner before the downtime path: a live owner on a busy, lossy host answers */
const NODE_ARGS = ['--owner-timeout-ms', '5000', '--retry-interval-ms', '1000']
/** coins moved along the scripted path, how long V is frozen, X's payments to V run before the cut, the cut lasts */
const SHORT = { coins: 3, freezeMs: 5_000, warmMs: 3_000, partitionMs: 15_000 }
const LONG = { coins: 12, freezeMs: 20_000, warmMs: 30_000, partitionMs: 60_000 }

interface Opts {
  short: boolean
  log: (s: string) => void
}

interface PayAnswer {
  to: string
  coins: Array<{ sn: string; value: number; via: string; delivered?: boolean }>
}

export async function run(net: Testnet, opts: Opts): Promise<Record<string, unknown>> {
  const plan = opts.short ? SHORT : LONG
  if (net.hosts.length < HOSTS.long)
    throw new Error(`PPay needs ${HOSTS.long} hosts, the testnet has ${net.hosts.length}`)
  const t0 = Date.now()
  const log = (s: string): void => opts.log(`${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s  ${s}`)
  const figures: Record<string, unknown> = { coins: plan.coins, lossPercent: LOSS_PERCENT, latencyMs: LATENCY_MS }
  const [h0, h1, h2, h3, h4, h5] = net.hosts

  const broker = await net.start('broker', h0)
  // before X starts, so that every connection of X's goes through the delay
  await net.latency(h1, LATENCY_MS)
  const nodeArgs = ['--broker', broker.addr, ...NODE_ARGS]
  const [X, Y, Z, W, V] = await Promise.all([h1, h2, h3, h4, h5].map(async h => await net.start('node', h, nodeArgs)))
  const name = new Map([X, Y, Z, W, V].map((d, i) => [d.peerId, 'XYZWV'[i]]))
  for (const d of [X, Y, Z, W, V]) await broker.cli('broker', 'topup', '--account', d.peerId, '--amount', `${TOPUP}`)
  log(`broker on ${h0.ip}, X Y Z W V on ${[h1, h2, h3, h4, h5].map(h => h.ip).join(' ')}`)
  for (const h of net.hosts.slice(0, 6)) await net.loss(h, LOSS_PERCENT)
  log(`${LOSS_PERCENT} % loss on each host, both ways; ${LATENCY_MS} ms each way on X's host`)

  // every payment acknowledged, in order: sn -> its holders as acknowledged
  const holders = new Map<string, string[]>()
  const via: Record<string, number> = {}
  const paid = async (payer: Daemon, payee: Daemon, amount: number, layered = false): Promise<PayAnswer> => {
    const r = await call<PayAnswer>(payer, 'POST', '/v1/ppay/pay', { to: payee.peerId, amount, layered }, 60_000)
    for (const c of r.coins) {
      holders.set(c.sn, [...(holders.get(c.sn) ?? []), payee.peerId])
      via[c.via] = (via[c.via] ?? 0) + 1
    }
    return r
  }
  const expectVia = (r: PayAnswer, want: string, what: string): void =>
    assert.deepEqual(
      r.coins.map(c => c.via),
      r.coins.map(() => want),
      what
    )

  // 1. buy, pay, reassign via the owner; X pays V one coin at a time meanwhile
  const bought = await X.cli('ppay', 'buy', '--count', `${plan.coins + 1}`, '--value', `${VALUE}`)
  assert.deepEqual(bought, { coins: plan.coins + 1, value: (plan.coins + 1) * VALUE })
  // coins of one value for Y first: a payment takes coins that add up exactly, and would take ones of 1 as well
  expectVia(await paid(X, Y, plan.coins * VALUE), 'assign', 'X assigns its coins to Y')
  await call(X, 'POST', '/v1/ppay/buy', { count: 1000, value: 1 }, 60_000)
  const toV: AckedPayment[] = []
  const loop = payments(X, V, toV)
  // the loop stops whatever happens: a run that failed half-way must not go on paying
  try {
    const reassignAt = Date.now()
    expectVia(await paid(Y, Z, plan.coins * VALUE), 'reassign', "Y's spends to Z go through the owner X")
    figures.reassignMs = Date.now() - reassignAt
    log(`X paid Y ${plan.coins} coins, Y spent them on to Z through X`)
    // V frozen while X pays it: X's deliveries to it are acknowledged, queued and retried
    net.freeze(V)
    await sleep(plan.freezeMs)
    net.thaw(V)
    log(`V frozen (SIGSTOP) for ${plan.freezeMs / 1000} s while X paid it, then thawed: ${loop.tally.toString()}`)
    await sleep(plan.warmMs)

    // 2. the owner's host cut off: the downtime path
    const cutAt = Date.now()
    await net.partition([h1], [h0, h2, h3, h4, h5])
    log(`partition: X's host ${h1.ip} cut off from every other host`)
    const down = await paid(Z, W, plan.coins * VALUE)
    expectVia(down, 'downtime', "with X cut off, Z's spends to W take the broker's downtime path")
    figures.downtimePathMs = Date.now() - cutAt
    log(`Z spent ${plan.coins} coins on to W through the broker in ${String(figures.downtimePathMs)} ms`)
    await sleep(Math.max(0, cutAt + plan.partitionMs - Date.now()))
    await net.heal()
    const healedAt = Date.now()
    log(`healed after ${((healedAt - cutAt) / 1000).toFixed(0)} s (payments to V so far: ${loop.tally.toString()})`)
    // W holds the coins it got through the broker only in its LevelDB once it is killed: they must survive
    await W.kill9()
    await net.restart(W)
    log('W killed with -9 and restarted on its data')

    // 3. X syncs the broker's log by itself, then serves the next spends as the owner; layered coins
    const downSns = down.coins.map(c => c.sn)
    const trails = async (): Promise<Array<Array<{ by: string; holder: string }>>> =>
      await Promise.all(downSns.map(async sn => (await call(X, 'GET', `/v1/ppay/trail?sn=${sn}`)).trail))
    // A request of Z's sent on a connection that was open when the cut came is retransmitted by TCP once it heals,
    // and X serves it late, to the same holder: then X's own step stands where the broker's log has one.
    await waitFor(
      'X to know every spend to W',
      async () => (await trails()).every(t => t.length >= 3 && t[2].holder === W.peerId),
      120_000
    ).catch(async (err: Error) => {
      // what X holds and what a sync asked now answers, for the report
      const now = await call(X, 'POST', '/v1/ppay/sync', {}, 30_000).catch((e: Error) => e.message)
      const status = await call(X, 'GET', '/v1/status').catch((e: Error) => e.message)
      const held = (await trails()).map(t => t.map(e => e.by).join(','))
      throw new Error(
        `${err.message}; trails ${held.join(' | ')}; sync now: ${JSON.stringify(now)}; ${JSON.stringify(status)}`
      )
    })
    figures.ownerSyncedMs = Date.now() - healedAt
    const by = (await trails()).map(t => t[2].by)
    figures.thirdStepBy = { broker: by.filter(b => b === 'broker').length, owner: by.filter(b => b === 'owner').length }
    log(`X knew every spend to W ${String(figures.ownerSyncedMs)} ms after healing; step 3 by ${JSON.stringify(by)}`)
    expectVia(await paid(W, Y, plan.coins * VALUE), 'reassign', "after syncing, X serves W's spends itself")
    expectVia(await paid(Y, Z, VALUE, true), 'layer', 'Y adds a layer (to Z)')
    expectVia(await paid(Z, W, VALUE, true), 'layer', 'Z adds a second layer (to W)')
    const layered = (await call(W, 'GET', '/v1/ppay/coins')).held as Array<{ depth: number; status: string }>
    assert.ok(
      layered.some(h => h.depth === 2 && h.status === 'held'),
      'W holds a coin of two layers'
    )
    log('W spent the coins back to Y through X; Y -> Z -> W as layered coins')
  } finally {
    await loop.stop()
  }
  figures.paymentsToV = loop.tally.toString()
  log(`X's payments to V: ${loop.tally.toString()}`)

  // 4. the books
  for (const h of net.hosts.slice(0, 6)) await net.loss(h, 0)
  const findings = new Findings(log)
  await findings.check('every coin paid to V arrived and cashes in full', async () => await ppayIntact(X, V, toV))
  await findings.check("X's trail of each coin names its holders in the order they were acknowledged", async () => {
    for (const [sn, want] of holders) {
      const trail = (await call(X, 'GET', `/v1/ppay/trail?sn=${sn}`)).trail as Array<{ holder: string }>
      const got = trail.map(e => e.holder)
      // a layered spend is the holder's own signature on the coin: the owner's trail ends at the layer's base
      assert.deepEqual(got, want.slice(0, got.length), `trail of ${sn}: ${got.map(h => name.get(h)).join(' ')}`)
    }
  })
  await findings.check('each holder cashes what it holds, nothing refused', async () => {
    for (const d of [Y, Z, W]) {
      const c = await call(d, 'POST', '/v1/ppay/cash', {}, 60_000)
      assert.deepEqual(c.refused, [], `${name.get(d.peerId)}'s cashing refused`)
    }
    await call(X, 'POST', '/v1/ppay/refund', {}, 60_000)
  })
  await findings.check('each balance is what the acknowledged payments make it', async () => {
    // the last acknowledged holder of each coin is paid its value
    const got = new Map<string, number>()
    for (const want of holders.values()) got.set(want.at(-1)!, (got.get(want.at(-1)!) ?? 0) + VALUE)
    // V may hold more than was acknowledged (a payment whose answer timed out), never less
    const toVValue = ((await call(broker, 'GET', `/v1/account?id=${V.peerId}`)).balance as number) - TOPUP
    const acked = toV.reduce((n, p) => n + p.sns.length, 0)
    assert.ok(toVValue >= acked, `V was paid ${toVValue}, acknowledged ${acked}`)
    figures.paidToV = { acknowledged: acked, cashed: toVValue }
    const expected = new Map<Daemon, number>([
      [X, TOPUP - holders.size * VALUE - toVValue],
      [Y, TOPUP + (got.get(Y.peerId) ?? 0)],
      [Z, TOPUP + (got.get(Z.peerId) ?? 0)],
      [W, TOPUP + (got.get(W.peerId) ?? 0)]
    ])
    for (const [d, want] of expected) {
      const { balance } = await call(broker, 'GET', `/v1/account?id=${d.peerId}`)
      assert.equal(balance, want, `${name.get(d.peerId)}'s balance`)
    }
  })
  await findings.check("the broker's audit holds with no coin outstanding", async () => {
    await auditHolds(broker)
    const a = await call(broker, 'GET', '/v1/audit')
    assert.equal(a.toppedUp, 5 * TOPUP)
    assert.equal(a.outstanding, 0, 'value of coins still outstanding')
    figures.audit = a
  })
  await findings.check('no fraud proof names anyone', async () => {
    const frauds = (await call(broker, 'GET', '/v1/ppay/frauds')).frauds as unknown[]
    assert.deepEqual(frauds, [], 'PPay fraud proofs against honest peers')
  })
  figures.via = via
  figures.seconds = Math.round((Date.now() - t0) / 1000)
  if (findings.violations.length > 0) throw new Error(`PPay invariants violated:\n${findings.violations.join('\n')}`)
  return figures
}
