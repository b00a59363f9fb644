// The sale protocol's stream: one purchase is one stream carrying messages
// 1.1 .. 2.4 in order, JSON frames for the messages and binary frames for the
// pieces, with backpressure on both sides (sendFrame waits on the stream's
// write buffer, FrameReader pauses the stream). A stream is tied to the
// service's lifecycle: a stop aborts it, which ends every read and write on it.
import type { Stream } from '@libp2p/interface'
import { ErrorCode, abortReason, fail, fromUtf8, utf8, type Lifecycle } from '@p2pay/core'

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
