// Bad input against running daemons: a broker and two nodes as separate
// processes, and this test process as its own libp2p peer that speaks the
// daemons' protocols frame by frame. Every case asserts the exact refusal, that
// no state changed (broker audit, accounts, frauds, downtime log; both nodes'
// coins and wallet summary), and that the daemon still serves a good request.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fromB64, randomId, sha256Hex, toB64, utf8 } from '@p2pay/core'
import { PROTOCOL, TAG, type CoinProof } from '@p2pay/ppay'
import { Swarm, ApiError, type Daemon } from './helpers/swarm.ts'
import { RawPeer, Key, varint, flipSignature, withVersion, bodyOf, errText, type Exchange } from './helpers/raw-peer.ts'
import { rawHttp, oneConnection } from './helpers/raw-http.ts'

const T = { timeout: 30_000 }
const swarm = new Swarm('bad-input')
let broker: Daemon, A: Daemon, B: Daemon
/** This process's peer: owns the coins it buys, signs as owner. */
let me: RawPeer
/** H holds coins `me` assigned to it; M is a stranger (a second broker, a thief). Keys only. */
let H: Key, M: Key
let coins: string[] = []
/** Proofs delivered once in `before`; delivering them again is the nodes' "good request". */
let heldByB: CoinProof, heldByA: CoinProof

// ---- building valid objects ---------------------------------------------------

const hashOf = (b64: string): string => sha256Hex(fromB64(b64))
const snOf = (coin: string): string => bodyOf<{ sn: string }>(coin).sn
const buyBody = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  broker: broker.peerId,
  account: me.peerId,
  count: 1,
  value: 5,
  nonce: randomId(8),
  ...over
})
const assignOf = (coin: string, holder: string, by: Key = me.key, tag: string = TAG.assign): string =>
  by.sign(tag, { sn: snOf(coin), coin: hashOf(coin), owner: me.peerId, seq: 1, holder, request: null })
const cashOf = (
  coin: string,
  assign: string,
  by: Key = H,
  tag: string = TAG.cash,
  holder: string = by.peerId
): string => by.sign(tag, { sn: snOf(coin), seq: 1, depth: 0, holder, broker: broker.peerId, prev: hashOf(assign) })
const requestOf = (
  coin: string,
  assign: string,
  by: Key = H,
  tag: string = TAG.request,
  from: string = by.peerId
): string => by.sign(tag, { sn: snOf(coin), owner: me.peerId, seq: 1, from, to: B.peerId, prev: hashOf(assign) })
/** A coin the broker never sold: signed by `by`, naming `brokerId` as its broker. */
const forgedCoin = (by: Key, brokerId: string): string =>
  by.sign(TAG.coin, { broker: brokerId, owner: me.peerId, sn: randomId(16), value: 5, expiry: Date.now() + 86_400_000 })
/** Valid base64 of bytes that are no envelope: version 1, then a tag length that runs past the end. */
const GARBAGE = toB64(new Uint8Array(200).map((_, i) => (i === 0 ? 1 : (i * 73 + 11) & 0xff)).fill(0xff, 1, 2))

// ---- state, liveness, calls ---------------------------------------------------

async function state(): Promise<Record<string, unknown>> {
  const wallet = async (d: Daemon): Promise<unknown> => (await d.api('GET', '/v1/status')).wallet
  const [audit, accounts, frauds, downtime, coinsA, coinsB, walletA, walletB] = await Promise.all([
    broker.api('GET', '/v1/audit'),
    broker.api('GET', '/v1/accounts'),
    broker.api('GET', '/v1/frauds'),
    broker.api('GET', `/v1/downtime?owner=${me.peerId}`),
    A.api('GET', '/v1/coins'),
    B.api('GET', '/v1/coins'),
    wallet(A),
    wallet(B)
  ])
  return { audit, accounts, frauds, downtime, coinsA, coinsB, walletA, walletB }
}

const tokenOf = (d: Daemon): string => readFileSync(`${d.dataDir}/api.token`, 'utf8').trim()
const alive = (d: Daemon): boolean => d.proc != null && d.proc.exitCode == null && d.proc.signalCode == null

/** The daemon is up and answers a good request on a fresh stream (and its control API). */
async function assertServes(d: Daemon): Promise<void> {
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
async function refused<R>(d: Daemon, act: () => Promise<R>, check: (r: R) => void): Promise<void> {
  const s0 = await phase('state before', state)
  const r = await act()
  await phase('liveness check after', async () => {
    await assertServes(d)
  })
  assert.deepEqual(await phase('state after', state), s0, 'state changed')
  check(r)
}

/** Names the step a transport failure (e.g. `fetch failed`) happened in. */
async function phase<R>(name: string, f: () => Promise<R>): Promise<R> {
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
async function rpcRefused(d: Daemon, protocol: string, op: string, args: unknown, code: string): Promise<void> {
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
async function cashRefused(proof: unknown, cash: unknown, code: string): Promise<void> {
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

const buyRefused = async (buy: unknown, code: string): Promise<void> =>
  await rpcRefused(broker, PROTOCOL.broker, 'buy', { buy }, code)
const downtimeRefused = async (proof: unknown, request: unknown, code: string): Promise<void> =>
  await rpcRefused(broker, PROTOCOL.broker, 'downtime', { proof, request }, code)
const deliverRefused = async (proof: unknown, code: string): Promise<void> =>
  await rpcRefused(B, PROTOCOL.pay, 'deliver', { proof }, code)

/** Control API call expected to fail: returns status and code, or the transport error. */
async function apiFailure(
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

async function apiRefused(
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

before(
  async () => {
    broker = await swarm.startBroker()
    ;[A, B] = await swarm.startNodes(2)
    me = await RawPeer.start()
    H = await Key.create()
    M = await Key.create()
    await broker.api('POST', '/v1/topup', { account: A.peerId, amount: 1000 })
    await broker.api('POST', '/v1/topup', { account: me.peerId, amount: 1000 })
    // node A owns coins bought through its wallet
    assert.deepEqual(await A.api('POST', '/v1/buy', { count: 4, value: 5 }), { coins: 4, value: 20 })
    assert.equal((await A.api('GET', '/v1/coins')).owned.length, 4)
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

// Coins bought by `me` (coins[0] and coins[9] are held by B and A):
//   coins[1]: cash cases (assigned to H)     coins[2]: downtime cases (assigned to H)
//   coins[3]: deliver cases (assigned to B)  coins[4]: assigned to A, delivered to B
//   coins[5]: non-canonical base64 case     never used twice for an accepted object.

// ---- wire: frames that are not RPC requests ----------------------------------------

const WIRE = [
  { name: 'broker', d: () => broker, protocol: PROTOCOL.broker },
  { name: 'node B pay', d: () => B, protocol: PROTOCOL.pay }
]
const frame =
  (text: string) =>
  async (
    _s: unknown,
    lp: { write: (b: Uint8Array, o: { signal: AbortSignal }) => Promise<void> },
    signal: AbortSignal
  ): Promise<void> => {
    await lp.write(utf8(text), { signal })
  }
const replies = (ex: Exchange): any[] => ex.frames.map(f => JSON.parse(Buffer.from(f).toString('utf8')))

for (const w of WIRE) {
  test(
    `wire ${w.name}: a frame that is not JSON is answered BAD_FRAME`,
    {
      ...T
    },
    async () => {
      for (const text of ['not json{', '\u00ff\u00fe', '{"id":1,"op":"info"']) {
        await refused(
          w.d(),
          async () => await me.exchange(w.d().addr, w.protocol, frame(text)),
          ex => {
            assert.deepEqual(
              replies(ex).map(r => [r.id, r.ok, r.error?.code]),
              [[-1, false, 'BAD_FRAME']],
              `${JSON.stringify(text)}: stream ${ex.end} (${ex.error ?? ''}), replies ${JSON.stringify(replies(ex))}`
            )
            assert.equal(ex.end, 'closed')
          }
        )
      }
      // invalid UTF-8 bytes, sent raw
      await refused(
        w.d(),
        async () =>
          await me.exchange(w.d().addr, w.protocol, async (_s, lp, signal) => {
            await lp.write(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), { signal })
          }),
        ex => {
          assert.deepEqual(
            replies(ex).map(r => [r.id, r.ok, r.error?.code]),
            [[-1, false, 'BAD_FRAME']],
            `invalid utf-8: stream ${ex.end}`
          )
        }
      )
    }
  )

  test(`wire ${w.name}: a non-JSON frame resets only that stream; the daemon stays up and unchanged`, T, async () => {
    await refused(
      w.d(),
      async () => await me.exchange(w.d().addr, w.protocol, frame('not json{')),
      ex => {
        assert.ok(
          ex.end === 'reset' || (ex.end === 'closed' && replies(ex)[0]?.error?.code === 'BAD_FRAME'),
          `stream ${ex.end}: ${ex.error ?? ''}`
        )
      }
    )
  })

  if (w.protocol === PROTOCOL.broker) {
    test(
      'wire broker: a buy pipelined just before a non-JSON frame on the same stream still gets its reply',
      {
        ...T
      },
      async () => {
        const before = (await broker.api('GET', `/v1/account?id=${me.peerId}`)).balance
        const ex = await me.exchange(broker.addr, PROTOCOL.broker, async (_s, lp, signal) => {
          await lp.write(
            utf8(JSON.stringify({ id: 1, op: 'buy', args: { buy: me.key.sign(TAG.buy, buyBody({ value: 1 })) } })),
            { signal }
          )
          await lp.write(utf8('not json{'), { signal })
        })
        await assertServes(broker)
        const paid = before - (await broker.api('GET', `/v1/account?id=${me.peerId}`)).balance
        // replies are matched by id, not by order: the buy waits for its disk write, the refusal does not
        const got = replies(ex)
          .map(r => [r.id, r.ok, r.ok === true ? r.result.coins.length : r.error?.code])
          .sort((x, y) => Number(x[0]) - Number(y[0]))
        assert.deepEqual(
          { paid, got },
          {
            paid: 1,
            got: [
              [-1, false, 'BAD_FRAME'],
              [1, true, 1]
            ]
          },
          `stream ${ex.end}`
        )
      }
    )
  }

  test(`wire ${w.name}: JSON without id/op is answered BAD_FRAME`, T, async () => {
    const cases: Array<[string, number]> = [
      ['{"x":1}', -1],
      ['null', -1],
      ['[1,2]', -1],
      ['"op"', -1],
      ['42', -1],
      ['{"op":"info"}', -1],
      ['{"id":"7","op":"info"}', -1],
      ['{"id":1.5,"op":"info"}', -1],
      ['{"id":9}', 9],
      ['{"id":10,"op":7}', 10]
    ]
    for (const [text, id] of cases) {
      await refused(
        w.d(),
        async () => await me.exchange(w.d().addr, w.protocol, frame(text)),
        ex => {
          assert.deepEqual(
            replies(ex).map(r => [r.id, r.ok, r.error?.code]),
            [[id, false, 'BAD_FRAME']],
            `${text}: ${ex.end}`
          )
          assert.equal(ex.end, 'closed', text)
        }
      )
    }
  })

  test(`wire ${w.name}: an unknown op is answered UNKNOWN_OP`, T, async () => {
    for (const op of ['nope', 'constructor', '__proto__', 'toString', 'hasOwnProperty', '', 'x'.repeat(5000)]) {
      await rpcRefused(w.d(), w.protocol, op, {}, 'UNKNOWN_OP')
    }
  })

  test(`wire ${w.name}: an oversize length prefix (> 1 MiB) resets the stream`, T, async () => {
    for (const len of [1024 * 1024 + 1, 2 ** 31, 2 ** 50]) {
      await refused(
        w.d(),
        async () =>
          await me.exchange(
            w.d().addr,
            w.protocol,
            async s => {
              s.send(varint(len))
              s.send(new Uint8Array(64 * 1024).fill(0x20))
            },
            { closeWrite: false }
          ),
        ex => {
          assert.equal(ex.end, 'reset', `length ${len}: ${ex.end} ${ex.error ?? ''}`)
          assert.equal(ex.frames.length, 0)
        }
      )
    }
  })

  test(
    `wire ${w.name}: a length prefix that never terminates resets the stream promptly`,
    {
      ...T
    },
    async () => {
      await refused(
        w.d(),
        async () =>
          await me.exchange(
            w.d().addr,
            w.protocol,
            async s => {
              s.send(new Uint8Array(64).fill(0x80))
            },
            { closeWrite: false, timeoutMs: 3000 }
          ),
        ex => {
          assert.equal(ex.frames.length, 0)
          assert.equal(ex.end, 'reset', `${ex.end}: ${ex.error ?? ''}`)
        }
      )
    }
  )

  // a stream that ends inside a frame is a protocol error: it is reset, and nothing of the frame is acted on
  test(`wire ${w.name}: a truncated frame then close leaves no trace`, T, async () => {
    // a buy/deliver that would be valid if it arrived whole
    const whole = utf8(
      JSON.stringify({
        id: 1,
        op: w.protocol === PROTOCOL.broker ? 'buy' : 'deliver',
        args:
          w.protocol === PROTOCOL.broker
            ? { buy: me.key.sign(TAG.buy, buyBody()) }
            : { proof: { coin: coins[3], chain: [{ assign: assignOf(coins[3], B.peerId) }] } }
      })
    )
    for (const cut of [0, 1, Math.floor(whole.length / 2), whole.length - 1]) {
      await refused(
        w.d(),
        async () =>
          await me.exchange(w.d().addr, w.protocol, async s => {
            s.send(varint(whole.length))
            if (cut > 0) s.send(whole.subarray(0, cut))
          }),
        ex => {
          assert.equal(ex.frames.length, 0, `cut ${cut}: ${JSON.stringify(replies(ex))}`)
          assert.equal(ex.end, 'reset', `cut ${cut}: ${ex.error ?? ''}`)
        }
      )
    }
    // half a length prefix
    await refused(
      w.d(),
      async () =>
        await me.exchange(w.d().addr, w.protocol, async s => {
          s.send(new Uint8Array([0x80]))
        }),
      ex => {
        assert.equal(ex.frames.length, 0)
        assert.equal(ex.end, 'reset')
      }
    )
  })
}

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

// ---- control API --------------------------------------------------------------------------

test('control API: no token, wrong token -> 401 UNAUTHORIZED (state-changing routes included)', T, async () => {
  for (const token of [null, '', 'wrong', 'x'.repeat(64)]) {
    await apiRefused(broker, 'POST', '/v1/topup', { account: me.peerId, amount: 5 }, 401, 'UNAUTHORIZED', { token })
    await apiRefused(A, 'POST', '/v1/buy', { count: 1, value: 5 }, 401, 'UNAUTHORIZED', { token })
    await apiRefused(A, 'GET', '/v1/coins', undefined, 401, 'UNAUTHORIZED', { token })
  }
  // the right token with one character changed (same length)
  const real = tokenOf(A)
  const wrong = (real[0] === 'a' ? 'b' : 'a') + real.slice(1)
  await apiRefused(A, 'POST', '/v1/pay', { to: B.peerId, amount: 5 }, 401, 'UNAUTHORIZED', { token: wrong })
  await apiRefused(broker, 'GET', '/metrics', undefined, 401, 'UNAUTHORIZED', { token: null })
})
test('control API: unknown route -> 404 NOT_FOUND', T, async () => {
  await apiRefused(broker, 'GET', '/v1/nope', undefined, 404, 'NOT_FOUND')
  await apiRefused(broker, 'POST', '/v1/accounts', {}, 404, 'NOT_FOUND')
  await apiRefused(broker, 'GET', '/v1/topup', undefined, 404, 'NOT_FOUND')
  await apiRefused(A, 'POST', '/v1/coins', {}, 404, 'NOT_FOUND')
  await apiRefused(A, 'GET', '/v1/cheat/double-assign', undefined, 404, 'NOT_FOUND')
  await apiRefused(A, 'POST', '/v1/cheat/double-assign', { to1: B.peerId, to2: broker.peerId }, 404, 'NOT_FOUND')
})
test('control API: a body that is not JSON -> 400 BAD_REQUEST', T, async () => {
  for (const raw of ['{account:', 'amount=5', '\u0000', '{"account":"x","amount":5']) {
    await apiRefused(broker, 'POST', '/v1/topup', undefined, 400, 'BAD_REQUEST', { raw })
    await apiRefused(A, 'POST', '/v1/pay', undefined, 400, 'BAD_REQUEST', { raw })
  }
})
test('control API: a JSON body that is not an object -> 400 BAD_REQUEST', T, async () => {
  for (const raw of [JSON.stringify([{ account: me.peerId, amount: 5 }]), 'null', '5', '"x"', 'true']) {
    await apiRefused(broker, 'POST', '/v1/topup', undefined, 400, 'BAD_REQUEST', { raw })
    await apiRefused(A, 'POST', '/v1/buy', undefined, 400, 'BAD_REQUEST', { raw })
  }
})
test('control API: a body over 1 MiB -> 413 FRAME_TOO_LARGE', T, async () => {
  // bodies that would be valid requests if they were accepted; each on a fresh connection (see the next test)
  const pad = 'x'.repeat(1024 * 1024 + 16)
  const cases: Array<[Daemon, string, string]> = [
    [broker, '/v1/topup', JSON.stringify({ account: me.peerId, amount: 5, pad })],
    [A, '/v1/buy', JSON.stringify({ count: 1, value: 5, pad })],
    [A, '/v1/pay', JSON.stringify({ to: B.peerId, amount: 5, pad: pad.repeat(3) })]
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
          `request after the 413 on the same connection (the 413 said Connection: ${'error' in big ? '?' : big.connection})`
        )
      }
    )
  }
)
test('control API: pay with a negative, zero, non-integer or non-number amount -> 400 BAD_REQUEST', T, async () => {
  for (const amount of [-5, 0, 2.5, 5.0000001, '5', null, 1e300, Number.MAX_SAFE_INTEGER + 1]) {
    await apiRefused(A, 'POST', '/v1/pay', { to: B.peerId, amount }, 400, 'BAD_REQUEST')
  }
  await apiRefused(A, 'POST', '/v1/pay', { to: B.peerId }, 400, 'BAD_REQUEST')
})
test('control API: pay to a malformed peer id (or to oneself) -> 400 BAD_REQUEST', T, async () => {
  for (const to of ['not-a-peer-id', '', 12345, B.peerId.slice(0, -1), `${B.peerId}x`, null]) {
    await apiRefused(A, 'POST', '/v1/pay', { to, amount: 5 }, 400, 'BAD_REQUEST')
  }
  await apiRefused(A, 'POST', '/v1/pay', { amount: 5 }, 400, 'BAD_REQUEST')
  await apiRefused(A, 'POST', '/v1/pay', { to: A.peerId, amount: 5 }, 400, 'BAD_REQUEST')
})
test('control API: pay an amount no set of coins adds up to -> 400 NO_EXACT_AMOUNT', T, async () => {
  // A owns 4 coins of 5 (and holds one of 5 from this peer)
  for (const amount of [1, 7, 26, 1000, Number.MAX_SAFE_INTEGER]) {
    await apiRefused(A, 'POST', '/v1/pay', { to: B.peerId, amount }, 400, 'NO_EXACT_AMOUNT')
  }
  await apiRefused(A, 'POST', '/v1/pay', { to: B.peerId, amount: 3, layered: true }, 400, 'NO_EXACT_AMOUNT')
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
    await apiRefused(A, 'POST', '/v1/buy', body, 400, 'BAD_REQUEST')
  }
  // refused by the broker: more coins than one purchase may hold; more than the balance
  await apiRefused(A, 'POST', '/v1/buy', { count: 10_001, value: 1 }, 400, 'BAD_REQUEST')
  await apiRefused(A, 'POST', '/v1/buy', { count: 1, value: 1_000_000 }, 400, 'INSUFFICIENT_FUNDS')
})
test('control API: topup with a negative (zero, non-integer) amount -> 400 BAD_REQUEST', T, async () => {
  for (const amount of [-5, 0, 1.5, '5', null, Number.MAX_SAFE_INTEGER + 1]) {
    await apiRefused(broker, 'POST', '/v1/topup', { account: me.peerId, amount }, 400, 'BAD_REQUEST')
  }
  await apiRefused(broker, 'POST', '/v1/topup', { account: me.peerId }, 400, 'BAD_REQUEST')
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

// ---- controls: the untampered objects are accepted, so each refusal above was for its defect ----

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
  assert.equal((await broker.api('GET', `/v1/downtime?owner=${me.peerId}`)).entries.length, 1)

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

test('no daemon logged an internal failure while refusing all of this', T, async () => {
  for (const d of [broker, A, B]) {
    assert.ok(alive(d))
    const bad = readFileSync(`${d.dataDir}.log`, 'utf8')
      .split('\n')
      .filter(l => /"level":"error"/.test(l))
    assert.deepEqual(bad, [], `${d.kind} ${d.peerId}`)
  }
})

async function audit(): Promise<{ holds: boolean }> {
  return await broker.api('GET', '/v1/audit')
}
