// Resident memory of running processes, read from /proc/<pid>/status (VmRSS and
// its anonymous and file-backed parts), and a sampler that reads a set of pids
// at a fixed interval for the memory benchmark's peak and steady figures.
import { readFileSync } from 'node:fs'

const MIB = 1024 * 1024

export interface Rss {
  /** VmRSS, MiB */
  rss: number
  /** RssAnon: heap, stacks, wasm memories, malloc, MiB */
  anon: number
  /** RssFile: pages of the node binary and shared libraries in memory, MiB */
  file: number
  /** VmHWM: the highest VmRSS the process reached, MiB */
  hwm: number
  /** threads of the process now (main, libuv's, V8's, worker threads) */
  threads: number
}

const round = (kib: number): number => Math.round((kib * 1024 * 10) / MIB) / 10

/** The process's resident memory now; undefined once it is gone (or where there is no /proc). */
export function rssOf(pid: number): Rss | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN)
    return {
      rss: round(kib('VmRSS')),
      anon: round(kib('RssAnon')),
      file: round(kib('RssFile')),
      hwm: round(kib('VmHWM')),
      threads: Number(/^Threads:\s+(\d+)/m.exec(s)?.[1] ?? NaN)
    }
  } catch {
    return undefined
  }
}

export const median = (xs: number[]): number => {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** VmRSS of each pid every `intervalMs` until stopped. */
export class RssSampler {
  readonly samples = new Map<number, number[]>()
  private timer?: NodeJS.Timeout
  private readonly pids: number[]
  private readonly intervalMs: number
  constructor(pids: number[], intervalMs = 250) {
    this.pids = pids
    this.intervalMs = intervalMs
  }

  start(): this {
    const take = (): void => {
      for (const pid of this.pids) {
        const r = rssOf(pid)
        if (r == null) continue
        let xs = this.samples.get(pid)
        if (xs == null) this.samples.set(pid, (xs = []))
        xs.push(r.rss)
      }
    }
    take()
    this.timer = setInterval(take, this.intervalMs)
    return this
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** Per pid: the highest sample, and the median of the later half (the run past its start-up). */
  figures(): { peak: number[]; steady: number[]; samples: number } {
    const peak: number[] = []
    const steady: number[] = []
    let samples = 0
    for (const xs of this.samples.values()) {
      peak.push(Math.max(...xs))
      steady.push(median(xs.slice(Math.floor(xs.length / 2))))
      samples += xs.length
    }
    return { peak, steady, samples }
  }
}
