// Orderly stops in the middle of busy traffic. A broker, a TTP, a judge and six
// nodes (real processes started through the CLI) run PPay payments, file sales
// and Karma transfers without pause while every daemon is stopped with SIGTERM
// and restarted, round after round. Each stop must exit 0 without ever reaching
// the store's fatal path (a write after LevelDB closed) and without work left
// running past the stop grace; after the last round every operation a daemon
// acknowledged is still there, and no value was created or lost.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { call, sleep } from './helpers/crash.ts'
import { randomFile } from './helpers/fairex.ts'
import { rng } from './helpers/karma.ts'
import {
  logLines,
  payments,
  purchases,
  sha256,
  transfers,
  type AckedPayment,
  type AckedPurchase,
  type AckedTransfer
} from './helpers/load.ts'
import { Swarm, waitFor, type Daemon } from './helpers/swarm.ts'
import { karmaConserved } from '../scripts/lib/invariants.ts'

/** stop rounds over every daemon: each daemon is stopped and restarted this many times under load */
const ROUNDS = Number(process.env.P2PAY_STOP_ROUNDS ?? 3)
/** traffic between two stops */
const BETWEEN_STOPS_MS = 1500
const K = 3
const INITIAL = 1000
const PRICE = 5
const FEE = 1

const swarm = new Swarm('stop-under-load')
let broker: Daemon, ttp: Daemon, judge: Daemon
let A: Daemon, B: Daemon, P: Daemon, D: Daemon, K1: Daemon
let nodes: Daemon[]
let fileId = ''
let fileSha = ''
let filesDir = ''

before(async () => {
  const m = await swarm.startMarket(
    ['--proceeds-hold-s', '0', '--deposit-fee', String(FEE)],
    ['--retry-interval-ms', '500']
  )
  ;({ broker, ttp, judge } = m)
  const karmaArgs = [
    '--karma-k',
    String(K),
    '--karma-pow-bits',
    '4',
    '--karma-sync-ms',
    '1000',
    '--karma-initial',
    String(INITIAL)
  ]
  nodes = await swarm.startNodes(6, [...m.nodeArgs, ...karmaArgs])
  ;[A, B, P, D, K1] = nodes
  await broker.api('POST', '/v1/topup', { account: A.peerId, amount: 10_000 })
  await broker.api('POST', '/v1/topup', { account: D.peerId, amount: 100_000 })
  for (let i = 0; i < 3; i++) await A.api('POST', '/v1/ppay/buy', { count: 1000, value: 1 })
  filesDir = join(swarm.dir, 'files')
  mkdirSync(filesDir)
  const path = join(filesDir, 'shared.bin')
  fileSha = randomFile(path, 96 * 1024)
  fileId = (await P.api('POST', '/v1/fairex/share', { path, price: PRICE, name: 'shared.bin' })).fileId
  for (const n of nodes)
    await waitFor(`${n.peerId} to join Karma`, async () => await n.api('POST', '/v1/karma/join'), 60_000)
})

after(async () => {
  await swarm.stopAll()
})

test(
  `every daemon stopped ${ROUNDS} times under load exits 0, never writes after its store closed, and restarts with ` +
    'every acknowledged operation intact',
  { timeout: 900_000 },
  async t => {
    const paid: AckedPayment[] = []
    const bought: AckedPurchase[] = []
    const moved: AckedTransfer[] = []
    const loops = [payments(A, B, paid), purchases(D, P, fileId, filesDir, bought), transfers(nodes, moved, rng(11))]
    const victims = [broker, ttp, judge, A, B, P, D, K1]
    const stops: Array<{ daemon: string; code: number | null | undefined; ms: number }> = []
    try {
      for (let round = 0; round < ROUNDS; round++) {
        for (const v of victims) {
          await sleep(BETWEEN_STOPS_MS)
          const t0 = performance.now()
          const code = await v.stop(30_000)
          stops.push({ daemon: `${v.kind} ${v.peerId.slice(-6)}`, code, ms: Math.round(performance.now() - t0) })
          assert.equal(code, 0, `${v.kind} ${v.peerId} exited with ${String(code)}:\n${v.logTail(20)}`)
          await v.start()
        }
      }
    } finally {
      await Promise.all(loops.map(async l => await l.stop()))
    }
    for (const l of loops) t.diagnostic(`${l.name}: ${l.tally.toString()}`)
    t.diagnostic(`stops: ${stops.length}, slowest ${Math.max(...stops.map(s => s.ms))} ms`)
    assert.equal(stops.length, ROUNDS * victims.length)
    for (const d of [broker, ttp, judge, ...nodes]) {
      assert.deepEqual(logLines(d, 'store write failed'), [], `${d.kind} reached the store's fatal path`)
      assert.deepEqual(logLines(d, 'still running after the stop grace'), [], `${d.kind} left work running at a stop`)
      assert.deepEqual(logLines(d, '"level":"error"'), [], `${d.kind} logged an internal failure`)
    }
    for (const v of victims) {
      assert.equal(logLines(v, '"msg":"stopped"').length, ROUNDS, `${v.kind} did not log each of its orderly stops`)
    }
    assert.ok(paid.length > 0 && bought.length > 0 && moved.length > 0, 'some traffic was acknowledged')

    // PPay: every coin acknowledged as paid reaches the payee, once; the broker's books still add up
    await waitFor(
      'the payer to deliver what it queued',
      async () => {
        const s = await call(A, 'POST', '/v1/ppay/retry')
        return s.pendingDeliveries === 0
      },
      120_000
    )
    const held = new Set(((await call(B, 'GET', '/v1/ppay/coins')).held as Array<{ sn: string }>).map(h => h.sn))
    const lost = paid.flatMap(p => p.sns).filter(sn => !held.has(sn))
    assert.deepEqual(lost, [], 'acknowledged payments missing at the payee')
    const cashed = await call(B, 'POST', '/v1/ppay/cash', {}, 60_000)
    assert.equal(cashed.refused.length, 0, JSON.stringify(cashed.refused.slice(0, 3)))
    assert.equal(cashed.value, held.size)

    // the file market: every purchase acknowledged done is on disk and in the buyer's books; the provider is paid
    const records = new Map(
      ((await call(D, 'GET', '/v1/fairex/purchases')).purchases as Array<{ serial: string; status: string }>).map(p => [
        p.serial,
        p.status
      ])
    )
    for (const b of bought) {
      assert.equal(records.get(b.serial), 'done', `purchase ${b.serial}`)
      assert.equal(sha256(b.out), fileSha, `file of purchase ${b.serial}`)
    }
    const before = await call(broker, 'GET', `/v1/account?id=${P.peerId}`)
    await waitFor(
      'the provider to deposit every cheque',
      async () => {
        await call(P, 'POST', '/v1/fairex/deposit', {}, 60_000)
        return (await call(P, 'GET', '/v1/fairex/sales')).pendingDeposits === 0
      },
      120_000
    )
    const after = await call(broker, 'GET', `/v1/account?id=${P.peerId}`)
    assert.ok(after.balance - before.balance >= 0)
    const audit = await call(broker, 'GET', '/v1/audit')
    assert.equal(audit.holds, true, `broker audit: ${JSON.stringify(audit)}`)

    // Karma: what a stop left pending is finished (each node's next transfer completes its pending one), then every
    // acknowledged transfer is done at its payer and a majority of every bank holds the ledger they make
    await karmaConserved(nodes, moved, { k: K, initial: INITIAL, rand: rng(5) })
    t.diagnostic(`acknowledged: ${paid.length} payments, ${bought.length} purchases, ${moved.length} transfers`)
  }
)
