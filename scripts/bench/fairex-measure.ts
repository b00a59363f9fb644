// What the file-market benchmark measures besides the sales themselves: the
// stream baselines (a bare js-libp2p stream between two plain processes, the
// daemons' raw stream between the same two nodes), each daemon's CPU time from
// /proc, and the Table I counters of every kind a sale costs.
import { readFileSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import type { Daemon } from '../lib/swarm.ts'
import { bareStream, median } from './bare-stream.ts'
import { kindCounts } from './common.ts'

/** clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux) */
const TICKS_PER_S = 100

/** CPU time (user + system) a process has used so far, in ms; 0 where /proc is not readable. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields 14 and 15 of stat(5), counted from the state (field 3) here
    return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S
  } catch {
    return 0
  }
}

export const cpuOf = (ds: Daemon[]): number => ds.reduce((t, d) => t + cpuMs(d.pid), 0)

export interface Baselines {
  bare: { mibPerSecond: number; runs: number[]; resetRuns: number }
  /** the two daemons' CPU per MiB sent on their raw stream (user + system, both ends) */
  raw: { mibPerSecond: number; runs: number[]; cpuMsPerMiB: number }
}

/**
 * The bare and the daemons' raw stream, `runs` times each, taken in turns so
 * that a change in the machine's load touches both; medians.
 */
export async function baselines(D: Daemon, P: Daemon, bytes: number, runs: number): Promise<Baselines> {
  const bare: number[] = []
  const raw: number[] = []
  let resets = 0
  let cpu = 0
  for (let i = 0; i < runs; i++) {
    // at its defaults a bare reader that falls behind (a loaded machine) gets its stream reset: 4 MiB read buffer,
    // 16 MiB window; such a run is made again, and counted
    for (;;) {
      try {
        bare.push((await bareStream(bytes)).mibPerSecond)
        break
      } catch (err) {
        if (++resets > 2 * runs) throw err
      }
    }
    const cpu0 = cpuOf([D, P])
    raw.push((await D.api('POST', '/v1/diag/stream', { to: P.addr, bytes })).mibPerSecond)
    cpu += cpuOf([D, P]) - cpu0
  }
  return {
    bare: { mibPerSecond: median(bare), runs: bare, resetRuns: resets },
    raw: { mibPerSecond: median(raw), runs: raw, cpuMsPerMiB: Math.round((cpu / runs / (bytes / 2 ** 20)) * 100) / 100 }
  }
}

/**
 * The disk a buyer writes to, written as a buyer writes a file it downloads
 * (sale-downloader.ts, which writes each piece's chunks with one writev): `bytes`
 * in 256 KiB pieces at their offsets, 4 writes in flight, flushed every 32 MiB
 * and synced at the end; the file is removed after. A failed write fails it.
 * A sale cannot be faster than this, whatever the stream does.
 */
export async function diskWrite(path: string, bytes: number): Promise<{ mibPerSecond: number; ms: number }> {
  const piece = new Uint8Array(256 * 1024).fill(7)
  const fh = await open(path, 'w')
  const t0 = performance.now()
  try {
    const writing = new Set<Promise<unknown>>()
    let flushing: Promise<unknown> | undefined
    let failed: unknown
    let unflushed = 0
    for (let at = 0; at < bytes; at += piece.byteLength) {
      const w = fh.write(piece, 0, Math.min(piece.byteLength, bytes - at), at)
      writing.add(w)
      void w.catch(err => (failed ??= err)).finally(() => writing.delete(w))
      if (writing.size >= 4) await Promise.race(writing)
      unflushed += piece.byteLength
      if (unflushed >= 32 * 2 ** 20 && flushing === undefined) {
        unflushed = 0
        flushing = Promise.all(writing)
          .then(async () => await fh.datasync())
          .catch(err => (failed ??= err))
          .finally(() => (flushing = undefined))
      }
    }
    await Promise.all(writing)
    await flushing
    if (failed !== undefined) throw failed
    await fh.datasync()
  } finally {
    await fh.close()
    rmSync(path, { force: true })
  }
  const ms = performance.now() - t0
  return { ms: Math.round(ms), mibPerSecond: Math.round((bytes / 2 ** 20 / (ms / 1000)) * 10) / 10 }
}

/** Every kind a sale's messages are counted under, with what each stands for. */
export const SALE_KINDS: Array<{ row: string; kinds: string[] }> = [
  { row: 'the sale stream (1.1 .. 2.4)', kinds: ['fairex-sale', 'fairex-request', 'fairex-cheque', 'fairex-manifest'] },
  { row: "catalog (D asks P's price)", kinds: ['fairex-catalog'] },
  { row: 'ban refreshes (D and P ask the judge)', kinds: ['fairex-ban'] },
  { row: 'capital certificate (D at the AC)', kinds: ['fairex-cert'] },
  { row: 'reservation (P at the AC)', kinds: ['fairex-reserve'] }
]

export type Counts = Awaited<ReturnType<typeof kindCounts>>

export async function saleCounts(all: Daemon[]): Promise<Counts[]> {
  const out: Counts[] = []
  for (const r of SALE_KINDS) out.push(await kindCounts(all, r.kinds))
  return out
}

/** Table I rows per sale between two readings of saleCounts, and their total. */
export function perSale(
  before: Counts[],
  after: Counts[],
  sales: number
): { rows: Array<{ row: string } & Counts>; total: Counts } {
  const per = (a: number, b: number): number => Math.round(((b - a) / sales) * 100) / 100
  const rows = SALE_KINDS.map((r, i) => ({
    row: r.row,
    messages: per(before[i].messages, after[i].messages),
    generated: per(before[i].generated, after[i].generated),
    verified: per(before[i].verified, after[i].verified)
  }))
  const sum = (k: keyof Counts): number => Math.round(rows.reduce((t, r) => t + r[k], 0) * 100) / 100
  return { rows, total: { messages: sum('messages'), generated: sum('generated'), verified: sum('verified') } }
}
