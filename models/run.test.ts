// The model runner's reading of pan's text and of a model's header, on pan
// outputs of SPIN 6.5.2 kept verbatim (trimmed of the memory and unreached
// lines): pan exits 0 either way, so a parser that misread one of these would
// pass a violated property or a missing counterexample.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mismatch, outcome, parseHeader, parsePanOutput, type PanReport } from './pan-output.ts'

const ACCEPTANCE_CYCLE = `pan: ltl formula downloader_fair
pan:1: acceptance cycle (at depth 87)
pan: wrote fairex-original.pml.trail

(Spin Version 6.5.2 -- 6 December 2019)
Warning: Search not completed
	+ Partial Order Reduction

Full statespace search for:
	never claim         	+ (downloader_fair)
	assertion violations	+ (if within scope of claim)
	acceptance   cycles 	+ (fairness enabled)
	invalid end states	- (disabled by never claim)

State-vector 124 byte, depth reached 88, errors: 1
       40 states, stored (42 visited)
        1 states, matched
       43 transitions (= visited+matched)
        7 atomic steps
hash conflicts:         0 (resolved)

pan: elapsed time 0.01 seconds
`

const HOLDS = `pan: ltl formula provider_fair

(Spin Version 6.5.2 -- 6 December 2019)
	+ Partial Order Reduction

Full statespace search for:
	never claim         	+ (provider_fair)
	assertion violations	+ (if within scope of claim)
	acceptance   cycles 	+ (fairness enabled)
	invalid end states	- (disabled by never claim)

State-vector 124 byte, depth reached 87, errors: 0
     1257 states, stored (1721 visited)
     1006 states, matched
     2727 transitions (= visited+matched)
      298 atomic steps
hash conflicts:         0 (resolved)

pan: elapsed time 1.25 seconds
pan: rate      1376.8 states/second
`

const ASSERTION = `pan:1: assertion violated 0 (at depth 23)
pan: wrote m.pml.trail

(Spin Version 6.5.2 -- 6 December 2019)
Warning: Search not completed

State-vector 44 byte, depth reached 23, errors: 1
  1.23457e+06 states, stored
        0 states, matched

pan: elapsed time 3.2e+02 seconds
`

const DEPTH_TOO_SMALL = `error: max search depth too small

(Spin Version 6.5.2 -- 6 December 2019)
	+ Partial Order Reduction

State-vector 116 byte, depth reached 19, errors: 0
      127 states, stored
       52 states, matched

pan: elapsed time 0 seconds
`

const MEMLIM = `Depth=     100 States=    3e+06 Transitions= 8.06e+06 Memory=   911.954	t=     27.7 R=   1e+05
pan: reached -DMEMLIM bound
	1.07371e+09 bytes used
	102400 bytes more needed
	1.07374e+09 bytes limit
hint: to reduce memory, recompile with
  -DMA=440   # better/slower compression, or
  -DBITSTATE # supertrace, approximation

(Spin Version 6.5.2 -- 6 December 2019)
Warning: Search not completed
	+ Partial Order Reduction
	+ Compression

State-vector 440 byte, depth reached 100, errors: 0
  3455153 states, stored
  5891389 states, matched

pan: elapsed time 29.9 seconds
`

const TOO_MANY_PROCS = `pan: ltl formula downloader_fair
pan: error: too many processes -- current max is 6 procs (-DNFAIR=2)
	recompile with -DNFAIR=3

pan: elapsed time 0 seconds
`

const report = (text: string): PanReport => {
  const r = parsePanOutput(text)
  assert.ok(!(r instanceof Error), String(r))
  return r
}

test('an acceptance cycle: errors, states, depth, time and the trail; violated as expected, not holds', () => {
  const r = report(ACCEPTANCE_CYCLE)
  assert.deepEqual(r, { errors: 1, statesStored: 40, depth: 88, seconds: 0.01, trail: 'fairex-original.pml.trail' })
  assert.equal(outcome(r), 'violated')
  assert.equal(mismatch('violated', r), null)
  assert.match(mismatch('holds', r) ?? '', /expected to hold, pan found 1 error/)
})

test('a complete search without errors: holds as expected, a missing counterexample otherwise', () => {
  const r = report(HOLDS)
  assert.deepEqual(r, { errors: 0, statesStored: 1257, depth: 87, seconds: 1.25 })
  assert.equal(outcome(r), 'holds')
  assert.equal(mismatch('holds', r), null)
  assert.match(mismatch('violated', r) ?? '', /expected a counterexample, pan found none/)
})

test('an assertion violation with figures in e-notation', () => {
  const r = report(ASSERTION)
  assert.deepEqual([r.errors, r.statesStored, r.depth, r.seconds, r.trail], [1, 1234570, 23, 320, 'm.pml.trail'])
  assert.equal(mismatch('violated', r), null)
})

test('errors without a trail is no counterexample', () => {
  const r = report(ACCEPTANCE_CYCLE.replace('pan: wrote fairex-original.pml.trail\n', ''))
  assert.equal(r.trail, undefined)
  assert.match(mismatch('violated', r) ?? '', /wrote no trail/)
})

test('a search cut short by the depth bound proves nothing', () => {
  const r = report(DEPTH_TOO_SMALL)
  assert.equal(r.errors, 0)
  assert.equal(r.incomplete, 'error: max search depth too small')
  assert.match(mismatch('holds', r) ?? '', /search incomplete/)
})

test('a search stopped at the memory bound proves nothing, and says so', () => {
  const r = report(MEMLIM)
  assert.deepEqual([r.errors, r.statesStored, r.depth, r.seconds], [0, 3455153, 100, 29.9])
  assert.equal(r.incomplete, 'pan: reached -DMEMLIM bound')
  assert.match(mismatch('holds', r) ?? '', /search incomplete, so nothing is proved: pan: reached -DMEMLIM bound/)
})

test('pan failing before a search is an error naming what pan said, never a result', () => {
  const r = parsePanOutput(TOO_MANY_PROCS)
  assert.ok(r instanceof Error)
  assert.match(r.message, /too many processes/)
  assert.ok(parsePanOutput('') instanceof Error)
  assert.ok(parsePanOutput('spin: model.pml:3, Error: syntax error') instanceof Error)
})

test('header: check lines with pan arguments, cc flags after |, and the bound', () => {
  const h = parseHeader(
    [
      '/* a model */',
      '// check: downloader-fair violated -a -f -N downloader_fair',
      '// check: safety holds -m10000 | -DSAFETY -DNOCLAIM',
      '// check: plain holds',
      '// bound: 45',
      'proctype P() { skip }'
    ].join('\n')
  )
  assert.deepEqual(h, {
    boundS: 45,
    checks: [
      { label: 'downloader-fair', expected: 'violated', panArgs: ['-a', '-f', '-N', 'downloader_fair'], ccFlags: [] },
      { label: 'safety', expected: 'holds', panArgs: ['-m10000'], ccFlags: ['-DSAFETY', '-DNOCLAIM'] },
      { label: 'plain', expected: 'holds', panArgs: [], ccFlags: [] }
    ]
  })
  assert.throws(() => parseHeader('// check: x maybe -a'), /bad check line/)
  assert.throws(() => parseHeader('// bound: soon'), /bad bound line/)
  assert.deepEqual(parseHeader('proctype P() { skip }').checks, [])
})
