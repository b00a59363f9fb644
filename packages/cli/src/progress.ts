// `p2pay fairex buy`: the purchase runs inside the node (POST /v1/fairex/buy
// answers when it is over); meanwhile the CLI polls the node's purchase list
// and draws how far the download got.
import { api, type ApiTarget } from './client.ts'

const POLL_MS = 250
const MiB = 1024 * 1024
const BAR = 30

export interface FileBuy {
  provider: string
  addrs: string[]
  fileId: string
  out: string
  form?: string
}
interface Progress {
  received: number
  total?: number
}

const num = (...vs: unknown[]): number | undefined =>
  vs.find((v): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0)

/**
 * Bytes received and total of this purchase in a GET /v1/fairex/purchases
 * answer. Read loosely (received|bytesReceived|bytes, size|total|bytesTotal):
 * it only feeds a progress bar, and the newest matching entry wins.
 */
export function progressOf(
  list: unknown,
  b: { provider: string; fileId: string },
  since: number
): Progress | undefined {
  const items: any[] = Array.isArray(list)
    ? list
    : Array.isArray((list as any)?.purchases)
      ? (list as any).purchases
      : []
  const mine = items.filter(
    p => p != null && p.fileId === b.fileId && (p.provider === undefined || p.provider === b.provider)
  )
  // an earlier purchase of the same file must not show as this one's progress
  const at = (p: any): number | undefined => num(p.startedAt, p.at, p.createdAt, p.ts)
  const fresh = mine.filter(p => (at(p) ?? since) >= since - 5000)
  const p = fresh.at(-1)
  if (p == null) return undefined
  const received = num(p.received, p.bytesReceived, p.bytes, p.downloaded, p.progress?.received)
  if (received === undefined) return undefined
  return { received, total: num(p.size, p.total, p.bytesTotal, p.progress?.total, p.manifest?.size) }
}

const mib = (n: number): string => (n / MiB).toFixed(1)

export function progressLine(p: Progress, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? `${(p.received / MiB / (elapsedMs / 1000)).toFixed(1)} MiB/s` : ''
  if (p.total === undefined || p.total === 0) return `${mib(p.received)} MiB  ${rate}`
  const frac = Math.min(1, p.received / p.total)
  const fill = Math.round(frac * BAR)
  const bar = `[${'#'.repeat(fill)}${'.'.repeat(BAR - fill)}]`
  return `${bar} ${mib(p.received)} / ${mib(p.total)} MiB  ${(frac * 100).toFixed(0).padStart(3)}%  ${rate}`
}

/** Runs the purchase; a bar on stderr when `bar`, otherwise one plain line at the end. */
export async function buyFile(t: ApiTarget, b: FileBuy, bar: boolean): Promise<unknown> {
  const since = Date.now()
  let last: Progress | undefined
  let done = false
  let wake: (() => void) | undefined
  const poll = (async () => {
    while (!done) {
      try {
        last = progressOf(await api(t, 'GET', '/v1/fairex/purchases', undefined, { timeoutMs: 5000 }), b, since) ?? last
        if (bar && last !== undefined && !done)
          process.stderr.write(`\r${progressLine(last, Date.now() - since)}\x1b[K`)
      } catch {} // the bar is best effort: the purchase's own answer is what counts
      await new Promise<void>(resolve => {
        wake = resolve
        setTimeout(resolve, POLL_MS)
      })
    }
  })()
  let result: any
  try {
    // no client timeout worth the name: the node bounds every step of a sale itself
    result = await api(t, 'POST', '/v1/fairex/buy', b, { timeoutMs: 7 * 24 * 3600_000 })
  } finally {
    done = true
    wake?.()
    await poll
    if (bar && last !== undefined) process.stderr.write('\n')
  }
  const size = num(result?.size, result?.bytes, result?.received, last?.total, last?.received)
  const elapsed = Date.now() - since
  if (size !== undefined) {
    process.stderr.write(
      `received ${mib(size)} MiB in ${(elapsed / 1000).toFixed(1)} s ` +
        `(${(size / MiB / Math.max(elapsed / 1000, 0.001)).toFixed(1)} MiB/s) -> ${b.out}\n`
    )
  }
  return result
}
