// The BBS04 worker pool starts threads only for work and ends them once idle: none before the first job, no more
// than its size, none left after idleMs without a job, and a job after that starts one again. The checks a member
// makes of a group and of its member key run in the workers, with the same answers as on the main thread.
import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { P2payError, ErrorCode, utf8 } from '@p2pay/core'
import * as bbs from '../src/core/bbs04.ts'
import { groupPool, type GroupPool } from '../src/core/group-pool.ts'

const code = (c: string) => (err: unknown) => err instanceof P2payError && err.code === c

const { gpk, issuerKey } = bbs.setup()
const gpkBytes = bbs.encodeGroupPublicKey(gpk)
const partBytes = bbs.encodeOpenerPart(bbs.openerPartOf(gpk))
const aliceBytes = bbs.encodeMemberKey(bbs.issue(gpk, issuerKey))
const other = bbs.setup()
const strangerBytes = bbs.encodeMemberKey(bbs.issue(other.gpk, other.issuerKey))

/** Polls (bounded) until the pool runs `n` threads. */
async function threadsReach(pool: GroupPool, n: number): Promise<void> {
  for (let i = 0; i < 200 && pool.stats().size !== n; i++) await sleep(25)
  assert.equal(pool.stats().size, n, JSON.stringify(pool.stats()))
}

describe('BBS04 worker pool on demand', () => {
  // long enough that a thread never ends between two steps of a test on a loaded machine
  const pool = groupPool(2, { idleMs: 1500 })
  after(async () => await pool.close())

  it('starts no thread before a job, one per job that finds none idle, at most its size', async () => {
    assert.deepEqual({ size: pool.stats().size, started: pool.stats().started }, { size: 0, started: 0 })
    const msg = utf8('p2pay/whopay/test/v1\0on demand')
    assert.ok(bbs.verify(gpk, msg, await pool.sign(gpkBytes, aliceBytes, msg)))
    assert.equal(pool.stats().started, 1, 'one job in turn needs one thread')
    const sigs = await Promise.all(Array.from({ length: 6 }, async () => await pool.sign(gpkBytes, aliceBytes, msg)))
    for (const sig of sigs) assert.ok(bbs.verify(gpk, msg, sig))
    assert.equal(pool.stats().started, 2, 'six at once start the second thread and no more')
    assert.equal(pool.stats().max, 2)
  })

  it('ends threads left idle, and starts one again for the next job', async () => {
    await threadsReach(pool, 0)
    assert.equal(pool.stats().ended, 2)
    assert.equal(pool.stats().restarts, 0, 'an idle end is not a crash')
    const msg = utf8('p2pay/whopay/test/v1\0after idle')
    assert.equal(await pool.verify(gpkBytes, msg, await pool.sign(gpkBytes, aliceBytes, msg)), true)
    assert.equal(pool.stats().size, 1)
    assert.equal(pool.stats().started, 3)
  })

  it("checks a group on its judge's part and a member key in the workers", async () => {
    await pool.checkGroup(gpkBytes, partBytes)
    assert.equal(await pool.checkMember(gpkBytes, aliceBytes), true)
    assert.equal(await pool.checkMember(gpkBytes, strangerBytes), false, "a key of another group is not this group's")
    const otherPart = bbs.encodeOpenerPart(bbs.openerPartOf(other.gpk))
    await assert.rejects(pool.checkGroup(gpkBytes, otherPart), code(ErrorCode.BAD_REQUEST))
    // the part repeating a point, and a point off its subgroup
    const repeated = Uint8Array.from(partBytes)
    repeated.set(partBytes.subarray(0, bbs.G1_BYTES), bbs.G1_BYTES)
    await assert.rejects(pool.checkGroup(gpkBytes, repeated), code(ErrorCode.BAD_REQUEST))
    const offCurve = Uint8Array.from(partBytes)
    offCurve[5] ^= 1
    await assert.rejects(pool.checkGroup(gpkBytes, offCurve), code(ErrorCode.BAD_REQUEST))
    // a group on another g1: the generator swapped for h
    const moved = Uint8Array.from(gpkBytes)
    moved.set(partBytes.subarray(0, bbs.G1_BYTES), 0)
    await assert.rejects(pool.checkGroup(moved, partBytes), code(ErrorCode.BAD_REQUEST))
    await assert.rejects(pool.checkMember(gpkBytes, aliceBytes.subarray(1)), code(ErrorCode.BAD_REQUEST))
  })

  it('workers that will not start make calls fail for a while, then the pool tries again', async () => {
    const dead = groupPool(1, { workerUrl: new URL('./fixtures/dead-worker.js', import.meta.url), brokenRetryMs: 500 })
    const msg = utf8('p2pay/whopay/test/v1\0dead')
    try {
      await assert.rejects(dead.sign(gpkBytes, aliceBytes, msg), /group crypto worker died/)
      // three starts in a row died: the pool stops starting workers and says why
      let err: Error | undefined
      for (let i = 0; i < 200 && !/unavailable/.test(err?.message ?? ''); i++) {
        await sleep(10)
        err = await dead.sign(gpkBytes, aliceBytes, msg).then(
          () => undefined,
          (e: Error) => e
        )
      }
      assert.match(err?.message ?? '', /group crypto unavailable/)
      // not for good: once the pause is over, a call starts a worker again
      await sleep(600)
      await assert.rejects(dead.sign(gpkBytes, aliceBytes, msg), /group crypto worker died/)
    } finally {
      await dead.close()
    }
  })
})
