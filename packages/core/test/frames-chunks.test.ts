// frames.ts: FrameReader's chunks: a frame taken as the chunks it came in (readList), and a frame sent a byte
// at a time held in few chunks.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { encodeFrame, FrameReader } from '../src/wire/frames.ts'
import { concat } from '../src/bytes.ts'
import { fakeStream, fromChunks, payload } from './fixtures/frame-streams.ts'

describe('FrameReader chunks', () => {
  it('readList gives a frame as the chunks it arrived in, not copied, and reads on after it', async () => {
    const a = payload(40_000, 1)
    const b = payload(50_000, 2)
    const body = concat([a, b])
    const framed = encodeFrame(body)
    const prefix = framed.byteLength - body.byteLength
    // the prefix and the start of the body in one chunk, the rest of the body in another, then a second frame
    const first = framed.slice(0, prefix + a.byteLength)
    const second = b.slice()
    const r = new FrameReader(fromChunks([first, second, encodeFrame(payload(10))]).stream, 1 << 20)
    const list = await r.readList()
    assert.ok(list != null)
    assert.deepEqual(list.subarray(), body)
    const chunks = [...list]
    assert.equal(chunks.length, 2)
    assert.equal(chunks[0].buffer, first.buffer, 'a view of the chunk that came in')
    assert.equal(chunks[1].buffer, second.buffer)
    assert.deepEqual(await r.read(), payload(10))
    assert.equal(await r.readList(), null)
  })

  it('a frame sent a byte at a time is held in few chunks, not one object per byte, and arrives whole', async () => {
    const body = payload(40_000, 3)
    const bytes = [...encodeFrame(body), ...encodeFrame(payload(7))].map(b => new Uint8Array([b]))
    let i = 0
    let most = 0
    const holder: { reader?: FrameReader } = {}
    const f = fakeStream(() => {
      if (holder.reader !== undefined) most = Math.max(most, holder.reader.chunks)
      return bytes[i++]
    })
    const reader = (holder.reader = new FrameReader(f.stream, 1 << 20))
    assert.deepEqual(await reader.read(), body)
    assert.deepEqual(await reader.read(), payload(7))
    assert.equal(await reader.read(), null)
    // 1,024 loose chunks at most, and the ones coalesced before them (a KiB each here)
    assert.ok(most <= 1024 + Math.ceil(40_000 / 1024) + 1, `held ${most} chunks for 40,000 bytes`)
    assert.ok(most > 1000, 'the loose ones are kept until there are many')
  })
})
