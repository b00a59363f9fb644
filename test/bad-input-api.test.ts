// Bad input against running daemons (the control API): a broker and two nodes as separate
// processes, and this test process as its own libp2p peer that speaks the
// daemons' protocols frame by frame. Every case asserts the exact refusal, that
// no state changed (broker audit, accounts, frauds, downtime log; both nodes'
// coins, wallet summary and file purchases), and that the daemon still serves a good request.
// The nodes run the stream probe (--diag) and know a TTP (the broker's address: no purchase
// here gets far enough to need one), so those routes get as far as their peers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { MAX_MONEY } from '@p2pay/core'
import { type Daemon } from './helpers/swarm.ts'
import { rawHttp, oneConnection } from './helpers/raw-http.ts'
import {
  noInternalFailures,
  useBadInputSwarm,
  A,
  B,
  T,
  apiRefused,
  broker,
  me,
  refused,
  swarm,
  tokenOf
} from './helpers/bad-input.ts'

useBadInputSwarm({ nodeArgs: b => ['--ttp', b.addr, '--diag'] })

// ---- control API --------------------------------------------------------------------------

test('control API: no token, wrong token -> 401 UNAUTHORIZED (state-changing routes included)', T, async () => {
  for (const token of [null, '', 'wrong', 'x'.repeat(64)]) {
    await apiRefused(broker, 'POST', '/v1/topup', { account: me.peerId, amount: 5 }, 401, 'UNAUTHORIZED', { token })
    await apiRefused(A, 'POST', '/v1/ppay/buy', { count: 1, value: 5 }, 401, 'UNAUTHORIZED', { token })
    await apiRefused(A, 'GET', '/v1/ppay/coins', undefined, 401, 'UNAUTHORIZED', { token })
  }
  // the right token with one character changed (same length)
  const real = tokenOf(A)
  const wrong = (real[0] === 'a' ? 'b' : 'a') + real.slice(1)
  await apiRefused(A, 'POST', '/v1/ppay/pay', { to: B.peerId, amount: 5 }, 401, 'UNAUTHORIZED', { token: wrong })
  await apiRefused(broker, 'GET', '/metrics', undefined, 401, 'UNAUTHORIZED', { token: null })
})
test('control API: unknown route -> 404 NOT_FOUND', T, async () => {
  await apiRefused(broker, 'GET', '/v1/nope', undefined, 404, 'NOT_FOUND')
  await apiRefused(broker, 'POST', '/v1/accounts', {}, 404, 'NOT_FOUND')
  await apiRefused(broker, 'GET', '/v1/topup', undefined, 404, 'NOT_FOUND')
  await apiRefused(A, 'POST', '/v1/ppay/coins', {}, 404, 'NOT_FOUND')
  await apiRefused(A, 'GET', '/v1/ppay/cheat/double-assign', undefined, 404, 'NOT_FOUND')
  await apiRefused(A, 'POST', '/v1/ppay/cheat/double-assign', { to1: B.peerId, to2: broker.peerId }, 404, 'NOT_FOUND')
})
test('control API: a body that is not JSON -> 400 BAD_REQUEST', T, async () => {
  for (const raw of ['{account:', 'amount=5', '\u0000', '{"account":"x","amount":5']) {
    await apiRefused(broker, 'POST', '/v1/topup', undefined, 400, 'BAD_REQUEST', { raw })
    await apiRefused(A, 'POST', '/v1/ppay/pay', undefined, 400, 'BAD_REQUEST', { raw })
  }
})
test('control API: a JSON body that is not an object -> 400 BAD_REQUEST', T, async () => {
  for (const raw of [JSON.stringify([{ account: me.peerId, amount: 5 }]), 'null', '5', '"x"', 'true']) {
    await apiRefused(broker, 'POST', '/v1/topup', undefined, 400, 'BAD_REQUEST', { raw })
    await apiRefused(A, 'POST', '/v1/ppay/buy', undefined, 400, 'BAD_REQUEST', { raw })
  }
})
test('control API: a body over 1 MiB -> 413 FRAME_TOO_LARGE', T, async () => {
  // bodies that would be valid requests if they were accepted; each on a fresh connection (see the next test)
  const pad = 'x'.repeat(1024 * 1024 + 16)
  const cases: Array<[Daemon, string, string]> = [
    [broker, '/v1/topup', JSON.stringify({ account: me.peerId, amount: 5, pad })],
    [A, '/v1/ppay/buy', JSON.stringify({ count: 1, value: 5, pad })],
    [A, '/v1/ppay/pay', JSON.stringify({ to: B.peerId, amount: 5, pad: pad.repeat(3) })]
  ]
  for (const [d, path, body] of cases) {
    await refused(
      d,
      async () => await rawHttp(d.apiPort, { method: 'POST', path, token: tokenOf(d), body }),
      r => {
        assert.deepEqual(
          'error' in r ? r : { status: r.status, code: r.code },
          { status: 413, code: 'FRAME_TOO_LARGE' },
          `POST ${path} (${body.length} bytes)`
        )
      }
    )
  }
})
test(
  'control API: after a 413 the connection is closed or still usable',
  {
    ...T
  },
  async () => {
    // 3 MiB: more than the server reads before it answers, so part of the body stays unread on the connection
    const body = JSON.stringify({ account: me.peerId, amount: 5, pad: 'x'.repeat(3 * 1024 * 1024) })
    await refused(
      broker,
      async () =>
        await oneConnection(
          broker.apiPort,
          [
            { method: 'POST', path: '/v1/topup', token: tokenOf(broker), body },
            { method: 'GET', path: '/v1/audit', token: tokenOf(broker) }
          ],
          8000
        ),
      ([big, next]) => {
        assert.deepEqual('error' in big ? big : [big.status, big.code], [413, 'FRAME_TOO_LARGE'])
        assert.deepEqual(
          'error' in next ? next : next.status,
          200,
          'request after the 413 on the same connection ' +
            `(the 413 said Connection: ${'error' in big ? '?' : big.connection})`
        )
      }
    )
  }
)
test('control API: pay with a negative, zero, non-integer or non-number amount -> 400 BAD_REQUEST', T, async () => {
  for (const amount of [-5, 0, 2.5, 5.0000001, '5', null, 1e300, Number.MAX_SAFE_INTEGER + 1]) {
    await apiRefused(A, 'POST', '/v1/ppay/pay', { to: B.peerId, amount }, 400, 'BAD_REQUEST')
  }
  await apiRefused(A, 'POST', '/v1/ppay/pay', { to: B.peerId }, 400, 'BAD_REQUEST')
})
test('control API: pay to a malformed peer id (or to oneself) -> 400 BAD_REQUEST', T, async () => {
  for (const to of ['not-a-peer-id', '', 12345, B.peerId.slice(0, -1), `${B.peerId}x`, null]) {
    await apiRefused(A, 'POST', '/v1/ppay/pay', { to, amount: 5 }, 400, 'BAD_REQUEST')
  }
  await apiRefused(A, 'POST', '/v1/ppay/pay', { amount: 5 }, 400, 'BAD_REQUEST')
  await apiRefused(A, 'POST', '/v1/ppay/pay', { to: A.peerId, amount: 5 }, 400, 'BAD_REQUEST')
})
test('control API: pay an amount no set of coins adds up to -> 400 NO_EXACT_AMOUNT', T, async () => {
  // A owns 4 coins of 5 (and holds one of 5 from this peer)
  for (const amount of [1, 7, 26, 1000, Number.MAX_SAFE_INTEGER]) {
    await apiRefused(A, 'POST', '/v1/ppay/pay', { to: B.peerId, amount }, 400, 'NO_EXACT_AMOUNT')
  }
  await apiRefused(A, 'POST', '/v1/ppay/pay', { to: B.peerId, amount: 3, layered: true }, 400, 'NO_EXACT_AMOUNT')
})
test('control API: buy with count 0 (or another bad count/value) -> 400 BAD_REQUEST', T, async () => {
  for (const body of [
    { count: 0, value: 5 },
    { count: -1, value: 5 },
    { count: 1.5, value: 5 },
    { count: '1', value: 5 },
    { value: 5 },
    { count: 1, value: 0 },
    { count: 1, value: -5 },
    { count: 1 }
  ]) {
    await apiRefused(A, 'POST', '/v1/ppay/buy', body, 400, 'BAD_REQUEST')
  }
  // refused by the broker: more coins than one purchase may hold; more than the balance
  await apiRefused(A, 'POST', '/v1/ppay/buy', { count: 10_001, value: 1 }, 400, 'BAD_REQUEST')
  await apiRefused(A, 'POST', '/v1/ppay/buy', { count: 1, value: 1_000_000 }, 400, 'INSUFFICIENT_FUNDS')
})
test('control API: topup with a negative (zero, non-integer) amount -> 400 BAD_REQUEST', T, async () => {
  for (const amount of [-5, 0, 1.5, '5', null, Number.MAX_SAFE_INTEGER + 1]) {
    await apiRefused(broker, 'POST', '/v1/topup', { account: me.peerId, amount }, 400, 'BAD_REQUEST')
  }
  await apiRefused(broker, 'POST', '/v1/topup', { account: me.peerId }, 400, 'BAD_REQUEST')
})
test('control API: a topup whose amount or sum would pass MAX_MONEY -> 400 BAD_REQUEST', T, async () => {
  // two topups of MAX_SAFE_INTEGER once left a wrong balance that the audit passed
  for (const amount of [Number.MAX_SAFE_INTEGER, MAX_MONEY + 1]) {
    await apiRefused(broker, 'POST', '/v1/topup', { account: me.peerId, amount }, 400, 'BAD_REQUEST')
  }
  // an amount in range that the money already topped up would take past the bound, on any account
  const { toppedUp, holds } = await broker.api('GET', '/v1/audit')
  assert.equal(holds, true)
  for (const account of [me.peerId, A.peerId]) {
    const amount = MAX_MONEY - toppedUp + 1
    await apiRefused(broker, 'POST', '/v1/topup', { account, amount }, 400, 'BAD_REQUEST')
  }
})
test('control API: topup of an empty (or missing, non-string, overlong) account id -> 400 BAD_REQUEST', T, async () => {
  for (const account of ['', undefined, null, 42, 'x'.repeat(129)]) {
    await apiRefused(broker, 'POST', '/v1/topup', { account, amount: 5 }, 400, 'BAD_REQUEST')
  }
})
test(
  'control API: topup of an account id that is not a peer id -> 400 BAD_REQUEST',
  {
    ...T
  },
  async () => {
    await apiRefused(broker, 'POST', '/v1/topup', { account: 'not a peer id', amount: 5 }, 400, 'BAD_REQUEST')
  }
)

test('control API: a balance or downtime-log query for an id that is not a peer id -> 400 BAD_REQUEST', T, async () => {
  // these reads answered 200 with an empty result, so a typo read as "no money" or "nothing logged"
  for (const id of ['', 'garbage', `${me.peerId}x`, me.peerId.slice(0, -1), 'x'.repeat(200)]) {
    const q = encodeURIComponent(id)
    await apiRefused(broker, 'GET', `/v1/account?id=${q}`, undefined, 400, 'BAD_REQUEST')
    await apiRefused(broker, 'GET', `/v1/ppay/downtime?owner=${q}`, undefined, 400, 'BAD_REQUEST')
  }
  await apiRefused(broker, 'GET', '/v1/account', undefined, 400, 'BAD_REQUEST')
  await apiRefused(broker, 'GET', '/v1/ppay/downtime', undefined, 400, 'BAD_REQUEST')
  // a real id still reads
  assert.equal(
    typeof ((await broker.api('GET', `/v1/account?id=${me.peerId}`)) as { balance: number }).balance,
    'number'
  )
})

// ---- peer ids and multiaddrs: each parse of one is a typed 400, never a parser's 500 ----------

/** many cases, each with two state snapshots and a liveness check */
const LONG = { timeout: 120_000 }

/** Peers and addresses no route may take: not a peer id, not a multiaddr, or a multiaddr naming no valid peer. */
const badPeers = (): unknown[] => [
  'garbage',
  'x',
  `${B.peerId}x`,
  B.peerId.slice(0, -1),
  `/ip4/999.1.1.1/tcp/1/p2p/${B.peerId}`,
  `/ip4/127.0.0.1/tcp/99999/p2p/${B.peerId}`,
  '/ip4/127.0.0.1/tcp/1/p2p/garbage',
  `/ip4/127.0.0.1/tcp/1/p2p/${B.peerId}x`,
  '/ip4/127.0.0.1/tcp/1',
  5
]
/** Addresses no route may take as where a peer listens. */
const badAddrs = (): unknown[] => [
  'x',
  ['x'],
  ['garbage'],
  ['/ip4/999.1.1.1/tcp/1'],
  ['/ip4/127.0.0.1/tcp/1/p2p/garbage'],
  [5],
  Array.from({ length: 9 }, (_, i) => `/ip4/127.0.0.1/tcp/${i + 1}`)
]

test('control API: connect to what is not a multiaddr (or names a bad peer) -> 400 BAD_REQUEST', LONG, async () => {
  const bads: unknown[] = [
    'x',
    '/ip4/999.1.1.1/tcp/1',
    '/ip4/127.0.0.1/tcp/99999',
    '/ip4/127.0.0.1/tcp/1/p2p/garbage',
    `/ip4/127.0.0.1/tcp/1/p2p/${B.peerId}x`,
    '',
    '/',
    5,
    null
  ]
  for (const d of [A, broker]) {
    for (const addr of bads) await apiRefused(d, 'POST', '/v1/connect', { addr }, 400, 'BAD_REQUEST')
    await apiRefused(d, 'POST', '/v1/connect', {}, 400, 'BAD_REQUEST')
  }
  assert.deepEqual(await A.api('POST', '/v1/connect', { addr: B.addr }), { peer: B.peerId })
})
test(
  'control API: the stream probe to a bad peer -> 400 BAD_REQUEST; a daemon without --diag has no probe',
  LONG,
  async () => {
    await apiRefused(A, 'POST', '/v1/diag/stream', {}, 400, 'BAD_REQUEST')
    await apiRefused(A, 'POST', '/v1/diag/stream', { bytes: 1024 }, 400, 'BAD_REQUEST')
    for (const to of badPeers()) await apiRefused(A, 'POST', '/v1/diag/stream', { to, bytes: 1024 }, 400, 'BAD_REQUEST')
    await apiRefused(broker, 'POST', '/v1/diag/stream', { to: A.addr, bytes: 1024 }, 404, 'NOT_FOUND')
    // the good probe: B was started with --diag too
    assert.equal((await A.api('POST', '/v1/diag/stream', { to: B.addr, bytes: 65536, frame: 4096 })).bytes, 65536)
  }
)
test("control API: the file market's catalog of a bad provider -> 400 BAD_REQUEST", LONG, async () => {
  const q = (p: unknown): string => `/v1/fairex/catalog?provider=${encodeURIComponent(String(p))}`
  for (const p of [...badPeers(), '']) await apiRefused(A, 'GET', q(p), undefined, 400, 'BAD_REQUEST')
  await apiRefused(A, 'GET', '/v1/fairex/catalog', undefined, 400, 'BAD_REQUEST')
  assert.deepEqual(await A.api('GET', q(B.peerId)), { files: [] })
  assert.deepEqual(await A.api('GET', q(B.addr)), { files: [] })
})
test(
  'control API: a purchase from a bad provider or at a bad address -> 400 BAD_REQUEST, nothing bought',
  LONG,
  async () => {
    const buy = { fileId: 'a'.repeat(64), out: join(swarm.dir, 'never-bought.bin') }
    for (const provider of [...badPeers(), '', null]) {
      await apiRefused(A, 'POST', '/v1/fairex/buy', { ...buy, provider }, 400, 'BAD_REQUEST')
    }
    await apiRefused(A, 'POST', '/v1/fairex/buy', buy, 400, 'BAD_REQUEST')
    for (const addrs of badAddrs()) {
      await apiRefused(A, 'POST', '/v1/fairex/buy', { ...buy, provider: B.peerId, addrs }, 400, 'BAD_REQUEST')
    }
    // the same purchase from a good provider gets as far as its catalog
    await apiRefused(A, 'POST', '/v1/fairex/buy', { ...buy, provider: B.peerId }, 404, 'NOT_FOUND')
  }
)
test(
  'control API: pay or pay-many with a bad payee or payee address -> 400 BAD_REQUEST, nothing paid',
  LONG,
  async () => {
    for (const addrs of badAddrs()) {
      await apiRefused(A, 'POST', '/v1/ppay/pay', { to: B.peerId, amount: 5, addrs }, 400, 'BAD_REQUEST')
      const many = { to: B.peerId, value: 5, count: 1, addrs }
      await apiRefused(A, 'POST', '/v1/ppay/pay-many', many, 400, 'BAD_REQUEST')
    }
    for (const to of [...badPeers(), '', A.peerId]) {
      await apiRefused(A, 'POST', '/v1/ppay/pay-many', { to, value: 5, count: 3 }, 400, 'BAD_REQUEST')
    }
    for (const value of [0, -5, 2.5, '5']) {
      await apiRefused(A, 'POST', '/v1/ppay/pay-many', { to: B.peerId, value, count: 3 }, 400, 'BAD_REQUEST')
    }
  }
)

// ---- controls: the untampered objects are accepted, so each refusal above was for its defect ----

noInternalFailures()
