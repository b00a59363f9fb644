// The counterexample SPIN finds in models/fairex-original.pml, replayed on real
// daemons (scripts/models/replay-fairex.ts): broker, TTP, judge and two nodes
// as processes. The original form ends as the model says (provider paid,
// downloader without the file or its money); the same steps against the fixed
// form end with the provider banned and the downloader refunded.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkCoverage, replayFairex } from '../scripts/models/replay-fairex.ts'
import { parseTrail } from '../scripts/models/fairex-trail.ts'

test('the replay maps every message of a trail, and refuses a trail with a message it does not map', () => {
  const trail = parseTrail(
    [
      'MSG intr - - BAD_Z',
      ...['1.1 D P', '1.2 P D', '2.1 P D', '2.2 P D', '2.3 D P', '2.4 P D', '3.1 D T', '3.2 T D', '3.3 T P'].map(
        s => `MSG ${s} x`
      ),
      'MSG end D - NOFILE',
      'MSG dep P AC DEPOSIT sn=7',
      'MSG pay AC P PAID sn=7',
      'Never claim moves to line 8'
    ].join('\n')
  )
  assert.equal(trail.length, 13)
  assert.deepEqual(trail[0], { step: 'intr', from: '-', to: '-', what: 'BAD_Z' })
  checkCoverage(trail)
  assert.throws(() => checkCoverage(trail.filter(m => m.step !== '3.3')), /not the ones the replay maps/)
  assert.throws(() => checkCoverage([...trail, { step: '4.1', from: 'D', to: 'J', what: 'COMP' }]), /not the ones/)
  const swapped = [...trail]
  ;[swapped[3], swapped[4]] = [swapped[4], swapped[3]] // 2.2 before 2.1
  assert.throws(() => checkCoverage(swapped), /trail order/)
})

test(
  "SPIN's counterexample on real daemons: the original form pays the cheater and leaves the downloader " +
    'without file or money; the same steps on the fixed form ban the provider and refund the downloader',
  { timeout: 300_000 },
  async () => {
    const r = await replayFairex()
    assert.deepEqual(
      r.trail.filter(m => m.step !== 'intr').map(m => m.step),
      ['1.1', '1.2', '2.1', '2.2', '2.3', '2.4', '3.1', '3.2', '3.3', 'end', 'dep', 'pay']
    )
    assert.ok(r.states > 0)
    const [original, fixed] = r.runs
    assert.deepEqual(
      [original.form, original.providerPaid, original.downloaderHasFile, original.downloaderRefunded],
      ['original', true, false, false]
    )
    assert.equal(original.providerBanned, false)
    assert.deepEqual(
      [fixed.form, fixed.providerPaid, fixed.downloaderHasFile, fixed.downloaderRefunded, fixed.providerBanned],
      ['fixed', false, false, true, true]
    )
    for (const run of r.runs)
      assert.deepEqual(
        run.rows.flatMap(x => x.steps),
        ['intr', '1.1', '1.2', '2.1', '2.2', '2.3', '2.4', '3.1', '3.2', 'end', '3.3', 'dep', 'pay']
      )
  }
)
