// `npm run models`: every check of every models/<name>.pml, one line each
// (model, check, expected, got, states stored, depth, pan's time), and a
// non-zero exit on any mismatch or tool failure. `node models/run.ts <name>...`
// runs only those models. See docs/models.md.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { outcome, parseHeader } from './pan-output.ts'
import { checkTools, runChecks, type CheckResult } from './pan-run.ts'

const DIR = import.meta.dirname

function line(r: CheckResult): string {
  const rep = r.report
  const cols = [
    r.model.padEnd(18),
    r.check.label.padEnd(26),
    r.check.expected.padEnd(9),
    (rep != null ? outcome(rep) : 'failed').padEnd(9),
    (rep != null ? `${rep.statesStored} states` : '-').padStart(15),
    (rep != null ? `depth ${rep.depth}` : '-').padStart(11),
    (rep != null ? `${rep.seconds.toFixed(2)} s` : '-').padStart(9),
    `(wall ${(r.wallMs / 1000).toFixed(1)} s)`.padEnd(15),
    r.problem == null ? 'ok' : `FAIL: ${r.problem}`
  ]
  return cols.join(' ')
}

async function main(): Promise<number> {
  const only = process.argv.slice(2)
  const models = readdirSync(DIR)
    .filter(f => f.endsWith('.pml'))
    .map(f => f.slice(0, -'.pml'.length))
    .filter(m => only.length === 0 || only.includes(m))
    .sort()
  const unknown = only.filter(m => !models.includes(m))
  if (unknown.length > 0) {
    console.error(`no such model: ${unknown.join(', ')}`)
    return 2
  }
  try {
    await checkTools()
  } catch (err) {
    console.error((err as Error).message)
    return 2
  }
  let failed = 0
  for (const m of models) {
    const path = join(DIR, `${m}.pml`)
    let header
    try {
      header = parseHeader(readFileSync(path, 'utf8'))
    } catch (err) {
      console.log(`${m}: FAIL: ${(err as Error).message}`)
      failed++
      continue
    }
    if (header.checks.length === 0) {
      console.log(`${m}: FAIL: no "// check:" line in its header`)
      failed++
      continue
    }
    const results = await runChecks(path, header.checks, header.boundS != null ? { boundS: header.boundS } : {})
    for (const r of results) {
      console.log(line(r))
      if (r.problem != null) failed++
    }
  }
  console.log(failed === 0 ? 'models: every check as expected' : `models: ${failed} check(s) failed`)
  return failed === 0 ? 0 : 1
}

process.exitCode = await main()
