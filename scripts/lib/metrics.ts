// Reads the Table I counters of running daemons from their Prometheus /metrics.
import type { Daemon } from './swarm.ts'

export interface Counts {
  messages: number
  generated: number
  verified: number
}

export async function counts(daemons: Daemon[]): Promise<Counts> {
  const total: Counts = { messages: 0, generated: 0, verified: 0 }
  for (const d of daemons) {
    const text: string = await d.api('GET', '/metrics')
    for (const line of text.split('\n')) {
      const m = /^p2pay_(messages_sent|signatures_generated|signatures_verified)_total\{[^}]*\} (\d+)$/.exec(line)
      if (m == null) continue
      const n = Number(m[2])
      if (m[1] === 'messages_sent') total.messages += n
      else if (m[1] === 'signatures_generated') total.generated += n
      else total.verified += n
    }
  }
  return total
}

export function perOp(before: Counts, after: Counts, ops: number): Counts {
  const r = (x: number): number => Math.round((x / ops) * 100) / 100
  return {
    messages: r(after.messages - before.messages),
    generated: r(after.generated - before.generated),
    verified: r(after.verified - before.verified)
  }
}
