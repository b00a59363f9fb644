// rpc.ts over two real libp2p nodes in this process: round trips, error codes,
// pipelining, timeouts, unreachable peers, bad frames and per-kind counters.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createP2payNode } from '../src/wire/libp2p-node.ts'
import { serveRpc, RpcClient, errorReply, DEFAULT_MAX_FRAME, type RpcContext } from '../src/wire/rpc.ts'
import { FrameReader, sendFrame } from '../src/wire/frames.ts'
import { Metrics } from '../src/metrics.ts'
import { ErrorCode, P2payError } from '../src/errors.ts'
import { utf8, fromUtf8 } from '../src/bytes.ts'

const PROTO = '/p2pay-test/rpc/1.0.0'
const RAW = '/p2pay-test/raw/1.0.0'

const code =
  (c: string, re?: RegExp) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof P2payError, `expected P2payError ${c}, got ${String(e)}`)
    assert.equal(e.code, c, e.message)
    if (re != null) assert.match(e.message, re)
    return true
  }

let server: Libp2p
let client: Libp2p
let addr: Multiaddr
const serverMetrics = new Metrics()
const serverErrors: Array<{ err: Error; op?: string }> = []
const openClients: RpcClient[] = []
let squaring = 0
const recorded: unknown[] = []
let maxSquaring = 0

function newClient(opts: { metrics?: Metrics; defaultTimeoutMs?: number } = {}): RpcClient {
  const c = new RpcClient(client, addr, PROTO, opts)
  openClients.push(c)
  return c
}

before(async () => {
  const [k1, k2] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
  ;[server, client] = await Promise.all([
    createP2payNode({ privateKey: k1, listen: ['/ip4/127.0.0.1/tcp/0'], dht: false }),
    createP2payNode({ privateKey: k2, listen: ['/ip4/127.0.0.1/tcp/0'], dht: false })
  ])
  addr = server.getMultiaddrs()[0]
  await serveRpc(
    server,
    PROTO,
    {
      echo: (args: unknown, ctx: RpcContext) => ({ args, remotePeer: ctx.remotePeer, kind: ctx.kind ?? null }),
      square: async (args: { n: number; delay: number }) => {
        squaring++
        maxSquaring = Math.max(maxSquaring, squaring)
        try {
          await sleep(args.delay, undefined, { ref: false })
          return { n: args.n, sq: args.n * args.n }
        } finally {
          squaring--
        }
      },
      // timers unref'd: a handler still sleeping on the stopped server must not hold the process open
      slow: async (args: { ms: number }) => {
        await sleep(args.ms, undefined, { ref: false })
        return 'late'
      },
      p2err: () => {
        throw new P2payError(ErrorCode.INSUFFICIENT_FUNDS, 'balance 3 < 5', { have: 3, need: 5 })
      },
      plain: () => {
        throw new Error('secret internal detail /home/x/.data')
      },
      nothing: () => undefined,
      huge: (args: { bytes: number }) => 'y'.repeat(args.bytes),
      record: (args: unknown) => {
        recorded.push(args)
        return 'not sent back'
      }
    },
    {
      metrics: serverMetrics,
      onError: (err, op) => {
        serverErrors.push({ err, op })
      }
    }
  )
  // a deliberately misbehaving server: answers every request with a chosen raw error code
  await client.handle(RAW, async stream => {
    const reader = new FrameReader(stream, DEFAULT_MAX_FRAME)
    for (let f = await reader.read(); f != null; f = await reader.read()) {
      const req = JSON.parse(fromUtf8(f)) as { id: number; args: { code: string; message?: unknown } }
      const message = req.args.message ?? 'from a hostile peer'
      await sendFrame(stream, utf8(JSON.stringify({ id: req.id, ok: false, error: { code: req.args.code, message } })))
    }
    await stream.close()
  })
})

after(async () => {
  for (const c of openClients) await c.close().catch(() => {})
  // (libp2p leaves a 1 s address-manager debounce timer behind after stop; the process exits when it fires)
  await Promise.allSettled([server?.stop(), client?.stop()])
})

describe('rpc over libp2p', () => {
  it('round trip: result, caller peer id and kind reach the handler', async () => {
    const c = newClient()
    const r = await c.call<{ args: unknown; remotePeer: string; kind: string | null }>(
      'echo',
      { a: 1, s: 'é', l: [1, 2] },
      { kind: 'pay' }
    )
    assert.deepEqual(r.args, { a: 1, s: 'é', l: [1, 2] })
    assert.equal(r.remotePeer, client.peerId.toString())
    assert.equal(r.kind, 'pay')
    // a kind that is not a plain lower-case name is not passed on
    assert.equal((await c.call<{ kind: string | null }>('echo', {}, { kind: 'Bad Kind!' })).kind, null)
    assert.equal((await c.call<{ kind: string | null }>('echo', {})).kind, null)
    // absent args arrive as {}; undefined result comes back as undefined
    assert.deepEqual((await c.call<{ args: unknown }>('echo', undefined)).args, {})
    assert.equal(await c.call('nothing', {}), undefined)
  })

  it('a handler throwing P2payError returns that code, message and details', async () => {
    const c = newClient()
    await assert.rejects(c.call('p2err', {}), (e: unknown) => {
      code(ErrorCode.INSUFFICIENT_FUNDS, /balance 3 < 5/)(e)
      assert.deepEqual((e as P2payError).details, { have: 3, need: 5 })
      return true
    })
    assert.equal(serverErrors.length, 0, 'expected errors are not reported to onError')
  })

  it('a handler throwing a plain Error returns INTERNAL without its message; onError sees it', async () => {
    const c = newClient()
    await assert.rejects(c.call('plain', {}), (e: unknown) => {
      code(ErrorCode.INTERNAL)(e)
      assert.doesNotMatch((e as Error).message, /secret|home/)
      return true
    })
    assert.equal(serverErrors.length, 1)
    assert.equal(serverErrors[0].op, 'plain')
    assert.match(serverErrors[0].err.message, /secret internal detail/)
    assert.deepEqual(errorReply(7, new Error('x')), {
      id: 7,
      ok: false,
      error: { code: 'INTERNAL', message: 'internal error' }
    })
  })

  it('an unknown op is UNKNOWN_OP, including names inherited from Object.prototype', async () => {
    const c = newClient()
    for (const op of ['nope', 'toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      await assert.rejects(c.call(op, {}), code(ErrorCode.UNKNOWN_OP), op)
    }
    // the stream survives errors
    assert.equal((await c.call<{ args: unknown }>('echo', { ok: 1 })).args !== undefined, true)
  })

  it('200 concurrent calls pipelined on one client each get their own answer, on one stream', async () => {
    const outbound = (): number =>
      client
        .getConnections(server.peerId)
        .flatMap(conn => conn.streams)
        .filter(s => s.protocol === PROTO && s.direction === 'outbound' && s.status === 'open').length
    const before = outbound()
    const c = newClient()
    const N = 200
    maxSquaring = 0
    // replies come back out of order (different delays) and are matched by id
    const calls = Array.from(
      { length: N },
      async (_, n) =>
        await c.call<{ n: number; sq: number }>('square', { n, delay: (n * 7) % 23 }, { timeoutMs: 10_000 })
    )
    const results = await Promise.all(calls)
    for (let n = 0; n < N; n++) assert.deepEqual(results[n], { n, sq: n * n }, `call ${n}`)
    assert.equal(outbound(), before + 1, 'one new stream carried all 200 calls')
    assert.ok(maxSquaring >= 10, `requests overlapped on the server: at most ${maxSquaring} at once`)
  })

  it('a call that outlives its timeout is TIMEOUT; the client keeps working', async () => {
    const c = newClient()
    const t0 = Date.now()
    await assert.rejects(
      c.call('slow', { ms: 1500 }, { timeoutMs: 200 }),
      code(ErrorCode.TIMEOUT, /slow timed out after 200 ms/)
    )
    // not sooner than asked; TIMEOUT rather than 'late' shows it did not wait for the answer (no upper bound: load)
    assert.ok(Date.now() - t0 >= 150, `took ${Date.now() - t0} ms`)
    assert.deepEqual((await c.call<{ args: unknown }>('echo', { after: 1 })).args, { after: 1 })
    // defaultTimeoutMs applies when the call names none
    const d = newClient({ defaultTimeoutMs: 150 })
    await assert.rejects(d.call('slow', { ms: 1000 }), code(ErrorCode.TIMEOUT))
  })

  it('a request over the frame limit is FRAME_TOO_LARGE, never sent; calls in flight keep their answers', async () => {
    const c = newClient()
    const pending = c.call<{ n: number; sq: number }>('square', { n: 7, delay: 300 })
    const before = recorded.length
    const big = 'x'.repeat(DEFAULT_MAX_FRAME)
    await assert.rejects(c.call('record', { big }), code(ErrorCode.FRAME_TOO_LARGE, /nothing was sent/))
    await assert.rejects(c.send('record', { big }), code(ErrorCode.FRAME_TOO_LARGE, /nothing was sent/))
    // the server would have reset the stream on it, failing the call in flight with a bare "stream reset"
    assert.deepEqual(await pending, { n: 7, sq: 49 })
    assert.deepEqual((await c.call<{ args: unknown }>('echo', { after: 2 })).args, { after: 2 })
    await sleep(50)
    assert.equal(recorded.length, before, 'the handler never ran')
  })

  it('a reply over the frame limit comes back as REPLY_TOO_LARGE; the stream and its other calls live on', async () => {
    const c = newClient()
    const pending = c.call<{ n: number; sq: number }>('square', { n: 6, delay: 300 })
    // not FRAME_TOO_LARGE, which says the request was refused: here the op ran
    await assert.rejects(
      c.call('huge', { bytes: DEFAULT_MAX_FRAME }),
      code(ErrorCode.REPLY_TOO_LARGE, /reply of \d+ bytes is over the 1048576-byte frame limit/)
    )
    assert.deepEqual(await pending, { n: 6, sq: 36 })
    assert.equal((await c.call<string>('huge', { bytes: 1000 })).length, 1000)
  })

  it("messages_sent is counted under the caller's kind on both sides (op name without a kind)", async () => {
    const mine = new Metrics()
    const c = newClient({ metrics: mine })
    for (let i = 0; i < 3; i++) await c.call('echo', { i }, { kind: 'count-test' })
    await c.call('p2err', {}, { kind: 'count-test' }).catch(() => {})
    await c.call('echo', {})
    await sleep(50) // the server counts after its write
    assert.equal(mine.get('messages_sent_total', 'count-test'), 4)
    assert.equal(serverMetrics.get('messages_sent_total', 'count-test'), 4)
    assert.equal(mine.get('messages_sent_total', 'echo'), 1)
    assert.ok(serverMetrics.get('messages_sent_total', 'echo') >= 1)
    assert.equal(mine.get('messages_sent_total'), 5)
  })

  it(
    'a one-way request runs its handler and nothing is sent back; calls on ' + 'the same stream keep their answers',
    async () => {
      const mine = new Metrics()
      const c = newClient({ metrics: mine })
      const before = serverMetrics.get('messages_sent_total', 'oneway-test')
      await c.send('record', { n: 1 }, { kind: 'oneway-test' })
      assert.equal(
        (await c.call<{ args: { after: boolean } }>('echo', { after: true }, { kind: 'oneway-test' })).args.after,
        true
      )
      await sleep(50) // the server counts after its write
      assert.deepEqual(recorded, [{ n: 1 }])
      assert.equal(mine.get('messages_sent_total', 'oneway-test'), 2)
      assert.equal(serverMetrics.get('messages_sent_total', 'oneway-test') - before, 1, 'only the call was answered')
    }
  )

  it('bad frames get BAD_FRAME answers on the same stream, which keeps serving', async () => {
    const stream = await client.dialProtocol(addr, PROTO)
    const reader = new FrameReader(stream, DEFAULT_MAX_FRAME)
    const ask = async (raw: string): Promise<any> => {
      await sendFrame(stream, utf8(raw))
      const f = await reader.read(AbortSignal.timeout(5000))
      assert.ok(f != null)
      return JSON.parse(fromUtf8(f))
    }
    assert.deepEqual(await ask('not json'), {
      id: -1,
      ok: false,
      error: { code: 'BAD_FRAME', message: 'frame is not UTF-8 JSON' }
    })
    const noOp = await ask('{"id":5}')
    assert.equal(noOp.id, 5)
    assert.equal(noOp.error.code, 'BAD_FRAME')
    assert.equal((await ask('{"id":1.5,"op":"echo"}')).id, -1)
    assert.equal((await ask('null')).error.code, 'BAD_FRAME')
    assert.deepEqual(await ask('{"id":9,"op":"echo","args":{"x":1}}'), {
      id: 9,
      ok: true,
      result: { args: { x: 1 }, remotePeer: client.peerId.toString(), kind: null }
    })
    await stream.close()
  })

  it('an unknown or non-own error code from the remote becomes INTERNAL', async () => {
    const c = new RpcClient(server, client.peerId, RAW)
    openClients.push(c)
    await assert.rejects(c.call('x', { code: 'NOT_A_CODE' }), code(ErrorCode.INTERNAL))
    await assert.rejects(c.call('x', { code: 'NOT_FOUND' }), code(ErrorCode.NOT_FOUND))
  })

  // `res.error.code in ErrorCode` also holds for keys inherited from Object.prototype,
  // so a remote peer can make a P2payError whose code is 'constructor', 'toString', ...
  it('an error code inherited from Object.prototype is not trusted', async () => {
    const c = new RpcClient(server, client.peerId, RAW)
    openClients.push(c)
    for (const bad of ['constructor', 'toString', '__proto__']) {
      await assert.rejects(c.call('x', { code: bad }), code(ErrorCode.INTERNAL), bad)
    }
  })

  it('a hostile peer answering an error whose message is no text: its code, not a TypeError', async () => {
    const c = new RpcClient(server, client.peerId, RAW)
    openClients.push(c)
    for (const message of [{ toString: 1 }, { toString: null }, ['x'], 42, null]) {
      await assert.rejects(
        c.call('x', { code: 'NOT_FOUND', message }),
        (e: unknown) => e instanceof P2payError && e.code === ErrorCode.NOT_FOUND && typeof e.message === 'string',
        JSON.stringify(message)
      )
    }
  })

  it('a caller naming ops nobody serves, each a new long name: counted under one kind, unknown', async () => {
    const c = newClient()
    const before = serverMetrics.get('messages_sent_total', 'unknown')
    for (let i = 0; i < 3; i++)
      await assert.rejects(c.call(`nope-${i}-${'x'.repeat(5000)}`, {}), code(ErrorCode.UNKNOWN_OP))
    assert.equal(serverMetrics.get('messages_sent_total', 'unknown'), before + 3)
    assert.ok(Object.keys(serverMetrics.snapshot()).every(k => k.length < 200))
  })

  it('after the server node stops, pending and new calls are UNREACHABLE', async () => {
    const c = newClient()
    await c.call('echo', {}) // stream is open
    const pending = c.call('slow', { ms: 5000 }, { timeoutMs: 8000 })
    const pendingResult = pending.then(
      () => 'resolved',
      (e: unknown) => e
    )
    await sleep(50)
    await server.stop()
    const e = await pendingResult
    code(ErrorCode.UNREACHABLE)(e)
    const t0 = Date.now()
    await assert.rejects(c.call('echo', {}, { timeoutMs: 3000 }), code(ErrorCode.UNREACHABLE))
    await assert.rejects(newClient().call('echo', {}, { timeoutMs: 3000 }), code(ErrorCode.UNREACHABLE))
    assert.ok(Date.now() - t0 < 5000)
  })
})
