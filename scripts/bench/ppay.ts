// The PPay benchmark: payments, reassignments and cashings per second on a broker
// and three nodes, against a baseline with pure-JS Ed25519, and the Table I counts.
import { nodeEd25519, nobleEd25519, type Ed25519Backend } from '@p2pay/core'
import { randomBytes } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { Swarm } from '../lib/swarm.ts'
import { counts, perOp } from '../lib/metrics.ts'
import { json, say, int, buy, cpuMs } from './common.ts'

/** Raw Ed25519 verifications per second on this machine: the unit everything else is made of. */
function verifyRate(b: Ed25519Backend, n: number): number {
  const seed = randomBytes(32)
  const msg = randomBytes(300)
  const sig = b.sign(seed, msg)
  const publicKey = ed25519.getPublicKey(seed)
  const t0 = performance.now()
  for (let i = 0; i < n; i++) b.verify(publicKey, msg, sig)
  return Math.round(n / ((performance.now() - t0) / 1000))
}

const concurrency = int('concurrency', 256)
/** payments per frame (and per signature) of a pay-many: see docs/ppay.md */
const batch = int('batch', 64)

/** Each figure's target, as a share of one core's Ed25519 verifications per second (issue 17). */
const TARGETS = { payments: 0.5, reassignments: 0.2, cashings: 0.6 } as const

/** One swarm: broker + payer A + payee B + third peer C. Returns its rates and counts. */
async function ppayRun(
  crypto: 'node' | 'noble',
  payments: number,
  reassignments: number
): Promise<Record<string, any>> {
  const swarm = new Swarm(`bench-${crypto}`)
  try {
    const broker = await swarm.startBroker(['--crypto', crypto])
    const [A, B, C] = await swarm.startNodes(3, ['--crypto', crypto])
    const all = [broker, A, B, C]
    await broker.api('POST', '/v1/topup', { account: A.peerId, amount: payments + 1000 })
    await buy(A, payments + 1000)
    // warm-up: open streams, fill key caches, let the JIT settle
    await A.api('POST', '/v1/ppay/pay-many', { to: B.peerId, value: 1, count: 1000, concurrency: 64, batch })

    // each daemon's CPU per operation, phase by phase: what a figure costs, whatever else the machine runs
    const names = ['broker', 'A', 'B', 'C']
    const cpu = (): number[] => all.map(cpuMs)
    const cpuPerOp = (before: number[], ops: number): Record<string, number> => {
      const now = cpu()
      return Object.fromEntries(names.map((n, i) => [n, Math.round(((now[i] - before[i]) / ops) * 1000) / 1000]))
    }
    let cpu0 = cpu()
    const c0 = await counts(all)
    const pay = await A.api('POST', '/v1/ppay/pay-many', {
      to: B.peerId,
      value: 1,
      count: payments,
      concurrency,
      batch
    })
    const c1 = await counts(all)
    const out: Record<string, any> = {
      crypto,
      payments: {
        count: pay.payments,
        failed: pay.failed,
        ms: pay.ms,
        perSecond: Math.round(pay.payments / (pay.ms / 1000)),
        perPayment: perOp(c0, c1, pay.payments),
        cpuMsPerOp: cpuPerOp(cpu0, pay.payments)
      }
    }
    if (reassignments > 0) {
      cpu0 = cpu()
      const re = await B.api('POST', '/v1/ppay/pay-many', {
        to: C.peerId,
        value: 1,
        count: reassignments,
        concurrency,
        batch
      })
      const c2 = await counts(all)
      out.reassignments = {
        count: re.payments,
        failed: re.failed,
        ms: re.ms,
        via: re.via,
        perSecond: Math.round(re.payments / (re.ms / 1000)),
        perReassignment: perOp(c1, c2, re.payments),
        cpuMsPerOp: cpuPerOp(cpu0, re.payments)
      }
      // cashing: B cashes its seq-1 coins, C its reassigned ones, both at once
      cpu0 = cpu()
      const t0 = performance.now()
      const [cb, cc] = await Promise.all([B.api('POST', '/v1/ppay/cash'), C.api('POST', '/v1/ppay/cash')])
      const ms = performance.now() - t0
      const cashed = cb.paid + cc.paid
      const cashCpu = cpuPerOp(cpu0, cashed)
      const audit = await broker.api('GET', '/v1/audit')
      out.cashings = {
        count: cashed,
        refused: cb.refused.length + cc.refused.length,
        ms: Math.round(ms),
        perSecond: Math.round(cashed / (ms / 1000)),
        conservation: audit.holds,
        cpuMsPerOp: cashCpu
      }
    }
    return out
  } finally {
    await swarm.stopAll()
  }
}

/** A figure beside its limit: the ratio to one core's verifications per second and the target ratio. */
function rated(
  perSecond: number,
  limit: number,
  target: number,
  how: Record<string, unknown>
): Record<string, unknown> & { perSecond: number; ratio: number; target: number } {
  return { perSecond, limit, ratio: Math.round((perSecond / limit) * 1000) / 1000, target, ...how }
}

export async function ppay(): Promise<void> {
  const payments = int('payments', 20_000)
  const reassignments = int('reassignments', 5_000)
  const baselinePayments = int('baseline-payments', 2_000)
  say(
    'PPay benchmark: broker + 3 nodes as processes on 127.0.0.1, synced LevelDB, ' +
      `${payments} payments, ${reassignments} reassignments, ${concurrency} in flight, ${batch} per frame`
  )
  const t0 = performance.now()
  // the limit: one core's Ed25519 verifications per second, before and after the swarms (the higher counts)
  const verifyBefore = verifyRate(nodeEd25519(), 20_000)
  const fast = await ppayRun('node', payments, reassignments)
  say('baseline: the same payment loop with pure-JS Ed25519 (@noble/curves) in every daemon ...')
  const slow = await ppayRun('noble', baselinePayments, 0)
  const verifyAfter = verifyRate(nodeEd25519(), 20_000)
  const limit = Math.max(verifyBefore, verifyAfter)
  const load = (await import('node:os')).loadavg().map(x => Math.round(x * 100) / 100)
  const figures = {
    payments: rated(fast.payments.perSecond, limit, TARGETS.payments, {
      what: 'A -> B, the owner pays (one assignment per payment)',
      count: fast.payments.count,
      failed: fast.payments.failed,
      ms: fast.payments.ms,
      concurrency,
      batch,
      cpuMsPerOp: fast.payments.cpuMsPerOp
    }),
    reassignments: rated(fast.reassignments.perSecond, limit, TARGETS.reassignments, {
      what: 'B -> C via the owner A',
      count: fast.reassignments.count,
      failed: fast.reassignments.failed,
      ms: fast.reassignments.ms,
      via: fast.reassignments.via,
      concurrency,
      batch,
      cpuMsPerOp: fast.reassignments.cpuMsPerOp
    }),
    cashings: rated(fast.cashings.perSecond, limit, TARGETS.cashings, {
      what: 'B and C cash every coin they hold at once; durable (synced group commit) before each answer',
      count: fast.cashings.count,
      refused: fast.cashings.refused,
      ms: fast.cashings.ms,
      conservation: fast.cashings.conservation,
      cpuMsPerOp: fast.cashings.cpuMsPerOp
    })
  }
  const result = {
    scheme: 'ppay',
    machine: {
      cpus: (await import('node:os')).cpus().length,
      node: process.version,
      loadAverage: load,
      ed25519VerifyPerSecond: {
        node: limit,
        nodeBefore: verifyBefore,
        nodeAfter: verifyAfter,
        noble: verifyRate(nobleEd25519(), 300)
      }
    },
    limit: { what: 'Ed25519 verifications per second on one core (node:crypto), this run', perSecond: limit },
    concurrency,
    batch,
    figures,
    paymentsPerSecond: fast.payments.perSecond,
    reassignmentsPerSecond: fast.reassignments.perSecond,
    cashingsPerSecond: fast.cashings.perSecond,
    baseline: {
      crypto: '@noble/curves',
      paymentsPerSecond: slow.payments.perSecond,
      speedup: Math.round((fast.payments.perSecond / slow.payments.perSecond) * 10) / 10
    },
    tableI: {
      paper: { messages: 3, generated: 2, verified: 4 },
      measuredPerReassignment: fast.reassignments.perReassignment,
      measuredPerPayment: fast.payments.perPayment
    },
    seconds: Math.round((performance.now() - t0) / 1000),
    runs: { fast, slow }
  }
  if (json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n')
    return
  }
  const row = (k: string, v: string): void => say(`  ${k.padEnd(44)} ${v}`)
  const ratioRow = (k: string, f: (typeof figures)[keyof typeof figures], how: string): void => {
    row(
      k,
      `${f.perSecond}/s = ${f.ratio} x limit  ` +
        `(target >= ${f.target}: ${f.ratio >= f.target ? 'met' : 'not met'}; ${how})`
    )
    const c = f.cpuMsPerOp as Record<string, number>
    row(
      '',
      `CPU ms each: ${Object.entries(c)
        .map(([n, v]) => `${n} ${v}`)
        .join(', ')}`
    )
  }
  say('')
  row(
    'limit: Ed25519 verify/s on one core',
    `${limit}  (node:crypto; before ${verifyBefore}, after ${verifyAfter}; ` +
      `@noble/curves ${result.machine.ed25519VerifyPerSecond.noble}; load ${load.join(' ')})`
  )
  ratioRow(
    'payments A -> B (owner pays)',
    figures.payments,
    `${fast.payments.count} in ${fast.payments.ms} ms, ${concurrency} in flight, ${batch} per frame`
  )
  ratioRow(
    'reassignments B -> C via owner A',
    figures.reassignments,
    `${fast.reassignments.count} in ${fast.reassignments.ms} ms, ${concurrency} in flight, ` +
      `via ${JSON.stringify(fast.reassignments.via)}`
  )
  ratioRow(
    'broker cashings, durable',
    figures.cashings,
    `${fast.cashings.count} coins in ${fast.cashings.ms} ms, ` +
      `conservation ${fast.cashings.conservation ? 'holds' : 'BROKEN'}`
  )
  row(
    'baseline payments/s with @noble/curves',
    `${slow.payments.perSecond}  -> node:crypto is ${result.baseline.speedup}x faster`
  )
  say('')
  say('  Table I, PPay row                  messages  sig. gen.  sig. ver.')
  say('    paper (per reassignment)                3          2          4')
  const t = fast.reassignments.perReassignment
  say(
    `    measured per reassignment      ${String(t.messages).padStart(10)} ` +
      `${String(t.generated).padStart(10)} ${String(t.verified).padStart(10)}`
  )
  const p = fast.payments.perPayment
  say(
    `    measured per direct payment    ${String(p.messages).padStart(10)} ` +
      `${String(p.generated).padStart(10)} ${String(p.verified).padStart(10)}`
  )
  say(
    '    (messages count every frame sent, replies included; verifications skip envelopes this process already ' +
      'checked or made; a batch of payments shares one frame and one signature, so both are split over it)'
  )
  say(`  ran ${result.seconds} s`)
}
