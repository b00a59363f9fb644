// The PPay benchmark: payments, reassignments and cashings per second on a broker
// and three nodes, against a baseline with pure-JS Ed25519, and the Table I counts.
import { nodeEd25519, nobleEd25519, type Ed25519Backend } from '@p2pay/core'
import { randomBytes } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { Swarm } from '../lib/swarm.ts'
import { counts, perOp } from '../lib/metrics.ts'
import { json, say, int, buy } from './common.ts'

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
    await A.api('POST', '/v1/ppay/pay-many', { to: B.peerId, value: 1, count: 1000, concurrency: 64 })

    const c0 = await counts(all)
    const pay = await A.api('POST', '/v1/ppay/pay-many', { to: B.peerId, value: 1, count: payments, concurrency })
    const c1 = await counts(all)
    const out: Record<string, any> = {
      crypto,
      payments: {
        count: pay.payments,
        failed: pay.failed,
        ms: pay.ms,
        perSecond: Math.round(pay.payments / (pay.ms / 1000)),
        perPayment: perOp(c0, c1, pay.payments)
      }
    }
    if (reassignments > 0) {
      const re = await B.api('POST', '/v1/ppay/pay-many', { to: C.peerId, value: 1, count: reassignments, concurrency })
      const c2 = await counts(all)
      out.reassignments = {
        count: re.payments,
        failed: re.failed,
        ms: re.ms,
        via: re.via,
        perSecond: Math.round(re.payments / (re.ms / 1000)),
        perReassignment: perOp(c1, c2, re.payments)
      }
      // cashing: B cashes its seq-1 coins, C its reassigned ones, both at once
      const t0 = performance.now()
      const [cb, cc] = await Promise.all([B.api('POST', '/v1/ppay/cash'), C.api('POST', '/v1/ppay/cash')])
      const ms = performance.now() - t0
      const cashed = cb.paid + cc.paid
      const audit = await broker.api('GET', '/v1/audit')
      out.cashings = {
        count: cashed,
        refused: cb.refused.length + cc.refused.length,
        ms: Math.round(ms),
        perSecond: Math.round(cashed / (ms / 1000)),
        conservation: audit.holds
      }
    }
    return out
  } finally {
    await swarm.stopAll()
  }
}

export async function ppay(): Promise<void> {
  const payments = int('payments', 20_000)
  const reassignments = int('reassignments', 5_000)
  const baselinePayments = int('baseline-payments', 2_000)
  say(
    'PPay benchmark: broker + 3 nodes as processes on 127.0.0.1, synced LevelDB, ' +
      `${payments} payments, ${reassignments} reassignments`
  )
  const fast = await ppayRun('node', payments, reassignments)
  say('baseline: the same payment loop with pure-JS Ed25519 (@noble/curves) in every daemon ...')
  const slow = await ppayRun('noble', baselinePayments, 0)
  const result = {
    scheme: 'ppay',
    machine: {
      cpus: (await import('node:os')).cpus().length,
      node: process.version,
      ed25519VerifyPerSecond: { node: verifyRate(nodeEd25519(), 5000), noble: verifyRate(nobleEd25519(), 300) }
    },
    concurrency,
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
    targets: { paymentsPerSecond: 5000, cashingsPerSecond: 10000 },
    runs: { fast, slow }
  }
  if (json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n')
    return
  }
  const row = (k: string, v: string): void => say(`  ${k.padEnd(44)} ${v}`)
  say('')
  row(
    'Ed25519 verify/s on this machine (1 core)',
    `node:crypto ${result.machine.ed25519VerifyPerSecond.node}, ` +
      `@noble/curves ${result.machine.ed25519VerifyPerSecond.noble}`
  )
  row(
    `payments/s (A -> B, ${concurrency} in flight)`,
    `${result.paymentsPerSecond}  (target >= 5000; ${fast.payments.count} payments in ${fast.payments.ms} ms)`
  )
  row(
    `reassignments/s (B -> C via owner A, ${concurrency} in flight)`,
    `${result.reassignmentsPerSecond}  (${fast.reassignments.count} in ${fast.reassignments.ms} ms, ` +
      `via ${JSON.stringify(fast.reassignments.via)})`
  )
  row(
    'broker cashings/s (synced group commit)',
    `${result.cashingsPerSecond}  (target >= 10000; ${fast.cashings.count} coins in ${fast.cashings.ms} ms, ` +
      `conservation ${fast.cashings.conservation ? 'holds' : 'BROKEN'})`
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
    '    (messages count every frame sent, replies included; verifications ' +
      'skip envelopes this process already checked or made)'
  )
}
