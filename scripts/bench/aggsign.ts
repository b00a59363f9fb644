// The AggSign benchmark (issue 14's "Measure"). The pure half needs no network:
// coin sizes on the wire, and the paper's claim, the broker's CPU per cashed
// coin against the fraud rate, for AggSign and PPay layered coins over one
// seeded workload, with the limits (Ed25519 and BLS rates) of the same run.
// The network half runs real daemons: payments/s and cashings/s between
// nodes, PPay layered payments as the baseline, and Table I per payment.
import { flags, int, json, say } from './common.ts'
import { aggsignPure, type PureResult } from './aggsign-pure.ts'

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

export async function aggsign(): Promise<void> {
  const coins = int('coins', quick ? 60 : 300)
  const reps = int('reps', quick ? 1 : 5)
  const seed = int('seed', 14)
  const chart = typeof flags.chart === 'string' ? flags.chart : 'bench-out/aggsign-fraud.svg'
  say(`AggSign benchmark, pure part: ${coins} coins from seed ${seed}, both brokers' pure ledgers in this process`)
  const pure = await aggsignPure({ coins, seed, reps, quick, chart })
  if (json) {
    process.stdout.write(JSON.stringify({ scheme: 'aggsign', pure }, null, 2) + '\n')
    return
  }
  printPure(pure)
}
