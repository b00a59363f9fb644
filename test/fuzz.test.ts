// The fuzzing harness in the test run (scripts/fuzz): a market of real daemons,
// a scripted session, then a bounded run with a fixed seed and one with a
// random seed (printed: replay it with `npm run fuzz -- --seed N`). Before
// them, the faults the fuzzer found, each pinned by its own case.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { randomInt } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { RpcClient, createP2payNode, randomId } from '@p2pay/core'
import { KARMA_PROTOCOL, bankSet } from '@p2pay/karma'
import { PROTOCOL } from '@p2pay/ppay'
import { startWorld, type World } from '../scripts/fuzz/world.ts'
import { fuzzWorld, stateRoutes, type FuzzReport } from '../scripts/fuzz/run.ts'
import { snapshot, diff, errorsSince, logSize } from '../scripts/fuzz/checks.ts'
import { rawHttp } from './helpers/raw-http.ts'
import { tokenOf } from './helpers/bad-input.ts'
import type { Daemon } from './helpers/swarm.ts'

let w: World
const log = (s: string): void => console.log(`# ${s}`)
/** an object whose own `toString` is no function: String() of it throws */
const NOT_TEXT = { toString: 1 }

before(
  async () => {
    w = await startWorld(log)
  },
  { timeout: 240_000 }
)
after(
  async () => {
    await w?.me.stop().catch(() => {})
    await w?.swarm.stopAll()
  },
  { timeout: 60_000 }
)

/** `act` changes no state a GET route shows, on any daemon, and makes no daemon log an error. */
async function unchanged(act: () => Promise<void>): Promise<void> {
  const routes = await stateRoutes(w)
  const s0 = await snapshot(w, routes)
  const logs = new Map(w.daemons.map(d => [d, logSize(d)]))
  await act()
  assert.deepEqual(diff(s0, await snapshot(w, routes)), [], 'state changed')
  for (const d of w.daemons) assert.deepEqual(errorsSince(d, logs.get(d)!), [], `${d.kind} logged an error`)
}

async function post(d: Daemon, path: string, body: unknown): Promise<{ status: number; code?: string }> {
  const r = await rawHttp(d.apiPort, { method: 'POST', path, token: tokenOf(d), body: JSON.stringify(body) })
  assert.ok(!('error' in r), `${path}: ${'error' in r ? r.error : ''}`)
  return { status: r.status, code: r.code }
}

test(
  'a control-API client naming the payee (or a coin) with an object whose toString is no function is refused ' +
    'a typed 400 by ppay pay, pay-many, refund and karma transfer (was a 500 INTERNAL); nothing changes',
  { timeout: 60_000 },
  async () => {
    await unchanged(async () => {
      const cases: Array<[string, unknown]> = [
        ['/v1/ppay/pay', { to: NOT_TEXT, amount: 5 }],
        ['/v1/ppay/pay-many', { to: NOT_TEXT, value: 5, count: 1 }],
        ['/v1/karma/transfer', { to: NOT_TEXT, amount: 1 }]
      ]
      for (const [path, body] of cases)
        assert.deepEqual(await post(w.A, path, body), { status: 400, code: 'BAD_REQUEST' }, path)
      // a serial that is no text names no coin
      assert.deepEqual(await post(w.A, '/v1/ppay/refund', { sns: [NOT_TEXT] }), { status: 400, code: 'NO_SUCH_COIN' })
    })
  }
)

test(
  'a control-API client asking fairex buy to write to a number, a relative path or a non-text path is refused ' +
    '400 BAD_REQUEST: no file is written where the daemon was started, nothing is bought',
  { timeout: 60_000 },
  async () => {
    const file = (await w.A.api('GET', '/v1/fairex/files')).files[0]
    await unchanged(async () => {
      for (const out of [1e308, 'fuzz-relative.bin', NOT_TEXT]) {
        const body = { provider: w.A.addr, fileId: file.fileId, out }
        assert.deepEqual(
          await post(w.B, '/v1/fairex/buy', body),
          { status: 400, code: 'BAD_REQUEST' },
          JSON.stringify(out)
        )
      }
      // the daemons run in this process's directory: a relative name would have landed here
      for (const name of ['1e+308', 'fuzz-relative.bin', '[object Object]'])
        assert.equal(existsSync(join(process.cwd(), name)), false, name)
    })
  }
)

test(
  'a control-API client sharing a file under a name with a lone surrogate (no UTF-8 form: the signed manifest ' +
    'would name another file) is refused 400 BAD_REQUEST; nothing is shared',
  { timeout: 60_000 },
  async () => {
    const path = join(w.swarm.dir, 'fuzz-file.bin')
    await unchanged(async () => {
      for (const name of ['\ud800', 'a\udfffb.bin'])
        assert.deepEqual(await post(w.C, '/v1/fairex/share', { path, price: 5, name }), {
          status: 400,
          code: 'BAD_REQUEST'
        })
    })
  }
)

test(
  'a peer sending the owner a reassign request whose toAddrs holds an object whose toString is no function ' +
    'gets a typed refusal, not INTERNAL; nothing changes',
  { timeout: 60_000 },
  async () => {
    await unchanged(async () => {
      const args = { proof: { coin: 'x', chain: [] }, request: 'x', toAddrs: [NOT_TEXT] }
      const { replies, end } = await w.me.call(w.A.addr, PROTOCOL.reassign, 'reassign', args)
      assert.equal(end, 'closed')
      assert.equal(replies.length, 1)
      assert.equal(replies[0].ok, false)
      assert.equal(replies[0].error.code, 'BAD_REQUEST', JSON.stringify(replies[0]))
    })
  }
)

test(
  'a peer that opens a Karma stream to a node but does not serve Karma is not taken into its bank-sets ' +
    '(libp2p records the protocol of an inbound stream as one the opener serves)',
  { timeout: 60_000 },
  async () => {
    const members = [w.A.peerId, w.B.peerId, w.C.peerId]
    // a key nearer bank(C)'s key than A and B: counted as a Karma peer, it would be C's bank
    let key = await generateKeyPair('Ed25519')
    const nearest = (id: string): boolean => bankSet(w.C.peerId, [...members, id], 1)[0] === id
    while (!nearest(peerIdFromPrivateKey(key).toString())) key = await generateKeyPair('Ed25519')
    const intruder = await createP2payNode({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'], dht: false })
    const bankOfC = async (): Promise<string[]> =>
      (await w.C.api('GET', `/v1/karma/bankset?peer=${w.C.peerId}&fresh=1`)).bank
    try {
      const want = bankSet(w.C.peerId, members, 1)
      assert.deepEqual(await bankOfC(), want)
      const c = new RpcClient(intruder, multiaddr(w.C.addr), KARMA_PROTOCOL, { defaultTimeoutMs: 10_000 })
      await c.call('balance', { account: w.C.peerId, challenge: randomId(16) }).catch(() => undefined)
      await new Promise(resolve => setTimeout(resolve, 1500))
      assert.deepEqual(await bankOfC(), want, 'the intruder entered bank(C)')
      await c.close()
    } finally {
      await intruder.stop()
    }
  }
)

function assertClean(r: FuzzReport): void {
  log(`fuzz seed ${r.seed}: ${r.wire.cases} wire cases ${JSON.stringify(r.wire.byKind)}`)
  log(`fuzz seed ${r.seed}: ${r.http.cases} http cases ${JSON.stringify(r.http.status)}`)
  assert.ok(r.wire.cases > 0 && r.http.cases > 0)
  // every daemon's protocols were found (identify), not a list kept here
  assert.equal(Object.keys(r.protocols).length, w.daemons.length)
  assert.deepEqual(r.findings, [], `findings (replay with npm run fuzz -- --seed ${r.seed})`)
  assert.deepEqual(r.failures, [], `checks after the run (replay with npm run fuzz -- --seed ${r.seed})`)
}

test(
  'a bounded fuzz run with a fixed seed finds nothing: every daemon serves, no state changed',
  { timeout: 240_000 },
  async () => {
    assertClean(await fuzzWorld(w, { seed: 20261207, rounds: 600, seconds: 40, log }))
  }
)

test('a bounded fuzz run with a random seed finds nothing (the seed is printed)', { timeout: 240_000 }, async () => {
  const seed = randomInt(2 ** 31)
  log(`random fuzz seed ${seed}`)
  assertClean(await fuzzWorld(w, { seed, rounds: 600, seconds: 40, log }))
})
