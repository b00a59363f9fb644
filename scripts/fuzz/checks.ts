// What must hold after a fuzz run: every daemon answers a good request (over
// the wire and its control API), no state changed (every GET route that needs
// no query, before and after), the broker's audit holds, no daemon logged an
// internal failure, and resident memory came back near where it started.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { ApiError, type Daemon } from '../lib/swarm.ts'
import type { World } from './world.ts'
import { alive } from './wire.ts'

/** Routes whose answers move on their own (counters, clocks, connections, uptimes): not state. */
const volatile = (path: string): boolean => path === '/v1/routes' || path === '/metrics' || path.endsWith('/status')

export type Snapshot = Record<string, unknown>

/** Every GET route of every daemon that answers without a query, keyed by daemon and path. */
export async function snapshot(w: World, routes: Map<Daemon, string[]>): Promise<Snapshot> {
  const out: Snapshot = {}
  for (const d of w.daemons) {
    for (const path of routes.get(d) ?? []) {
      if (volatile(path)) continue
      const key = `${d.kind}:${d.peerId.slice(-6)} ${path}`
      // a route that needs a query answers with its refusal, the same before and after
      out[key] = await d
        .api('GET', path)
        .catch((err: unknown) => ({ refused: err instanceof ApiError ? err.code : 'no answer' }))
    }
  }
  return out
}

/** The keys whose values differ between two snapshots. */
export function diff(a: Snapshot, b: Snapshot): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...keys].filter(k => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort()
}

/** Resident memory of a daemon's process, in bytes. */
export function rss(d: Daemon): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${d.pid}/status`, 'utf8'))
  return m == null ? 0 : Number(m[1]) * 1024
}

/** Lines a daemon logged at level error since byte `from` of its log. */
export function errorsSince(d: Daemon, from: number): string[] {
  return readFileSync(`${d.dataDir}.log`)
    .subarray(from)
    .toString('utf8')
    .split('\n')
    .filter(l => l.includes('"level":"error"'))
}

export const logSize = (d: Daemon): number => readFileSync(`${d.dataDir}.log`).byteLength

/** Each daemon serves: its good requests of the session answer ok again, and its status route answers. */
export async function assertServes(w: World): Promise<void> {
  for (const d of w.daemons) {
    assert.ok(alive(d), `${d.kind} is not running: ${d.logTail(5)}`)
    assert.equal((await d.api('GET', '/v1/status')).role, d.kind)
    for (const g of w.good.get(d) ?? []) {
      const ex = await w.me.exchange(d.addr, g.protocol, async (_s, lp, signal) => {
        await lp.write(g.frame, { signal })
      })
      const replies = ex.frames.map(f => JSON.parse(Buffer.from(f).toString('utf8')))
      assert.equal(replies.length, 1, `${d.kind} ${g.protocol}: ${JSON.stringify(replies)} (${ex.end})`)
      assert.equal(replies[0].ok, true, `${d.kind} ${g.protocol}: ${JSON.stringify(replies[0]).slice(0, 300)}`)
    }
  }
}
