// `npm run chaos -- [--seed N] [--minutes M]`: a swarm with the file market,
// PPay and Karma under mixed traffic while daemons are killed with -9 and
// restarted at random moments for M minutes (default 3), then every invariant.
// The seed is printed first; `--seed N` replays the same kill schedule. Exit
// code 1 and a report when an invariant is violated, 2 on bad arguments.
import { randomInt } from 'node:crypto'
import { parseArgs } from 'node:util'
import { runChaos } from './lib/chaos.ts'

const USAGE = 'usage: npm run chaos -- [--seed N] [--minutes M]   (M may be fractional; default 3)'

let seed: number, minutes: number
try {
  const { values } = parseArgs({
    options: { seed: { type: 'string' }, minutes: { type: 'string', default: '3' }, help: { type: 'boolean' } }
  })
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`)
    process.exit(0)
  }
  seed = values.seed !== undefined ? Number(values.seed) : randomInt(2 ** 31)
  minutes = Number(values.minutes)
  if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error('--seed: a whole number below 2^32')
  if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 120) throw new Error('--minutes: more than 0, at most 120')
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`)
  process.exit(2)
}

const replay = `npm run chaos -- --seed ${seed} --minutes ${minutes}`
const t0 = Date.now()
const log = (line: string): void => {
  process.stdout.write(`[chaos ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`)
}
log(`seed ${seed} (replay: ${replay})`)
const r = await runChaos({ seed, ms: minutes * 60_000, log }).catch((err: unknown) => {
  log(`the run itself failed (seed ${seed}): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  process.exit(1)
})
if (r.violations.length === 0) {
  log(`seed ${seed}: ${r.faults} faults, every invariant holds`)
} else {
  const report = [
    `seed ${seed}: ${r.violations.length} invariant(s) violated after ${r.faults} faults`,
    ...r.violations.map(v => `  - ${v.replaceAll('\n', '\n    ')}`),
    `traffic: ${r.traffic.join('; ')}`,
    `daemon logs kept in ${r.dir ?? '?'} (<daemon>.log)`,
    `replay: ${replay}`
  ]
  process.stderr.write(`${report.join('\n')}\n`)
  process.exitCode = 1
}
