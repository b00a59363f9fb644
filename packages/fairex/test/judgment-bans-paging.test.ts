// judgment.ts `bansSince`: the judge's active bans handed out a page at a time. Every active ban comes out
// exactly once over the pages, whatever the number ruled in one millisecond; pages stay bounded; the walk ends.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { BANS_PER_PAGE } from '../src/core/judgment.ts'
import { BAN_MS, T0, world } from './judgment-fixtures.ts'

/** Bans as the judge stores them, ruled at the given times (only the fields paging reads matter). */
function ruled(w: Awaited<ReturnType<typeof world>>, times: number[]): void {
  times.forEach((from, i) => {
    const hash = i.toString(16).padStart(64, '0')
    w.judge.t.bans.set(hash, { hash, peer: `p${i}`, verdict: hash, from, until: from + BAN_MS, ban: `ban${i}` })
  })
}

/** Walks the pages as a node does, from cursor 0; returns every ban handed out and the largest page. */
function walk(w: Awaited<ReturnType<typeof world>>, max: number): { got: string[]; largest: number; pages: number } {
  const got: string[] = []
  let since = 0
  let largest = 0
  for (let pages = 1; pages <= 1000; pages++) {
    const p = w.judge.bansSince(since, max)
    got.push(...p.bans.map(b => b.ban))
    largest = Math.max(largest, p.bans.length)
    assert.ok(p.cursor >= since, 'the cursor never goes back')
    if (!p.more) return { got, largest, pages }
    assert.ok(p.cursor > since, 'a page with more after it moves the cursor')
    since = p.cursor
  }
  throw new Error('the walk did not end')
}

describe('judge: bans a page at a time', () => {
  it('every active ban once over the pages, pages bounded, 1,000 a page by default', async () => {
    const w = await world()
    const times = Array.from({ length: 2500 }, (_, i) => T0 - 10_000 + i)
    ruled(w, times)
    const { got, largest, pages } = walk(w, BANS_PER_PAGE)
    assert.equal(pages, 3)
    assert.equal(largest, BANS_PER_PAGE)
    assert.deepEqual(
      got,
      times.map((_, i) => `ban${i}`)
    )
  })

  it("a page ends with its millisecond's last ban: many in one millisecond are neither cut nor repeated", async () => {
    const w = await world()
    // 30 bans in one ms, straddling the page limit of 10, then 15 more spread out
    const times = [
      ...Array(5).fill(T0 - 500),
      ...Array(30).fill(T0 - 400),
      ...Array.from({ length: 15 }, (_, i) => T0 - 300 + i)
    ]
    ruled(w, times)
    const { got, largest } = walk(w, 10)
    assert.equal(new Set(got).size, got.length, 'no ban twice')
    assert.equal(got.length, times.length, 'every ban')
    assert.equal(largest, 35, 'the page that reached the crowded millisecond took all of it')
  })

  it('the last page keeps its cursor at the newest ban: one ruled later in that millisecond still comes', async () => {
    const w = await world()
    ruled(w, [T0 - 20, T0 - 10])
    const last = w.judge.bansSince(0)
    assert.deepEqual([last.bans.length, last.cursor, last.more], [2, T0 - 10, false])
    // expired bans are not handed out
    w.clock.t += BAN_MS
    assert.deepEqual(w.judge.bansSince(0).bans, [])
  })
})
