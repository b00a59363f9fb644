// A test-process libp2p peer that talks to daemons' RPC protocols directly,
// frame by frame, so a test can send what a well-behaved RpcClient never would:
// broken JSON, bad length prefixes, tampered signed objects. Every read is bounded.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createP2payNode, fromB64, fromUtf8, nodeEd25519, signerFor, toB64, utf8, type Signer } from '@p2pay/core'

export const EXCHANGE_TIMEOUT_MS = 10_000
const READ_MAX = 2 * 1024 * 1024

/** How a stream ended after the exchange: cleanly, by a reset from the daemon, or not within the timeout. */
export type StreamEnd = 'closed' | 'reset' | 'timeout'
export interface Exchange {
  frames: Uint8Array[]
  end: StreamEnd
  error?: string
}

type Lp = ReturnType<typeof lpStream>

/** Unsigned LEB128 varint, the length prefix lpStream uses. */
export { varint } from '../../scripts/fuzz/mutate.ts'

/** A key that can sign p2pay envelopes without running a libp2p node. */
export class Key {
  readonly privateKey: PrivateKey
  readonly signer: Signer
  constructor(privateKey: PrivateKey) {
    this.privateKey = privateKey
    this.signer = signerFor(privateKey, nodeEd25519())
  }

  static async create(): Promise<Key> {
    return new Key(await generateKeyPair('Ed25519'))
  }
  get peerId(): string {
    return this.signer.peerId
  }
  /** base64 envelope of `body` signed under `tag`. */
  sign(tag: string, body: unknown): string {
    return toB64(this.signer.sign(tag, body, 'test').bytes)
  }
}

// ---- envelope tampering (layout: [version][tagLen][tag][key 32][bodyLen u32][body][sig 64]) ----

const mutate = (b64: string, f: (b: Uint8Array) => void): string => {
  const b = fromB64(b64)
  f(b)
  return toB64(b)
}
/** Flips one bit inside the 64-byte signature. */
export const flipSignature = (b64: string): string =>
  mutate(b64, b => {
    b[b.length - 40] ^= 0x01
  })
/** Replaces the version byte (the signature does not cover it, so only the version check can refuse it). */
export const withVersion = (b64: string, v: number): string =>
  mutate(b64, b => {
    b[0] = v
  })
/** The body of an envelope, parsed. */
export function bodyOf<T = any>(b64: string): T {
  const b = fromB64(b64)
  const o = 2 + b[1] + 32
  const len = new DataView(b.buffer, b.byteOffset + o, 4).getUint32(0)
  return JSON.parse(fromUtf8(b.subarray(o + 4, o + 4 + len))) as T
}

/** The test's own libp2p peer. */
export class RawPeer {
  readonly key: Key
  readonly node: Libp2p
  private nextId = 1
  private constructor(key: Key, node: Libp2p) {
    this.key = key
    this.node = node
  }

  static async start(): Promise<RawPeer> {
    const key = await Key.create()
    const node = await createP2payNode({ privateKey: key.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], dht: false })
    return new RawPeer(key, node)
  }

  get peerId(): string {
    return this.key.peerId
  }

  /**
   * Opens a stream to `addr` on `protocol`, lets `send` write whatever it likes,
   * optionally half-closes, then reads every reply frame until the daemon closes
   * or resets the stream, or `timeoutMs` passes (then the stream is aborted here).
   */
  async exchange(
    addr: string,
    protocol: string,
    send: (stream: Stream, lp: Lp, signal: AbortSignal) => Promise<void>,
    opts: { closeWrite?: boolean; timeoutMs?: number } = {}
  ): Promise<Exchange> {
    const signal = AbortSignal.timeout(opts.timeoutMs ?? EXCHANGE_TIMEOUT_MS)
    const stream = await this.node.dialProtocol(multiaddr(addr), protocol, { signal })
    const lp = lpStream(stream, { maxDataLength: READ_MAX })
    const frames: Uint8Array[] = []
    let error: string | undefined
    try {
      await send(stream, lp, signal)
      if (opts.closeWrite !== false) await stream.close({ signal })
    } catch (err) {
      error = `write: ${errText(err)}`
    }
    while (true) {
      try {
        frames.push((await lp.read({ signal })).subarray())
      } catch (err) {
        if (signal.aborted) {
          stream.abort(new Error('test exchange timed out'))
          return { frames, end: 'timeout', error: error ?? errText(err) }
        }
        // lp.read throws UnexpectedEOFError at a clean end and after a reset alike
        const reset =
          stream.status === 'reset' || stream.status === 'aborted' || (err as any)?.name === 'StreamResetError'
        if (reset) stream.abort(new Error('reset by remote'))
        else if (stream.status === 'open')
          await stream.close({ signal: AbortSignal.timeout(2000) }).catch(() => stream.abort(new Error('close failed')))
        return { frames, end: reset ? 'reset' : 'closed', error: error ?? errText(err) }
      }
    }
  }

  /** Sends one well-formed RPC frame {id, op, args} and returns the parsed replies and how the stream ended. */
  async call(
    addr: string,
    protocol: string,
    op: string,
    args: unknown
  ): Promise<{ replies: any[]; end: StreamEnd; id: number }> {
    const id = this.nextId++
    const ex = await this.exchange(addr, protocol, async (_s, lp, signal) => {
      await lp.write(utf8(JSON.stringify({ id, op, args })), { signal })
    })
    return { replies: ex.frames.map(f => JSON.parse(fromUtf8(f))), end: ex.end, id }
  }

  async stop(): Promise<void> {
    await this.node.stop()
  }
}

export function errText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`
  if (typeof Event !== 'undefined' && err instanceof Event) return `Event ${err.type}`
  return String(err)
}
