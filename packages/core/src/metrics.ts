// Prometheus-style counters and gauges. Every service counts, per transaction
// kind, messages sent, signatures generated and signatures verified, so the
// survey's Table I can be measured on the running system.
type Labels = Record<string, string>

/**
 * The three Table I counters, by transaction kind. A scheme declares its kinds
 * as a union (`typeof KINDS[number]`) and takes `Counters<ItsKind>`, so a kind
 * it never declared does not compile.
 */
export interface Counters<K extends string = string> {
  messageSent(kind: K, n?: number): void
  signed(kind: K): void
  verified(kind: K): void
}

const key = (name: string, labels: Labels): string =>
  `${name}{${Object.keys(labels)
    .sort()
    .map(k => `${k}="${labels[k].replace(/["\\\n]/g, '_')}"`)
    .join(',')}}`

/** series kept at most; new ones past it are counted under kind `other` */
export const MAX_SERIES = 4096
const OTHER = 'other'
const TABLE_I = ['messages_sent_total', 'signatures_generated_total', 'signatures_verified_total'] as const

export class Metrics implements Counters {
  private readonly counters = new Map<string, number>()
  private readonly gauges = new Map<string, () => number>()
  private readonly help = new Map<string, string>()

  readonly prefix: string
  constructor(prefix = 'p2pay') {
    this.prefix = prefix
    this.describe('messages_sent_total', 'Protocol messages sent, by transaction kind')
    this.describe('signatures_generated_total', 'Signatures generated, by transaction kind')
    this.describe('signatures_verified_total', 'Signatures verified, by transaction kind')
  }

  describe(name: string, help: string): void {
    this.help.set(name, help)
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    let k = key(name, labels)
    // a peer names the kind it counts under: past a bound, new names share one series, so the map cannot grow
    if (!this.counters.has(k) && this.counters.size >= MAX_SERIES) k = key(name, { kind: OTHER })
    this.counters.set(k, (this.counters.get(k) ?? 0) + by)
  }

  gauge(name: string, read: () => number, help?: string): void {
    this.gauges.set(name, read)
    if (help != null) this.help.set(name, help)
  }

  /** Makes the Table I counters of every kind visible (at 0) before the first message. */
  declareKinds(kinds: readonly string[]): void {
    for (const kind of kinds) {
      for (const name of TABLE_I) {
        const k = key(name, { kind })
        if (!this.counters.has(k)) this.counters.set(k, 0)
      }
    }
  }

  messageSent(kind: string, n = 1): void {
    this.inc('messages_sent_total', { kind }, n)
  }
  signed(kind: string): void {
    this.inc('signatures_generated_total', { kind })
  }
  verified(kind: string): void {
    this.inc('signatures_verified_total', { kind })
  }

  /** Counter values keyed `name{labels}`, for tests and benchmarks. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counters)
  }

  /** Sum of one counter for one kind (or all kinds). */
  get(name: string, kind?: string): number {
    let n = 0
    for (const [k, v] of this.counters) {
      if (!k.startsWith(`${name}{`)) continue
      if (kind == null || k.includes(`kind="${kind}"`)) n += v
    }
    return n
  }

  prometheus(): string {
    const lines: string[] = []
    const seen = new Set<string>()
    const head = (name: string, type: string): void => {
      if (seen.has(name)) return
      seen.add(name)
      const h = this.help.get(name)
      if (h != null) lines.push(`# HELP ${this.prefix}_${name} ${h}`)
      lines.push(`# TYPE ${this.prefix}_${name} ${type}`)
    }
    for (const k of [...this.counters.keys()].sort()) {
      const name = k.slice(0, k.indexOf('{'))
      head(name, 'counter')
      lines.push(`${this.prefix}_${k.replace('{}', '')} ${this.counters.get(k)}`)
    }
    for (const [name, read] of this.gauges) {
      head(name, 'gauge')
      lines.push(`${this.prefix}_${name} ${read()}`)
    }
    return lines.join('\n') + '\n'
  }
}
