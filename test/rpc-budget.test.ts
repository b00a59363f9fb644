// A peer pinning a daemon's memory, against a real `p2pay node` process (with
// the broker it joins the network through): the test's own libp2p peer sends
// many large calls to Karma's long poll (awaitCredit) over many streams. Past
// the daemon's per-peer byte budget (--rpc-peer-budget-mib) the calls are
// refused with BUSY before any handler runs; a second, honest peer is still
// served; the bytes the daemon holds for requests (its rpc_request_bytes
// gauge: budget bytes, not RSS) stay within the budget and are all given back
// once the polls end.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { ErrorCode, P2payError, RpcClient, REQUEST_OVERHEAD, isTransient } from '@p2pay/core'
import { KARMA_PROTOCOL } from '@p2pay/karma'
import { Swarm, waitFor, type Daemon } from './helpers/swarm.ts'
import { RawPeer } from './helpers/raw-peer.ts'

const MIB = 1024 * 1024
const PEER_BUDGET_MIB = 4
const PAD = 256 * 1024
const STREAMS = 8
const PER_STREAM = 8
/** the polls' wait: long enough that they all still wait while the test looks */
const POLL_MS = 15_000

const swarm = new Swarm('rpc-budget')
let node: Daemon
let attacker: RawPeer
let honest: RawPeer
const clients: RpcClient[] = []

/** A gauge of the daemon's Prometheus /metrics (named after the daemon's prefix). */
async function gauge(d: Daemon, name: string): Promise<number> {
  const text: string = await d.api('GET', '/metrics')
  const line = text.split('\n').find(l => !l.startsWith('#') && l.split(' ')[0].endsWith(`_${name}`))
  assert.ok(line != null, `${name} in /metrics`)
  return Number(line.slice(line.lastIndexOf(' ') + 1))
}

before(async () => {
  await swarm.startBroker()
  ;[node] = await swarm.startNodes(1, ['--rpc-peer-budget-mib', String(PEER_BUDGET_MIB)])
  ;[attacker, honest] = await Promise.all([RawPeer.start(), RawPeer.start()])
})

after(async () => {
  for (const c of clients) await c.close().catch(() => {})
  await Promise.allSettled([attacker?.stop(), honest?.stop()])
  await swarm.stopAll()
})

test(
  'a peer pinning memory with large long polls on many streams is refused with BUSY past the daemon budget',
  { timeout: 120_000 },
  async t => {
    const client = (p: RawPeer): RpcClient => {
      const c = new RpcClient(p.node, multiaddr(node.addr), KARMA_PROTOCOL, { defaultTimeoutMs: POLL_MS + 15_000 })
      clients.push(c)
      return c
    }
    const budget = PEER_BUDGET_MIB * MIB
    const admitted = Math.floor(budget / (PAD + REQUEST_OVERHEAD))
    const total = STREAMS * PER_STREAM
    // 64 calls of 256 KiB on 8 streams: 16 MiB asked for, 4 MiB allowed
    let refusedSoFar = 0
    const calls = Array.from({ length: STREAMS }, () => client(attacker)).flatMap(c =>
      Array.from({ length: PER_STREAM }, async () => {
        const requestHash = randomBytes(32).toString('hex') // never credited: the poll waits its whole time
        try {
          return await c.call('awaitCredit', { requestHash, waitMs: POLL_MS, pad: 'x'.repeat(PAD) })
        } catch (err) {
          if (err instanceof P2payError && err.code === ErrorCode.BUSY) refusedSoFar++
          throw err
        }
      })
    )
    const settled = Promise.allSettled(calls)

    // the refusals come back while the admitted polls wait
    await waitFor('the refusals', async () => refusedSoFar >= total - admitted, 30_000)
    const held = await gauge(node, 'rpc_request_bytes')
    assert.ok(held <= budget, `the daemon holds ${held} bytes of requests, over the ${budget} budget`)
    assert.ok(held >= (total - refusedSoFar) * PAD, `the gauge counts what the waiting polls hold (${held})`)
    assert.equal(await gauge(node, 'rpc_busy_refusals'), refusedSoFar)
    t.diagnostic(`held ${held} bytes for ${total - refusedSoFar} waiting polls; ${refusedSoFar} of ${total} refused`)

    // an honest peer is still served meanwhile
    const h = client(honest)
    const hash = randomBytes(32).toString('hex')
    assert.deepEqual(await h.call('credited', { hashes: [hash] }), { credited: [] })

    // the admitted polls end as polls do (not credited here: TIMEOUT); the refused ones were BUSY, transient
    const results = await settled
    const reasons = results.map(r => (r.status === 'rejected' ? (r.reason as P2payError) : undefined))
    const busy = reasons.filter(e => e?.code === ErrorCode.BUSY)
    const timedOut = reasons.filter(e => e?.code === ErrorCode.TIMEOUT)
    assert.equal(busy.length + timedOut.length, total, JSON.stringify(reasons.map(e => e?.code ?? 'ok')))
    assert.ok(timedOut.length >= 1 && timedOut.length <= admitted, `${timedOut.length} polls admitted`)
    for (const e of busy) {
      assert.equal(e?.details?.budget, 'peer')
      assert.ok(isTransient(e))
    }
    // every byte is back, and the node serves the attacker's next (small) call as any other
    await waitFor('the budget to be given back', async () => (await gauge(node, 'rpc_request_bytes')) === 0)
    assert.deepEqual(await client(attacker).call('credited', { hashes: [hash] }), { credited: [] })
    const status = await node.api('GET', '/v1/status')
    assert.equal(status.peerId, node.peerId, 'the node is up and answering')
  }
)
