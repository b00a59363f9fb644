// Bad input against running daemons (the wire: frames that are not RPC requests): a broker and two nodes as separate
// processes, and this test process as its own libp2p peer that speaks the
// daemons' protocols frame by frame. Every case asserts the exact refusal, that
// no state changed (broker audit, accounts, frauds, downtime log; both nodes'
// coins and wallet summary), and that the daemon still serves a good request.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { utf8 } from '@p2pay/core'
import { PROTOCOL, TAG } from '@p2pay/ppay'
import { varint, type Exchange } from './helpers/raw-peer.ts'
import {
  noInternalFailures,
  useBadInputSwarm,
  B,
  T,
  assertServes,
  assignOf,
  broker,
  buyBody,
  coins,
  me,
  refused,
  rpcRefused
} from './helpers/bad-input.ts'

useBadInputSwarm()

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

noInternalFailures()
