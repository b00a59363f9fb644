// The WhoPay benchmark (issue 15): transfers/s via the owner, issues/s and
// deposits/s over a small local swarm, BBS04 sign/verify/open times from the
// synchronous module and from the worker pool, each rate next to the limit it
// is read against (BBS04 on this machine's cores; Ed25519 for PPay), and Table
// I per transfer from the daemons' counters beside PPay's reassignment measured
// in the same run. `--quick` runs a small workload; `--realtime false` leaves
// the DHT check out; `--transfers`, `--warmup`, `--concurrency`, `--calls`
// change the workload.
import { cpus } from 'node:os'
import { flags, int, json, say } from './common.ts'
import { measureCrypto, type CryptoFigures } from './whopay-crypto.ts'
import { whopayNet, type NetFigures, type TableRow } from './whopay-net.ts'

const quick = flags.quick === true

/** the paper's Table I rows (per transaction) */
export const PAPER = {
  whopay: { messages: 2, generated: 3, verified: 4 },
  ppay: { messages: 3, generated: 2, verified: 4 }
} as const

export interface Limits {
  cores: number
  /** transfers/s if the machine's cores did nothing but one BBS04 sign (holder) and one verify (owner) each */
  transfersPerSecond: number
  /** the same for a deposit: the holder's sign, the broker's verify */
  depositsPerSecond: number
  /** PPay's reassignment: 4 Ed25519 verifications each, on one core */
  ppayReassignmentsPerSecond: number
}

export function limitsOf(c: CryptoFigures, cores: number): Limits {
  const bbs = (c.sync.signMs + c.sync.verifyMs) / 1000
  return {
    cores,
    transfersPerSecond: Math.round(cores / bbs),
    depositsPerSecond: Math.round(cores / bbs),
    ppayReassignmentsPerSecond: Math.round(c.ed25519VerifyPerSecond / PAPER.ppay.verified)
  }
}

const r2 = (x: number): number => Math.round(x * 100) / 100

function print(c: CryptoFigures, l: Limits, net: NetFigures | undefined): void {
  const line = (k: string, v: string): void => say(`  ${k.padEnd(48)} ${v}`)
  say('')
  say(`  BBS04 on BLS12-381 (mcl-wasm), ${c.calls} calls each, signature ${c.signatureBytes} bytes`)
  say('                         sign ms   verify ms   open ms')
  const ops = (name: string, t: { signMs: number; verifyMs: number; openMs: number }): void =>
    say(
      `    ${name.padEnd(20)} ${String(t.signMs).padStart(7)} ${String(t.verifyMs).padStart(11)} ` +
        `${String(t.openMs).padStart(9)}`
    )
  ops('synchronous (CPU)', c.sync)
  ops(`pool of ${c.pool.workers} (wall)`, c.pool)
  line('  pool rate, sign / verify', `${c.pool.signPerSecond}/s / ${c.pool.verifyPerSecond}/s`)
  line('Ed25519 verify (node:crypto, CPU, 1 core)', `${c.ed25519VerifyPerSecond}/s`)
  if (net == null) return
  const ph = (p: { count: number; failed: number; ms: number; perSecond: number; cpuMsEach?: number }): string =>
    `${p.perSecond}/s (${p.count} in ${p.ms} ms, ${p.failed} failed` +
    (p.cpuMsEach != null ? `; daemons' CPU ${p.cpuMsEach} ms each)` : ')')
  say('')
  say(
    `  network: judge + broker + O, A, B, C as processes on 127.0.0.1, ${net.concurrency} in flight, ` +
      `real-time DHT check ${net.realtime ? 'on' : 'off'}`
  )
  line('issues/s O -> A (owner binding, no group sig.)', ph(net.issues))
  line('transfers/s A -> B via the owner O', ph(net.transfers))
  line(
    `  limit: BBS04 sign + verify on ${l.cores} cores`,
    `${l.transfersPerSecond}/s  transfers/limit ${r2(net.transfers.perSecond / l.transfersPerSecond)}`
  )
  if (net.transfers.cpuMsEach != null) {
    const each = net.transfers.cpuMsEach
    line(
      '  BBS04 sign + verify in the CPU of a transfer',
      `${r2(c.sync.signMs + c.sync.verifyMs)} of ${each} ms ` +
        `(${Math.round(((c.sync.signMs + c.sync.verifyMs) / each) * 100)} %)`
    )
    const cpuLimit = (l.cores * 1000) / each
    line(
      `  limit: the daemons' CPU per transfer on ${l.cores} cores`,
      `${Math.round(cpuLimit)}/s  transfers/limit ${r2(net.transfers.perSecond / cpuLimit)}`
    )
  }
  line('deposits/s B -> broker', `${ph(net.deposits)}, conservation ${net.deposits.conservation ? 'holds' : 'BROKEN'}`)
  line(
    `  limit: BBS04 sign + verify on ${l.cores} cores`,
    `${l.depositsPerSecond}/s  deposits/limit ${r2(net.deposits.perSecond / l.depositsPerSecond)}`
  )
  line('PPay reassignments/s A -> B via the owner O', ph(net.ppayReassignments))
  line(
    '  limit: 4 Ed25519 verifications each, 1 core',
    `${l.ppayReassignmentsPerSecond}/s  reassignments/limit ` +
      `${r2(net.ppayReassignments.perSecond / l.ppayReassignmentsPerSecond)}  ` +
      `WhoPay/PPay ${r2(net.transfers.perSecond / Math.max(1, net.ppayReassignments.perSecond))}`
  )
  say('')
  const t = (x: { messages: number; generated: number; verified: number }): string =>
    `${String(x.messages).padStart(10)} ${String(x.generated).padStart(10)} ${String(x.verified).padStart(10)}`
  const ratio = (m: TableRow, p: { messages: number; generated: number; verified: number }): string =>
    `   (x${r2(m.messages / p.messages)}, x${r2(m.generated / p.generated)}, x${r2(m.verified / p.verified)})`
  say('  Table I per transaction             messages  sig. gen.  sig. ver.')
  say(`    paper, WhoPay transfer          ${t(PAPER.whopay)}`)
  const w = net.tableI.whopayTransfer
  say(`    WhoPay transfer, every kind     ${t(w)}${ratio(w, PAPER.whopay)}`)
  const k = net.tableI.whopayTransferKinds
  say(`    WhoPay transfer, ${k.kinds.length} kinds alone  ${t(k)}${ratio(k, PAPER.whopay)}`)
  say(`    WhoPay issue (owner -> holder)  ${t(net.tableI.whopayIssue)}`)
  say(`    paper, PPay reassignment        ${t(PAPER.ppay)}`)
  say(
    `    PPay reassignment, every kind   ${t(net.tableI.ppayReassignment)}` +
      ratio(net.tableI.ppayReassignment, PAPER.ppay)
  )
  say('    WhoPay transfer by kind:')
  for (const [kind, c] of Object.entries(net.tableI.transferByKind)) say(`      ${kind.padEnd(28)}${t(c)}`)
  say('    ("every kind": all counters of every daemon between two reads, divided by the transactions made;')
  say(`    "kinds alone": ${k.kinds.join(' + ')} only, without the DHT state checks and the payee's invoice;`)
  say('    messages count every frame sent, replies included)')
}

export async function whopay(): Promise<void> {
  const calls = int('calls', quick ? 10 : 50)
  const transfers = int('transfers', quick ? 20 : 300)
  const warmup = int('warmup', quick ? 5 : 30)
  const concurrency = int('concurrency', 8)
  const realtime = flags.realtime !== 'false'
  const t0 = performance.now()
  say(`WhoPay benchmark: BBS04 timings (${calls} calls), then ${transfers} transfers over a local swarm`)
  const crypto = await measureCrypto(calls)
  const limits = limitsOf(crypto, cpus().length)
  let net: NetFigures | undefined
  if (flags.crypto !== true) net = await whopayNet({ transfers, warmup, concurrency, realtime })
  const ms = Math.round(performance.now() - t0)
  if (json) {
    const out = { scheme: 'whopay', crypto, limits, net: net ?? null, paper: PAPER, ms }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
    return
  }
  print(crypto, limits, net)
  if (net == null) say('\n  network part left out (--crypto)')
  say(`\n  whole run: ${Math.round(ms / 1000)} s`)
}
