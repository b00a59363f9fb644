// The control-API half of the fuzzer: bad HTTP at every route each daemon
// lists (GET /v1/routes). A 500, a dropped connection with no answer, or a
// daemon that exits is a finding. Hostile bodies go only to routes that
// refuse an empty one: a route that acts on `{}` (cash, sync, deposit) would
// act on any object, which is its contract, not a fault.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Daemon } from '../lib/swarm.ts'
import { rawHttp, type RawRequest, type RawResult } from '../../test/helpers/raw-http.ts'
import { hostileJson } from './mutate.ts'
import type { Rng } from './rng.ts'
import type { Finding } from './wire.ts'
import { alive } from './wire.ts'

export interface Route {
  d: Daemon
  method: 'GET' | 'POST'
  path: string
  /** a POST that answered 200 to `{}`: it is sent only bodies refused before the route runs */
  acts: boolean
}

export interface HttpStats {
  cases: number
  status: Record<string, number>
  /** POSTs with a hostile body that were accepted (each one a change of state to explain) */
  accepted: string[]
}

const QUERY_NAMES = ['peer', 'id', 'sn', 'account', 'provider', 'owner', 'since', 'fresh', 'limit', '__proto__']
const tokenOf = (d: Daemon): string => readFileSync(join(d.dataDir, 'api.token'), 'utf8').trim()

/** The routes of `d`, as it lists them. */
export async function routesOf(d: Daemon): Promise<Array<{ method: 'GET' | 'POST'; path: string }>> {
  const { routes } = await d.api<{ routes: string[] }>('GET', '/v1/routes')
  return routes.map(r => {
    const [method, path] = r.split(' ')
    return { method: method as 'GET' | 'POST', path }
  })
}

/**
 * A hostile value no field of a request may take. Not any string: "constructor" or "__proto__" is a file name a
 * share may rightly take, and an accepted request is a change of state, not a fault. Not null: an optional field
 * given null is one left out (a share without a name takes the file's).
 */
function notValid(rng: Rng): string {
  for (;;) {
    const v = hostileJson(rng)
    if (v === 'null') continue
    if (!v.startsWith('"') || v === '"\\u0000"' || v === '"\\ud800"' || v.length > 100_000) return v
  }
}

/** Hostile values in place of some fields of a real body (or of a made-up one). */
function hostileBody(rng: Rng, real: unknown): string {
  const base: Record<string, unknown> =
    real != null && typeof real === 'object' ? (real as Record<string, unknown>) : { x: 1 }
  const keys = Object.keys(base)
  const parts: string[] = []
  let changed = false
  for (const k of keys) {
    const last = !changed && k === keys[keys.length - 1]
    if (last || rng.chance(0.5)) {
      parts.push(`${JSON.stringify(k)}:${notValid(rng)}`)
      changed = true
    } else parts.push(`${JSON.stringify(k)}:${JSON.stringify(base[k])}`)
  }
  if (rng.chance(0.3)) parts.unshift(`${JSON.stringify(rng.pick(['__proto__', 'constructor']))}:${hostileJson(rng)}`)
  return `{${parts.join(',')}}`
}

/** A request refused before any route runs: not JSON, not an object, too big, or unauthenticated. */
function refusedBody(rng: Rng): Partial<RawRequest> {
  switch (rng.int(8)) {
    case 0:
      return { body: '{"a":' }
    case 1:
      return { body: '[1,2,3]' }
    case 2:
      return { body: rng.pick(['1', '"x"', 'null', 'true']) }
    case 3:
      return { body: 'x'.repeat(1024 * 1024 + 1 + rng.int(1000)) }
    case 4:
      return { body: '['.repeat(100_000) + ']'.repeat(100_000) }
    case 5:
      return { body: Buffer.from(rng.bytes(200)).toString('latin1') }
    case 6:
      return { token: 'wrong', body: '{}' }
    default:
      return { token: '', body: '{}' }
  }
}

function query(rng: Rng): string {
  const n = 1 + rng.int(3)
  const parts: string[] = []
  for (let i = 0; i < n; i++) {
    const v = rng.chance(0.5)
      ? hostileJson(rng).slice(0, 20_000)
      : rng.pick(['', '%00', '%zz', '\u00ff', '-1', '1e999'])
    parts.push(`${rng.pick(QUERY_NAMES)}=${encodeURIComponent(v)}`)
  }
  return parts.join('&')
}

/** One request against `r` (or a twisted path next to it). */
export function httpCase(rng: Rng, r: Route, bodies: Map<string, unknown[]>): RawRequest & { hostile: boolean } {
  const token = tokenOf(r.d)
  const pick = rng.int(6)
  // a route that acts on `{}` (or on no body) is reached only with a body it refuses: a query, a trailing slash or
  // a POST twin of a GET path may still reach it
  const refused = r.acts ? { body: '{"a":' } : {}
  if (pick === 0) {
    const method = r.method === 'GET' ? 'POST' : 'GET'
    return { method, path: r.path, token, ...(method === 'POST' ? { body: '{"a":' } : {}), hostile: false }
  }
  if (pick === 1) {
    const path = rng.pick([`${r.path}/`, `/${r.path}`, `${r.path}/..`, `${r.path}%00`, `${r.path}?${'q'.repeat(9000)}`])
    return { method: r.method, path, token, ...refused, hostile: false }
  }
  if (r.method === 'GET' || pick === 2)
    return { method: r.method, path: `${r.path}?${query(rng)}`, token, ...refused, hostile: false }
  if (r.acts || pick === 3) return { method: 'POST', path: r.path, token, ...refusedBody(rng), hostile: false }
  const real = bodies.get(`POST ${r.path}`)
  return {
    method: 'POST',
    path: r.path,
    token,
    body: hostileBody(rng, real != null ? rng.pick(real) : undefined),
    hostile: true
  }
}

export async function runHttpCase(
  r: Route,
  req: RawRequest & { hostile: boolean },
  caseNo: number,
  stats: HttpStats
): Promise<Finding | undefined> {
  stats.cases++
  const res: RawResult = await rawHttp(r.d.apiPort, req, 30_000)
  const where = `${r.d.kind} ${r.method} ${r.path}`
  const what = `${req.method} ${req.path.slice(0, 120)} body ${(req.body ?? '').slice(0, 120)}`
  if (!alive(r.d)) return { where, kind: 'http', detail: `daemon exited after ${what}: ${r.d.logTail(5)}`, caseNo }
  if ('error' in res) {
    stats.status.error = (stats.status.error ?? 0) + 1
    // a body past the limit (413) or a request line past node's header limit (431) is answered and the socket
    // closed at once: the client may see the close before the answer
    if ((req.body?.length ?? 0) > 1024 * 1024 || req.path.length > 16 * 1024) return undefined
    return { where, kind: 'http', detail: `no answer to ${what}: ${res.error}`, caseNo }
  }
  stats.status[res.status] = (stats.status[res.status] ?? 0) + 1
  // 502, 503 and 504 are the daemon's own answers for an unreachable peer, a stop and a timeout
  if (res.status === 500 || res.status > 504)
    return { where, kind: 'http', detail: `${res.status} to ${what}: ${res.body.slice(0, 300)}`, caseNo }
  if (req.hostile && res.status === 200) stats.accepted.push(`#${caseNo} ${where}: ${(req.body ?? '').slice(0, 2000)}`)
  return undefined
}
