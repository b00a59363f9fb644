// Bad input against running daemons (signed objects at the broker's and the nodes' PPay protocols): a broker
// and two nodes as separate
// processes, and this test process as its own libp2p peer that speaks the
// daemons' protocols frame by frame. Every case asserts the exact refusal, that
// no state changed (broker audit, accounts, frauds, downtime log; both nodes'
// coins and wallet summary), and that the daemon still serves a good request.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { toB64 } from '@p2pay/core'
import { PROTOCOL, TAG } from '@p2pay/ppay'
import { flipSignature, withVersion } from './helpers/raw-peer.ts'
import {
  noInternalFailures,
  useBadInputSwarm,
  A,
  B,
  GARBAGE,
  H,
  M,
  T,
  assignOf,
  audit,
  broker,
  buyBody,
  buyRefused,
  cashOf,
  cashRefused,
  coins,
  deliverRefused,
  downtimeRefused,
  forgedCoin,
  hashOf,
  me,
  requestOf,
  rpcRefused,
  snOf
} from './helpers/bad-input.ts'

useBadInputSwarm()

// ---- signed objects: broker `buy` --------------------------------------------------

test('buy: BAD_SIGNATURE (a valid buy with one signature bit flipped)', T, async () => {
  await buyRefused(flipSignature(me.key.sign(TAG.buy, buyBody())), 'BAD_SIGNATURE')
})
test('buy: UNKNOWN_VERSION (version byte 0, 2, 255)', T, async () => {
  for (const v of [0, 2, 255]) await buyRefused(withVersion(me.key.sign(TAG.buy, buyBody()), v), 'UNKNOWN_VERSION')
})
test('buy: WRONG_TAG (the buy body signed as a cash request, as a coin)', T, async () => {
  await buyRefused(me.key.sign(TAG.cash, buyBody()), 'WRONG_TAG')
  await buyRefused(me.key.sign(TAG.coin, buyBody()), 'WRONG_TAG')
})
test('buy: WRONG_BROKER (a buy addressed to another broker)', T, async () => {
  await buyRefused(me.key.sign(TAG.buy, buyBody({ broker: M.peerId })), 'WRONG_BROKER')
})
test("buy: WRONG_SIGNER (a buy on node A's account signed by someone else)", T, async () => {
  await buyRefused(me.key.sign(TAG.buy, buyBody({ account: A.peerId })), 'WRONG_SIGNER')
  await buyRefused(M.sign(TAG.buy, buyBody()), 'WRONG_SIGNER')
})
test('buy: garbage (base64 of non-envelope bytes, empty, non-string)', T, async () => {
  await buyRefused(GARBAGE, 'BAD_FRAME')
  await buyRefused(toB64(new Uint8Array([1, 2, 3])), 'BAD_FRAME')
  await buyRefused('', 'BAD_REQUEST')
  await buyRefused(12345, 'BAD_REQUEST')
  await buyRefused({ coin: 'x' }, 'BAD_REQUEST')
  await buyRefused('A'.repeat(9000), 'BAD_REQUEST')
})

// ---- signed objects: broker `cash` (refusals come back per item) --------------------

test('cash: BAD_SIGNATURE (coin, assignment or cash request with a flipped signature bit)', T, async () => {
  const c = coins[1]
  const assign = assignOf(c, H.peerId)
  await cashRefused({ coin: flipSignature(c), chain: [{ assign }] }, cashOf(c, assign), 'BAD_SIGNATURE')
  await cashRefused({ coin: c, chain: [{ assign: flipSignature(assign) }] }, cashOf(c, assign), 'BAD_SIGNATURE')
  await cashRefused({ coin: c, chain: [{ assign }] }, flipSignature(cashOf(c, assign)), 'BAD_SIGNATURE')
})
test('cash: UNKNOWN_VERSION (coin, assignment, cash request)', T, async () => {
  const c = coins[1]
  const assign = assignOf(c, H.peerId)
  await cashRefused({ coin: withVersion(c, 2), chain: [{ assign }] }, cashOf(c, assign), 'UNKNOWN_VERSION')
  await cashRefused({ coin: c, chain: [{ assign: withVersion(assign, 0) }] }, cashOf(c, assign), 'UNKNOWN_VERSION')
  await cashRefused({ coin: c, chain: [{ assign }] }, withVersion(cashOf(c, assign), 7), 'UNKNOWN_VERSION')
})
test('cash: WRONG_TAG (cash request signed as a layer; an assignment in the coin slot)', T, async () => {
  const c = coins[1]
  const assign = assignOf(c, H.peerId)
  await cashRefused({ coin: c, chain: [{ assign }] }, cashOf(c, assign, H, TAG.layer), 'WRONG_TAG')
  await cashRefused({ coin: assign, chain: [{ assign }] }, cashOf(c, assign), 'WRONG_TAG')
  await cashRefused({ coin: c, chain: [{ assign: requestOf(c, assign) }] }, cashOf(c, assign), 'WRONG_TAG')
})
test('cash: WRONG_BROKER (a coin signed by a key that is not the broker)', T, async () => {
  for (const coin of [forgedCoin(me.key, broker.peerId), forgedCoin(M, M.peerId), forgedCoin(M, broker.peerId)]) {
    const assign = assignOf(coin, H.peerId)
    await cashRefused({ coin, assign }, cashOf(coin, assign), 'WRONG_BROKER')
  }
  // a real coin, cash request addressed to another broker
  const assign = assignOf(coins[1], H.peerId)
  await cashRefused(
    { coin: coins[1], chain: [{ assign }] },
    H.sign(TAG.cash, {
      sn: snOf(coins[1]),
      seq: 1,
      depth: 0,
      holder: H.peerId,
      broker: M.peerId,
      prev: hashOf(assign)
    }),
    'WRONG_BROKER'
  )
})
test('cash: WRONG_SIGNER (an assignment signed by someone other than the owner)', T, async () => {
  const c = coins[1]
  const assign = assignOf(c, H.peerId, M)
  await cashRefused({ coin: c, chain: [{ assign }] }, cashOf(c, assign), 'WRONG_SIGNER')
})
test('cash: WRONG_HOLDER (a cash request signed by someone who does not hold the coin)', T, async () => {
  const c = coins[1]
  const assign = assignOf(c, H.peerId)
  await cashRefused({ coin: c, chain: [{ assign }] }, cashOf(c, assign, me.key, TAG.cash, H.peerId), 'WRONG_HOLDER')
  await cashRefused({ coin: c, chain: [{ assign }] }, cashOf(c, assign, M), 'WRONG_HOLDER')
})
test('cash: garbage (coin or cash request not an envelope, empty items)', T, async () => {
  const c = coins[1]
  const assign = assignOf(c, H.peerId)
  await cashRefused({ coin: GARBAGE, chain: [{ assign }] }, cashOf(c, assign), 'BAD_FRAME')
  await cashRefused({ coin: c, chain: [{ assign }] }, GARBAGE, 'BAD_FRAME')
  await cashRefused({ coin: c, chain: [{ assign }] }, 42, 'BAD_REQUEST')
  await cashRefused(null, cashOf(c, assign), 'BAD_REQUEST')
  await cashRefused({ coin: c, chain: [{ assign }], layers: 'x' }, cashOf(c, assign), 'BAD_REQUEST')
  for (const args of [{}, { items: [] }, { items: 'x' }, { items: Array.from({ length: 1025 }, () => ({})) }]) {
    await rpcRefused(broker, PROTOCOL.broker, 'cash', args, 'BAD_REQUEST')
  }
})

// ---- signed objects: broker `downtime` -------------------------------------------------

test('downtime: BAD_SIGNATURE (coin or reassignment request with a flipped signature bit)', T, async () => {
  const c = coins[2]
  const assign = assignOf(c, H.peerId)
  await downtimeRefused({ coin: flipSignature(c), chain: [{ assign }] }, requestOf(c, assign), 'BAD_SIGNATURE')
  await downtimeRefused({ coin: c, chain: [{ assign }] }, flipSignature(requestOf(c, assign)), 'BAD_SIGNATURE')
})
test('downtime: UNKNOWN_VERSION (coin, request)', T, async () => {
  const c = coins[2]
  const assign = assignOf(c, H.peerId)
  await downtimeRefused({ coin: withVersion(c, 2), chain: [{ assign }] }, requestOf(c, assign), 'UNKNOWN_VERSION')
  await downtimeRefused({ coin: c, chain: [{ assign }] }, withVersion(requestOf(c, assign), 2), 'UNKNOWN_VERSION')
})
test('downtime: WRONG_TAG (request signed as a cash request, as a layer)', T, async () => {
  const c = coins[2]
  const assign = assignOf(c, H.peerId)
  await downtimeRefused({ coin: c, chain: [{ assign }] }, requestOf(c, assign, H, TAG.cash), 'WRONG_TAG')
  await downtimeRefused({ coin: c, chain: [{ assign }] }, requestOf(c, assign, H, TAG.layer), 'WRONG_TAG')
})
test('downtime: WRONG_BROKER (a coin signed by a key that is not the broker)', T, async () => {
  for (const coin of [forgedCoin(me.key, broker.peerId), forgedCoin(M, M.peerId)]) {
    const assign = assignOf(coin, H.peerId)
    await downtimeRefused({ coin, assign }, requestOf(coin, assign), 'WRONG_BROKER')
  }
})
test('downtime: WRONG_SIGNER (an assignment signed by someone other than the owner)', T, async () => {
  const c = coins[2]
  const assign = assignOf(c, H.peerId, M)
  await downtimeRefused({ coin: c, chain: [{ assign }] }, requestOf(c, assign), 'WRONG_SIGNER')
  // a downtime-assign signed by the owner: only the broker signs those
  const byMe = assignOf(c, H.peerId, me.key, TAG.downtimeAssign)
  await downtimeRefused({ coin: c, chain: [{ assign: byMe }] }, requestOf(c, byMe), 'WRONG_SIGNER')
})
test('downtime: WRONG_HOLDER (a request signed by someone who does not hold the coin)', T, async () => {
  const c = coins[2]
  const assign = assignOf(c, H.peerId)
  await downtimeRefused({ coin: c, chain: [{ assign }] }, requestOf(c, assign, M), 'WRONG_HOLDER')
  await downtimeRefused(
    { coin: c, chain: [{ assign }] },
    requestOf(c, assign, M, TAG.request, H.peerId),
    'WRONG_HOLDER'
  )
  await downtimeRefused({ coin: c, chain: [{ assign }] }, requestOf(c, assign, me.key), 'WRONG_HOLDER')
})
test('downtime: garbage (request or coin not an envelope, missing proof)', T, async () => {
  const c = coins[2]
  const assign = assignOf(c, H.peerId)
  await downtimeRefused({ coin: c, chain: [{ assign }] }, GARBAGE, 'BAD_FRAME')
  await downtimeRefused({ coin: GARBAGE, chain: [{ assign }] }, requestOf(c, assign), 'BAD_FRAME')
  await downtimeRefused({ coin: c, chain: [{ assign }] }, null, 'BAD_REQUEST')
  await downtimeRefused(undefined, requestOf(c, assign), 'BAD_REQUEST')
  await downtimeRefused('proof', requestOf(c, assign), 'BAD_REQUEST')
})

// ---- signed objects: node `deliver` (pay protocol) --------------------------------------

test('deliver: BAD_SIGNATURE (coin or assignment with a flipped signature bit)', T, async () => {
  const c = coins[3]
  const assign = assignOf(c, B.peerId)
  await deliverRefused({ coin: flipSignature(c), chain: [{ assign }] }, 'BAD_SIGNATURE')
  await deliverRefused({ coin: c, chain: [{ assign: flipSignature(assign) }] }, 'BAD_SIGNATURE')
})
test('deliver: UNKNOWN_VERSION (coin, assignment)', T, async () => {
  const c = coins[3]
  const assign = assignOf(c, B.peerId)
  await deliverRefused({ coin: withVersion(c, 2), chain: [{ assign }] }, 'UNKNOWN_VERSION')
  await deliverRefused({ coin: c, chain: [{ assign: withVersion(assign, 0) }] }, 'UNKNOWN_VERSION')
})
test('deliver: WRONG_TAG (assignment signed as a layer; a buy in the coin slot)', T, async () => {
  const c = coins[3]
  await deliverRefused({ coin: c, chain: [{ assign: assignOf(c, B.peerId, me.key, TAG.layer) }] }, 'WRONG_TAG')
  await deliverRefused(
    { coin: me.key.sign(TAG.buy, buyBody()), chain: [{ assign: assignOf(c, B.peerId) }] },
    'WRONG_TAG'
  )
})
test('deliver: WRONG_BROKER (a coin signed by a key that is not the broker)', T, async () => {
  for (const coin of [forgedCoin(me.key, broker.peerId), forgedCoin(M, M.peerId), forgedCoin(M, broker.peerId)]) {
    await deliverRefused({ coin, chain: [{ assign: assignOf(coin, B.peerId) }] }, 'WRONG_BROKER')
  }
})
test('deliver: WRONG_SIGNER (an assignment signed by someone other than the owner)', T, async () => {
  const c = coins[3]
  await deliverRefused({ coin: c, chain: [{ assign: assignOf(c, B.peerId, M) }] }, 'WRONG_SIGNER')
  await deliverRefused(
    { coin: c, chain: [{ assign: assignOf(c, B.peerId, me.key, TAG.downtimeAssign) }] },
    'WRONG_SIGNER'
  )
})
test('deliver: WRONG_HOLDER (a payment delivered to a node that is not its holder)', T, async () => {
  const c = coins[4]
  await deliverRefused({ coin: c, chain: [{ assign: assignOf(c, A.peerId) }] }, 'WRONG_HOLDER')
  // an unassigned coin: its holder is the owner, not B
  await deliverRefused({ coin: c }, 'WRONG_HOLDER')
})
test('deliver: garbage (coin or assignment not an envelope, no proof)', T, async () => {
  const c = coins[3]
  await deliverRefused({ coin: GARBAGE, chain: [{ assign: assignOf(c, B.peerId) }] }, 'BAD_FRAME')
  await deliverRefused({ coin: c, chain: [{ assign: GARBAGE }] }, 'BAD_FRAME')
  await deliverRefused({ coin: c, chain: [{ assign: 7 }] }, 'BAD_REQUEST')
  await deliverRefused(null, 'BAD_REQUEST')
  await deliverRefused([], 'BAD_REQUEST')
  await deliverRefused({ coin: c, chain: [{ assign: assignOf(c, B.peerId) }], layers: { 0: 'x' } }, 'BAD_REQUEST')
})

test(
  'signed-object fields that are not base64 at all are refused as BAD_REQUEST',
  {
    ...T
  },
  async () => {
    const text = 'this is certainly not base64 !!! '.repeat(8)
    const c = coins[3]
    const assign = assignOf(c, H.peerId)
    await buyRefused(text, 'BAD_REQUEST')
    await cashRefused({ coin: c, chain: [{ assign }] }, text, 'BAD_REQUEST')
    await downtimeRefused({ coin: c, chain: [{ assign }] }, text, 'BAD_REQUEST')
    await deliverRefused({ coin: text, chain: [{ assign: assignOf(c, B.peerId) }] }, 'BAD_REQUEST')
  }
)

test(
  'a valid coin with non-base64 junk after its padding is refused, not accepted as the coin',
  {
    ...T
  },
  async () => {
    const c = coins[5]
    const junk = c.endsWith('=') ? `${c}junk!` : `${c}====junk!`
    await deliverRefused({ coin: junk, chain: [{ assign: assignOf(c, B.peerId) }] }, 'BAD_REQUEST')
  }
)

test('controls: the unmodified buy, cash, downtime and deliver are accepted', T, async () => {
  const buy = await me.call(broker.addr, PROTOCOL.broker, 'buy', { buy: me.key.sign(TAG.buy, buyBody()) })
  assert.equal(buy.replies[0]?.ok, true, JSON.stringify(buy.replies))
  assert.equal(buy.replies[0].result.coins.length, 1)

  const c1 = coins[1]
  const a1 = assignOf(c1, H.peerId)
  const cash = await me.call(broker.addr, PROTOCOL.broker, 'cash', {
    items: [{ proof: { coin: c1, chain: [{ assign: a1 }] }, cash: cashOf(c1, a1) }]
  })
  assert.deepEqual(
    cash.replies[0]?.result?.results?.map((r: any) => [r.status, r.value, r.holder]),
    [['paid', 5, H.peerId]],
    JSON.stringify(cash.replies)
  )

  const c2 = coins[2]
  const a2 = assignOf(c2, H.peerId)
  const dt = await me.call(broker.addr, PROTOCOL.broker, 'downtime', {
    proof: { coin: c2, chain: [{ assign: a2 }] },
    request: requestOf(c2, a2)
  })
  assert.equal(dt.replies[0]?.ok, true, JSON.stringify(dt.replies))
  assert.equal((await broker.api('GET', `/v1/ppay/downtime?owner=${me.peerId}`)).entries.length, 1)

  const c3 = coins[3]
  const d = await me.call(B.addr, PROTOCOL.pay, 'deliver', {
    proof: { coin: c3, chain: [{ assign: assignOf(c3, B.peerId) }] }
  })
  assert.deepEqual(
    d.replies.map(r => [r.ok, r.result?.sn, r.result?.duplicate]),
    [[true, snOf(c3), false]],
    JSON.stringify(d.replies)
  )
  assert.equal((await audit()).holds, true)
})

noInternalFailures()
