// The AggSign benchmark (issue 14's "Measure"). The pure half needs no network:
// coin sizes on the wire, and the paper's claim, the broker's CPU per cashed
// coin against the fraud rate, for AggSign and PPay layered coins over one
// seeded workload, with the limits (Ed25519 and BLS rates) of the same run.
// The network half runs real daemons: payments/s and cashings/s between
// nodes, PPay layered payments as the baseline, and Table I per payment.
// `--quick` runs a small workload of each; `--pure` leaves the network out.
import { flags, int, json, say } from './common.ts'
import { aggsignPure, type PureResult } from './aggsign-pure.ts'
import { aggsignNet, type SchemeRun } from './aggsign-net.ts'
import type { Limits } from './aggsign-limits.ts'

const quick = flags.quick === true

function printPure(r: PureResult): void {
  const l = r.limits
  say('')
  say(
    `  limits on this machine (1 core):  Ed25519 verify ${l.ed25519VerifyPerSecond}/s,  BLS verify ` +
      `${l.blsVerifyPerSecond}/s,  BLS aggregate verify of 8 messages ${l.blsAggregateVerify8PerSecond}/s,  ` +
      `BLS sign ${l.blsSignPerSecond}/s`
  )
  say('')
  say('  coin on the wire (bytes of its JSON in the pay request)')
  say('    payments   AggSign coin   + certificates   PPay layered   PPay / AggSign')
  for (const s of r.wireBytes) {
    say(
      `    ${String(s.payments).padStart(8)} ${String(s.aggsignCoin).padStart(14)} ` +
        `${String(s.aggsignWithCertificates).padStart(16)} ${String(s.ppayLayered).padStart(14)} ` +
        `${String(s.ratio).padStart(16)}`
    )
  }
  say('    AggSign: mint + one layer per payment + one 96-byte aggregate signature; "+ certificates": with the')
  say('    certificates of the minter and every payee, which a payee opens once and caches. PPay: coin +')
  say("    owner's assignment (payment 1) + one layer per later payment, each an Ed25519 envelope.")
  say('')
  const w = r.workload
  say(
    `  broker CPU per cashed coin (µs, process.cpuUsage, least of ${w.reps} runs), ${w.coins} coins of ${w.depths}, ` +
      `seed ${w.seed}`
  )
  say('    fraud %   AggSign µs/coin  verif./coin   PPay µs/coin  verif./coin   AggSign / PPay   conservation')
  r.fraud.aggsign.forEach((a, i) => {
    const p = r.fraud.ppayLayered[i]
    say(
      `    ${String(a.fraudPct).padStart(7)} ${String(a.cpuUsPerCoin).padStart(16)} ` +
        `${String(a.verifiedPerCoin).padStart(12)} ${String(p.cpuUsPerCoin).padStart(14)} ` +
        `${String(p.verifiedPerCoin).padStart(12)} ${String(r.fraud.ratio[i]).padStart(16)}   ` +
        `${a.conservation && p.conservation ? 'holds' : 'BROKEN'}`
    )
  })
  const x = r.fraud.inLimits
  say(
    `    at 0 %: AggSign's cashing costs ${x.aggsignPerCoinInAggregateVerify8} aggregate verifications of 8 ` +
      `messages per coin; PPay's ${x.ppayPerCoinInEd25519Verify} Ed25519 verifications`
  )
  say(
    r.fraud.crossoverPct != null
      ? `    the curves cross at ${r.fraud.crossoverPct} % fraud`
      : `    the curves do not cross between 0 and ${r.fraud.rates[r.fraud.rates.length - 1]} %: ` +
          `${r.fraud.ratio[0] > 1 ? 'PPay layered coins' : 'AggSign'} costs the broker less at every rate`
  )
  const f = r.fraud.fitted
  say(
    `    fitted lines: AggSign ${f.aggsign.baseUs} µs/coin + ${f.aggsign.perDoubleSpendUs} µs per double spend; ` +
      `PPay ${f.ppayLayered.baseUs} + ${f.ppayLayered.perDoubleSpendUs}; ` +
      (r.fraud.fittedCrossoverPct != null
        ? `they meet at ${r.fraud.fittedCrossoverPct} % fraud`
        : 'they do not meet between 0 and 100 % fraud')
  )
  if (r.chart != null) say(`    chart: ${r.chart}`)
  say(`  (pure part: ${Math.round(r.ms / 1000)} s)`)
}

type Net = Awaited<ReturnType<typeof aggsignNet>>

const r1 = (x: number): number => Math.round(x * 10) / 10
const t = (c: { messages: number; generated: number; verified: number }): string =>
  `${String(c.messages).padStart(10)} ${String(c.generated).padStart(10)} ${String(c.verified).padStart(10)}`

function printNet(net: Net, l: Limits, concurrency: number): void {
  const [a, p] = [net.aggsign, net.ppayLayered]
  const row = (k: string, v: string): void => say(`  ${k.padEnd(46)} ${v}`)
  const hop = (h: SchemeRun['firstHop']): string => `${h.perSecond}/s (${h.count} in ${h.ms} ms, ${h.failed} failed)`
  say('')
  say(`  network: broker + nodes A, B, C as processes on 127.0.0.1, ${concurrency} payments in flight`)
  row('AggSign payments/s A -> B (layer 1)', hop(a.firstHop))
  row(
    '  PPay layered baseline (owner assignment)',
    `${hop(p.firstHop)}  AggSign/PPay ${r1(a.firstHop.perSecond / p.firstHop.perSecond)}`
  )
  row(
    '  limit: payee BLS aggregate verify, 2 messages',
    `${l.blsAggregateVerify2PerSecond}/s  payments/limit ` +
      `${r1(a.firstHop.perSecond / l.blsAggregateVerify2PerSecond)}`
  )
  row('AggSign payments/s B -> C (layer 2)', hop(a.secondHop))
  row(
    '  PPay layered baseline (layer)',
    `${hop(p.secondHop)}  AggSign/PPay ${r1(a.secondHop.perSecond / p.secondHop.perSecond)}`
  )
  row(
    '  limit: payee BLS aggregate verify, 3 messages',
    `${l.blsAggregateVerify3PerSecond}/s  payments/limit ` +
      `${r1(a.secondHop.perSecond / l.blsAggregateVerify3PerSecond)}`
  )
  row(
    'AggSign broker cashings/s (B and C at once)',
    `${a.cashings.perSecond}/s (${a.cashings.count} coins in ${a.cashings.ms} ms, ` +
      `${a.cashings.refused} refused, conservation ${a.cashings.conservation ? 'holds' : 'BROKEN'})`
  )
  row(
    '  PPay layered baseline',
    `${p.cashings.perSecond}/s (${p.cashings.count} coins, conservation ` +
      `${p.cashings.conservation ? 'holds' : 'BROKEN'})  ` +
      `AggSign/PPay ${r1(a.cashings.perSecond / p.cashings.perSecond)}`
  )
  row(
    '  limit: broker BLS aggregate verify, 2 messages',
    `${l.blsAggregateVerify2PerSecond}/s  ` +
      `cashings/limit ${r1(a.cashings.perSecond / l.blsAggregateVerify2PerSecond)} ` +
      '(coins of 1 and 2 layers: 2 and 3 messages)'
  )
  if (a.errors != null) row('AggSign failed payments by code (made again)', JSON.stringify(a.errors))
  say('')
  say('  Table I per payment                  messages  sig. gen.  sig. ver.')
  say('    paper, AggSign                            1          1          2')
  say(`    AggSign A -> B (layer 1)        ${t(a.perPayment.firstHop)}`)
  say(`    AggSign B -> C (layer 2)        ${t(a.perPayment.secondHop)}`)
  if (a.perPayment.acks != null) {
    say(`      of which the payee's answer   ${t(a.perPayment.acks.firstHop)}`)
  }
  say(`    PPay layered A -> B (assign)    ${t(p.perPayment.firstHop)}`)
  say(`    PPay layered B -> C (layer)     ${t(p.perPayment.secondHop)}`)
  say('    (every kind on every daemon between the counter reads: each frame sent, replies included; a')
  say('    signature made; a verification made, an aggregate one counting as one and a cached certificate')
  say('    or envelope as none. Coins were minted or bought before, so minting is not in these rows; the')
  say("    payee's certificates were cached in the warm-up, so its check is the coin's one aggregate")
  say('    verification.)')
}

export async function aggsign(): Promise<void> {
  const coins = int('coins', quick ? 60 : 300)
  const reps = int('reps', quick ? 1 : 5)
  const seed = int('seed', 14)
  const chart = typeof flags.chart === 'string' ? flags.chart : 'bench-out/aggsign-fraud.svg'
  const payments = int('payments', quick ? 300 : 2000)
  const concurrency = int('concurrency', 64)
  const t0 = performance.now()
  say(`AggSign benchmark, pure part: ${coins} coins from seed ${seed}, both brokers' pure ledgers in this process`)
  const pure = await aggsignPure({ coins, seed, reps, quick, chart })
  if (!json) printPure(pure)
  let net: Net | undefined
  if (flags.pure !== true) {
    say('')
    say(`AggSign benchmark, network part: ${payments} payments A -> B, ${payments / 2} of them on B -> C, then cashed`)
    net = await aggsignNet({ payments, secondHop: Math.floor(payments / 2), warmup: quick ? 50 : 200, concurrency })
    if (!json) printNet(net, pure.limits, concurrency)
  } else say('\n  network part left out (--pure)')
  const ms = Math.round(performance.now() - t0)
  if (json) {
    const out = {
      scheme: 'aggsign',
      pure,
      net: net ?? null,
      targets: { tableI: { messages: 1, generated: 1, verified: 2 } },
      ms
    }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  } else say(`\n  whole run: ${Math.round(ms / 1000)} s`)
}
