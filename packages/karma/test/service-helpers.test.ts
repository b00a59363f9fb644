// The service's pure helpers: configuration bounds, the test-only Byzantine
// switch, how a set of member refusals becomes one error, and the conflicting
// notice a lying member signs (which the core must flag as its signer's lie).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, P2payError } from '@p2pay/core'
import { KarmaErrorCode } from '../src/errors.ts'
import { checkConfig, DEFAULT_KARMA } from '../src/core/config.ts'
import { checkModes, conflictingNotice } from '../src/cheats.ts'
import { majorityError } from '../src/core/account.ts'
import { openNotice } from '../src/core/messages.ts'
import { net, disjointPair, verifier, throwsCode } from './fixtures.ts'

describe('checkConfig', () => {
  it('takes the defaults and refuses what cannot work', () => {
    assert.deepEqual(checkConfig({ ...DEFAULT_KARMA }), DEFAULT_KARMA)
    throwsCode(() => checkConfig({ ...DEFAULT_KARMA, k: 0 }), ErrorCode.BAD_REQUEST)
    throwsCode(() => checkConfig({ ...DEFAULT_KARMA, k: 65 }), ErrorCode.BAD_REQUEST)
    throwsCode(() => checkConfig({ ...DEFAULT_KARMA, powBits: 65 }), ErrorCode.BAD_REQUEST)
    throwsCode(() => checkConfig({ ...DEFAULT_KARMA, epochMs: 500 }), ErrorCode.BAD_REQUEST)
    throwsCode(() => checkConfig({ ...DEFAULT_KARMA, initialKarma: -1 }), ErrorCode.BAD_REQUEST)
    throwsCode(() => checkConfig({ ...DEFAULT_KARMA, syncMs: 1.5 }), ErrorCode.BAD_REQUEST)
  })
})

describe('Byzantine switch', () => {
  it('takes only known modes', () => {
    assert.deepEqual(checkModes(['drop', 'conflict']), ['drop', 'conflict'])
    throwsCode(() => checkModes(['steal']), ErrorCode.BAD_REQUEST)
    throwsCode(() => checkModes('drop'), ErrorCode.BAD_REQUEST)
  })

  it(
    'a conflicting notice is well signed but says another amount: the core ' + 'flags it as a mismatch of its signer',
    async () => {
      const w = await net()
      const [A, B] = disjointPair(w)
      w.join(A)
      const req = w.request(A, B.id, 10)
      const liar = w.peers.find(p => w.bank(A.id).includes(p.id))!
      const b64 = conflictingNotice(liar.signer, req)
      const o = openNotice(verifier, b64)
      assert.equal(o.defect, 'mismatch')
      assert.equal(o.notice.signer, liar.id)
      assert.equal(o.notice.body.amount, 100)
      const out = w.member(w.bank(B.id)[0]).receiveNotice(b64, w.bank(A.id), w.bank(B.id))
      assert.deepEqual(out, { status: 'ignored', requestHash: req.hash, reason: 'mismatch' })
    }
  )
})

describe('majorityError', () => {
  const no = (code: string): PromiseSettledResult<unknown> => ({
    status: 'rejected',
    reason: new P2payError(code as any, code)
  })
  it('is the refusal a strict majority shares', () => {
    const e = majorityError(
      [no('INSUFFICIENT_FUNDS'), no('INSUFFICIENT_FUNDS'), no('TIMEOUT'), no('INSUFFICIENT_FUNDS')],
      3,
      'transfer'
    )
    assert.equal(e.code, ErrorCode.INSUFFICIENT_FUNDS)
  })
  it('is NO_MAJORITY with the codes seen otherwise; transport failures count as UNREACHABLE', () => {
    const e = majorityError(
      [
        no('REPLAY'),
        no('REPLAY'),
        { status: 'rejected', reason: new Error('boom') },
        { status: 'fulfilled', value: 1 }
      ],
      3,
      'transfer'
    )
    assert.equal(e.code, KarmaErrorCode.NO_MAJORITY)
    assert.deepEqual(e.details, { refusals: { REPLAY: 2, UNREACHABLE: 1 } })
  })
})
