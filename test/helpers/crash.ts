// Helpers for crash tests: control API calls with a per-call timeout, a tally of
// the errors expected while a daemon is down (both shared with the scripts, in
// scripts/lib/api.ts), and bounded waiting.
import { call, sleep } from '../../scripts/lib/api.ts'
import { type Daemon } from './swarm.ts'

export { call, errorKind, sleep, Tally } from '../../scripts/lib/api.ts'

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

/** A node's PPay holdings. */
export const heldOf = async (d: Daemon): Promise<Holding[]> =>
  (await call<{ held: Holding[] }>(d, 'GET', '/v1/ppay/coins')).held

/** Retries on a node until nothing is pending: no queued delivery or purchase, no held coin half-spent. */
export async function drain(d: Daemon, tries = 40): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    try {
      const s = await call<Summary>(d, 'POST', '/v1/ppay/retry', {}, 30_000)
      if (s.pendingDeliveries === 0 && s.pendingBuys === 0 && !(await heldOf(d)).some(h => h.status === 'spending'))
        return true
    } catch {}
    await sleep(250)
  }
  return false
}

/** Cashes until nothing is left 'held' or 'cashing' (bounded); returns the wallet's holdings. */
export async function cashAll(d: Daemon, tries = 20): Promise<Holding[]> {
  for (let i = 0; i < tries; i++) {
    try {
      await call(d, 'POST', '/v1/ppay/cash', {}, 30_000)
    } catch {}
    try {
      const held = await heldOf(d)
      if (!held.some(h => h.status === 'held' || h.status === 'cashing')) return held
    } catch {}
    await sleep(250)
  }
  return await heldOf(d)
}
