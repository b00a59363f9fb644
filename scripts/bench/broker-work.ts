// The broker-work benchmark (issue 17): how much of the broker a payment costs
// when coins are paid on t = 1, 4, 16 times before they are cashed, for PPay
// (reassignment through the owner), AggSign (a layer per payment) and WhoPay
// (transfer through the owner), against an online broker measured in the same
// run: the same holder payments made through the broker, with the owner
// stopped (PPay's and WhoPay's downtime path). AggSign has no such path (its
// payments never reach the broker; docs/aggsign.md), so its baseline is its own
// t = 1: a coin cashed after each payment, the broker in every payment.
// Broker, judge and nodes O, B, C are processes on 127.0.0.1 (real libp2p,
// synced LevelDB). `--coins`, `--t 1,4,16`, `--concurrency`, `--quick`, `--json`.
import { cpus, loadavg } from 'node:os'
import { startWhopay } from '../lib/whopay-swarm.ts'
import { sleep } from '../lib/api.ts'
import { flags, int, json, say } from './common.ts'
import {
  cpuMsOf,
  downtime,
  lifecycle,
  refusals,
  type Nodes,
  type Phase,
  type Scheme,
  type Work
} from './broker-work-run.ts'

const quick = flags.quick === true
const SCHEMES: Scheme[] = ['ppay', 'aggsign', 'whopay']

const r2 = (x: number): number => Math.round(x * 100) / 100
const ratio = (a: number, b: number): number | null => (b > 0 ? r2(a / b) : null)

interface Row extends Phase {
  t: number
  coins: number
  cashed: number
  conservation: boolean
  /** this row's work per payment over the baseline's, each figure */
  ratio: { cpuMs: number | null; messages: number | null; verified: number | null }
  /** messages and verifications per payment of the broker's own role alone (OTHER_KINDS left out), and their ratios */
  role: { messages: number; verified: number; ratio: { messages: number | null; verified: number | null } }
  target: number
}

type Baseline = Phase & { cashed: number; conservation: boolean; how: string }

/**
 * Kinds the broker counts that are not its part in a payment: the nodes' periodic syncs with it (by time, not by
 * payment), and WhoPay's coin-state records, which the broker keeps as one of a coin's k DHT keepers (in a swarm of
 * five daemons it is a keeper of every coin; in a large network of k in N)
 */
const OTHER_KINDS = ['sync', 'whopay-sync', 'whopay-state']

const roleOf = (k: Phase['kinds']): { messages: number; verified: number } => {
  let messages = 0
  let verified = 0
  for (const [name, c] of Object.entries(k)) {
    if (OTHER_KINDS.includes(name)) continue
    messages += c.messages
    verified += c.verified
  }
  return { messages: r2(messages), verified: r2(verified) }
}

const role = (p: Phase['kinds'], b: Phase['kinds']): Row['role'] => {
  const x = roleOf(p)
  const y = roleOf(b)
  return { ...x, ratio: { messages: ratio(x.messages, y.messages), verified: ratio(x.verified, y.verified) } }
}

const ratios = (p: Work, b: Work): Row['ratio'] => ({
  cpuMs: ratio(p.cpuMs, b.cpuMs),
  messages: ratio(p.messages, b.messages),
  verified: ratio(p.verified, b.verified)
})

export async function brokerWork(): Promise<void> {
  const ts = typeof flags.t === 'string' ? flags.t.split(',').map(Number) : [1, 4, 16]
  if (!ts.every(t => Number.isSafeInteger(t) && t >= 1 && t <= 64)) throw new Error('--t takes counts 1..64')
  const coins = int('coins', quick ? 4 : 32)
  const concurrency = int('concurrency', 8)
  const maxT = Math.max(...ts)
  const t0 = performance.now()
  say(
    `broker work per payment: ${coins} coins paid on t = ${ts.join(', ')} times, then cashed; PPay, AggSign, ` +
      `WhoPay; baseline: payments through the broker (owner stopped); broker, judge, O, B, C as processes`
  )
  // every coin of every run and baseline, twice over (PPay, WhoPay buy; AggSign escrows its limit)
  const topup = 4 * coins * (ts.length + 2) + 1000
  const layers = ['--aggsign-max-layers', String(Math.max(8, maxT))]
  // an owner slow to answer on a loaded machine must not send a payment to the broker's downtime path: the runs
  // measure the path through the owner (the baseline stops the owner, whose refused dial is immediate)
  const patient = ['--owner-timeout-ms', '20000', '--whopay-pay-timeout-ms', '20000']
  const s = await startWhopay('bench-broker-work', {
    nodes: 3,
    topup,
    brokerArgs: layers,
    nodeArgs: [...layers, ...patient]
  })
  try {
    const [O, B, C] = s.nodes
    const n: Nodes = { broker: s.broker, O, B, C }
    await O.api('POST', '/v1/aggsign/certify', { limit: coins * (ts.length + 1) + 10 })
    await B.api('POST', '/v1/aggsign/certify', { limit: 1 })
    await C.api('POST', '/v1/aggsign/certify', { limit: 1 })
    // the broker's CPU with nothing asked of it (DHT upkeep, timers), to read small figures against
    const i0 = cpuMsOf(s.broker.pid)
    await sleep(3000)
    const idleMsPerSecond = r2((cpuMsOf(s.broker.pid) - i0) / 3)
    // warm-up: streams open, keys cached, the JIT settled on every path measured
    for (const scheme of SCHEMES) await lifecycle(scheme, n, Math.min(coins, 4), 2, concurrency)

    const runs: Record<string, Array<Omit<Row, 'ratio' | 'role' | 'target'>>> = {}
    for (const scheme of SCHEMES) {
      runs[scheme] = []
      for (const t of ts) {
        say(`  ${scheme} t = ${t} ...`)
        runs[scheme].push({ t, coins, ...(await lifecycle(scheme, n, coins, t, concurrency)) })
      }
    }
    say('  baselines: PPay and WhoPay holder payments with the owner stopped ...')
    const baselines: Record<string, Baseline> = {}
    baselines.ppay = { ...(await downtime('ppay', n, coins, concurrency)), how: 'downtime path (owner stopped)' }
    await O.start(120_000)
    baselines.whopay = { ...(await downtime('whopay', n, coins, concurrency)), how: 'downtime path (owner stopped)' }
    const agg1 = runs.aggsign.find(r => r.t === 1) ?? runs.aggsign[0]
    baselines.aggsign = {
      ...agg1,
      how: `its own t = ${agg1.t}: each coin cashed after ${agg1.t} payment(s) (no path sends payments to the broker)`
    }
    const schemes: Record<string, { baseline: Baseline; runs: Row[] }> = {}
    for (const scheme of SCHEMES) {
      const b = baselines[scheme]
      schemes[scheme] = {
        baseline: b,
        runs: runs[scheme].map(r => ({
          ...r,
          ratio: ratios(r.perPayment, b.perPayment),
          role: role(r.kinds, b.kinds),
          target: r2(1 / r.t)
        }))
      }
    }
    const out = {
      bench: 'broker-work',
      machine: { cpus: cpus().length, node: process.version, loadavg: loadavg().map(r2) },
      coins,
      ts,
      concurrency,
      broker: { idleCpuMsPerSecond: idleMsPerSecond, otherKinds: OTHER_KINDS },
      whopayDepositRefusals: refusals,
      schemes,
      ms: Math.round(performance.now() - t0)
    }
    if (json) {
      process.stdout.write(JSON.stringify(out, null, 2) + '\n')
      return
    }
    print(out)
  } finally {
    await s.swarm.stopAll()
  }
}

function print(out: {
  schemes: Record<string, { baseline: Baseline; runs: Row[] }>
  broker: { idleCpuMsPerSecond: number; otherKinds: string[] }
  ms: number
  machine: { loadavg: number[] }
}): void {
  const w = (x: Work): string =>
    `${String(x.cpuMs).padStart(8)} ${String(x.messages).padStart(8)} ${String(x.verified).padStart(8)}`
  const rt = (r: Row['ratio']): string =>
    [r.cpuMs, r.messages, r.verified].map(x => String(x ?? '-').padStart(7)).join(' ')
  say('')
  say('  the broker per payment           CPU ms  msgs sent  sig.ver.    ratio to the baseline    target')
  say('                                                                 CPU    msgs    ver.     1/t')
  for (const [scheme, { baseline: b, runs }] of Object.entries(out.schemes)) {
    say(`  ${scheme}`)
    say(`    baseline (${b.payments} payments)        ${w(b.perPayment)}      ${b.how}`)
    for (const r of runs)
      say(
        `    t = ${String(r.t).padEnd(3)} (${String(r.payments).padStart(4)} payments) ${w(r.perPayment)}   ` +
          `${rt(r.ratio)}  ${String(r.target).padStart(6)}`
      )
  }
  say('')
  say('  counts and durations (whole lifecycle: buy or mint, t payments, cash; baseline: the holder payments)')
  for (const [scheme, { baseline: b, runs }] of Object.entries(out.schemes)) {
    const line = (name: string, p: Phase & { cashed: number; conservation: boolean }): void =>
      say(
        `    ${(scheme + ' ' + name).padEnd(22)} ${p.payments} payments, ${p.failed} failed, ${p.cashed} cashed, ` +
          `${p.ms} ms; broker total: CPU ${p.broker.cpuMs} ms, ${p.broker.messages} msgs, ` +
          `${p.broker.verified} ver., ${p.broker.generated} sig.; conservation ${p.conservation ? 'holds' : 'BROKEN'}` +
          (p.errors != null ? ` errors ${JSON.stringify(p.errors)}` : '')
      )
    line('baseline', b)
    for (const r of runs) line(`t = ${r.t}`, r)
  }
  say(`    broker idle: ${out.broker.idleCpuMsPerSecond} CPU ms/s (included in the figures above)`)
  say('')
  say(
    `  the broker's own part alone (without ${out.broker.otherKinds.join(', ')}), per payment and ratio to the baseline`
  )
  say('                                   msgs    ver.    ratio msgs  ratio ver.  target 1/t')
  for (const [scheme, { baseline: b, runs }] of Object.entries(out.schemes)) {
    const own = roleOf(b.kinds)
    say(
      `    ${(scheme + ' baseline').padEnd(28)} ${String(own.messages).padStart(7)} ${String(own.verified).padStart(7)}`
    )
    for (const r of runs)
      say(
        `    ${(scheme + ' t = ' + r.t).padEnd(28)} ${String(r.role.messages).padStart(7)} ` +
          `${String(r.role.verified).padStart(7)} ${String(r.role.ratio.messages ?? '-').padStart(11)} ` +
          `${String(r.role.ratio.verified ?? '-').padStart(11)} ${String(r.target).padStart(11)}`
      )
  }
  say('')
  say("  the broker's counters per payment by kind (messages/generated/verified), baseline and the largest t")
  const kinds = (k: Phase['kinds']): string =>
    Object.entries(k)
      .map(([name, c]) => `${name} ${c.messages}/${c.generated}/${c.verified}`)
      .join(', ') || '-'
  for (const [scheme, { baseline: b, runs }] of Object.entries(out.schemes)) {
    const last = runs[runs.length - 1]
    say(`    ${scheme} baseline: ${kinds(b.kinds)}`)
    say(`    ${scheme} t = ${last.t}: ${kinds(last.kinds)}`)
  }
  say(`\n  whole run: ${Math.round(out.ms / 1000)} s; load average ${out.machine.loadavg.join(' ')}`)
}
