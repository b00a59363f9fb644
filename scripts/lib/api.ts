// Control API calls for scripts that drive a swarm under faults: a per-call
// timeout (the daemon's port is read at call time, so a restarted daemon is
// reached at its new API port), and a tally of the errors expected while a
// daemon is down or restarting.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ApiError, apiError, type Daemon } from './swarm.ts'

export const sleep = async (ms: number): Promise<void> => await new Promise(r => setTimeout(r, ms))

const tokens = new Map<string, string>()
function tokenOf(d: Daemon): string {
  let t = tokens.get(d.dataDir)
  if (t == null) {
    t = readFileSync(join(d.dataDir, 'api.token'), 'utf8').trim() // survives restarts
    tokens.set(d.dataDir, t)
  }
  return t
}

/** Control API call that gives up after `timeoutMs`; throws ApiError on a non-2xx answer. */
export async function call<T = any>(
  d: Daemon,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  timeoutMs = 15_000
): Promise<T> {
  const res = await fetch(`http://${d.apiHost}:${d.apiPort}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenOf(d)}` },
    body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
    signal: AbortSignal.timeout(timeoutMs)
  })
  const text = await res.text()
  if (!res.ok) throw apiError(res.status, text)
  return JSON.parse(text) as T
}

/** A short name for an error, to count errors by kind. */
export function errorKind(err: unknown): string {
  if (err instanceof ApiError) return `${err.status} ${err.code}`
  const e = err as any
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'client timeout'
  const cause = e?.cause?.code ?? e?.cause?.message
  const what = cause != null ? ` ${String(cause)}` : `: ${String(e?.message ?? e).slice(0, 60)}`
  return `${String(e?.name ?? 'Error')}${what}`
}

/** Counts successes and errors (by kind) of one kind of call. */
export class Tally {
  ok = 0
  readonly errors = new Map<string, number>()
  readonly samples: string[] = []
  fail(err: unknown): void {
    const k = errorKind(err)
    this.errors.set(k, (this.errors.get(k) ?? 0) + 1)
    if (this.samples.length < 5 && err instanceof ApiError) this.samples.push(`${k}: ${err.message.slice(0, 160)}`)
  }

  get failed(): number {
    let n = 0
    for (const v of this.errors.values()) n += v
    return n
  }
  toString(): string {
    const which = this.failed > 0 ? ` ${JSON.stringify(Object.fromEntries(this.errors))}` : ''
    return `ok ${this.ok}, errors ${this.failed}${which}`
  }
}

/** Reproducible choices from a seed (mulberry32): schedules and traffic, never secrets. */
export function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
