// The memory benchmark (issue 17): resident memory (VmRSS) of `p2pay node`
// processes, idle with one peer (the broker) and in a busy swarm: every node
// pays its neighbour PPay coins and makes Karma transfers to random peers for a
// while, its RSS read every 250 ms. Peak and steady (the median of the run's
// later half) per node, beside a bare Node process started the same way (the
// floor no daemon goes under) and the target. Then a WhoPay payer: before,
// while its BBS04 worker threads run, and after they end idle
// (memory-whopay.ts). `--nodes`, `--seconds`, `--quick`; `--json` prints the
// figures as JSON.
import { spawn } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { Daemon, Swarm, waitFor } from '../lib/swarm.ts'
import { Tally, sleep } from '../lib/api.ts'
import { flags, int, json, say, buy } from './common.ts'
import { RssSampler, median, rssOf, type Rss } from './memory-rss.ts'
import { whopayPhase } from './memory-whopay.ts'

const quick = flags.quick === true
/** how long a node may take to start: many processes loading at once on a small machine are slow */
const START_MS = 120_000
/** the target for a node in a busy swarm, MiB */
const TARGET_MIB = 100

/** RSS of a bare Node process (an empty event loop), started as the daemons are: the floor. */
async function bareNode(): Promise<Rss> {
  const p = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  try {
    await sleep(1500)
    const r = rssOf(p.pid ?? 0)
    if (r == null) throw new Error('the bare Node process did not start')
    return r
  } finally {
    p.kill('SIGTERM')
  }
}

/** A daemon's own account of its memory (GET /v1/memory), when it gives one. */
async function heapOf(d: Daemon): Promise<Record<string, number> | undefined> {
  try {
    return await d.api('GET', '/v1/memory')
  } catch {
    return undefined
  }
}

/**
 * A node with the broker as its one peer, left alone for a while: its RSS then. A node is started and stopped
 * first, so the one measured starts as every start but the first does: its modules compiled and cached on disk
 * (a module missing from that cache brings Node's TypeScript stripper into the process, tens of MiB).
 */
async function idle(seconds: number): Promise<{ rss: Rss; heap?: Record<string, number>; broker: Rss }> {
  const swarm = new Swarm('bench-memory-idle')
  try {
    const broker = await swarm.startBroker()
    const warm = new Daemon('node', join(swarm.dir, 'warm'), ['--broker', broker.addr])
    swarm.nodes.push(warm)
    await warm.start(START_MS)
    await warm.stop()
    const n = new Daemon('node', join(swarm.dir, 'node0'), ['--broker', broker.addr])
    swarm.nodes.push(n)
    await n.start(START_MS)
    await sleep(seconds * 1000)
    const rss = rssOf(n.pid)
    const b = rssOf(broker.pid)
    if (rss == null || b == null) throw new Error('a daemon of the idle swarm is gone')
    return { rss, heap: await heapOf(n), broker: b }
  } finally {
    await swarm.stopAll()
  }
}

interface Busy {
  nodes: number
  seconds: number
  k: number
  samples: number
  /** per node, MiB */
  peak: number[]
  steady: number[]
  /** every node's RSS a few seconds after the load stopped, MiB */
  after: number[]
  /** the node with the highest peak, its parts at the end of the load */
  largest: { rss?: Rss; heap?: Record<string, number> }
  ppay: { payments: number; calls: string }
  karma: { transfers: number; calls: string; joins: string; samples: string[] }
  broker: { peak: number }
}

async function busy(nodesN: number, seconds: number): Promise<Busy> {
  // a bank of k needs k Karma peers in sight besides the member, and a small swarm may not see every node
  const k = Math.max(1, Math.min(5, nodesN - 2))
  const swarm = new Swarm('bench-memory-busy')
  try {
    const broker = await swarm.startBroker()
    const nodes: Daemon[] = []
    // one at a time, each listed before it starts (so a failed start is stopped too), with time to load on a busy
    // machine
    for (let i = 0; i < nodesN; i++) {
      const d = new Daemon('node', join(swarm.dir, `node${i}`), [
        '--broker',
        broker.addr,
        '--karma-k',
        String(k),
        '--karma-pow-bits',
        '8'
      ])
      swarm.nodes.push(d)
      nodes.push(await d.start(START_MS))
    }
    const coins = 100_000
    for (const d of nodes) await broker.api('POST', '/v1/topup', { account: d.peerId, amount: coins })
    for (const d of nodes) await buy(d, 2000)
    const joins = new Tally()
    for (const d of nodes)
      await waitFor(`${d.dataDir} joined Karma`, async () => await d.api('POST', '/v1/karma/join'), 60_000).then(
        () => joins.ok++,
        err => {
          joins.fail(err)
          if (joins.samples.length < 3) joins.samples.push(String(err).slice(0, 300))
        }
      )
    const sampler = new RssSampler([...nodes.map(d => d.pid), broker.pid]).start()
    const pay = new Tally()
    const karma = new Tally()
    let payments = 0
    const until = Date.now() + seconds * 1000
    let seed = nodesN
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n
    }
    await Promise.all(
      nodes.map(async (d, i) => {
        const next = nodes[(i + 1) % nodesN]
        // bounded by the clock and by a count, whichever ends first
        for (let round = 0; round < 10_000 && Date.now() < until; round++) {
          await d.api('POST', '/v1/ppay/pay-many', { to: next.peerId, value: 1, count: 20, concurrency: 8 }).then(
            r => {
              pay.ok++
              payments += r.payments
            },
            err => pay.fail(err)
          )
          const to = nodes[(i + 1 + rnd(nodesN - 1)) % nodesN]
          await d.api('POST', '/v1/karma/transfer', { to: to.peerId, amount: 1 }).then(
            () => karma.ok++,
            err => karma.fail(err)
          )
        }
      })
    )
    sampler.stop()
    const f = sampler.figures()
    const nodePeaks = f.peak.slice(0, nodesN)
    const largest = nodes[nodePeaks.indexOf(Math.max(...nodePeaks))]
    const largestNow = { rss: rssOf(largest.pid), heap: await heapOf(largest) }
    await sleep(5000)
    return {
      nodes: nodesN,
      seconds,
      k,
      samples: f.samples,
      peak: nodePeaks,
      steady: f.steady.slice(0, nodesN),
      after: nodes.map(d => rssOf(d.pid)?.rss ?? 0),
      largest: largestNow,
      ppay: { payments, calls: pay.toString() },
      karma: {
        transfers: karma.ok,
        calls: karma.toString(),
        joins: joins.toString(),
        samples: [...joins.samples, ...karma.samples, ...pay.samples]
      },
      broker: { peak: f.peak[nodesN] }
    }
  } finally {
    await swarm.stopAll()
  }
}

const r1 = (x: number): number => Math.round(x * 10) / 10

export async function memory(): Promise<void> {
  const nodesN = int('nodes', quick ? 4 : 16)
  const seconds = int('seconds', quick ? 10 : 40)
  const t0 = performance.now()
  say(
    `memory benchmark: VmRSS of p2pay node processes, idle (one peer), then ${nodesN} nodes busy for ${seconds} s ` +
      '(PPay payments to a neighbour and Karma transfers to random peers, every node at once)'
  )
  const floor = await bareNode()
  const still = await idle(quick ? 5 : 10)
  const load = await busy(nodesN, seconds)
  const whopay = await whopayPhase(quick ? 20 : 100)
  const peak = Math.max(...load.peak)
  const steady = median(load.steady)
  const out = {
    bench: 'memory',
    machine: { cpus: cpus().length, node: process.version, loadavg: loadavg().map(r1) },
    unit: 'MiB',
    targetBusyMiB: TARGET_MIB,
    floor: { bareNode: floor },
    idle: still,
    busy: { ...load, peakMax: peak, steadyMedian: steady },
    whopay,
    ratios: {
      busyPeakToTarget: r1(peak / TARGET_MIB),
      busySteadyToTarget: r1(steady / TARGET_MIB),
      idleToBareNode: r1(still.rss.rss / floor.rss)
    },
    ms: Math.round(performance.now() - t0)
  }
  if (json) {
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
    return
  }
  const row = (k: string, v: string): void => say(`  ${k.padEnd(46)} ${v}`)
  const parts = (r?: Rss): string => (r == null ? '' : `(anon ${r.anon}, file ${r.file})`)
  const heap = (h?: Record<string, number>): string =>
    h == null
      ? ''
      : Object.entries(h)
          .map(([k2, v]) => `${k2} ${r1(v / 2 ** 20)}`)
          .join(', ')
  say('')
  row('bare Node process (the floor)', `${floor.rss} MiB ${parts(floor)}`)
  row('node idle, one peer', `${still.rss.rss} MiB ${parts(still.rss)}  x${out.ratios.idleToBareNode} the floor`)
  if (still.heap != null) row('  its own account', heap(still.heap))
  row('broker idle, one peer', `${still.broker.rss} MiB`)
  row(
    `node busy, ${nodesN} nodes: peak (highest node)`,
    `${peak} MiB  target <= ${TARGET_MIB}: ratio ${out.ratios.busyPeakToTarget}`
  )
  row(
    '  steady (median over nodes of the later half)',
    `${steady} MiB  ratio ${out.ratios.busySteadyToTarget}; per node ${load.steady.join(' ')}`
  )
  row('  peaks per node', load.peak.join(' '))
  row('  5 s after the load', load.after.join(' '))
  row('  the highest node at the end of the load', `${load.largest.rss?.rss} MiB ${parts(load.largest.rss)}`)
  if (load.largest.heap != null) row('    its own account', heap(load.largest.heap))
  row('  broker peak', `${load.broker.peak} MiB`)
  row('  load', `PPay ${load.ppay.payments} payments (${load.ppay.calls}); Karma ${load.karma.calls}`)
  row('  Karma joins', load.karma.joins)
  for (const x of load.karma.samples) row('    an error', x)
  row('  samples', `${load.samples} (every 250 ms)`)
  row(
    `WhoPay payer, ${whopay.payments} payments`,
    `before ${whopay.before.rss} MiB, paying peak ${whopay.peak} MiB (${whopay.threadsPaying} threads), ` +
      `${Math.round(whopay.idleMs / 1000) + 5} s later ${whopay.after.rss} MiB (${whopay.threadsAfter} threads)`
  )
  say(`\n  whole run: ${Math.round(out.ms / 1000)} s; load average ${out.machine.loadavg.join(' ')}`)
}
