// The sale protocol's stream: one purchase is one stream carrying messages
// 1.1 .. 2.4 in order, JSON frames for the messages and binary frames for the
// pieces, with backpressure on both sides (sendFrame waits on the stream's
// write buffer, FrameReader pauses the stream). A stream is tied to the
// service's lifecycle: a stop aborts it, which ends every read and write on it.
import type { Stream } from '@libp2p/interface'
import { ErrorCode, P2payError, abortReason, fail, fromUtf8, utf8, varintLength, type Lifecycle } from '@p2pay/core'

/** largest frame of a sale: a piece (4 MiB at most) or a message carrying the piece hashes */
export const MAX_SALE_FRAME = 8 * 1024 * 1024
/** a complaint holds SEK(KP) (a piece of up to 4 MiB, base64) and the piece hashes: bigger than an ordinary frame */
export const MAX_COMPLAINT_FRAME = 16 * 1024 * 1024
/** how long one message of the sale may take */
export const STEP_TIMEOUT_MS = 60_000
/** how long one piece may take */
export const PIECE_TIMEOUT_MS = 30_000
/** how long D waits for the key (2.4) before it goes to the TTP */
export const KEY_TIMEOUT_MS = 10_000
/** bytes a sender lets queue in its stream before it waits for them to drain (as core's sendFrame) */
const HIGH_WATER = 1 << 20
/** what wakes a sender waiting for its queue to drain (stream.onDrain() resolves once and for all) */
const WAKE = ['drain', 'idle', 'close'] as const

export const json = (o: unknown): Uint8Array => utf8(JSON.stringify(o))

/** A message frame as JSON; a stream that ended before it is UNREACHABLE. */
export function parse(b: Uint8Array | null, what: string): any {
  if (b == null) fail(ErrorCode.UNREACHABLE, `stream ended before ${what}`)
  try {
    return JSON.parse(fromUtf8(b))
  } catch {
    fail(ErrorCode.BAD_FRAME, `${what} is not JSON`)
  }
}

/** Aborts `stream` when the service stops; returns the function that unties it. */
export function abortOnStop(life: Lifecycle, stream: Stream): () => void {
  const onStop = (): void => stream.abort(abortReason(life.signal))
  if (life.stopped) onStop()
  else life.signal.addEventListener('abort', onStop, { once: true })
  return () => life.signal.removeEventListener('abort', onStop)
}

/** The unsigned varint length prefix of a frame of `n` bytes (the FrameReader's format). */
function lengthPrefix(n: number): Uint8Array {
  const out = new Uint8Array(varintLength(n))
  let i = 0
  while (n >= 0x80) {
    out[i++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 128)
  }
  out[i] = n
  return out
}

/**
 * Sends a piece as one frame without copying it into a framed buffer: the
 * prefix and the piece go to the stream as two writes (it queues both by
 * reference). The piece must not change afterwards. Waits, at most `limitMs`,
 * while the stream's queue is over its high-water mark (core's sendFrame does
 * the same for every other frame).
 */
export async function sendPiece(stream: Stream, piece: Uint8Array, limitMs: number): Promise<void> {
  if (stream.status !== 'open') throw new P2payError(ErrorCode.UNREACHABLE, `stream is ${stream.status}`)
  try {
    stream.send(lengthPrefix(piece.byteLength))
    stream.send(piece)
  } catch (err) {
    if ((err as Error)?.name === 'StreamStateError') throw new P2payError(ErrorCode.UNREACHABLE, (err as Error).message)
    throw err
  }
  const until = performance.now() + limitMs
  while (stream.writeBufferLength > HIGH_WATER) {
    if (stream.status !== 'open') throw new P2payError(ErrorCode.UNREACHABLE, `stream is ${stream.status}`)
    if (performance.now() >= until)
      throw new P2payError(ErrorCode.TIMEOUT, 'write timed out waiting for the stream to drain')
    await new Promise<void>(resolve => {
      const done = (): void => {
        clearTimeout(timer)
        for (const e of WAKE) stream.removeEventListener(e, done)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, Math.ceil(until - performance.now()))).unref()
      for (const e of WAKE) stream.addEventListener(e, done)
    })
  }
}
