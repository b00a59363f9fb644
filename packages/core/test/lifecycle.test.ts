// lifecycle.ts: stop() aborts every piece of work it was given and returns only when none runs any more.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Lifecycle, sleep } from '../src/daemon/lifecycle.ts'
import { ErrorCode, P2payError } from '../src/errors.ts'

const aborted = (e: unknown): boolean => e instanceof P2payError && e.code === ErrorCode.ABORTED

describe('Lifecycle', () => {
  it('stop() waits for work in flight to finish after the abort, and then refuses new work', async () => {
    const life = new Lifecycle()
    const done: string[] = []
    const work = life.run('slow write', async signal => {
      await sleep(50, signal).catch(() => {})
      await new Promise(r => setTimeout(r, 30)) // work that must still finish, as a store write does
      done.push('slow write')
    })
    await sleep(5)
    await life.stop()
    assert.deepEqual(done, ['slow write'], 'stop returned before the work it aborted had finished')
    await work
    await assert.rejects(
      life.run('late', async () => {}),
      aborted
    )
    assert.equal(life.running().length, 0)
  })

  it('every() ticks until stopped, never two runs at once, and a tick in flight is awaited by stop()', async () => {
    const life = new Lifecycle()
    let running = 0
    let most = 0
    let runs = 0
    let finishedAfterStop = false
    life.every(5, 'tick', async signal => {
      running++
      most = Math.max(most, running)
      runs++
      try {
        await sleep(20, signal)
      } catch {
        await new Promise(r => setTimeout(r, 10))
        finishedAfterStop = true
      } finally {
        running--
      }
    })
    await sleep(60)
    await life.stop()
    const runsAtStop = runs
    assert.ok(runs >= 2, `ticked ${runs} times`)
    assert.equal(most, 1, 'two ticks overlapped')
    assert.equal(running, 0, 'a tick was still running after stop()')
    assert.equal(finishedAfterStop, true)
    await sleep(30)
    assert.equal(runs, runsAtStop, 'ticked after stop()')
  })

  it('sleep() and spawned work end with ABORTED at the stop; after() never fires once stopped', async () => {
    const life = new Lifecycle()
    let slept: unknown
    life.spawn('sleeper', async () => {
      try {
        await life.sleep(10_000)
      } catch (e) {
        slept = e
      }
    })
    let fired = false
    life.after(20, 'later', async () => {
      fired = true
    })
    const t0 = performance.now()
    await life.stop()
    assert.ok(performance.now() - t0 < 1000, 'stop waited for the sleep to run out')
    assert.ok(aborted(slept))
    await sleep(40)
    assert.equal(fired, false)
  })

  it('work that ignores its signal is left behind after the grace, and named', async () => {
    const warnings: unknown[] = []
    const log = { warn: (_m: string, f?: unknown) => warnings.push(f) } as any
    const life = new Lifecycle(log)
    void life.track('stubborn', new Promise(r => setTimeout(r, 500)))
    const t0 = performance.now()
    await life.stop(50)
    assert.ok(performance.now() - t0 < 400)
    assert.deepEqual(warnings, [{ tasks: ['stubborn'] }])
  })
})
