// frames.ts: varint length prefix, FrameReader over any async-iterable stream, sendFrame back-pressure.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Uint8ArrayList } from 'uint8arraylist'
import type { Stream } from '@libp2p/interface'
import { encodeFrame, varintLength, FrameReader, sendFrame } from '../src/wire/frames.ts'
import { endless, fakeStream, fromChunks, payload, readAll, split } from './fixtures/frame-streams.ts'
import { ErrorCode, P2payError } from '../src/errors.ts'
import { concat } from '../src/bytes.ts'

const MiB = 1024 * 1024

const code =
  (c: string) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof P2payError, `expected P2payError ${c}, got ${String(e)}`)
    assert.equal(e.code, c)
    return true
  }

describe('varint and encodeFrame', () => {
  const cases: Array<[number, number[]]> = [
    [0, [0x00]],
    [1, [0x01]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [300, [0xac, 0x02]],
    [16383, [0xff, 0x7f]],
    [16384, [0x80, 0x80, 0x01]],
    [MiB, [0x80, 0x80, 0x40]],
    [2 ** 21 - 1, [0xff, 0xff, 0x7f]],
    [2 ** 21, [0x80, 0x80, 0x80, 0x01]]
  ]
  for (const [n, prefix] of cases) {
    it(`length ${n}: prefix ${Buffer.from(prefix).toString('hex')}`, () => {
      assert.equal(varintLength(n), prefix.length)
      if (n > 2 * MiB) return
      const data = payload(n)
      const f = encodeFrame(data)
      assert.equal(f.byteLength, prefix.length + n)
      assert.deepEqual([...f.subarray(0, prefix.length)], prefix)
      assert.deepEqual(f.subarray(prefix.length), data)
    })
  }
  it('varintLength for large values', () => {
    assert.equal(varintLength(2 ** 28 - 1), 4)
    assert.equal(varintLength(2 ** 28), 5)
    assert.equal(varintLength(2 ** 35), 6)
  })
})

describe('FrameReader', () => {
  it(
    'pauses a stream whose reader falls behind, so buffered data stays bounded, and resumes as frames are read',
    { timeout: 10_000 },
    async () => {
      const max = 256 * 1024
      const frame = encodeFrame(payload(max - 8))
      const fake = fromChunks(Array.from({ length: 40 }, () => frame)) // ~10 MiB
      const r = new FrameReader(fake.stream, max)
      await new Promise(resolve => setTimeout(resolve, 200)) // nobody reads meanwhile
      assert.ok(fake.pauses() > 0, 'the stream was paused')
      assert.ok(fake.pulled() <= max + 64 * 1024 + frame.byteLength, `buffered ${fake.pulled()} bytes without a reader`)
      assert.equal((await readAll(r)).length, 40)
      assert.equal(fake.pulled(), 40 * frame.byteLength)
    }
  )

  it('round trips frames of length 0, 127, 128, 16383, 16384 and 1 MiB', async () => {
    const sizes = [0, 127, 128, 16383, 16384, MiB]
    const frames = sizes.map((n, i) => payload(n, i))
    const { stream } = fromChunks([concat(frames.map(encodeFrame))])
    const got = await readAll(new FrameReader(stream, MiB))
    assert.equal(got.length, frames.length)
    for (let i = 0; i < frames.length; i++) assert.deepEqual(got[i], frames[i], `frame ${i}`)
  })

  it('reassembles frames split at every boundary, one byte at a time, and at random', async () => {
    const frames = [
      payload(0),
      payload(1, 1),
      payload(127, 2),
      payload(128, 3),
      payload(300, 4),
      payload(16384, 5),
      payload(5, 6)
    ]
    const wire = concat(frames.map(encodeFrame))
    let seed = 42
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed
    }
    const splits: Array<(i: number) => number> = [
      () => 1,
      () => 2,
      () => 3,
      () => 7,
      () => 129,
      () => 16385,
      () => rnd() % 5,
      () => rnd() % 300,
      i => (i % 2 === 0 ? 1 : 500)
    ]
    for (const [k, s] of splits.entries()) {
      const chunks = split(wire, s)
      // alternate plain arrays and Uint8ArrayLists, as libp2p streams may yield either
      const mixed = chunks.map((c, i) => (i % 3 === 0 ? new Uint8ArrayList(c.subarray(0, 1), c.subarray(1)) : c))
      const got = await readAll(new FrameReader(fromChunks(mixed).stream, 64 * 1024))
      assert.equal(got.length, frames.length, `split ${k}`)
      for (let i = 0; i < frames.length; i++) assert.deepEqual(got[i], frames[i], `split ${k} frame ${i}`)
    }
  })

  it('several frames in one chunk are returned one per read, then null, then null again', async () => {
    const r = new FrameReader(
      fromChunks([concat([encodeFrame(payload(3)), encodeFrame(payload(0)), encodeFrame(payload(200, 9))])]).stream,
      1024
    )
    assert.deepEqual(await r.read(), payload(3))
    assert.deepEqual(await r.read(), new Uint8Array(0))
    assert.deepEqual(await r.read(), payload(200, 9))
    assert.equal(await r.read(), null)
    assert.equal(await r.read(), null)
  })

  it('a clean end of an empty stream is null', async () => {
    assert.equal(await new FrameReader(fromChunks([]).stream, 1024).read(), null)
    assert.equal(await new FrameReader(fromChunks([new Uint8Array(0)]).stream, 1024).read(), null)
  })

  it('an end inside a frame is BAD_FRAME (inside the prefix, after it, in the body)', async () => {
    const whole = encodeFrame(payload(200))
    for (const cut of [1, 2, 3, 150, whole.byteLength - 1]) {
      const r = new FrameReader(fromChunks([whole.subarray(0, cut)]).stream, 1024)
      await assert.rejects(r.read(), code(ErrorCode.BAD_FRAME), `cut ${cut}`)
    }
    // a good frame followed by a partial one: the good one first, then the error
    const r = new FrameReader(
      fromChunks([concat([encodeFrame(payload(2)), new Uint8Array([0x05, 1, 2])])]).stream,
      1024
    )
    assert.deepEqual(await r.read(), payload(2))
    await assert.rejects(r.read(), code(ErrorCode.BAD_FRAME))
  })

  it(
    'a frame exactly maxFrame is read; one byte over is FRAME_TOO_LARGE before the body arrives',
    { timeout: 5000 },
    async () => {
      const max = 1000
      assert.equal((await new FrameReader(fromChunks([encodeFrame(payload(max))]).stream, max).read())?.byteLength, max)
      // only the prefix is ever sent, then the stream hangs: the reader must not wait for the body
      const prefix = encodeFrame(payload(max + 1)).subarray(0, varintLength(max + 1))
      const fake = fromChunks([prefix], { hangAtEnd: true })
      await assert.rejects(new FrameReader(fake.stream, max).read(), code(ErrorCode.FRAME_TOO_LARGE))
      assert.equal(fake.pulled(), prefix.byteLength)
      // a huge announced length (2^35) is refused too
      const huge = fromChunks([new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])], { hangAtEnd: true })
      await assert.rejects(new FrameReader(huge.stream, MiB).read(), code(ErrorCode.FRAME_TOO_LARGE))
    }
  )

  it('an endless run of 0x80 is FRAME_TOO_LARGE after a bounded number of bytes', { timeout: 5000 }, async () => {
    for (const max of [100, 1000, MiB]) {
      const fake = endless(new Uint8Array([0x80]))
      await assert.rejects(new FrameReader(fake.stream, max).read(), code(ErrorCode.FRAME_TOO_LARGE))
      assert.ok(fake.pulled() <= varintLength(max) + 1, `max ${max}: pulled ${fake.pulled()}`)
      // in big chunks the reader stops at the first chunk
      const big = endless(new Uint8Array(4096).fill(0x80))
      await assert.rejects(new FrameReader(big.stream, max).read(), code(ErrorCode.FRAME_TOO_LARGE))
      assert.equal(big.pulled(), 4096)
    }
  })

  // A prefix of varintLength(maxFrame) bytes that all carry the continuation bit can
  // already not encode a length <= maxFrame, but tryParse only throws once it sees byte
  // index maxPrefix, i.e. it waits for one more byte. A peer that sends exactly those bytes
  // and stalls is only cut off by the read timeout (120 s idle in serveRpc).
  it(
    'a prefix of varintLength(maxFrame) continuation bytes is refused without waiting for more',
    {
      timeout: 5000
    },
    async () => {
      const max = 1000
      const fake = fromChunks([new Uint8Array(varintLength(max)).fill(0x80)], { hangAtEnd: true })
      await assert.rejects(
        new FrameReader(fake.stream, max).read(AbortSignal.timeout(300)),
        code(ErrorCode.FRAME_TOO_LARGE)
      )
      const run = endless(new Uint8Array([0x80]))
      await assert.rejects(new FrameReader(run.stream, max).read(), code(ErrorCode.FRAME_TOO_LARGE))
      assert.ok(run.pulled() <= varintLength(max), `pulled ${run.pulled()} > ${varintLength(max)}`)
    }
  )

  it(
    'a signal that aborts while waiting for data is TIMEOUT; buffered frames are still returned',
    { timeout: 5000 },
    async () => {
      const fake = fromChunks([concat([encodeFrame(payload(4)), new Uint8Array([0x03, 1])])], { hangAtEnd: true })
      const r = new FrameReader(fake.stream, 1024)
      assert.deepEqual(await r.read(AbortSignal.timeout(100)), payload(4))
      const t0 = Date.now()
      await assert.rejects(r.read(AbortSignal.timeout(100)), code(ErrorCode.TIMEOUT))
      assert.ok(Date.now() - t0 < 2000)
      const ac = new AbortController()
      const r2 = new FrameReader(fromChunks([], { hangAtEnd: true }).stream, 1024)
      const p = r2.read(ac.signal)
      setTimeout(() => ac.abort(), 20)
      await assert.rejects(p, code(ErrorCode.TIMEOUT))
    }
  )

  it(
    'a limit in ms: buffered frames are returned, a frame arriving in time is read, and waiting longer is TIMEOUT',
    { timeout: 5000 },
    async () => {
      const fake = fromChunks([encodeFrame(payload(4))], { hangAtEnd: true })
      const r = new FrameReader(fake.stream, 1024)
      assert.deepEqual(await r.read(100), payload(4))
      const t0 = Date.now()
      await assert.rejects(r.read(100), code(ErrorCode.TIMEOUT))
      assert.ok(Date.now() - t0 >= 90 && Date.now() - t0 < 2000)
      // a wait that data ended leaves no timer behind to end the next wait (that one would then miss its frame)
      const chunks = [encodeFrame(payload(3))]
      const late = fakeStream(() => chunks.shift(), { hangAtEnd: true })
      const r2 = new FrameReader(late.stream, 1024)
      assert.deepEqual(await r2.read(200), payload(3))
      const next = r2.read(1000)
      setTimeout(() => {
        chunks.push(encodeFrame(payload(5)))
        late.stream.pause()
        late.stream.resume()
      }, 300)
      assert.deepEqual(await next, payload(5))
      // the limit is for the whole frame: a frame trickling in a byte at a time cannot stretch it
      const wire = encodeFrame(payload(40))
      let at = 0
      let due = 0
      const slow = fakeStream(() => (due > 0 && at < wire.byteLength ? (due--, wire.subarray(at, ++at)) : undefined), {
        hangAtEnd: true
      })
      const r3 = new FrameReader(slow.stream, 1024)
      const tick = setInterval(() => {
        due++
        slow.stream.pause()
        slow.stream.resume()
      }, 20)
      const t1 = Date.now()
      try {
        await assert.rejects(r3.read(150), code(ErrorCode.TIMEOUT))
        assert.ok(Date.now() - t1 < 600, `stretched to ${Date.now() - t1} ms`)
      } finally {
        clearInterval(tick)
      }
    }
  )

  it('an already aborted signal is TIMEOUT', async () => {
    const r = new FrameReader(fromChunks([], { hangAtEnd: true }).stream, 1024)
    await assert.rejects(r.read(AbortSignal.abort()), code(ErrorCode.TIMEOUT))
  })
})

describe('sendFrame', () => {
  class FakeSink extends EventTarget {
    sent: Array<Uint8Array | Uint8ArrayList> = []
    writeBufferLength = 0
    status = 'open'
    send(b: Uint8Array | Uint8ArrayList): boolean {
      this.sent.push(b)
      this.writeBufferLength += b.byteLength
      return true
    }
  }

  it('sends one encoded frame and returns at once under the high-water mark', async () => {
    const s = new FakeSink()
    await sendFrame(s as unknown as Stream, payload(10), undefined, 1 << 20)
    assert.deepEqual(s.sent, [encodeFrame(payload(10))])
  })

  it('hands a large frame to the stream once, its data by reference, the same bytes as the encoded frame', async () => {
    const s = new FakeSink()
    const big = payload(300 * 1024)
    await sendFrame(s as unknown as Stream, big, undefined, 1 << 20)
    assert.equal(s.sent.length, 1, 'one send: no frame of its own for the length prefix')
    const list = s.sent[0]
    assert.ok(list instanceof Uint8ArrayList)
    assert.equal([...list].at(-1), big, 'the data itself, not a copy')
    assert.deepEqual(list.subarray(), encodeFrame(big))
  })

  it(
    'waits for drain while the write buffer is over the mark; fails ' + 'UNREACHABLE if the stream is not open',
    async () => {
      const s = new FakeSink()
      let done = false
      const p = sendFrame(s as unknown as Stream, payload(100), undefined, 50).then(() => {
        done = true
      })
      await new Promise(resolve => setTimeout(resolve, 20))
      assert.equal(done, false, 'still waiting for drain')
      s.writeBufferLength = 0
      s.dispatchEvent(new Event('drain'))
      await p
      assert.equal(done, true)

      const c = new FakeSink()
      c.status = 'closed'
      await assert.rejects(sendFrame(c as unknown as Stream, payload(100), undefined, 50), code(ErrorCode.UNREACHABLE))
    }
  )

  it('a stream closed before or while it is written to is UNREACHABLE, not an internal failure', async () => {
    const closed = new FakeSink()
    closed.status = 'reset'
    await assert.rejects(sendFrame(closed as unknown as Stream, payload(10)), code(ErrorCode.UNREACHABLE))
    assert.equal(closed.sent.length, 0)
    // libp2p's stream refuses a write once it is closed for writing: the peer closed it between the check and send
    const closing = new FakeSink()
    closing.send = () => {
      throw Object.assign(new Error('Cannot write to a stream that is closed'), { name: 'StreamStateError' })
    }
    await assert.rejects(sendFrame(closing as unknown as Stream, payload(10)), code(ErrorCode.UNREACHABLE))
  })

  it('a limit in ms ends a wait for drain that lasts longer', { timeout: 5000 }, async () => {
    const s = new FakeSink()
    const t0 = Date.now()
    await assert.rejects(sendFrame(s as unknown as Stream, payload(100), 100, 50), code(ErrorCode.TIMEOUT))
    assert.ok(Date.now() - t0 >= 90 && Date.now() - t0 < 2000)
    assert.equal(s.sent.length, 1, 'the frame was handed to the stream once')
    const d = new FakeSink()
    const p = sendFrame(d as unknown as Stream, payload(100), 1000, 50)
    setTimeout(() => {
      d.writeBufferLength = 0
      d.dispatchEvent(new Event('drain'))
    }, 20)
    await p // drained in time: no TIMEOUT
  })
})
