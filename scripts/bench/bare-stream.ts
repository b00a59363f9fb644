// The bare stream baseline: how fast one js-libp2p stream (TCP + Noise + Yamux
// at their defaults) carries bytes between two plain node processes on this
// machine, with no p2pay code on either end. The daemons' raw stream is
// measured against it in the same run (`npm run bench -- fairex`).
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const PEER = fileURLToPath(new URL('./bare-stream-peer.ts', import.meta.url))
/** longest a run may take, whatever the machine's load */
const RUN_TIMEOUT_MS = 120_000

export interface StreamRate {
  bytes: number
  frame: number
  ms: number
  mibPerSecond: number
}

/** The first line a child prints on stdout, parsed as JSON. */
async function firstLine(child: ChildProcess): Promise<any> {
  let out = ''
  for await (const chunk of child.stdout!) {
    out += String(chunk)
    const nl = out.indexOf('\n')
    if (nl >= 0) return JSON.parse(out.slice(0, nl))
  }
  throw new Error('bare stream peer exited without output')
}

/** Bytes from a sender process to a listener process on one bare stream; both processes are stopped after. */
export async function bareStream(bytes: number, frame = 256 * 1024): Promise<StreamRate> {
  const opts = { stdio: ['ignore', 'pipe', 'inherit'] as Array<'ignore' | 'pipe' | 'inherit'>, timeout: RUN_TIMEOUT_MS }
  const listener: ChildProcess = spawn(process.execPath, [PEER, 'listen'], opts)
  try {
    const { addr } = await firstLine(listener)
    const sender: ChildProcess = spawn(process.execPath, [PEER, 'send', addr, String(bytes), String(frame)], opts)
    const [rate, [code]] = await Promise.all([firstLine(sender).catch(() => undefined), once(sender, 'exit')])
    if (rate == null) throw new Error(`bare stream sender exited with ${String(code)} before its result`)
    return rate
  } finally {
    if (listener.exitCode == null) {
      listener.kill('SIGTERM')
      await once(listener, 'exit')
    }
  }
}

/** The median of `runs` measurements, and each of them. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : Math.round(((s[m - 1] + s[m]) / 2) * 10) / 10
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const mib = Number(process.argv[2] ?? 256)
  process.stdout.write(JSON.stringify(await bareStream(mib * 2 ** 20)) + '\n')
}
