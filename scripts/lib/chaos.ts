// The chaos run: a broker, a TTP, a judge and six nodes (real processes started
// through the CLI) run PPay payments, file sales and Karma transfers without
// pause while daemons are killed with SIGKILL at seeded random moments and
// restarted, for a bounded time; then every invariant is checked. The schedule
// (who is killed, after how long a pause, for how long) comes from the seed
// alone, so a seed replays it; how much of it fits in the time, and the
// traffic's timing around each kill, still vary with the machine's speed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { call, rng, sleep } from './api.ts'
import { INITIAL, K, START_MS, startChaosSwarm } from './chaos-swarm.ts'
import { payments, purchases, transfers, type AckedPayment, type AckedPurchase, type AckedTransfer } from './load.ts'
import * as inv from './invariants.ts'
import type { Daemon } from './swarm.ts'

/** traffic between a restart and the next fault, ms */
const GAP_MS = { min: 500, max: 4000 }
/** how long a killed daemon stays down, ms */
const DOWN_MS = { min: 0, max: 3000 }
/** chance that a fault kills two daemons at once */
const DOUBLE = 0.2
/** a restart that fails is tried again this many times before the run gives up on the daemon */
const RESTART_TRIES = 3

/** the name of the check that no honest Karma member was named a liar */
export const KARMA_LIARS = 'no honest Karma member named a liar'

export interface ChaosOptions {
  seed: number
  /** how long faults are injected (setup and the final checks come on top) */
  ms: number
  /** run exactly the schedule's first `faults` faults, however long restarts take (ms is then ignored) */
  faults?: number
  log?: (line: string) => void
}

/** One fault: `gapMs` after the last restart, the daemons `victims` (indexes) are killed for `downMs`. */
export interface Fault {
  gapMs: number
  victims: number[]
  downMs: number
}

export interface ChaosResult {
  seed: number
  faults: number
  acked: { payments: number; purchases: number; transfers: number }
  traffic: string[]
  violations: string[]
  /** kept when there are violations, with each daemon's log as `<name>.log` */
  dir?: string
}

/** The kill schedule from the seed alone: faults one after another, as many as fit in `ms` (restarts take none). */
export function schedule(seed: number, ms: number, daemons: number, max = Infinity): Fault[] {
  const rand = rng(seed)
  const between = (r: { min: number; max: number }): number => Math.round(r.min + rand() * (r.max - r.min))
  const faults: Fault[] = []
  for (let total = 0; ;) {
    const gapMs = between(GAP_MS)
    const first = Math.floor(rand() * daemons)
    const victims = [first]
    if (rand() < DOUBLE) victims.push((first + 1 + Math.floor(rand() * (daemons - 1))) % daemons)
    const downMs = between(DOWN_MS)
    total += gapMs + downMs
    if (total > ms || faults.length >= max) return faults
    faults.push({ gapMs, victims, downMs })
  }
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? (() => {})
  const dir = mkdtempSync(join(tmpdir(), 'p2pay-chaos-'))
  const started: Daemon[] = []
  const result: ChaosResult = {
    seed: o.seed,
    faults: 0,
    acked: { payments: 0, purchases: 0, transfers: 0 },
    traffic: [],
    violations: []
  }
  try {
    const { broker, judge, nodes, all, fileId, fileSha, filesDir } = await startChaosSwarm(dir, started)
    const [A, B, P, D] = nodes
    const paid: AckedPayment[] = []
    const bought: AckedPurchase[] = []
    const moved: AckedTransfer[] = []
    // traffic draws from its own stream, so the kill schedule does not depend on how much traffic ran
    const loops = [
      payments(A, B, paid),
      purchases(D, P, fileId, filesDir, bought),
      transfers(nodes, moved, rng(o.seed ^ 0x5bd1e995))
    ]
    const faults =
      o.faults !== undefined ? schedule(o.seed, Infinity, all.length, o.faults) : schedule(o.seed, o.ms, all.length)
    log(o.faults !== undefined ? `${o.faults} faults` : `up to ${faults.length} faults in ${Math.round(o.ms / 1000)} s`)
    const deadline = o.faults !== undefined ? Infinity : Date.now() + o.ms
    try {
      result.faults = await inject(all, faults, deadline, log, result.violations)
    } finally {
      await Promise.all(loops.map(async l => await l.stop()))
    }
    result.traffic = loops.map(l => `${l.name}: ${l.tally.toString()}`)
    result.acked = { payments: paid.length, purchases: bought.length, transfers: moved.length }
    for (const t of result.traffic) log(t)
    log(`acknowledged: ${paid.length} payments, ${bought.length} purchases, ${moved.length} transfers`)
    if (result.violations.length === 0) {
      const f = new inv.Findings(log)
      await f.check('every daemon answers', async () => await inv.allAnswer(all))
      await f.check('acknowledged PPay payments intact and cashed once', async () => await inv.ppayIntact(A, B, paid))
      await f.check('acknowledged purchases intact, cheques deposited', async () => {
        await inv.fairexIntact(D, P, bought, fileSha)
      })
      await f.check('broker audit holds', async () => await inv.auditHolds(broker))
      await f.check('Karma: acknowledged transfers done, sum conserved, banks agree', async () => {
        await inv.karmaConserved(nodes, moved, { k: K, initial: INITIAL, rand: rng(o.seed ^ 0x27d4eb2d) })
      })
      await f.check('nobody convicted', async () => await inv.nobodyConvicted(broker, judge))
      await f.check(KARMA_LIARS, async () => await inv.noKarmaLiar(nodes))
      await f.check('no internal failure logged', async () => inv.cleanLogs(all))
      await f.check('every daemon stops in order (exit 0)', async () => await inv.stopsInOrder(all))
      result.violations.push(...f.violations)
    }
  } finally {
    await Promise.all(started.map(async d => await d.stop()))
    if (result.violations.length > 0 || process.env.P2PAY_KEEP_TEST_DIRS != null) result.dir = dir
    else rmSync(dir, { recursive: true, force: true })
  }
  return result
}

/**
 * Runs the schedule until `deadline` (a slow restart uses up the time of later faults); returns the faults
 * injected. A daemon that cannot restart is a violation and ends the run.
 */
async function inject(
  all: Daemon[],
  faults: Fault[],
  deadline: number,
  log: (l: string) => void,
  violations: string[]
): Promise<number> {
  const t0 = Date.now()
  let n = 0
  for (const f of faults) {
    if (Date.now() + f.gapMs + f.downMs > deadline) break
    await sleep(f.gapMs)
    const victims = f.victims.map(i => all[i])
    await Promise.all(victims.map(async v => await v.kill9()))
    n++
    log(`+${((Date.now() - t0) / 1000).toFixed(1)} s kill -9 ${victims.map(inv.label).join(', ')} for ${f.downMs} ms`)
    await sleep(f.downMs)
    const back = Date.now()
    for (const v of victims) {
      const err = await restart(v, log)
      if (err !== undefined) {
        violations.push(`${inv.label(v)} did not restart after kill -9: ${err}\n${v.logTail(20)}`)
        return n
      }
    }
    log(`  restarted in ${((Date.now() - back) / 1000).toFixed(1)} s`)
  }
  return n
}

/** Starts a killed daemon again; a start that fails is logged and tried again, the last failure returned. */
async function restart(d: Daemon, log: (l: string) => void): Promise<string | undefined> {
  let last = ''
  for (let i = 0; i < RESTART_TRIES; i++) {
    try {
      await d.start(START_MS)
      await call(d, 'GET', '/v1/status')
      return undefined
    } catch (err) {
      last = err instanceof Error ? err.message : String(err)
      log(`  ${inv.label(d)} did not start (${last.slice(0, 200)}); trying again`)
      await d.kill9()
      await sleep(1000)
    }
  }
  return last
}
