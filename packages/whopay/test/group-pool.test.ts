// The BBS04 worker pool: the event loop keeps turning while signatures are made in the workers; what they make
// verifies with the synchronous module and opens to the signer; a bad signature verifies false, malformed bytes are
// BAD_REQUEST; a worker that dies fails only its job and is replaced; a closed pool refuses, ABORTED.
import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as immediate } from 'node:timers/promises'
import { P2payError, ErrorCode, utf8 } from '@p2pay/core'
import * as bbs from '../src/core/bbs04.ts'
import { groupPool } from '../src/core/group-pool.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const code = (c: string) => (err: unknown) => err instanceof P2payError && err.code === c

const { gpk, issuerKey, openerKey } = bbs.setup()
const gpkBytes = bbs.encodeGroupPublicKey(gpk)
const alice = bbs.issue(gpk, issuerKey)
const aliceBytes = bbs.encodeMemberKey(alice)
const openerBytes = bbs.encodeOpenerKey(openerKey)

describe('BBS04 worker pool', () => {
  const pool = groupPool(2)
  after(async () => await pool.close())

  it('keeps the event loop turning while 20 signatures are made, and they verify and open here', async () => {
    const msgs = Array.from({ length: 20 }, (_, i) => utf8(`p2pay/whopay/test/v1\0payment ${i}`))
    let ticks = 0
    let running = true
    const ticking = (async () => {
      while (running) {
        await immediate()
        ticks++
      }
    })()
    const sigs = await Promise.all(msgs.map(async m => await pool.sign(gpkBytes, aliceBytes, m)))
    running = false
    await ticking
    assert.ok(ticks > 0, 'no turn of the event loop while the workers signed')
    for (const [i, sig] of sigs.entries()) {
      assert.equal(sig.byteLength, bbs.SIGNATURE_BYTES)
      assert.ok(bbs.verify(gpk, msgs[i], sig), `signature ${i}`)
      assert.equal(hex(bbs.open(gpk, openerKey, sig)), hex(bbs.memberId(alice)))
    }
    assert.equal(new Set(sigs.map(hex)).size, 20, 'signatures are randomised')
  })

  it('verifies and opens in the workers what the synchronous module made', async () => {
    const msg = utf8('p2pay/whopay/test/v1\0from the main thread')
    const sig = bbs.encodeSignature(bbs.sign(gpk, alice, msg))
    assert.equal(await pool.verify(gpkBytes, msg, sig), true)
    assert.equal(hex(await pool.open(gpkBytes, openerBytes, sig)), hex(bbs.memberId(alice)))
    // views into a larger buffer are read at their offset, and the caller's bytes stay usable
    const framed = new Uint8Array(sig.byteLength + 10)
    framed.set(sig, 7)
    assert.equal(await pool.verify(gpkBytes, msg, framed.subarray(7, 7 + sig.byteLength)), true)
    assert.equal(framed.byteLength, sig.byteLength + 10)
    // a small Buffer is a view of Node's shared pool: signing it must neither detach the pool nor fail
    const pooled = Buffer.from('p2pay/whopay/test/v1\0a pooled buffer')
    assert.notEqual(pooled.byteLength, pooled.buffer.byteLength, 'the test message is a view of a larger pool')
    const pooledSig = await pool.sign(gpkBytes, aliceBytes, pooled)
    assert.ok(bbs.verify(gpk, pooled, pooledSig))
    assert.equal(Buffer.from('still usable').toString(), 'still usable')
  })

  it('a bad signature verifies false; malformed bytes and foreign keys reject BAD_REQUEST', async () => {
    const msg = utf8('p2pay/whopay/test/v1\0tampered')
    const sig = bbs.encodeSignature(bbs.sign(gpk, alice, msg))
    assert.equal(await pool.verify(gpkBytes, utf8('p2pay/whopay/test/v1\0other'), sig), false)
    const scalarFlipped = Uint8Array.from(sig)
    scalarFlipped[sig.byteLength - 1] ^= 1
    assert.equal(await pool.verify(gpkBytes, msg, scalarFlipped), false)
    await assert.rejects(pool.verify(gpkBytes, msg, sig.subarray(1)), code(ErrorCode.BAD_REQUEST))
    const offCurve = Uint8Array.from(sig)
    offCurve[3] ^= 1
    await assert.rejects(pool.verify(gpkBytes, msg, offCurve), code(ErrorCode.BAD_REQUEST))
    await assert.rejects(pool.sign(gpkBytes.subarray(2), aliceBytes, msg), code(ErrorCode.BAD_REQUEST))
    await assert.rejects(pool.sign(gpkBytes, new Uint8Array(bbs.MEMBER_KEY_BYTES), msg), code(ErrorCode.BAD_REQUEST))
    const other = bbs.encodeOpenerKey(bbs.setup().openerKey)
    await assert.rejects(pool.open(gpkBytes, other, sig), code(ErrorCode.BAD_REQUEST))
    await assert.rejects(pool.verify(gpkBytes, msg, 'x' as never), code(ErrorCode.BAD_REQUEST))
  })

  it('a worker that dies fails its job with a clear error and is replaced', async () => {
    const msg = utf8('p2pay/whopay/test/v1\0crash')
    const before = pool.stats().restarts
    const jobs = [pool.sign(gpkBytes, aliceBytes, msg), pool.sign(gpkBytes, aliceBytes, msg)]
    const outcomes = Promise.allSettled(jobs)
    // both workers have a job now: one of them is killed under it
    await pool.threads()[0].terminate()
    const [first, second] = await outcomes
    assert.equal(first.status, 'rejected')
    assert.ok(code(ErrorCode.INTERNAL)(first.reason))
    assert.match((first.reason as Error).message, /group crypto worker died/)
    assert.equal(second.status, 'fulfilled')
    assert.equal(pool.stats().restarts, before + 1)
    assert.equal(pool.stats().size, 2)
    const sigs = await Promise.all([1, 2, 3].map(async () => await pool.sign(gpkBytes, aliceBytes, msg)))
    for (const sig of sigs) assert.ok(bbs.verify(gpk, msg, sig))
  })

  it('refuses past its queue (BUSY) and after close (ABORTED), failing what still waits', async () => {
    const small = groupPool(1, { maxQueue: 2 })
    const msg = utf8('p2pay/whopay/test/v1\0queue')
    const running = small.sign(gpkBytes, aliceBytes, msg)
    const waiting = [small.sign(gpkBytes, aliceBytes, msg), small.sign(gpkBytes, aliceBytes, msg)]
    await assert.rejects(small.sign(gpkBytes, aliceBytes, msg), code(ErrorCode.BUSY))
    const settled = Promise.allSettled([running, ...waiting])
    await small.close()
    for (const s of await settled) assert.ok(s.status === 'rejected' && code(ErrorCode.ABORTED)(s.reason))
    await assert.rejects(small.verify(gpkBytes, msg, new Uint8Array(1)), code(ErrorCode.ABORTED))
  })
})
