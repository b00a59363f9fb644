// Coin certificates and bindings: signed by the right key against the bytes received, of the right coin and
// generation, a binding past seq 1 answering a request of the holder before; tampered bytes refused.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64, toB64 } from '@p2pay/core'
import { throwsCode } from '@p2pay/test-utils'
import { WhopayErrorCode } from '../src/errors.ts'
import { openBinding, openCoinCert, openShown, signAnswer, signIssue } from '../src/core/coin.ts'
import { newCoinKey, openHolder } from '../src/core/holder.ts'
import { TAG, type BindingBody } from '../src/core/messages.ts'
import { T0, certFor, member, peer, request, verifier } from './core-fixtures.ts'

const broker = await peer()
const owner = await peer()
const m = member()

const flip = (b64: string, back = 70): string => {
  const b = fromB64(b64)
  b[b.byteLength - back] ^= 1
  return toB64(b)
}

describe('coin certificates', () => {
  const { cert } = certFor(broker, owner, 25)

  it('open to their body when signed by the broker; expiry and value bounds when asked', () => {
    const c = openCoinCert(verifier, cert.b64, { broker: broker.id, now: T0, maxValue: 25 }, 'whopay-deliver')
    assert.equal(c.value, 25)
    assert.equal(c.owner, owner.id)
    assert.equal(c.hash, cert.hash)
    const o = { broker: broker.id }
    throwsCode(() => openCoinCert(verifier, cert.b64, { ...o, now: cert.expiry }, 'whopay-deliver'), ErrorCode.EXPIRED)
    throwsCode(() => openCoinCert(verifier, cert.b64, { ...o, maxValue: 24 }, 'whopay-deliver'), ErrorCode.BAD_REQUEST)
    throwsCode(() => openCoinCert(verifier, cert.b64, { broker: owner.id }, 'whopay-deliver'), ErrorCode.WRONG_BROKER)
    throwsCode(() => openCoinCert(verifier, flip(cert.b64), o, 'whopay-deliver'), ErrorCode.BAD_SIGNATURE)
    throwsCode(() => openCoinCert(verifier, 'not base64!', o, 'whopay-deliver'), ErrorCode.BAD_REQUEST)
    // a binding is not a certificate
    const b = signIssue(owner.signer, cert, newCoinKey().id)
    throwsCode(() => openCoinCert(verifier, b.b64, o, 'whopay-deliver'), ErrorCode.WRONG_TAG)
  })
})

describe('bindings', () => {
  const { cert, key } = certFor(broker, owner, 25)
  const k1 = newCoinKey()
  const issue = signIssue(owner.signer, cert, k1.id)

  it('the owner issues at seq 1; only the owner may', () => {
    const b = openBinding(verifier, issue.b64, cert, 'whopay-deliver')
    assert.deepEqual([b.seq, b.holder, b.by, b.signer], [1, k1.id, 'owner', owner.id])
    throwsCode(() => signIssue(broker.signer, cert, k1.id), ErrorCode.WRONG_OWNER)
    throwsCode(() => openBinding(verifier, flip(issue.b64), cert, 'whopay-deliver'), ErrorCode.BAD_SIGNATURE)
  })

  it('past seq 1 a binding answers the previous holder request, to the holder it names', () => {
    const k2 = newCoinKey()
    const r = openHolder(
      verifier,
      request(k1, m, TAG.transfer, { coin: cert.coin, gen: 0, seq: 1 }, k2.id),
      TAG.transfer,
      'whopay-transfer'
    )
    const b = signAnswer(owner.signer, 'owner', cert, r, 'whopay-transfer')
    const o = openBinding(verifier, b.b64, cert, 'whopay-deliver', k1.id)
    assert.equal(o.seq, 2)
    assert.equal(o.holder, k2.id)
    assert.equal(o.answered?.holder, k1.id)
    throwsCode(() => openBinding(verifier, b.b64, cert, 'whopay-deliver', k2.id), ErrorCode.WRONG_HOLDER)
    // by 'broker' only the broker signs; by 'owner' only the owner
    throwsCode(() => signAnswer(owner.signer, 'broker', cert, r, 'whopay-transfer'), ErrorCode.WRONG_SIGNER)
    const body = {
      coin: b.coin,
      gen: b.gen,
      seq: b.seq,
      holder: b.holder,
      request: b.request,
      group: b.group,
      by: 'broker' as const
    }
    const forged2 = owner.signer.sign<BindingBody>(TAG.binding, body, 'whopay-transfer')
    throwsCode(() => openBinding(verifier, toB64(forged2.bytes), cert, 'whopay-deliver'), ErrorCode.WRONG_SIGNER)
    // a holder the request does not name
    const wrong = owner.signer.sign<BindingBody>(
      TAG.binding,
      { ...body, by: 'owner', holder: newCoinKey().id },
      'whopay-transfer'
    )
    throwsCode(() => openBinding(verifier, toB64(wrong.bytes), cert, 'whopay-deliver'), ErrorCode.WRONG_HOLDER)
    // a seq that does not follow the request's
    const skip = owner.signer.sign<BindingBody>(TAG.binding, { ...body, by: 'owner', seq: 3 }, 'whopay-transfer')
    throwsCode(() => openBinding(verifier, toB64(skip.bytes), cert, 'whopay-deliver'), ErrorCode.BAD_REQUEST)
    // another generation's certificate
    const { cert: gen1 } = certFor(broker, owner, 25, { key, gen: 1 })
    throwsCode(() => openBinding(verifier, b.b64, gen1, 'whopay-deliver'), WhopayErrorCode.WRONG_GEN)
    // a renewal is the broker's, never the owner's
    const rr = openHolder(
      verifier,
      request(k1, m, TAG.renew, { coin: cert.coin, gen: 0, seq: 1 }, k2.id),
      TAG.renew,
      'whopay-renew'
    )
    throwsCode(() => signAnswer(owner.signer, 'owner', gen1, rr, 'whopay-renew'), ErrorCode.WRONG_SIGNER)
    const ren = signAnswer(broker.signer, 'broker', gen1, rr, 'whopay-renew')
    assert.equal(openBinding(verifier, ren.b64, gen1, 'whopay-deliver', k1.id).gen, 1)
  })

  it('a seq-1 binding with a request, or one past seq 1 without, is malformed', () => {
    const plain = owner.signer.sign<BindingBody>(
      TAG.binding,
      { coin: cert.coin, gen: 0, seq: 2, holder: k1.id, by: 'owner' },
      'whopay-issue'
    )
    throwsCode(() => openBinding(verifier, toB64(plain.bytes), cert, 'whopay-deliver'), ErrorCode.BAD_REQUEST)
  })
})

describe('a coin shown with a request', () => {
  const { cert, key } = certFor(broker, owner, 25)
  const k1 = newCoinKey()
  const issue = signIssue(owner.signer, cert, k1.id)
  const at = { coin: cert.coin, gen: 0, seq: 1 }
  const o = { broker: broker.id }

  it('at seq 0 by the coin key with no binding; past it with the binding naming the signer at that seq', () => {
    const s0 = openShown(
      verifier,
      { cert: cert.b64, request: request(key, m, TAG.deposit, { ...at, seq: 0 }, k1.id) },
      o,
      TAG.deposit,
      'whopay-deposit'
    )
    assert.equal(s0.binding, undefined)
    assert.equal(s0.groups.length, 1)
    const s1 = openShown(
      verifier,
      { cert: cert.b64, binding: issue.b64, request: request(k1, m, TAG.transfer, at, key.id) },
      o,
      TAG.transfer,
      'whopay-transfer'
    )
    assert.equal(s1.binding?.holder, k1.id)
  })

  it('refuses a stranger key, a seq the binding is not at, a missing binding, another coin, another tag', () => {
    const dest = newCoinKey().id
    const show =
      (binding: string | undefined, req: unknown, tags = [TAG.transfer]) =>
      () =>
        openShown(verifier, { cert: cert.b64, binding, request: req }, o, tags, 'whopay-transfer')
    throwsCode(show(undefined, request(k1, m, TAG.transfer, { ...at, seq: 0 }, dest)), ErrorCode.WRONG_HOLDER)
    throwsCode(show(issue.b64, request(newCoinKey(), m, TAG.transfer, at, dest)), ErrorCode.WRONG_HOLDER)
    throwsCode(show(issue.b64, request(k1, m, TAG.transfer, { ...at, seq: 2 }, dest)), ErrorCode.STALE_SEQ)
    throwsCode(show(undefined, request(k1, m, TAG.transfer, at, dest)), ErrorCode.BAD_REQUEST)
    throwsCode(
      show(issue.b64, request(k1, m, TAG.transfer, { ...at, coin: newCoinKey().id }, dest)),
      WhopayErrorCode.NO_SUCH_COIN
    )
    throwsCode(show(issue.b64, request(k1, m, TAG.transfer, { ...at, gen: 1 }, dest)), WhopayErrorCode.WRONG_GEN)
    throwsCode(show(issue.b64, request(k1, m, TAG.deposit, at, dest)), ErrorCode.WRONG_TAG)
    const req = request(k1, m, TAG.transfer, at, dest)
    throwsCode(show(issue.b64, { ...req, env: flip(req.env, 80) }), ErrorCode.BAD_SIGNATURE)
  })
})
