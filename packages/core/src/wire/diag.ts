// A raw stream throughput probe between two daemons (like iperf): the sender
// pushes `bytes` in frames of `frame` bytes with the same framing and
// backpressure the file market uses; the receiver reads and drops them. It is
// the baseline the file market's sale throughput is compared against. The
// receiver takes data from any peer, so a daemon serves it only when started
// with --diag.
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { FrameReader, sendFrame } from './frames.ts'
import { ErrorCode, P2payError, asError } from '../errors.ts'

export const DIAG_PROTOCOL = '/p2pay/diag/stream/1.0.0'
const MAX_FRAME = 4 * 1024 * 1024 + 64

export async function serveDiag(node: Libp2p): Promise<void> {
  await node.handle(
    DIAG_PROTOCOL,
    async stream => {
      const reader = new FrameReader(stream, MAX_FRAME)
      try {
        // the probe's bytes are read and dropped: only their rate matters
        while ((await reader.readList(30_000)) != null) continue
        await stream.close({ signal: AbortSignal.timeout(10_000) })
      } catch (err) {
        stream.abort(asError(err))
      }
    },
    { maxInboundStreams: 2 }
  )
}

export async function streamThroughput(
  node: Libp2p,
  target: PeerId | Multiaddr,
  bytes: number,
  frame = 256 * 1024
): Promise<{ bytes: number; ms: number; mibPerSecond: number }> {
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > 16 * 2 ** 30)
    throw new P2payError(ErrorCode.BAD_REQUEST, 'bytes must be 1..16 GiB')
  if (!Number.isSafeInteger(frame) || frame < 1024 || frame > 4 * 1024 * 1024)
    throw new P2payError(ErrorCode.BAD_REQUEST, 'frame must be 1 KiB..4 MiB')
  const buf = new Uint8Array(frame).fill(7)
  const t0 = performance.now()
  let stream
  try {
    stream = await node.dialProtocol(target, DIAG_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  } catch (err) {
    // not reached, or not serving the probe (it is off unless the peer was started with --diag)
    throw new P2payError(ErrorCode.UNREACHABLE, `cannot open a probe stream: ${asError(err).message}`)
  }
  try {
    for (let sent = 0; sent < bytes; sent += frame) {
      await sendFrame(stream, sent + frame <= bytes ? buf : buf.subarray(0, bytes - sent), 30_000)
    }
    await stream.close({ signal: AbortSignal.timeout(60_000) })
  } catch (err) {
    stream.abort(asError(err))
    throw err
  }
  const ms = performance.now() - t0
  return { bytes, ms: Math.round(ms), mibPerSecond: Math.round((bytes / 2 ** 20 / (ms / 1000)) * 10) / 10 }
}
