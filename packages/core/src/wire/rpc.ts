// Request/response over libp2p 3 streams, with the idioms applied once:
// length-prefixed frames capped at `maxFrame`, a time limit on every
// exchange, abort on failure, bounded inbound streams, and pipelining (many
// requests in flight on one long-lived stream, matched by id) because opening
// a stream costs several round trips.
//
// Both sides take the service's lifecycle: a stopping service acts on no new
// request (it answers ABORTED), finishes and answers those in flight, then ends
// the stream; its calls out end at once with ABORTED.
import type { Libp2p, Stream, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { fromUtf8, utf8 } from '../bytes.ts'
import { ErrorCode, P2payError, asError, isKnownCode } from '../errors.ts'
import { abortReason, type Lifecycle } from '../daemon/lifecycle.ts'
import { FrameReader, sendFrame } from './frames.ts'
import { REQUEST_OVERHEAD, requestBudget, type RequestBudget } from './budget.ts'
import type { Counters } from '../metrics.ts'

export const DEFAULT_MAX_FRAME = 1024 * 1024
const IDLE_TIMEOUT_MS = 120_000
const MAX_INFLIGHT_PER_STREAM = 128
/** how long a reply may wait for the stream to take it */
const REPLY_TIMEOUT_MS = 30_000

export interface RpcContext {
  remotePeer: string
  /** transaction kind the caller named */
  kind?: string
  /** aborted when the serving service stops: pass it to any call the handler makes */
  signal?: AbortSignal
}
export type RpcHandler = (args: any, ctx: RpcContext) => Promise<unknown> | unknown
/**
 * `kind` names the transaction the request belongs to, so both ends count its
 * messages alike. `oneway`: the handler runs and nothing is sent back (a
 * message whose delivery the sender learns another way).
 */
export interface RpcRequest {
  id: number
  op: string
  args?: unknown
  kind?: string
  oneway?: true
}
const KIND = /^[a-z][a-z0-9-]{0,31}$/
export type RpcResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string; message: string; details?: unknown } }

export interface ServeOptions {
  /** the largest request read */
  maxFrame?: number
  /** the largest reply sent (a larger one goes back as REPLY_TOO_LARGE): what the callers read; default maxFrame */
  maxReply?: number
  maxInboundStreams?: number
  metrics?: Counters
  /** Transaction kind for the counters; defaults to the op name. */
  kindOf?: (op: string) => string
  onError?: (err: Error, op?: string) => void
  /** the serving service's lifecycle: every handler runs as its work, and a stop ends the streams */
  life?: Lifecycle
  /** the bytes of requests in flight it may hold; default: the budget of `node`, shared by all its protocols */
  budget?: RequestBudget
}

function decodeFrame(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(fromUtf8(bytes))
  } catch {
    throw new P2payError(ErrorCode.BAD_FRAME, 'frame is not UTF-8 JSON')
  }
}

export function errorReply(id: number, err: unknown): RpcResponse {
  if (err instanceof P2payError) return { id, ok: false, error: err.toJSON() }
  return { id, ok: false, error: { code: ErrorCode.INTERNAL, message: 'internal error' } }
}

/**
 * A reply's frame. One over the frame limit is sent as REPLY_TOO_LARGE (the op
 * ran, its answer is lost), not as a frame the caller cannot read: that would
 * fail its stream, and every other call on it.
 */
function replyFrame(res: RpcResponse, maxFrame: number): Uint8Array {
  const frame = utf8(JSON.stringify(res))
  if (frame.byteLength <= maxFrame) return frame
  const message = `reply of ${frame.byteLength} bytes is over the ${maxFrame}-byte frame limit`
  const error = { code: ErrorCode.REPLY_TOO_LARGE, message, details: { bytes: frame.byteLength } }
  return utf8(JSON.stringify({ id: res.id, ok: false, error }))
}

/** The kind a request names, if it is well-formed. */
const kindOfRequest = (req: RpcRequest): string | undefined =>
  typeof req.kind === 'string' && KIND.test(req.kind) ? req.kind : undefined

/** Through a call, so TypeScript does not keep the `stopped` it narrowed before the loop's awaits. */
const stopped = (life: Lifecycle): boolean => life.stopped

/** Serves `handlers` (op name -> function) on `protocol`. */
export async function serveRpc(
  node: Pick<Libp2p, 'handle'>,
  protocol: string,
  handlers: Record<string, RpcHandler>,
  opts: ServeOptions = {}
): Promise<void> {
  const maxFrame = opts.maxFrame ?? DEFAULT_MAX_FRAME
  const maxReply = opts.maxReply ?? maxFrame
  const kindOf = opts.kindOf ?? ((op: string) => op)
  const life = opts.life
  const budget = opts.budget ?? requestBudget(node)
  await node.handle(
    protocol,
    async (stream: Stream, connection) => {
      if (life?.stopped === true) {
        stream.abort(abortReason(life.signal))
        return
      }
      const reader = new FrameReader(stream, maxFrame)
      const ctx: RpcContext = { remotePeer: connection.remotePeer.toString(), signal: life?.signal }
      let writing: Promise<void> = Promise.resolve()
      const inflight = new Set<Promise<void>>()
      // replies go out one at a time; a reply that fails (the caller hung up) fails its own sender only: the chain
      // stays settled, so neither the next reply nor a stop waiting for the last one meets a stale rejection
      const reply = async (res: RpcResponse, kind: string): Promise<void> => {
        const sent = writing.then(async () => {
          await sendFrame(stream, replyFrame(res, maxReply), REPLY_TIMEOUT_MS)
          opts.metrics?.messageSent(kindOf(kind))
        })
        writing = sent.catch(() => {})
        await sent
      }
      const answer = async (req: RpcRequest): Promise<void> => {
        const handler = Object.hasOwn(handlers, req.op) ? handlers[req.op] : undefined
        let res: RpcResponse
        if (handler == null) {
          const error = { code: ErrorCode.UNKNOWN_OP, message: `unknown op ${String(req.op).slice(0, 40)}` }
          res = { id: req.id, ok: false, error }
        } else {
          try {
            const result = await handler(req.args ?? {}, { ...ctx, kind: kindOfRequest(req) })
            res = { id: req.id, ok: true, result }
          } catch (err) {
            if (!(err instanceof P2payError)) opts.onError?.(asError(err), req.op)
            res = errorReply(req.id, err)
          }
        }
        if (req.oneway === true) return
        // an op nobody serves is counted as one kind: its name is the caller's, of any length
        await reply(res, handler == null ? 'unknown' : (kindOfRequest(req) ?? req.op))
      }
      // a stop ends the stream once the requests in flight are answered: the caller reopens it elsewhere or later
      const onStop = (): void => {
        void Promise.allSettled(inflight)
          .then(async () => await writing)
          .finally(() => stream.abort(abortReason(life!.signal)))
      }
      life?.signal.addEventListener('abort', onStop, { once: true })
      try {
        while (true) {
          const frame = await reader.read(IDLE_TIMEOUT_MS)
          if (frame == null) break // the caller closed its side: a clean end
          let req: RpcRequest
          try {
            req = decodeFrame(frame) as RpcRequest
          } catch (err) {
            await reply(errorReply(-1, err), 'error')
            continue
          }
          if (req == null || typeof req !== 'object' || !Number.isSafeInteger(req.id) || typeof req.op !== 'string') {
            const id = Number.isSafeInteger((req as any)?.id) ? (req as any).id : -1
            await reply(
              { id, ok: false, error: { code: ErrorCode.BAD_FRAME, message: 'frame must be {id, op, args}' } },
              'error'
            )
            continue
          }
          if (life != null && stopped(life)) {
            // read before the stream ended: refused, so the caller knows it was not acted on
            if (req.oneway !== true) await reply(errorReply(req.id, abortReason(life.signal)), 'error')
            continue
          }
          // the request is held until its handler has answered: refused past the budget, before the handler runs
          const cost = frame.byteLength + REQUEST_OVERHEAD
          try {
            budget.take(ctx.remotePeer, cost)
          } catch (err) {
            if (req.oneway !== true) await reply(errorReply(req.id, err), 'error')
            continue
          }
          const task = life != null ? life.track(`rpc ${protocol} ${req.op}`, answer(req)) : answer(req)
          inflight.add(task)
          void task
            .catch(() => {})
            .finally(() => {
              inflight.delete(task)
              budget.release(ctx.remotePeer, cost)
            })
          if (inflight.size >= MAX_INFLIGHT_PER_STREAM) await Promise.race(inflight)
        }
        await Promise.allSettled(inflight)
        await writing
        await stream.close({ signal: AbortSignal.timeout(10_000) })
      } catch (err) {
        stream.abort(asError(err))
      } finally {
        life?.signal.removeEventListener('abort', onStop)
      }
    },
    { maxInboundStreams: opts.maxInboundStreams ?? 64, runOnLimitedConnection: false }
  )
}

export interface CallOptions<K extends string = string> {
  timeoutMs?: number
  kind?: K
  /** ends the call with the signal's reason (ABORTED when a service stops) */
  signal?: AbortSignal
}

export interface ClientOptions {
  /** the largest frame read (a reply) or sent (a request: a larger one is refused before it is sent) */
  maxFrame?: number
  metrics?: Counters
  defaultTimeoutMs?: number
}

/** libp2p's errors for a stream opened on a connection that was already closing: nothing was sent. */
const CLOSING_ERRORS = new Set(['ConnectionClosedError', 'ConnectionClosingError', 'MuxerClosedError'])

/**
 * How a call failed to reach its peer, in `details.stage` of its UNREACHABLE
 * error: 'open' (no stream: nothing was sent; `closing` when it was opened on
 * a connection libp2p had not yet seen close), or 'stream' (the stream failed
 * while the request was out: the peer may have acted on it).
 */
export type UnreachableStage = 'open' | 'stream'

/**
 * Client side: one long-lived stream per (peer, protocol), requests pipelined and
 * matched by id. A failed stream rejects its pending calls and is reopened on the
 * next call.
 */
export class RpcClient<K extends string = string> {
  private stream?: Stream
  private opening?: Promise<Stream>
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  private writing: Promise<void> = Promise.resolve()

  private readonly node: Pick<Libp2p, 'dialProtocol'>
  readonly target: PeerId | Multiaddr
  readonly protocol: string
  private readonly opts: ClientOptions

  constructor(
    node: Pick<Libp2p, 'dialProtocol'>,
    target: PeerId | Multiaddr,
    protocol: string,
    opts: ClientOptions = {}
  ) {
    this.node = node
    this.target = target
    this.protocol = protocol
    this.opts = opts
  }

  /** Calls are waiting for answers, or a stream is being opened. */
  get busy(): boolean {
    return this.pending.size > 0 || this.opening != null
  }

  async call<T = unknown>(op: string, args: unknown, options: CallOptions<K> = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.opts.defaultTimeoutMs ?? 15_000
    const signal = options.signal
    if (signal?.aborted === true) throw abortReason(signal)
    const end = performance.now() + timeoutMs
    const id = this.nextId++
    const frame = this.encode({ id, op, args, kind: options.kind })
    const stream = await this.streamFor(timeoutMs, signal)
    const done = new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
    })
    const settle = (err: P2payError): void => {
      const p = this.pending.get(id)
      if (p != null) {
        this.pending.delete(id)
        p.reject(err)
      }
    }
    const timer = setTimeout(
      () => settle(new P2payError(ErrorCode.TIMEOUT, `${op} timed out after ${timeoutMs} ms`)),
      Math.max(0, Math.ceil(end - performance.now()))
    ).unref()
    const onAbort = (): void => settle(abortReason(signal!))
    signal?.addEventListener('abort', onAbort, { once: true })
    // a failed write fails the stream, and with it this call
    this.write(stream, frame, options.kind ?? op, end).catch(() => {})
    try {
      const res = (await done) as RpcResponse
      if (res.ok) return res.result as T
      // a code nobody declared is not trusted (it could name anything)
      const code = isKnownCode(res.error?.code) ? res.error.code : ErrorCode.INTERNAL
      // the peer's text only if it is text: a hostile object here must not throw a TypeError out of the call
      const message = typeof res.error?.message === 'string' ? res.error.message.slice(0, 4096) : 'error'
      throw new P2payError(code, message, res.error?.details as any)
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Sends a one-way request: resolves once it is handed to the stream; the handler's answer is never sent. */
  async send(op: string, args: unknown, options: CallOptions<K> = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? this.opts.defaultTimeoutMs ?? 15_000
    if (options.signal?.aborted === true) throw abortReason(options.signal)
    const end = performance.now() + timeoutMs
    const frame = this.encode({ id: this.nextId++, op, args, kind: options.kind, oneway: true })
    const stream = await this.streamFor(timeoutMs, options.signal)
    try {
      await this.write(stream, frame, options.kind ?? op, end)
    } catch (err) {
      throw this.unreachable('stream', `stream to ${this.target.toString()} failed: ${asError(err).message}`)
    }
  }

  /** The open stream to the target (opened within `timeoutMs`), or UNREACHABLE (ABORTED if `signal` aborts). */
  private async streamFor(timeoutMs: number, signal?: AbortSignal): Promise<Stream> {
    try {
      return await this.open(timeoutMs, signal)
    } catch (err) {
      if (signal?.aborted === true) throw abortReason(signal)
      const e = asError(err)
      const closing = CLOSING_ERRORS.has(e.name)
      throw this.unreachable('open', `cannot reach ${this.target.toString()}: ${e.message}`, closing)
    }
  }

  private unreachable(stage: UnreachableStage, message: string, closing = false): P2payError {
    return new P2payError(ErrorCode.UNREACHABLE, message, { stage, ...(closing ? { closing } : {}) })
  }

  /**
   * Queues one request frame behind the earlier ones, to be written by `end`
   * (a `performance.now()` time: time in the queue counts); a failed write
   * fails the stream and its pending calls.
   */
  private async write(stream: Stream, frame: Uint8Array, kind: string, end: number): Promise<void> {
    const sent = this.writing.then(async () => {
      await sendFrame(stream, frame, Math.max(0, end - performance.now()))
      this.opts.metrics?.messageSent(kind)
    })
    this.writing = sent.catch(err => {
      this.fail(stream, asError(err))
    })
    await sent
  }

  /**
   * A request's frame, refused here when it is over the frame limit: the peer
   * would reset the stream on it, failing every call on that stream with an
   * error that names no cause.
   */
  private encode(req: RpcRequest): Uint8Array {
    const frame = utf8(JSON.stringify(req))
    const max = this.opts.maxFrame ?? DEFAULT_MAX_FRAME
    if (frame.byteLength > max)
      throw new P2payError(
        ErrorCode.FRAME_TOO_LARGE,
        `${req.op} request of ${frame.byteLength} bytes is over the ${max}-byte frame limit; nothing was sent`
      )
    return frame
  }

  private async open(timeoutMs: number, signal?: AbortSignal): Promise<Stream> {
    if (this.stream != null && this.stream.status === 'open') return this.stream
    if (this.opening == null) {
      // one dial serves every caller waiting for it: only a stop of its own first caller's service ends it
      const limit =
        signal != null ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs)
      this.opening = (async () => {
        const s = await this.node.dialProtocol(this.target, this.protocol, { signal: limit })
        this.stream = s
        this.writing = Promise.resolve()
        void this.readLoop(s, new FrameReader(s, this.opts.maxFrame ?? DEFAULT_MAX_FRAME))
        return s
      })().finally(() => {
        this.opening = undefined
      })
    }
    return await this.opening
  }

  private async readLoop(s: Stream, reader: FrameReader): Promise<void> {
    try {
      while (true) {
        const frame = await reader.read()
        if (frame == null) throw new Error('remote closed the stream')
        const res = decodeFrame(frame) as RpcResponse
        const p = this.pending.get(res?.id)
        if (p != null) {
          this.pending.delete(res.id)
          p.resolve(res)
        }
      }
    } catch (err) {
      this.fail(s, asError(err))
    }
  }

  private fail(s: Stream, err: Error): void {
    if (s.status === 'open') s.abort(err)
    if (this.stream !== s && this.stream != null) return // an older stream: its calls were failed already
    this.stream = undefined
    for (const [id, p] of this.pending) {
      this.pending.delete(id)
      p.reject(this.unreachable('stream', `stream to ${this.target.toString()} failed: ${err.message}`))
    }
  }

  async close(): Promise<void> {
    const s = this.stream
    this.stream = undefined
    if (s != null && s.status === 'open') {
      await s.close({ signal: AbortSignal.timeout(5000) }).catch(() => s.abort(new Error('close failed')))
    }
  }
}
