// One fuzz run: the world and its session, then seeded cases against every
// protocol and control-API route of every daemon, then the checks. Returns
// what it found; stops everything it started.
import { ApiError, audit, type Daemon } from '../lib/swarm.ts'
import { startWorld, protocolsOf, type World } from './world.ts'
import { caseRng, opsOf, runWireCase, wireCase, type Finding, type WireStats, type WireTarget } from './wire.ts'
import { httpCase, routesOf, runHttpCase, type HttpStats, type Route } from './http.ts'
import { assertServes, diff, errorsSince, logSize, rss, snapshot, type Snapshot } from './checks.ts'

export interface FuzzOptions {
  seed: number
  /** stop after this many cases ... */
  rounds?: number
  /** ... or after this many seconds, whichever comes first */
  seconds?: number
  concurrency?: number
  log?: (s: string) => void
}

export interface FuzzReport {
  seed: number
  protocols: Record<string, string[]>
  routes: number
  wire: WireStats
  http: HttpStats
  findings: Finding[]
  /** what failed in the checks after the run (empty: all held) */
  failures: string[]
  memory: Array<{ daemon: string; before: number; after: number }>
}

const MiB = 1024 * 1024
/** how far a daemon's resident memory may stay above where it started, once the run is over */
export const rssBound = (before: number): number => before + Math.max(128 * MiB, before)
const sleep = async (ms: number): Promise<void> => await new Promise(r => setTimeout(r, ms))

/** A snapshot that no longer moves (the session's own work, deposits and syncs, has settled). */
async function settled(w: World, routes: Map<Daemon, string[]>, log: (s: string) => void): Promise<Snapshot> {
  let s = await snapshot(w, routes)
  for (let i = 0; i < 15; i++) {
    await sleep(2000)
    const next = await snapshot(w, routes)
    const moved = diff(s, next)
    s = next
    if (moved.length === 0) return s
    log(`waiting for the world to settle: ${moved.join(', ')}`)
  }
  throw new Error('the state did not settle before the fuzz')
}

/** A run on a world of its own, stopped after. */
export async function fuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? ((s: string) => console.log(s))
  const w = await startWorld(log)
  try {
    return await fuzzWorld(w, opts)
  } finally {
    await w.me.stop().catch(() => {})
    await w.swarm.stopAll()
  }
}

/** Routes that describe the process (its memory, its live connections), not state a request could change. */
const PROCESS_ROUTES = new Set(['/v1/memory', '/v1/peers'])

/** The GET routes of each daemon: what a snapshot of its state reads. */
export async function stateRoutes(w: World): Promise<Map<Daemon, string[]>> {
  const out = new Map<Daemon, string[]>()
  for (const d of w.daemons)
    out.set(
      d,
      (await routesOf(d)).filter(r => r.method === 'GET' && !PROCESS_ROUTES.has(r.path)).map(r => r.path)
    )
  return out
}

/** A run on a running world (its session done); the world is left running. */
export async function fuzzWorld(w: World, opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? ((s: string) => console.log(s))
  const { seed } = opts
  const rounds = opts.rounds ?? Number.POSITIVE_INFINITY
  log(`fuzz: seed ${seed} (replay with --seed ${seed})`)
  const report: FuzzReport = {
    seed,
    protocols: {},
    routes: 0,
    wire: { cases: 0, ends: {}, byKind: {} },
    http: { cases: 0, status: {}, accepted: [] },
    findings: [],
    failures: [],
    memory: []
  }
  const targets: WireTarget[] = []
  const routes: Route[] = []
  const getRoutes = await stateRoutes(w)
  for (const d of w.daemons) {
    const ps = await protocolsOf(w.me, d)
    report.protocols[`${d.kind} ${d.peerId}`] = ps
    targets.push(...ps.map(protocol => ({ d, protocol })))
    for (const r of await routesOf(d)) {
      // what a POST does with an empty body decides which bodies it is sent (see http.ts); a route counts as
      // needing fields only if it refuses `{}` as BAD_REQUEST twice (a transient refusal is no proof it will not act)
      const needsFields = async (): Promise<boolean> =>
        await d.api('POST', r.path, {}).then(
          () => false,
          (err: unknown) => err instanceof ApiError && err.code === 'BAD_REQUEST'
        )
      const acts = r.method === 'POST' && !((await needsFields()) && (await needsFields()))
      routes.push({ d, ...r, acts })
    }
  }
  report.routes = routes.length
  const fields = routes.filter(r => r.method === 'POST' && !r.acts).map(r => `${r.d.kind} ${r.path}`)
  log(`POST routes sent hostile bodies (they refuse {}): ${[...new Set(fields)].join(', ')}`)
  const ops = opsOf(w.captured)
  log(`targets: ${targets.length} (daemon, protocol) pairs, ${routes.length} routes, ops seen: ${ops.join(' ')}`)

  const before = await settled(w, getRoutes, log)
  const { holds } = await audit(w.broker)
  if (!holds) report.failures.push('the broker audit did not hold before the fuzz')
  const rss0 = new Map(w.daemons.map(d => [d, rss(d)]))
  const log0 = new Map(w.daemons.map(d => [d, logSize(d)]))

  let next = 0
  const until = performance.now() + (opts.seconds ?? 60) * 1000
  const worker = async (): Promise<void> => {
    while (next < rounds && performance.now() < until && report.findings.length < 20) {
      const n = next++
      let f: Finding | undefined
      if (n % 4 === 3) {
        const rng = caseRng(seed, n)
        const r = rng.pick(routes)
        f = await runHttpCase(r, httpCase(rng, r, w.bodies), n, report.http)
      } else {
        const { target, c } = wireCase(seed, n, targets, w.captured, ops)
        f = await runWireCase(w.me, target, c, n, report.wire)
      }
      if (f != null) {
        log(`FINDING #${n} ${f.where} (${f.kind}): ${f.detail}`)
        report.findings.push(f)
      }
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker))
  const { wire, http } = report
  log(`fuzz: ${wire.cases} wire cases ${JSON.stringify(wire.ends)}`)
  log(`fuzz: ${http.cases} http cases ${JSON.stringify(http.status)}`)

  // the checks
  try {
    await assertServes(w)
  } catch (err) {
    report.failures.push(`a daemon does not serve: ${(err as Error).message}`)
  }
  let moved: string[] = []
  let now: Snapshot = before
  for (let i = 0; i < 5; i++) {
    now = await snapshot(w, getRoutes)
    moved = diff(before, now)
    if (moved.length === 0) break
    await sleep(2000)
  }
  const show = (v: unknown): string => (v === undefined ? 'no answer' : JSON.stringify(v).slice(0, 400))
  for (const k of moved) report.failures.push(`state changed: ${k} from ${show(before[k])} to ${show(now[k])}`)
  if (!(await audit(w.broker)).holds) report.failures.push('the broker audit does not hold')
  for (const d of w.daemons) {
    const errs = errorsSince(d, log0.get(d)!)
    if (errs.length > 0) report.failures.push(`${d.kind} logged errors: ${errs.slice(0, 3).join(' | ').slice(0, 1500)}`)
  }
  for (const d of w.daemons) {
    const start = rss0.get(d)!
    let after = rss(d)
    // garbage is collected when V8 sees fit: give it a little time before calling memory kept
    for (let i = 0; i < 10 && after > rssBound(start); i++) {
      await sleep(1000)
      after = rss(d)
    }
    report.memory.push({ daemon: d.kind, before: start, after })
    if (after > rssBound(start))
      report.failures.push(`${d.kind} resident memory ${(after / MiB) | 0} MiB, from ${(start / MiB) | 0} MiB`)
  }
  if (report.http.accepted.length > 0) log(`hostile bodies accepted: ${report.http.accepted.join('\n  ')}`)
  return report
}
