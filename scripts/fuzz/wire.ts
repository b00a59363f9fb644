// The wire half of the fuzzer: cases for every protocol each daemon registers,
// sent raw on a fresh stream from the fuzzer's peer. A daemon that dies, or an
// answer with code INTERNAL (a handler threw something it did not mean to), is
// a finding; refusals, resets and timeouts are what hostile input should get.
import type { Stream } from '@libp2p/interface'
import type { Daemon } from '../lib/swarm.ts'
import type { RawPeer } from '../../test/helpers/raw-peer.ts'
import { Rng } from './rng.ts'
import { makeCase, type WireCase } from './mutate.ts'

export interface WireTarget {
  d: Daemon
  protocol: string
}

export interface Finding {
  where: string
  kind: string
  detail: string
  /** replay with --seed and this case number */
  caseNo: number
}

export interface WireStats {
  cases: number
  ends: Record<string, number>
  byKind: Record<string, number>
}

const dec = new TextDecoder()

/** The rng of case `n` of a run: a case is replayed alone from (seed, n), whatever ran before or beside it. */
export const caseRng = (seed: number, n: number): Rng => new Rng((Math.imul(seed, 0x9e3779b1) ^ (n + 1)) >>> 0)

/** Writes `chunks` raw, waiting for the stream to drain between them. */
async function writeRaw(stream: Stream, chunks: Uint8Array[], signal: AbortSignal): Promise<void> {
  for (const c of chunks) {
    if (stream.status !== 'open' || stream.writeStatus !== 'writable') return
    if (!stream.send(c)) {
      await new Promise<void>((resolve, reject) => {
        const done = (): void => {
          stream.removeEventListener('drain', done)
          stream.removeEventListener('close', done)
          resolve()
        }
        stream.addEventListener('drain', done)
        stream.addEventListener('close', done)
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true })
      })
    }
  }
}

/** Ops named in the captured frames (the RPC requests' `op`). */
export function opsOf(captured: Map<string, Uint8Array[][]>): string[] {
  const ops = new Set<string>()
  for (const sessions of captured.values())
    for (const frames of sessions)
      for (const f of frames) {
        try {
          const op = JSON.parse(dec.decode(f))?.op
          if (typeof op === 'string') ops.add(op)
        } catch {}
      }
  return [...ops].sort()
}

/** One case against one target; a finding if the answer shows an internal failure or the daemon is gone. */
export async function runWireCase(
  me: RawPeer,
  t: WireTarget,
  c: WireCase,
  caseNo: number,
  stats: WireStats
): Promise<Finding | undefined> {
  stats.cases++
  stats.byKind[c.kind] = (stats.byKind[c.kind] ?? 0) + 1
  const where = `${t.d.kind} ${t.protocol}`
  let end: string
  let frames: Uint8Array[] = []
  try {
    const ex = await me.exchange(
      t.d.addr,
      t.protocol,
      async (stream, _lp, signal) => {
        await writeRaw(stream, c.chunks, signal)
      },
      { timeoutMs: 5_000 }
    )
    end = ex.end
    frames = ex.frames
  } catch (err) {
    // the daemon may refuse the stream itself (too many at once, or the connection went): not a finding alone
    end = 'no-stream'
    if (!alive(t.d)) return { where, kind: c.kind, detail: `daemon gone: ${String(err)}`, caseNo }
  }
  stats.ends[end] = (stats.ends[end] ?? 0) + 1
  if (!alive(t.d)) return { where, kind: c.kind, detail: `daemon exited: ${t.d.logTail(5)}`, caseNo }
  for (const f of frames) {
    let reply: any
    try {
      reply = JSON.parse(dec.decode(f))
    } catch {
      continue // not every protocol answers JSON (kad-dht, identify, ping)
    }
    if (reply?.error?.code === 'INTERNAL' || reply?.code === 'INTERNAL')
      return { where, kind: c.kind, detail: `INTERNAL answer: ${JSON.stringify(reply).slice(0, 300)}`, caseNo }
  }
  return undefined
}

export const alive = (d: Daemon): boolean => d.proc != null && d.proc.exitCode == null && d.proc.signalCode == null

/** Case `n` of a run: its target and its bytes. */
export function wireCase(
  seed: number,
  n: number,
  targets: WireTarget[],
  captured: Map<string, Uint8Array[][]>,
  ops: string[]
): { target: WireTarget; c: WireCase } {
  const rng = caseRng(seed, n)
  const target = rng.pick(targets)
  return { target, c: makeCase(rng, captured.get(target.protocol) ?? [], ops) }
}
