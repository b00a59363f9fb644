// The Karma benchmark: transfer latency and throughput on a 16-node swarm for
// each bank-set size k, against PPay direct payments measured the same way, and
// the Table I counts per transfer.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Daemon, Swarm } from '../lib/swarm.ts'
import { flags, json, say, int, buy, kindCounts } from './common.ts'

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] * 10) / 10
}
/** CPU time (user + system) the daemons used so far, from /proc; undefined where there is no /proc. */
function swarmCpuMs(daemons: Daemon[]): number | undefined {
  try {
    return daemons.reduce((sum, d) => {
      const f = readFileSync(`/proc/${d.pid}/stat`, 'utf8').split(') ')[1].split(' ')
      return sum + ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS
    }, 0)
  } catch {
    return undefined
  }
}
/** USER_HZ: /proc/<pid>/stat counts CPU time in these ticks per second (100 on Linux) */
const CLOCK_TICKS = 100

/** how long one daemon may take to start: on a busy 2-core machine loading 16 processes takes a while */
const START_TIMEOUT_MS = 180_000

/**
 * Starts n nodes, four at a time, each stopped by the swarm's stopAll as soon as it is up (a start that fails leaves
 * none of the others running).
 */
export async function startKarmaNodes(swarm: Swarm, n: number, args: string[]): Promise<Daemon[]> {
  const out: Daemon[] = []
  for (let i = 0; i < n; i += 4)
    await Promise.all(
      Array.from({ length: Math.min(4, n - i) }, async (_, j) => {
        const d = new Daemon('node', join(swarm.dir, `node${i + j}`), [
          '--broker',
          swarm.broker.addr,
          '--owner-timeout-ms',
          '2000',
          '--retry-interval-ms',
          '1000',
          ...args
        ])
        swarm.nodes.push(d)
        out[i + j] = await d.start(START_TIMEOUT_MS)
      })
    )
  return out
}

/** warm-up transfers whose latency is reported as "right after start" */
const COLD = 100
const per = (a: { messages: number; generated: number; verified: number }, b: typeof a, n: number): typeof a => ({
  messages: Math.round(((b.messages - a.messages) / n) * 10) / 10,
  generated: Math.round(((b.generated - a.generated) / n) * 10) / 10,
  verified: Math.round(((b.verified - a.verified) / n) * 10) / 10
})

/**
 * One 16-node Karma swarm with bank-sets of size k: latency of transfers one at a time, then throughput with every node
 * paying at once.
 */
async function karmaRun(
  k: number,
  nodesN: number,
  sequential: number,
  perNode: number,
  warmup: number,
  counted: number
): Promise<Record<string, any>> {
  const { bankSet } = await import('@p2pay/karma')
  const swarm = new Swarm(`bench-karma-k${k}`)
  try {
    await swarm.startBroker()
    const nodes = await startKarmaNodes(swarm, nodesN, [
      '--karma-k',
      String(k),
      '--karma-pow-bits',
      '8',
      '--karma-sync-ms',
      '5000'
    ])
    const ids = nodes.map(d => d.peerId)
    // routing tables settled: every node computes bank(first) as the set over all nodes
    // a busy machine settles slowly: 16 processes answer DHT queries late
    const deadline = Date.now() + 300_000
    while (true) {
      const want = JSON.stringify(bankSet(ids[0], ids, k))
      const got = await Promise.all(
        nodes.map(async d => {
          try {
            return JSON.stringify((await d.api('GET', `/v1/karma/bankset?peer=${ids[0]}&fresh=1`)).bank)
          } catch {
            return ''
          }
        })
      )
      if (got.every(g => g === want)) break
      if (Date.now() > deadline) throw new Error('bank-sets did not settle')
    }
    for (let i = 0; i < nodesN; i += 4)
      await Promise.all(nodes.slice(i, i + 4).map(async d => await d.api('POST', '/v1/karma/join')))
    // warm-up: every node computes every bank-set once and knows every payee (what a long-running node has cached)
    await Promise.all(
      nodes.map(async d => {
        for (const id of ids) {
          await d.api('GET', `/v1/karma/bankset?peer=${id}`)
          await d.api('GET', `/v1/karma/balance?peer=${id}`)
        }
      })
    )
    let seed = k
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n
    }
    /** one transfer between a random pair, through the control API; its latency in ms */
    const transfer = async (): Promise<number> => {
      const a = rnd(nodesN)
      const b = (a + 1 + rnd(nodesN - 1)) % nodesN
      const t0 = performance.now()
      await nodes[a].api('POST', '/v1/karma/transfer', { to: ids[b], amount: 1 })
      return performance.now() - t0
    }
    // warm-up, as a daemon that has run for a while: V8 compiles a process's hot code only after it ran many
    // times, and each of the 16 processes sees a fraction of every transfer; the first 100 are reported apart
    const cold: number[] = []
    for (let i = 0; i < warmup; i++) {
      const ms = await transfer()
      if (i < COLD) cold.push(ms)
    }
    // the outboxes ask bank(B) what it credited some seconds later: those messages belong to the transfers before
    const outboxesEmpty = async (): Promise<void> => {
      for (
        const until = Date.now() + 60_000;
        Date.now() < until;
        await new Promise(resolve => setTimeout(resolve, 500))
      ) {
        const outboxes = await Promise.all(
          nodes.map(async d => (await d.api('GET', '/v1/karma/status')).outbox as number)
        )
        if (outboxes.every(n => n === 0)) break
      }
    }
    // latency in the steady state: the outboxes' questions about earlier transfers go on meanwhile
    const lat: number[] = []
    const cpu0 = swarmCpuMs(nodes)
    for (let i = 0; i < sequential; i++) lat.push(await transfer())
    const cpu1 = swarmCpuMs(nodes)
    // messages and signatures: counted over transfers of their own, from empty outboxes until the outboxes are empty
    // again
    await outboxesEmpty()
    const kinds = ['karma-transfer']
    const c0 = await kindCounts(nodes, kinds)
    for (let i = 0; i < counted; i++) await transfer()
    await outboxesEmpty()
    const c1 = await kindCounts(nodes, kinds)
    const oneWay0 = await oneWayCounts(nodes)
    const cpu2 = swarmCpuMs(nodes)
    let done = 0
    const t0 = performance.now()
    const results = await Promise.allSettled(
      nodes.map(async (d, i) => {
        for (let j = 0; j < perNode; j++) {
          await d.api('POST', '/v1/karma/transfer', { to: ids[(i + 1 + rnd(nodesN - 1)) % nodesN], amount: 1 })
          done++
        }
      })
    )
    const ms = performance.now() - t0
    const cpu3 = swarmCpuMs(nodes)
    const oneWay1 = await oneWayCounts(nodes)
    const failed = results.filter(r => r.status === 'rejected').length
    // right after the load, members of a bank can still be applying the last notices: read again until a majority
    // agrees
    const settled = async (id: string): Promise<number> => {
      for (let i = 0; ; i++) {
        try {
          return (await nodes[0].api('GET', `/v1/karma/balance?peer=${id}`)).balance
        } catch (err) {
          // reported, not thrown: a bank that never agrees again is a finding of this run
          if (i >= 40) {
            unsettled.push(`${id}: ${(err as Error).message}`)
            return 0
          }
          await new Promise(resolve => setTimeout(resolve, 250))
        }
      }
    }
    const unsettled: string[] = []
    let total = 0
    for (const id of ids) total += await settled(id)
    return {
      k,
      nodes: nodesN,
      latencyMs: { p50: pct(lat, 50), p99: pct(lat, 99), count: lat.length, afterWarmup: warmup },
      coldLatencyMs: { p50: pct(cold, 50), p99: pct(cold, 99), count: cold.length },
      cpuMsPerTransfer:
        cpu0 !== undefined && cpu1 !== undefined ? Math.round(((cpu1 - cpu0) / sequential) * 10) / 10 : undefined,
      throughput: {
        transfers: done,
        concurrency: nodesN,
        failedWorkers: failed,
        ms: Math.round(ms),
        perSecond: Math.round((done / (ms / 1000)) * 10) / 10,
        cpuMsPerTransfer:
          cpu2 !== undefined && cpu3 !== undefined && done > 0
            ? Math.round(((cpu3 - cpu2) / done) * 10) / 10
            : undefined,
        // notices posted one-way, and the frames they shared (Peers.post): fewer frames than notices under load
        notices: oneWay1.messages - oneWay0.messages,
        noticeFrames: oneWay1.frames - oneWay0.frames
      },
      perTransfer: per(c0, c1, counted),
      conservation: unsettled.length === 0 && total === 1000 * nodesN,
      unsettled
    }
  } finally {
    await swarm.stopAll()
  }
}

/** Notices the nodes posted one-way so far, and the frames they went out in. */
async function oneWayCounts(nodes: Daemon[]): Promise<{ messages: number; frames: number }> {
  const all = await Promise.all(nodes.map(async d => (await d.api('GET', '/v1/karma/status')).oneWay))
  return all.reduce((a, o) => ({ messages: a.messages + (o?.messages ?? 0), frames: a.frames + (o?.frames ?? 0) }), {
    messages: 0,
    frames: 0
  })
}

/** The baseline: PPay direct payments (owned coin, payer -> payee) measured the same way, through the control API. */
async function ppayDirect(sequential: number, many: number, warmup: number): Promise<Record<string, any>> {
  const swarm = new Swarm('bench-karma-ppay')
  try {
    const broker = await swarm.startBroker()
    const [A, B] = await swarm.startNodes(2)
    await broker.api('POST', '/v1/topup', { account: A.peerId, amount: sequential + many + warmup + 200 })
    await buy(A, sequential + many + warmup + 200)
    for (let i = 0; i < warmup; i++) await A.api('POST', '/v1/ppay/pay', { to: B.peerId, amount: 1 })
    const kinds = ['pay']
    const c0 = await kindCounts([broker, A, B], kinds)
    const lat: number[] = []
    for (let i = 0; i < sequential; i++) {
      const t0 = performance.now()
      await A.api('POST', '/v1/ppay/pay', { to: B.peerId, amount: 1 })
      lat.push(performance.now() - t0)
    }
    const c1 = await kindCounts([broker, A, B], kinds)
    const r = await A.api('POST', '/v1/ppay/pay-many', { to: B.peerId, value: 1, count: many, concurrency: 16 })
    return {
      latencyMs: { p50: pct(lat, 50), p99: pct(lat, 99), count: lat.length, afterWarmup: warmup },
      throughput: {
        payments: r.payments,
        ms: r.ms,
        perSecond: Math.round((r.payments / (r.ms / 1000)) * 10) / 10,
        concurrency: 16
      },
      perPayment: per(c0, c1, sequential)
    }
  } finally {
    await swarm.stopAll()
  }
}

export async function karma(): Promise<void> {
  const nodesN = int('nodes', 16)
  const sequential = int('transfers', 200)
  const perNode = int('per-node', 10)
  const warmup = Math.max(COLD, int('warmup', 400))
  const counted = int('counted', 100)
  const ks = typeof flags.k === 'string' ? flags.k.split(',').map(Number) : [3, 5, 7]
  say(
    `Karma benchmark: ${nodesN} nodes + a bootstrap broker as processes on 127.0.0.1, synced LevelDB; ` +
      `k = ${ks.join(', ')}; ${warmup} transfers one at a time to warm up (at least ${COLD}), ` +
      `${sequential} more for latency, ${counted} for messages and signatures, ` +
      `then ${perNode} per node with all nodes paying at once`
  )
  const runs: Array<Record<string, any>> = []
  for (const k of ks) {
    say(`  k = ${k} ...`)
    runs.push(await karmaRun(k, nodesN, sequential, perNode, warmup, counted))
  }
  say('  baseline: PPay direct payments ...')
  const base = await ppayDirect(sequential, 2000, warmup)
  const result = {
    scheme: 'karma',
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    runs,
    baseline: { scheme: 'ppay direct payment', ...base },
    tableI: {
      paper: { messages: 'O(k^2)', generated: '1, O(k)', verified: 'O(k/k^2)' },
      formula: {
        messages:
          'k^2 + 3k + 1 (replies counted; notices, credit receipts and the bundle to B one-way) + ' +
          "the outbox's batched questions",
        generated: '1 + 3k'
      }
    },
    targets: ratios(runs, base)
  }
  if (json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n')
    return
  }
  say('')
  say(
    '                          latency p50 / p99 (ms)   transfers/s   messages  sig. gen.  sig. ver.   ' +
      `(per transfer; latency after ${warmup} transfers)`
  )
  for (const r of runs) {
    const t = r.perTransfer
    say(
      `  Karma k = ${r.k}  ${String(r.latencyMs.p50).padStart(14)} / ${String(r.latencyMs.p99).padEnd(8)} ` +
        `${String(r.throughput.perSecond).padStart(12)} ${String(t.messages).padStart(10)} ` +
        `${String(t.generated).padStart(10)} ${String(t.verified).padStart(10)}   conservation ` +
        (r.conservation
          ? 'holds'
          : r.unsettled.length > 0
            ? `UNKNOWN: ${r.unsettled.length} accounts without a majority 10 s after the load`
            : 'BROKEN') +
        (r.throughput.failedWorkers > 0 ? `, ${r.throughput.failedWorkers} workers failed` : '')
    )
  }
  const p = base.perPayment
  say(
    `  PPay direct   ${String(base.latencyMs.p50).padStart(14)} / ${String(base.latencyMs.p99).padEnd(8)} ` +
      `${String(base.throughput.perSecond).padStart(12)} ${String(p.messages).padStart(10)} ` +
      `${String(p.generated).padStart(10)} ${String(p.verified).padStart(10)}`
  )
  say('')
  say('  Table I, Karma row (paper): messages O(k^2), sig. gen. 1, O(k), sig. ver. O(k/k^2)')
  say(
    '    here: k^2 + 3k + 1 messages (k requests with their receipts; k^2 ' +
      'notices, k credit receipts and 1 bundle to B, one-way),'
  )
  say(
    "    plus the outbox's questions, for all notices older than 2 sync intervals (here 10 s): one call per payer " +
      'and tick for the credit receipts bank(B) pushed it, then one per member of bank(B) those do not cover ' +
      '(counted until every outbox is empty)'
  )
  say(
    '    1 + 3k signatures (request; k notices + k debit receipts; k ' +
      'credit receipts); verifications skip envelopes a process checked ' +
      'already and notices that repeat a credit made; receipts that reach the payer after its majority are ' +
      "checked by bank(A)'s outboxes"
  )
  say(
    `  right after start (the first ${COLD} warm-up transfers), p50 / p99 ms: ` +
      runs.map(r => `k = ${r.k}: ${r.coldLatencyMs.p50} / ${r.coldLatencyMs.p99}`).join(', ')
  )
  say(
    '  CPU the swarm spent per transfer while latency was measured (ms; it grows when this machine is slower): ' +
      runs.map(r => `k = ${r.k}: ${r.cpuMsPerTransfer ?? 'n/a'}`).join(', ')
  )
  say(
    '  CPU the swarm spent per transfer under the load (ms), and notices per frame: ' +
      runs
        .map(
          r =>
            `k = ${r.k}: ${r.throughput.cpuMsPerTransfer ?? 'n/a'} ms, ${r.throughput.notices} notices in ` +
            `${r.throughput.noticeFrames} frames`
        )
        .join('; ')
  )
  say('')
  say('  targets (figure / limit measured in the same run = ratio; target):')
  for (const t of result.targets)
    say(
      `    ${t.name}: ${t.figure} / ${t.limit} = ${t.ratio ?? 'n/a'} (target ${t.target}: ` +
        `${t.met === undefined ? 'not measured' : t.met ? 'met' : 'NOT met'})`
    )
  for (const t of result.targets) say(`      ${t.how}`)
}

interface Target {
  name: string
  figure: number | undefined
  limit: number
  ratio: number | undefined
  target: string
  met: boolean | undefined
  how: string
}

/** The two Karma targets, each a ratio to PPay direct payments measured in the same run. */
function ratios(runs: Array<Record<string, any>>, base: Record<string, any>): Target[] {
  const k5 = runs.find(r => r.k === 5)
  const r3 = (x: number): number => Math.round(x * 1000) / 1000
  const lat = k5?.latencyMs.p50 as number | undefined
  const tps = k5?.throughput.perSecond as number | undefined
  const latRatio = lat !== undefined ? r3(lat / base.latencyMs.p50) : undefined
  const tpsRatio = tps !== undefined ? r3(tps / base.throughput.perSecond) : undefined
  return [
    {
      name: 'Karma p50 at k = 5 after warm-up / PPay direct p50 (ms)',
      figure: lat,
      limit: base.latencyMs.p50,
      ratio: latRatio,
      target: '<= 3',
      met: latRatio !== undefined ? latRatio <= 3 : undefined,
      how:
        `p50 of ${k5?.latencyMs.count ?? 0} Karma transfers one at a time after ${k5?.latencyMs.afterWarmup ?? 0} ` +
        `warm-up, ${k5?.nodes ?? 0} nodes; PPay: p50 of ${base.latencyMs.count} payments one at a time after ` +
        `${base.latencyMs.afterWarmup} warm-up; both through the control API`
    },
    {
      name: 'Karma transfers/s / PPay direct payments/s, 16 paying at once',
      figure: tps,
      limit: base.throughput.perSecond,
      ratio: tpsRatio,
      target: '>= 0.08',
      met: tpsRatio !== undefined ? tpsRatio >= 0.08 : undefined,
      how:
        `Karma: ${k5?.throughput.transfers ?? 0} transfers in ${k5?.throughput.ms ?? 0} ms, each of ` +
        `${k5?.throughput.concurrency ?? 0} nodes paying one transfer after another ` +
        `(${k5?.throughput.concurrency ?? 0} at once); PPay: ` +
        `${base.throughput.payments} payments in ${base.throughput.ms} ms, ${base.throughput.concurrency} at once`
    }
  ]
}
