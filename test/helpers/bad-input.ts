// The world of the bad-input tests (test/bad-input-*.test.ts): a broker and two
// nodes as separate processes, and this test process as its own libp2p peer
// that speaks the daemons' protocols frame by frame; objects to send them, and
// the assertions every case makes: the exact refusal, no state changed, and the
// daemon still serves a good request.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fromB64, randomId, sha256Hex, toB64 } from '@p2pay/core'
import { PROTOCOL, TAG, type CoinProof } from '@p2pay/ppay'
import { Swarm, ApiError, type Daemon } from './swarm.ts'
import { RawPeer, Key, bodyOf, errText } from './raw-peer.ts'

export const T = { timeout: 30_000 }
export const swarm = new Swarm('bad-input')
export let broker: Daemon, A: Daemon, B: Daemon
/** This process's peer: owns the coins it buys, signs as owner. */
export let me: RawPeer
/** H holds coins `me` assigned to it; M is a stranger (a second broker, a thief). Keys only. */
export let H: Key, M: Key
export let coins: string[] = []
/** Proofs delivered once in `before`; delivering them again is the nodes' "good request". */
export let heldByB: CoinProof, heldByA: CoinProof

// ---- building valid objects ---------------------------------------------------

export const hashOf = (b64: string): string => sha256Hex(fromB64(b64))
export const snOf = (coin: string): string => bodyOf<{ sn: string }>(coin).sn
export const buyBody = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  broker: broker.peerId,
  account: me.peerId,
  count: 1,
  value: 5,
  nonce: randomId(8),
  ...over
})
export const assignOf = (coin: string, holder: string, by: Key = me.key, tag: string = TAG.assign): string =>
  by.sign(tag, { sn: snOf(coin), coin: hashOf(coin), owner: me.peerId, seq: 1, holder, request: null })
export const cashOf = (
  coin: string,
  assign: string,
  by: Key = H,
  tag: string = TAG.cash,
  holder: string = by.peerId
): string => by.sign(tag, { sn: snOf(coin), seq: 1, depth: 0, holder, broker: broker.peerId, prev: hashOf(assign) })
export const requestOf = (
  coin: string,
  assign: string,
  by: Key = H,
  tag: string = TAG.request,
  from: string = by.peerId
): string => by.sign(tag, { sn: snOf(coin), owner: me.peerId, seq: 1, from, to: B.peerId, prev: hashOf(assign) })
/** A coin the broker never sold: signed by `by`, naming `brokerId` as its broker. */
export const forgedCoin = (by: Key, brokerId: string): string =>
  by.sign(TAG.coin, { broker: brokerId, owner: me.peerId, sn: randomId(16), value: 5, expiry: Date.now() + 86_400_000 })
/** Valid base64 of bytes that are no envelope: version 1, then a tag length that runs past the end. */
export const GARBAGE = toB64(new Uint8Array(200).map((_, i) => (i === 0 ? 1 : (i * 73 + 11) & 0xff)).fill(0xff, 1, 2))

// ---- state, liveness, calls ---------------------------------------------------

export async function state(): Promise<Record<string, unknown>> {
  const wallet = async (d: Daemon): Promise<unknown> => (await d.api('GET', '/v1/ppay/status')).wallet
  const purchases = async (d: Daemon): Promise<unknown> => await d.api('GET', '/v1/fairex/purchases')
  const [audit, accounts, frauds, downtime, coinsA, coinsB, walletA, walletB, purchasesA, purchasesB] =
    await Promise.all([
      broker.api('GET', '/v1/audit'),
      broker.api('GET', '/v1/accounts'),
      broker.api('GET', '/v1/ppay/frauds'),
      broker.api('GET', `/v1/ppay/downtime?owner=${me.peerId}`),
      A.api('GET', '/v1/ppay/coins'),
      B.api('GET', '/v1/ppay/coins'),
      wallet(A),
      wallet(B),
      purchases(A),
      purchases(B)
    ])
  return { audit, accounts, frauds, downtime, coinsA, coinsB, walletA, walletB, purchasesA, purchasesB }
}

export const tokenOf = (d: Daemon): string => readFileSync(`${d.dataDir}/api.token`, 'utf8').trim()
export const alive = (d: Daemon): boolean => d.proc != null && d.proc.exitCode == null && d.proc.signalCode == null

/** The daemon is up and answers a good request on a fresh stream (and its control API). */
export async function assertServes(d: Daemon): Promise<void> {
  assert.ok(alive(d), `${d.kind} ${d.peerId} is not running: ${d.logTail(5)}`)
  if (d === broker) {
    const { replies, end } = await me.call(d.addr, PROTOCOL.broker, 'balance', {})
    assert.equal(end, 'closed')
    assert.equal(replies.length, 1)
    assert.equal(replies[0].ok, true, JSON.stringify(replies[0]))
    assert.equal(replies[0].result.account, me.peerId)
  } else {
    const proof = d === A ? heldByA : heldByB
    const { replies, end } = await me.call(d.addr, PROTOCOL.pay, 'deliver', { proof })
    assert.equal(end, 'closed')
    assert.deepEqual(
      replies.map(r => [r.ok, r.result?.duplicate]),
      [[true, true]],
      JSON.stringify(replies)
    )
  }
  assert.equal((await d.api('GET', '/v1/status')).role, d.kind)
}

/**
 * One bad input: `act` runs between two state snapshots. The state must be the
 * same after, the daemon must still serve, and then `check` asserts the refusal.
 */
export async function refused<R>(d: Daemon, act: () => Promise<R>, check: (r: R) => void): Promise<void> {
  const s0 = await phase('state before', state)
  const r = await act()
  await phase('liveness check after', async () => {
    await assertServes(d)
  })
  assert.deepEqual(await phase('state after', state), s0, 'state changed')
  check(r)
}

/** Names the step a transport failure (e.g. `fetch failed`) happened in. */
export async function phase<R>(name: string, f: () => Promise<R>): Promise<R> {
  try {
    return await f()
  } catch (err) {
    if (err instanceof assert.AssertionError || err instanceof ApiError) throw err
    throw new Error(
      `${name}: ${errText(err)}${(err as any)?.cause != null ? ` (${errText((err as any).cause)})` : ''}`,
      { cause: err }
    )
  }
}

/** An RPC call whose reply must be one error frame with `code`, on a cleanly closed stream. */
export async function rpcRefused(d: Daemon, protocol: string, op: string, args: unknown, code: string): Promise<void> {
  await refused(
    d,
    async () => await me.call(d.addr, protocol, op, args),
    ({ replies, end, id }) => {
      assert.equal(replies.length, 1, `expected one reply, got ${JSON.stringify(replies)} (${end})`)
      assert.deepEqual(
        { id: replies[0].id, ok: replies[0].ok, code: replies[0].error?.code },
        { id, ok: false, code },
        JSON.stringify(replies[0])
      )
      assert.equal(typeof replies[0].error.message, 'string')
      assert.equal(end, 'closed')
    }
  )
}

/** `cash` answers per item: the RPC succeeds and the one item carries the error code. */
export async function cashRefused(proof: unknown, cash: unknown, code: string): Promise<void> {
  await refused(
    broker,
    async () => await me.call(broker.addr, PROTOCOL.broker, 'cash', { items: [{ proof, cash }] }),
    ({ replies, end }) => {
      assert.equal(replies.length, 1)
      assert.equal(replies[0].ok, true, JSON.stringify(replies[0]))
      const results = replies[0].result.results
      assert.equal(results.length, 1)
      assert.deepEqual(
        { status: results[0].status, code: results[0].code },
        { status: 'error', code },
        JSON.stringify(results[0])
      )
      assert.equal(end, 'closed')
    }
  )
}

export const buyRefused = async (buy: unknown, code: string): Promise<void> =>
  await rpcRefused(broker, PROTOCOL.broker, 'buy', { buy }, code)
export const downtimeRefused = async (proof: unknown, request: unknown, code: string): Promise<void> =>
  await rpcRefused(broker, PROTOCOL.broker, 'downtime', { proof, request }, code)
export const deliverRefused = async (proof: unknown, code: string): Promise<void> =>
  await rpcRefused(B, PROTOCOL.pay, 'deliver', { proof }, code)

/** Control API call expected to fail: returns status and code, or the transport error. */
export async function apiFailure(
  d: Daemon,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  opts: { token?: string | null; raw?: string } = {}
): Promise<{ status: number; code: string } | { transport: string }> {
  try {
    const r = await d.api(method, path, body, opts)
    return { status: 200, code: `accepted: ${JSON.stringify(r).slice(0, 200)}` }
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, code: err.code }
    return { transport: errText((err as any)?.cause ?? err) }
  }
}

export async function apiRefused(
  d: Daemon,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  status: number,
  code: string,
  opts: { token?: string | null; raw?: string } = {}
): Promise<void> {
  await refused(
    d,
    async () => await apiFailure(d, method, path, body, opts),
    r => {
      assert.deepEqual(
        r,
        { status, code },
        `${method} ${path} ${opts.raw != null ? `raw(${opts.raw.length})` : JSON.stringify(body)}`
      )
    }
  )
}

// ---- setup ----------------------------------------------------------------------

// Coins bought by `me` (coins[0] and coins[9] are held by B and A):
//   coins[1]: cash cases (assigned to H)     coins[2]: downtime cases (assigned to H)
//   coins[3]: deliver cases (assigned to B)  coins[4]: assigned to A, delivered to B
//   coins[5]: non-canonical base64 case     never used twice for an accepted object.

export async function audit(): Promise<{ holds: boolean }> {
  return await broker.api('GET', '/v1/audit')
}

/**
 * Starts the broker, the two nodes and this process's peer before a file's tests, and stops them after.
 * `nodeArgs` are the nodes' extra flags, given the running broker.
 */
export function useBadInputSwarm(opts: { nodeArgs?: (broker: Daemon) => string[] } = {}): void {
  before(
    async () => {
      broker = await swarm.startBroker()
      ;[A, B] = await swarm.startNodes(2, opts.nodeArgs?.(broker) ?? [])
      me = await RawPeer.start()
      H = await Key.create()
      M = await Key.create()
      await broker.api('POST', '/v1/topup', { account: A.peerId, amount: 1000 })
      await broker.api('POST', '/v1/topup', { account: me.peerId, amount: 1000 })
      // node A owns coins bought through its wallet
      assert.deepEqual(await A.api('POST', '/v1/ppay/buy', { count: 4, value: 5 }), { coins: 4, value: 20 })
      assert.equal((await A.api('GET', '/v1/ppay/coins')).owned.length, 4)
      // this peer buys its own coins over the broker protocol, to have their envelopes
      const { replies } = await me.call(broker.addr, PROTOCOL.broker, 'buy', {
        buy: me.key.sign(TAG.buy, buyBody({ count: 10 }))
      })
      assert.equal(replies[0]?.ok, true, JSON.stringify(replies))
      coins = replies[0].result.coins
      assert.equal(coins.length, 10)
      // one held coin on each node: re-delivering it is the nodes' liveness check
      heldByB = { coin: coins[0], chain: [{ assign: assignOf(coins[0], B.peerId) }] }
      heldByA = { coin: coins[9], chain: [{ assign: assignOf(coins[9], A.peerId) }] }
      for (const [d, proof] of [
        [B, heldByB],
        [A, heldByA]
      ] as const) {
        const r = await me.call(d.addr, PROTOCOL.pay, 'deliver', { proof })
        assert.deepEqual(
          r.replies.map(x => [x.ok, x.result?.duplicate]),
          [[true, false]],
          JSON.stringify(r.replies)
        )
      }
    },
    { timeout: 90_000 }
  )

  after(
    async () => {
      await me?.stop().catch(() => {})
      await swarm.stopAll()
    },
    { timeout: 30_000 }
  )
}

/** The last test of every bad-input file. */
export function noInternalFailures(): void {
  test('no daemon logged an internal failure while refusing all of this', T, async () => {
    for (const d of [broker, A, B]) {
      assert.ok(alive(d))
      const bad = readFileSync(`${d.dataDir}.log`, 'utf8')
        .split('\n')
        .filter(l => /"level":"error"/.test(l))
      assert.deepEqual(bad, [], `${d.kind} ${d.peerId}`)
    }
  })
}
