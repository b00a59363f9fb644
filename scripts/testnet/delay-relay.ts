// A TCP relay that holds every chunk for a fixed delay before passing it on,
// in order, both ways: this kernel has no netem, so a host's latency is this
// process in its namespace with iptables redirecting the host's libp2p traffic
// through it (see latency.ts). Run as
//   node delay-relay.ts <base64 JSON { delayMs, routes: [{ listen, to, from? }] }>
// where listen/to are { host, port } and `from` the address to connect from.
// Prints "ready" once every route listens.
import { createServer, connect, type Socket } from 'node:net'

interface Endpoint {
  host: string
  port: number
}
export interface RelayConfig {
  delayMs: number
  routes: Array<{ listen: Endpoint; to: Endpoint; from?: string }>
}

/** bytes one direction may hold in delay before its source is paused */
const HIGH_WATER = 4 * 1024 * 1024

/** Passes what `src` sends to `dst` `delayMs` later, in order; ends and resets follow the data they came after. */
function delayed(src: Socket, dst: Socket, delayMs: number): void {
  let held = 0
  src.on('data', (chunk: Buffer) => {
    held += chunk.length
    if (held > HIGH_WATER) src.pause()
    // timers of one duration fire in the order they were set
    setTimeout(() => {
      held -= chunk.length
      if (!dst.destroyed && !dst.write(chunk)) src.pause()
      if (held <= HIGH_WATER && dst.writableLength === 0) src.resume()
    }, delayMs)
  })
  dst.on('drain', () => {
    if (held <= HIGH_WATER) src.resume()
  })
  src.on('end', () => setTimeout(() => dst.end(), delayMs))
  src.on('error', () => setTimeout(() => dst.destroy(), delayMs))
  src.on('close', () => setTimeout(() => dst.destroy(), delayMs + 1000))
}

export async function startRelay(cfg: RelayConfig): Promise<() => Promise<void>> {
  const servers = await Promise.all(
    cfg.routes.map(
      async r =>
        await new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          // half-open: a side's end is passed on after the delay, not at once
          const server = createServer({ allowHalfOpen: true }, inbound => {
            inbound.setNoDelay(true)
            const out = connect({ host: r.to.host, port: r.to.port, localAddress: r.from, allowHalfOpen: true })
            out.setNoDelay(true)
            delayed(inbound, out, cfg.delayMs)
            delayed(out, inbound, cfg.delayMs)
          })
          server.once('error', reject)
          server.listen(r.listen.port, r.listen.host, () => resolve(server))
        })
    )
  )
  return async () => {
    await Promise.all(servers.map(async s => await new Promise(resolve => s.close(resolve))))
  }
}

if (process.argv[1] === import.meta.filename) {
  const cfg = JSON.parse(Buffer.from(process.argv[2] ?? '', 'base64').toString('utf8')) as RelayConfig
  await startRelay(cfg)
  process.stdout.write('ready\n')
}
