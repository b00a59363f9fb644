// Length-prefixed frames (unsigned varint length + bytes) on a libp2p 3 stream.
// Written here rather than taken from lpStream so that a length prefix is
// bounded while it is still being read: a peer sending endless continuation
// bytes is cut off after the few bytes a frame of at most `maxFrame` needs.
import { Uint8ArrayList } from 'uint8arraylist'
import type { Stream } from '@libp2p/interface'
import { ErrorCode, P2payError } from '../errors.ts'

export function varintLength(n: number): number {
  let len = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    len++
  }
  return len
}

/** The unsigned varint length prefix of a frame of `n` bytes. */
export function lengthPrefix(n: number): Uint8Array {
  const out = new Uint8Array(varintLength(n))
  writePrefix(out, n)
  return out
}

function writePrefix(out: Uint8Array, n: number): number {
  let i = 0
  while (n >= 0x80) {
    out[i++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 128)
  }
  out[i++] = n
  return i
}

export function encodeFrame(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(varintLength(data.byteLength) + data.byteLength)
  out.set(data, writePrefix(out, data.byteLength))
  return out
}

/**
 * Frames at least this large are queued by reference, the prefix and the data
 * as one list, not copied into one buffer: a copy of every 256 KiB piece was
 * 5 % of a sender's CPU. Smaller ones are copied, which costs less than a list.
 */
const BY_REFERENCE = 16 * 1024

/**
 * The frame as a list. The stream's list type is uint8arraylist 3, this package's 2; both mark a list with the same
 * `Symbol.for`, which is what the stream's buffer looks at, so only the types differ.
 */
const byReference = (data: Uint8Array): StreamData =>
  new Uint8ArrayList(lengthPrefix(data.byteLength), data) as unknown as StreamData
type StreamData = Parameters<Stream['send']>[0]

/**
 * Chunks taken in one by one before the newest of them are copied into one:
 * a peer sending a frame in many tiny chunks (each a Noise message of a byte)
 * would otherwise make the buffer hold an object per byte, hundreds of MiB for
 * a frame's worth. Each byte is copied at most once, and a buffer of B bytes
 * holds about 2 B / 1 KiB + MAX_LOOSE_CHUNKS chunks whatever the sender does.
 */
const MAX_LOOSE_CHUNKS = 1024

/**
 * Reads frames from a stream with bounded memory: data is taken from 'message'
 * events into one buffer, and the stream is paused while that buffer holds more
 * than a frame's worth (then the yamux window holds the sender back), so a
 * slow consumer or a flooding peer cannot make it grow without limit.
 */
export class FrameReader {
  private buf = new Uint8ArrayList()
  /** chunks appended since the last coalesce, and their bytes */
  private loose = 0
  private looseBytes = 0
  private readonly stream: Stream
  private readonly maxFrame: number
  private readonly maxPrefix: number
  private readonly highWater: number
  private ended = false
  private wake?: () => void

  constructor(stream: Stream, maxFrame: number) {
    this.stream = stream
    this.maxFrame = maxFrame
    this.maxPrefix = varintLength(maxFrame)
    this.highWater = maxFrame + 64 * 1024
    const notify = (): void => {
      const w = this.wake
      this.wake = undefined
      w?.()
    }
    stream.addEventListener('message', evt => {
      const data = evt.data as Uint8Array | Uint8ArrayList
      this.buf.append(data as any)
      this.loose++
      this.looseBytes += data.byteLength
      if (this.loose >= MAX_LOOSE_CHUNKS) this.coalesce()
      if (this.buf.byteLength > this.highWater && stream.readStatus === 'readable') stream.pause()
      notify()
    })
    const end = (): void => {
      this.ended = true
      notify()
    }
    stream.addEventListener('remoteCloseWrite', end)
    stream.addEventListener('close', end)
  }

  /** How many chunks the buffer holds (bounded; see MAX_LOOSE_CHUNKS). */
  get chunks(): number {
    return [...this.buf].length
  }

  /**
   * Copies the chunks appended since the last coalesce (those still here, at the end) into one, when they are
   * small: chunks of a KiB or more on average (a stream's usual 64 KiB) are left as they are.
   */
  private coalesce(): void {
    const keep = Math.min(this.looseBytes, this.buf.byteLength)
    const small = this.looseBytes < this.loose * 1024
    this.loose = 0
    this.looseBytes = 0
    if (keep === 0 || !small) return
    const head = this.buf.sublist(0, this.buf.byteLength - keep)
    this.buf = new Uint8ArrayList(...head, this.buf.subarray(this.buf.byteLength - keep))
  }

  /**
   * Next frame, or null at a clean end of stream. Throws on a bad or oversize
   * prefix, a truncated frame, a reset, or abort. `limit`: a signal, or ms to
   * wait for data (a timer that exists only while waiting; see `Limit`).
   */
  async read(limit?: Limit): Promise<Uint8Array | null> {
    return await this.take(limit, (start, end) => this.buf.subarray(start, end))
  }

  /**
   * The next frame as the chunks it arrived in, not copied into one buffer
   * (a copy of every 256 KiB piece was a tenth of a reader's CPU); as `read`.
   */
  async readList(limit?: Limit): Promise<Uint8ArrayList | null> {
    return await this.take(limit, (start, end) => this.buf.sublist(start, end))
  }

  /**
   * The next frame cut out of `buf` by `cut` and consumed in the same turn it is
   * found (so no other read can take it too), or null at a clean end of stream;
   * the stream is resumed once the buffer drained enough.
   */
  private async take<T>(limit: Limit | undefined, cut: (start: number, end: number) => T): Promise<T | null> {
    // one deadline for the whole frame, however many chunks it comes in
    const until = typeof limit === 'number' ? performance.now() + limit : limit
    while (true) {
      const frame = this.tryParse()
      if (frame !== undefined) {
        const out = cut(frame.start, frame.end)
        this.buf.consume(frame.end)
        if (this.stream.readStatus === 'paused' && this.buf.byteLength <= this.highWater / 2) this.stream.resume()
        return out
      }
      if (this.ended) {
        if (this.stream.status === 'reset' || this.stream.status === 'aborted')
          throw new P2payError(ErrorCode.UNREACHABLE, `stream ${this.stream.status}`)
        if (this.buf.byteLength === 0) return null
        throw new P2payError(ErrorCode.BAD_FRAME, 'stream ended inside a frame')
      }
      await this.waitForData(until)
    }
  }

  private tryParse(): { start: number; end: number } | undefined {
    let len = 0
    let mul = 1
    for (let i = 0; i < this.buf.byteLength; i++) {
      const b = this.buf.get(i)
      if ((b & 0x80) !== 0 && i + 1 >= this.maxPrefix)
        throw new P2payError(ErrorCode.FRAME_TOO_LARGE, 'length prefix too long')
      len += (b & 0x7f) * mul
      mul *= 128
      if ((b & 0x80) === 0) {
        if (len > this.maxFrame)
          throw new P2payError(ErrorCode.FRAME_TOO_LARGE, `frame of ${len} bytes over the ${this.maxFrame} limit`)
        if (this.buf.byteLength < i + 1 + len) {
          // a whole frame may exceed the pause threshold's half: make sure it can arrive
          if (this.stream.readStatus === 'paused' && this.buf.byteLength <= this.highWater) this.stream.resume()
          return undefined
        }
        return { start: i + 1, end: i + 1 + len }
      }
    }
    return undefined
  }

  /** Waits for the next chunk, until `until` (a signal, or a `performance.now()` time). */
  private async waitForData(until?: AbortSignal | number): Promise<void> {
    const signal = typeof until === 'number' ? undefined : until
    if (signal?.aborted === true || (typeof until === 'number' && performance.now() >= until))
      throw new P2payError(ErrorCode.TIMEOUT, 'read timed out')
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.wake = undefined
        reject(new P2payError(ErrorCode.TIMEOUT, 'read timed out'))
      }
      // unref'd, as AbortSignal.timeout's timer is: a pending read does not keep a process alive
      const timer =
        typeof until === 'number'
          ? setTimeout(onAbort, Math.max(0, Math.ceil(until - performance.now()))).unref()
          : undefined
      signal?.addEventListener('abort', onAbort, { once: true })
      this.wake = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
    })
  }
}

/**
 * How long an operation may wait: a signal, or a number of ms. A number makes
 * a timer only while the operation waits and clears it when the wait ends
 * (then a timeout is TIMEOUT); `AbortSignal.timeout` makes one per call that
 * fires long after the call is done, building a DOMException with a stack
 * trace each time, which at thousands of frames a second is a visible share of
 * a daemon's CPU. Deadlines run on the monotonic clock.
 */
export type Limit = AbortSignal | number

/**
 * Sends one frame; waits while the stream's write buffer is over `highWater` (see the onDrain trap), at most `limit`.
 * A frame of BY_REFERENCE bytes or more is queued without a copy: the caller must not change `data` afterwards.
 */
export async function sendFrame(stream: Stream, data: Uint8Array, limit?: Limit, highWater = 1 << 20): Promise<void> {
  // a stream the peer reset or closed (it stopped, say) is an unreachable peer, not an internal failure
  if (stream.status !== 'open') throw new P2payError(ErrorCode.UNREACHABLE, `stream is ${stream.status}`)
  try {
    stream.send(data.byteLength >= BY_REFERENCE ? byReference(data) : encodeFrame(data))
  } catch (err) {
    if ((err as Error)?.name === 'StreamStateError') throw new P2payError(ErrorCode.UNREACHABLE, (err as Error).message)
    throw err
  }
  const until = typeof limit === 'number' ? performance.now() + limit : undefined
  const signal = typeof limit === 'number' ? undefined : limit
  while (stream.writeBufferLength > highWater) {
    if (stream.status !== 'open') throw new P2payError(ErrorCode.UNREACHABLE, `stream is ${stream.status}`)
    signal?.throwIfAborted()
    if (until !== undefined && performance.now() >= until)
      throw new P2payError(ErrorCode.TIMEOUT, 'write timed out waiting for the stream to drain')
    await new Promise<void>(resolve => {
      let timer: NodeJS.Timeout | undefined
      const done = (): void => {
        clearTimeout(timer)
        stream.removeEventListener('drain', done)
        stream.removeEventListener('idle', done)
        stream.removeEventListener('close', done)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      if (until !== undefined) timer = setTimeout(done, Math.max(0, Math.ceil(until - performance.now()))).unref()
      stream.addEventListener('drain', done)
      stream.addEventListener('idle', done)
      stream.addEventListener('close', done)
      signal?.addEventListener('abort', done)
    })
  }
}
