// The RPC servers' byte budget for requests in flight, over real libp2p nodes in
// this process: a peer pinning memory with large calls to a long-poll handler is
// refused with BUSY past its budget, an honest peer is still served, and the
// bytes come back once the handlers answer.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createP2payNode } from '../src/wire/libp2p-node.ts'
import { serveRpc, RpcClient } from '../src/wire/rpc.ts'
import { RequestBudget, REQUEST_OVERHEAD, requestBudget, setRequestBudget } from '../src/wire/budget.ts'
import { ErrorCode, P2payError, isTransient } from '../src/errors.ts'
import { startDaemon } from '../src/daemon/daemon.ts'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const PROTO = '/p2pay-test/budget/1.0.0'
const OTHER = '/p2pay-test/budget-other/1.0.0'
const KIB = 1024
const PER_PEER = 256 * KIB
const TOTAL = 1024 * KIB
const PAD = 32 * KIB
/** the long polls' wait: they are released by the test long before */
const POLL_MS = 20_000

let server: Libp2p
let attacker: Libp2p
let honest: Libp2p
let addr: Multiaddr
let budget: RequestBudget
const clients: RpcClient[] = []
/** long polls waiting, released by `wake()` */
const waiting = new Set<() => void>()
let handled = 0
const wake = (): void => {
  for (const w of waiting) w()
  waiting.clear()
}
const poll = async (args: { pad?: string }): Promise<{ bytes: number }> => {
  handled++
  await new Promise<void>(resolve => {
    const timer = setTimeout(resolve, POLL_MS).unref()
    waiting.add(() => {
      clearTimeout(timer)
      resolve()
    })
  })
  return { bytes: args.pad?.length ?? 0 }
}

const client = (node: Libp2p, protocol = PROTO): RpcClient => {
  const c = new RpcClient(node, addr, protocol, { defaultTimeoutMs: POLL_MS + 5000 })
  clients.push(c)
  return c
}

/** Resolves once `cond` holds, or fails after `ms` (a bound on the wait, not a timing assertion). */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = performance.now() + ms
  while (!cond()) {
    if (performance.now() > end) assert.fail(`not reached within ${ms} ms (${waiting.size} polls waiting)`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
const waitingPolls = async (n: number): Promise<void> => await until(() => waiting.size >= n)

before(async () => {
  const keys = await Promise.all([0, 1, 2].map(async () => await generateKeyPair('Ed25519')))
  ;[server, attacker, honest] = await Promise.all(
    keys.map(async privateKey => await createP2payNode({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], dht: false }))
  )
  addr = server.getMultiaddrs()[0]
  budget = setRequestBudget(server, { perPeer: PER_PEER, total: TOTAL })
  // two protocols of one daemon draw on the one budget of its node
  await serveRpc(server, PROTO, { poll }, { maxInboundStreams: 256 })
  await serveRpc(server, OTHER, { poll }, { maxInboundStreams: 256 })
})

after(async () => {
  wake()
  for (const c of clients) await c.close().catch(() => {})
  await Promise.allSettled([server?.stop(), attacker?.stop(), honest?.stop()])
})

describe('rpc request budget', () => {
  it('a peer pinning memory with large long polls on many streams is refused with BUSY past its budget', async () => {
    const cost = PAD + 64 + REQUEST_OVERHEAD
    const streams = 8
    const perStream = 8
    // 64 calls of 32 KiB on 8 streams and two protocols: 2 MiB asked for, 256 KiB allowed
    let refusedSoFar = 0
    const calls = Array.from({ length: streams }, (_, s) => client(attacker, s % 2 === 0 ? PROTO : OTHER)).flatMap(c =>
      Array.from({ length: perStream }, async () => {
        try {
          return await c.call('poll', { pad: 'x'.repeat(PAD) })
        } catch (err) {
          refusedSoFar++
          throw err
        }
      })
    )
    const settled = Promise.allSettled(calls)
    const admitted = Math.floor(PER_PEER / cost)
    // every call is either waiting in the handler or already refused, before any poll is released
    await until(() => waiting.size + refusedSoFar === streams * perStream)
    assert.ok(waiting.size >= 1 && waiting.size <= admitted, `${waiting.size} polls admitted, at most ${admitted} fit`)
    const held = budget.held(attacker.peerId.toString())
    assert.ok(held <= PER_PEER, `the attacker holds ${held} bytes, over the ${PER_PEER} budget`)
    assert.ok(held >= waiting.size * PAD, 'the budget counts the bytes the waiting polls hold')
    assert.equal(budget.held(), held)

    // an honest peer is still served meanwhile (its own budget is untouched)
    const h = client(honest)
    const answer = h.call<{ bytes: number }>('poll', { pad: 'y'.repeat(1000) })
    await waitingPolls(waiting.size + 1)
    wake()
    assert.deepEqual(await answer, { bytes: 1000 })

    const results = await settled
    const ok = results.filter(r => r.status === 'fulfilled')
    const refused = results.flatMap(r => (r.status === 'rejected' ? [r.reason as unknown] : []))
    assert.equal(ok.length + refused.length, streams * perStream)
    assert.ok(ok.length >= 1 && ok.length <= admitted, `${ok.length} attacker calls served`)
    for (const err of refused) {
      assert.ok(err instanceof P2payError, String(err))
      assert.equal(err.code, ErrorCode.BUSY)
      assert.equal(err.details?.budget, 'peer')
      assert.ok(isTransient(err), 'BUSY is transient: the caller may retry later')
    }
    assert.ok(refused.length >= streams * perStream - admitted)
    assert.ok(handled <= admitted + 1, 'no refused call reached the handler')
    // every byte is back once the handlers answered
    assert.equal(budget.held(), 0)
    assert.equal(budget.held(attacker.peerId.toString()), 0)
  })

  it('after a refusal the same peer is served again once its calls in flight are done', async () => {
    const c = client(attacker)
    assert.deepEqual(
      await Promise.all([c.call('poll', { pad: 'z' }), (async () => (await waitingPolls(1), wake()))()]),
      [{ bytes: 1 }, undefined]
    )
    assert.equal(budget.held(), 0)
  })

  it('a request as large as the frame limit is taken when its peer holds nothing, whatever the budget', () => {
    const b = new RequestBudget({ perPeer: 10, total: 10 })
    b.take('p', 1000)
    assert.throws(
      () => b.take('p', 1),
      (e: unknown) => e instanceof P2payError && e.code === ErrorCode.BUSY && e.details?.budget === 'peer'
    )
    assert.throws(
      () => b.take('q', 1),
      (e: unknown) => e instanceof P2payError && e.code === ErrorCode.BUSY && e.details?.budget === 'total'
    )
    assert.equal(b.held(), 1000, 'a refusal takes nothing')
    assert.equal(b.refused, 2)
    b.release('p', 1000)
    b.take('q', 5)
    assert.equal(b.held('q'), 5)
    assert.equal(b.held('p'), 0)
  })

  it('many peers together are held to the total budget', () => {
    const b = new RequestBudget({ perPeer: 100, total: 250 })
    for (const p of ['a', 'b']) b.take(p, 100)
    b.take('c', 50)
    assert.throws(
      () => b.take('d', 1),
      (e: unknown) => e instanceof P2payError && e.code === ErrorCode.BUSY && e.details?.budget === 'total'
    )
    assert.equal(b.held(), 250)
  })

  it('a node without a budget set gets the defaults, one per node', () => {
    assert.equal(requestBudget(server), budget)
    const other = requestBudget(attacker)
    assert.notEqual(other, budget)
    assert.equal(requestBudget(attacker), other)
    assert.ok(other.perPeer >= 16 * 1024 * 1024, 'default per peer admits 16 MiB of calls in flight')
  })

  it('a daemon given a budget that is not a number over 0 refuses to start: BAD_REQUEST, nothing opened', async () => {
    for (const [flag, value] of [
      ['rpc-budget-mib', 0],
      ['rpc-peer-budget-mib', -1],
      ['rpc-peer-budget-mib', Number.NaN]
    ] as const) {
      const dir = join(tmpdir(), `p2pay-budget-refused-${process.pid}-${flag}`)
      await assert.rejects(
        startDaemon(
          { name: 'demo', buckets: {}, schemes: [], components: base => base },
          {
            'data-dir': dir,
            listen: ['/ip4/127.0.0.1/tcp/0'],
            announce: [],
            'api-port': 0,
            crypto: 'node',
            dht: false,
            [flag]: value
          }
        ),
        (e: unknown) => e instanceof P2payError && e.code === ErrorCode.BAD_REQUEST && e.message.includes(`--${flag}`)
      )
      assert.equal(existsSync(dir), false, 'no data dir made')
    }
  })
})
