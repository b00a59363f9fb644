// One end of the bare stream baseline: a plain js-libp2p node (TCP + Noise +
// Yamux, every setting at its default, no p2pay code) in a process of its own.
//   listen                       prints {"addr": ...} on stdout, reads and drops every stream's bytes
//   send <addr> <bytes> <frame>  pushes <bytes> on one stream in <frame>-byte chunks, prints the rate
//                                (timed from opening the stream to the reader's close after the last byte)
// The sender bounds its queue by waiting for 'drain'/'idle' (stream.onDrain() resolves too early, see
// /work/shared/libp2p-v3.md), as the daemons' probe does.
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'

export const BARE_PROTOCOL = '/bare/stream/1.0.0'
/** bytes queued in the sender's stream before it waits */
const HIGH_WATER = 1 << 20

async function node(listen: string[]): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

const WAKE = ['drain', 'idle', 'close'] as const

async function drained(stream: Stream): Promise<void> {
  while (stream.writeBufferLength > HIGH_WATER) {
    if (stream.status !== 'open') throw new Error(`stream is ${stream.status}`)
    await new Promise<void>(resolve => {
      const done = (): void => {
        for (const e of WAKE) stream.removeEventListener(e, done)
        resolve()
      }
      for (const e of WAKE) stream.addEventListener(e, done)
    })
  }
}

async function listen(): Promise<void> {
  const n = await node(['/ip4/127.0.0.1/tcp/0'])
  await n.handle(BARE_PROTOCOL, async stream => {
    try {
      for await (const _chunk of stream) continue
      await stream.close()
    } catch (err) {
      stream.abort(err as Error)
    }
  })
  process.stdout.write(JSON.stringify({ addr: n.getMultiaddrs()[0].toString() }) + '\n')
  const stop = (): void => {
    Promise.resolve(n.stop()).then(
      () => process.exit(0),
      () => process.exit(1)
    )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

async function send(addr: string, bytes: number, frame: number): Promise<void> {
  const n = await node([])
  const target = multiaddr(addr)
  // the connection is made first, as the daemons' connection is there before their probe
  await n.dial(target, { signal: AbortSignal.timeout(10_000) })
  const buf = new Uint8Array(frame).fill(7)
  const t0 = performance.now()
  const stream = await n.dialProtocol(target, BARE_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  for (let sent = 0; sent < bytes; sent += frame) {
    stream.send(sent + frame <= bytes ? buf : buf.subarray(0, bytes - sent))
    await drained(stream)
  }
  await stream.close({ signal: AbortSignal.timeout(60_000) })
  // done when the reader has had every byte: it closes its end after the last one
  for await (const _chunk of stream) continue
  const ms = performance.now() - t0
  const mibPerSecond = Math.round((bytes / 2 ** 20 / (ms / 1000)) * 10) / 10
  process.stdout.write(JSON.stringify({ bytes, frame, ms: Math.round(ms), mibPerSecond }) + '\n')
  await n.stop()
}

const [role, ...args] = process.argv.slice(2)
if (role === 'listen') await listen()
else if (role === 'send') await send(args[0], Number(args[1]), Number(args[2]))
else {
  process.stderr.write('usage: bare-stream-peer.ts listen | send <addr> <bytes> <frame>\n')
  process.exit(2)
}
