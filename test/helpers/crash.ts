// Helpers for crash tests: control API calls with a per-call timeout (the
// daemon's port is read at call time, so a restarted daemon is reached at its
// new API port), a tally of the errors expected while a daemon is down, and
// bounded waiting.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ApiError, type Daemon } from './swarm.ts'

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
  const res = await fetch(`http://127.0.0.1:${d.apiPort}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenOf(d)}` },
    body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
    signal: AbortSignal.timeout(timeoutMs)
  })
  const text = await res.text()
  if (!res.ok) {
    let e: any = {}
    try {
      e = JSON.parse(text).error ?? {}
    } catch {}
    throw new ApiError(res.status, e.code ?? 'HTTP', e.message ?? text)
  }
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

/** Polls `cond` until it holds or `timeoutMs` passes; returns whether it held. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      if (await cond()) return true
    } catch {}
    await sleep(stepMs)
  }
  return false
}

/** Runs `fn` with one retry loop: up to `tries` attempts `delayMs` apart; the last error is thrown. */
export async function attempt<T>(tries: number, delayMs: number, fn: () => Promise<T>): Promise<T> {
  let last: unknown
  for (let i = 0; i < tries; i++) {
    try {
      return await fn()
    } catch (err) {
      last = err
    }
    await sleep(delayMs)
  }
  throw last
}

/** A coin as GET /v1/ppay/coins lists it. */
export interface Holding {
  key: string
  sn: string
  value: number
  owner: string
  seq: number
  depth: number
  status: string
  from: string
}
/** The wallet summary of GET /v1/ppay/status. */
export interface Summary {
  ownedUnassigned: { count: number; value: number }
  pendingDeliveries: number
  pendingBuys: number
}
/** A payment a crash test saw acknowledged. */
export interface Ack {
  to: Daemon
  sn: string
  value: number
  delivered: boolean
  via: string
}
