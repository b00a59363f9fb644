// Shared by the benchmarks: the command line (flags, `--json`), printing, buying
// coins on a node and summing a daemon's message and signature counters.
import { parseArgv } from '@p2pay/core'
import { readFileSync } from 'node:fs'
import type { Daemon } from '../lib/swarm.ts'

export const { flags, positional } = parseArgv(process.argv.slice(2))
export const json = flags.json === true
export const say = (s: string): void => {
  if (!json) process.stdout.write(s + '\n')
}
export const int = (name: string, d: number): number => (typeof flags[name] === 'string' ? Number(flags[name]) : d)

export async function buy(node: Daemon, n: number): Promise<void> {
  for (let left = n; left > 0; left -= 1000)
    await node.api('POST', '/v1/ppay/buy', { count: Math.min(left, 1000), value: 1 })
}

/** Counter sums per kind group, over a set of daemons. */
export async function kindCounts(
  daemons: Daemon[],
  kinds: string[]
): Promise<{ messages: number; generated: number; verified: number }> {
  const total = { messages: 0, generated: 0, verified: 0 }
  for (const d of daemons) {
    const text: string = await d.api('GET', '/metrics')
    for (const line of text.split('\n')) {
      const m = /^p2pay_(messages_sent|signatures_generated|signatures_verified)_total\{kind="([^"]+)"\} (\d+)$/.exec(
        line
      )
      if (m == null || !kinds.includes(m[2])) continue
      const n = Number(m[3])
      if (m[1] === 'messages_sent') total.messages += n
      else if (m[1] === 'signatures_generated') total.generated += n
      else total.verified += n
    }
  }
  return total
}

/** CPU time (user + system, ms) a daemon's process has used so far, from /proc (Linux; 0 elsewhere). */
export function cpuMs(d: Daemon): number {
  try {
    const stat = readFileSync(`/proc/${d.pid}/stat`, 'utf8')
    // fields after the command name (which may hold spaces): utime and stime are the 12th and 13th
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS
  } catch {
    return 0
  }
}
/** USER_HZ: the unit of /proc's CPU times, 100 on every Linux build in use */
const CLOCK_TICKS = 100
