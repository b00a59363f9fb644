// A TCP relay in front of a provider's libp2p port that loses a sale's
// message 2.4. It forwards both ways until the downloader, after at least
// `watchAfter` bytes went to it (the pieces), sends a chunk of at least
// `minChunk` bytes: that is message 2.3 (D's countersigned cheque; everything
// else D sends then is a few dozen bytes of yamux window updates and pings).
// That chunk still reaches the provider; from then on nothing the provider
// sends reaches the downloader. `cut` resolves at that moment. A fault timed
// on the purchase status could not do this: the provider answers 2.3 with 2.4
// within a round trip, faster than any poll.
import { createServer, connect, type Server, type Socket } from 'node:net'

export class CutAfter23 {
  /** bytes provider -> downloader forwarded, downloader -> provider forwarded, provider -> downloader dropped */
  down = 0
  up = 0
  dropped = 0
  connections = 0
  /** sizes of the chunks the downloader sent while the relay watched for 2.3 (the last one is 2.3) */
  readonly watched: number[] = []
  phase: 'open' | 'watch' | 'cut' = 'open'
  /** resolves when 2.3 went through and the way back closed */
  readonly cut: Promise<void>
  private fire!: () => void
  private readonly server: Server
  private readonly sockets = new Set<Socket>()
  private readonly ip: string
  private port = 0

  private constructor(target: { ip: string; port: number }, ip: string, watchAfter: number, minChunk: number) {
    this.ip = ip
    this.cut = new Promise(resolve => {
      this.fire = resolve
    })
    this.server = createServer(client => {
      this.connections++
      const upstream = connect(target.port, target.ip)
      for (const s of [client, upstream]) {
        this.sockets.add(s)
        s.on('error', () => {})
        s.on('close', () => {
          this.sockets.delete(s)
          client.destroy()
          upstream.destroy()
        })
      }
      client.on('data', (chunk: Buffer) => {
        if (this.phase === 'watch') this.watched.push(chunk.byteLength)
        if (this.phase === 'watch' && chunk.byteLength >= minChunk) {
          this.phase = 'cut'
          this.fire()
        }
        this.up += chunk.byteLength
        upstream.write(chunk)
      })
      upstream.on('data', (chunk: Buffer) => {
        if (this.phase === 'cut') {
          this.dropped += chunk.byteLength
          return
        }
        this.down += chunk.byteLength
        if (this.phase === 'open' && this.down >= watchAfter) this.phase = 'watch'
        client.write(chunk)
      })
    })
  }

  /**
   * A relay listening on `ip` (loopback, or the root end of a testnet's bridge: every host reaches it, partitioned or
   * not) to `target`'s port.
   */
  static async start(
    target: { ip: string; port: number },
    ip: string,
    watchAfter: number,
    minChunk = 300
  ): Promise<CutAfter23> {
    const p = new CutAfter23(target, ip, watchAfter, minChunk)
    await new Promise<void>((resolve, reject) => {
      p.server.once('error', reject)
      p.server.listen(0, ip, () => resolve())
    })
    p.port = (p.server.address() as { port: number }).port
    return p
  }

  /** The provider's multiaddr through this relay. */
  addr(peerId: string): string {
    return `/ip4/${this.ip}/tcp/${this.port}/p2p/${peerId}`
  }

  /** Cuts every connection through the relay at once (the downloader sees a dead connection). */
  destroyAll(): void {
    for (const s of this.sockets) s.destroy()
  }

  async close(): Promise<void> {
    this.destroyAll()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}
