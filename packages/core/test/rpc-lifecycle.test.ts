// serveRpc and RpcClient under a service's lifecycle, over two real libp2p nodes: a stop answers the requests in
// flight and refuses the rest; a call's signal ends it with ABORTED. The client pool's retry and eviction rules.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Libp2p } from '@libp2p/interface'
import { createP2payNode } from '../src/wire/libp2p-node.ts'
import { serveRpc, RpcClient } from '../src/wire/rpc.ts'
import { ClientPool } from '../src/wire/client-pool.ts'
import { Lifecycle, sleep } from '../src/daemon/lifecycle.ts'
import { ErrorCode, P2payError } from '../src/errors.ts'
import { encodeFrame } from '../src/wire/frames.ts'
import { utf8 } from '../src/bytes.ts'

const PROTO = '/p2pay-test/life/1.0.0'
const is = (c: string) => (e: unknown) => e instanceof P2payError && e.code === c

let server: Libp2p
let client: Libp2p
let life: Lifecycle
const finished: string[] = []

before(async () => {
  const [k1, k2] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
  ;[server, client] = await Promise.all([
    createP2payNode({ privateKey: k1, listen: ['/ip4/127.0.0.1/tcp/0'], dht: false }),
    createP2payNode({ privateKey: k2, listen: ['/ip4/127.0.0.1/tcp/0'], dht: false })
  ])
  life = new Lifecycle()
  await serveRpc(
    server,
    PROTO,
    {
      echo: (args: unknown) => args,
      // work that goes on past the abort, as a handler finishing its store write does
      write: async (args: { ms: number; name: string }) => {
        await new Promise(r => setTimeout(r, args.ms))
        finished.push(args.name)
        return args.name
      },
      hang: async (_args: unknown, ctx) => {
        await sleep(60_000, ctx.signal)
      }
    },
    { life }
  )
})

after(async () => {
  await Promise.all([server.stop(), client.stop()])
})

describe('rpc under a lifecycle', () => {
  it("a call's own signal ends it with ABORTED at once; the stream stays usable", async () => {
    const c = new RpcClient(client, server.getMultiaddrs()[0], PROTO)
    const ac = new AbortController()
    const p = c.call('write', { ms: 300, name: 'not-waited' }, { signal: ac.signal, timeoutMs: 5000 })
    await sleep(20)
    const t0 = performance.now()
    ac.abort(new P2payError(ErrorCode.ABORTED, 'stopping'))
    await assert.rejects(p, is(ErrorCode.ABORTED))
    assert.ok(performance.now() - t0 < 100)
    assert.deepEqual(await c.call('echo', { x: 1 }), { x: 1 })
    await c.close()
  })

  it(
    'a stopping server answers the requests in flight, refuses new ones, and stop() waits for its ' + 'handlers',
    async () => {
      const c = new RpcClient(client, server.getMultiaddrs()[0], PROTO)
      await c.call('echo', {})
      const inFlight = c.call('write', { ms: 200, name: 'in-flight' }, { timeoutMs: 5000 })
      const hanging = c.call('hang', {}, { timeoutMs: 5000 }).catch(e => e)
      await sleep(30)
      const stopped = life.stop()
      await stopped
      assert.ok(finished.includes('in-flight'), 'stop() returned before the handler in flight finished')
      assert.equal(await inFlight, 'in-flight', 'the request in flight was not answered')
      assert.ok(is(ErrorCode.ABORTED)(await hanging), 'a handler waiting on the service signal ends with ABORTED')
      // the stopped service ended its stream; a new one is refused before any handler runs
      await assert.rejects(
        c.call('write', { ms: 1, name: 'after-stop' }, { timeoutMs: 3000 }),
        (e: unknown) => e instanceof P2payError && (e.code === ErrorCode.UNREACHABLE || e.code === ErrorCode.ABORTED)
      )
      await sleep(50)
      assert.equal(finished.includes('after-stop'), false, 'a request after the stop was acted on')
      await c.close()
    }
  )
})

describe('a reply that cannot be written', () => {
  it('a caller that hung up before its answer, then a stop: the failed write ends no process', async () => {
    const proto = '/p2pay-test/left/1.0.0'
    const own = new Lifecycle()
    let open!: () => void
    const gate = new Promise<void>(r => (open = r))
    let started!: () => void
    const running = new Promise<void>(r => (started = r))
    await serveRpc(server, proto, { wait: async () => (started(), await gate, 'late') }, { life: own })
    const unhandled: unknown[] = []
    const onUnhandled = (err: unknown): void => {
      unhandled.push(err)
    }
    process.on('unhandledRejection', onUnhandled)
    try {
      const stream = await client.dialProtocol(server.getMultiaddrs()[0], proto)
      stream.send(encodeFrame(utf8(JSON.stringify({ id: 1, op: 'wait', args: {} }))))
      await running
      // the caller closes its side, then hangs up: the answer has nowhere to go
      await stream.close()
      await sleep(50)
      await client.hangUp(server.peerId)
      await sleep(50)
      const stopping = own.stop()
      open()
      await stopping
      await sleep(200)
      assert.deepEqual(unhandled.map(String), [])
    } finally {
      process.off('unhandledRejection', onUnhandled)
      await server.unhandle(proto)
    }
  })
})

describe('ClientPool', () => {
  /** A network whose first dial fails as libp2p does on a connection that is closing. */
  function closingOnce() {
    let dials = 0
    let closed = 0
    const conn = {
      close: async () => {
        closed++
      },
      abort: () => {}
    }
    const network = {
      dialProtocol: async () => {
        dials++
        if (dials === 1)
          throw Object.assign(new Error('The connection muxer is "closed" and not "open"'), {
            name: 'ConnectionClosedError'
          })
        throw Object.assign(new Error('no route'), { name: 'DialError' })
      },
      getConnections: () => [conn],
      peerStore: { merge: async () => {} }
    }
    return { network: network as any, counts: () => ({ dials, closed }) }
  }

  it('a call on a connection that was closing is made once more, after the connection is closed', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const { network, counts } = closingOnce()
    const pool = new ClientPool(network, { protocol: PROTO })
    await assert.rejects(pool.call(peer, 'echo', {}, { timeoutMs: 1000 }), is(ErrorCode.UNREACHABLE))
    assert.deepEqual(counts(), { dials: 2, closed: 1 })
  })

  it("no retry once the pool's signal aborted, and every call then fails ABORTED", async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const { network, counts } = closingOnce()
    const ac = new AbortController()
    const pool = new ClientPool(network, { protocol: PROTO, signal: ac.signal })
    ac.abort(new P2payError(ErrorCode.ABORTED, 'stopping'))
    await assert.rejects(pool.call(peer, 'echo', {}), is(ErrorCode.ABORTED))
    assert.deepEqual(counts(), { dials: 0, closed: 0 })
  })

  it('keeps at most maxClients clients, closing the least recently used', async () => {
    const ids = await Promise.all(
      [1, 2, 3].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString())
    )
    const pool = new ClientPool(closingOnce().network, { protocol: PROTO, maxClients: 2 })
    const a = pool.client(ids[0])
    const b = pool.client(ids[1])
    assert.equal(pool.client(ids[0]), a, 'a client is reused (and is now the most recently used)')
    pool.client(ids[2]) // evicts ids[1], the least recently used
    assert.equal(pool.client(ids[0]), a)
    assert.notEqual(pool.client(ids[1]), b, 'the evicted client was kept')
    await pool.close()
  })
})
