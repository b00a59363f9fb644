// Body checks of WhoPay's signed objects: each field of each body refused when missing, extra, of the wrong type
// or out of range (BAD_REQUEST), and the holder digest is the domain string followed by the envelope bytes.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, utf8 } from '@p2pay/core'
import { throwsCode } from '@p2pay/test-utils'
import { newCoinKey } from '../src/core/holder.ts'
import {
  HOLDER_DOMAIN,
  LIMITS,
  TAG,
  checkBindingBody,
  checkCoinBody,
  checkHolderBody,
  checkHolderSigned,
  checkOpeningBody,
  checkSpentBody,
  checkWithdrawBody,
  holderDigest
} from '../src/core/messages.ts'

const id = (): string => newCoinKey().id
const sig = Buffer.alloc(336, 7).toString('base64')
const env = Buffer.alloc(200, 1).toString('base64')
const hash = 'ab'.repeat(32)

/** Each variant of `good` must be refused by `check`; `good` itself passes. */
function refuses(
  check: (b: unknown) => unknown,
  good: Record<string, unknown>,
  bad: Array<Record<string, unknown>>
): void {
  check(good)
  for (const b of bad) throwsCode(() => check(b), ErrorCode.BAD_REQUEST, undefined)
  for (const k of Object.keys(good)) {
    const { [k]: _gone, ...missing } = good
    throwsCode(() => check(missing), ErrorCode.BAD_REQUEST)
  }
  throwsCode(() => check({ ...good, extra: 1 }), ErrorCode.BAD_REQUEST)
  for (const v of [null, 'x', [good], 1]) throwsCode(() => check(v), ErrorCode.BAD_REQUEST)
}

describe('message bodies', () => {
  it('coin certificate', () => {
    const good = { coin: id(), owner: id(), value: 5, expiry: 1, serial: 'serial-0001', gen: 0 }
    refuses(checkCoinBody, good, [
      { ...good, coin: 'nope' },
      { ...good, owner: 12 },
      { ...good, value: 0 },
      { ...good, value: 1.5 },
      { ...good, value: 2 ** 51 },
      { ...good, expiry: -1 },
      { ...good, serial: 'short' },
      { ...good, serial: 'with|bar-000' },
      { ...good, gen: LIMITS.maxGen + 1 }
    ])
  })

  it('binding: seq 1 issue without a request, later ones and broker ones with one', () => {
    const issue = { coin: id(), gen: 0, seq: 1, holder: id(), by: 'owner' }
    checkBindingBody(issue)
    const answer = { ...issue, seq: 2, request: env, group: sig }
    checkBindingBody(answer)
    checkBindingBody({ ...answer, seq: 1, by: 'broker' })
    for (const b of [
      { ...issue, seq: 0 },
      { ...issue, seq: 2 },
      { ...issue, by: 'broker' },
      { ...issue, by: 'nobody' },
      { ...issue, request: env, group: sig },
      { ...answer, group: undefined },
      { ...answer, request: 'not base64!' },
      { ...answer, group: 'A'.repeat(452) },
      { ...issue, holder: 'x' },
      { ...issue, extra: true }
    ])
      throwsCode(() => checkBindingBody(JSON.parse(JSON.stringify(b))), ErrorCode.BAD_REQUEST)
  })

  it('holder requests: transfer and renew name a key, a deposit a purse', () => {
    const t = { coin: id(), gen: 0, seq: 3, to: id(), at: 9 }
    refuses(b => checkHolderBody(TAG.transfer, b), t, [
      { ...t, seq: -1 },
      { ...t, seq: LIMITS.maxSeq + 1 },
      { ...t, to: 'x' },
      { ...t, at: 'now' }
    ])
    checkHolderBody(TAG.renew, t)
    const { to, ...rest } = t
    const d = { ...rest, purse: to }
    refuses(b => checkHolderBody(TAG.deposit, b), d, [{ ...d, purse: 'x' }])
    throwsCode(() => checkHolderBody(TAG.deposit, t), ErrorCode.BAD_REQUEST)
    throwsCode(() => checkHolderBody(TAG.transfer, d), ErrorCode.BAD_REQUEST)
  })

  it('withdraw, spent, opening, and the wire form of a holder request', () => {
    const w = { purse: id(), account: id(), amount: 3, nonce: 'nonce-0001' }
    refuses(checkWithdrawBody, w, [
      { ...w, amount: 0 },
      { ...w, nonce: 'n' },
      { ...w, account: 'x' }
    ])
    const s = { coin: id(), gen: 1, seq: 2, how: 'deposit', request: env, group: sig }
    refuses(checkSpentBody, s, [
      { ...s, how: 'burn' },
      { ...s, request: '' }
    ])
    const o = { case: hash, signature: hash, member: sig.slice(0, 64) }
    refuses(checkOpeningBody, o, [
      { ...o, case: 'AB'.repeat(32) },
      { ...o, member: 'A'.repeat(200) }
    ])
    refuses(v => checkHolderSigned(v, 'request'), { env, group: sig }, [
      { env, group: 5 },
      { env: '', group: sig }
    ])
  })

  it('the holder digest is the domain string and the envelope bytes', () => {
    const bytes = Uint8Array.from([1, 2, 3])
    assert.deepEqual(holderDigest(bytes), Uint8Array.from([...utf8(HOLDER_DOMAIN), 1, 2, 3]))
    assert.equal(HOLDER_DOMAIN, 'p2pay/whopay/holder/v1\0')
  })
})
