// `npm run fuzz [-- --seed N] [--seconds S] [--rounds R] [--concurrency C]`:
// a market of real daemons fuzzed over every protocol and control-API route
// they register (see scripts/fuzz/run.ts). Exits 1 on any finding or failed check.
import { randomInt } from 'node:crypto'
import { parseArgv } from '@p2pay/core'
import { fuzz } from './fuzz/run.ts'

const { flags } = parseArgv(process.argv.slice(2))
const num = (k: string): number | undefined => {
  const v = flags[k]
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${k} needs a whole number, got ${String(v)}`)
  return n
}
const seed = num('seed') ?? randomInt(2 ** 31)
const r = await fuzz({ seed, seconds: num('seconds') ?? 60, rounds: num('rounds'), concurrency: num('concurrency') })
console.log(
  JSON.stringify(
    {
      seed: r.seed,
      wire: r.wire,
      http: r.http,
      routes: r.routes,
      memory: r.memory.map(m => ({
        ...m,
        before: `${(m.before / 2 ** 20).toFixed(0)} MiB`,
        after: `${(m.after / 2 ** 20).toFixed(0)} MiB`
      })),
      findings: r.findings,
      failures: r.failures
    },
    null,
    2
  )
)
if (r.findings.length > 0 || r.failures.length > 0) {
  console.log(`FAILED: replay with npm run fuzz -- --seed ${r.seed}`)
  process.exit(1)
}
