// Evidence of a holder double spend: accepted when two requests by one coin key at one (coin, gen, seq) send the
// coin to different places; the judge's opening of both group signatures names the member. Refused otherwise.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64, toB64 } from '@p2pay/core'
import { throwsCode } from '@p2pay/test-utils'
import { WhopayErrorCode } from '../src/errors.ts'
import { signAnswer, signIssue } from '../src/core/coin.ts'
import { checkEvidence, checkOwnerEvidence, evidenceHash, holderEvidenceOf } from '../src/core/evidence.ts'
import { newCoinKey, openHolder } from '../src/core/holder.ts'
import { TAG } from '../src/core/messages.ts'
import { certFor, groupVerify, member, memberIdOf, openSig, peer, request, verifier } from './core-fixtures.ts'

const broker = await peer()
const owner = await peer()
const mallory = member()
const honest = member()

describe('holder evidence', () => {
  const { cert, key } = certFor(broker, owner)
  const at = { coin: cert.coin, gen: 0, seq: 0 }
  const a = request(key, mallory, TAG.transfer, at, newCoinKey().id)
  const b = request(key, mallory, TAG.transfer, at, newCoinKey().id)

  it('two transfers to different keys: accepted, both group signatures verify and open to the signer', () => {
    const c = checkEvidence(verifier, { cert: cert.b64, a, b }, broker.id)
    assert.equal(c.coin, cert.coin)
    assert.equal(c.seq, 0)
    assert.equal(c.holderKey, key.id)
    for (let i = 0; i < 2; i++) {
      assert.ok(groupVerify(c.digests[i], c.sigs[i]))
      assert.equal(openSig(c.sigs[i]), memberIdOf(mallory))
    }
    assert.equal(c.hash, evidenceHash({ cert: cert.b64, b, a }))
  })

  it('a transfer and a deposit, a renew and a deposit: accepted', () => {
    const d = request(key, mallory, TAG.deposit, at, newCoinKey().id)
    const r = request(key, mallory, TAG.renew, at, newCoinKey().id)
    checkEvidence(verifier, { cert: cert.b64, a, b: d }, broker.id)
    checkEvidence(verifier, { cert: cert.b64, a: r, b: d }, broker.id)
  })

  it('at seq 2, with the binding that names the signing key', () => {
    const k1 = newCoinKey()
    const k2 = newCoinKey()
    const b1 = signIssue(owner.signer, cert, k1.id)
    const t1 = openHolder(
      verifier,
      request(k1, honest, TAG.transfer, { ...at, seq: 1 }, k2.id),
      TAG.transfer,
      'whopay-transfer'
    )
    const b2 = signAnswer(owner.signer, 'owner', cert, t1, 'whopay-transfer')
    const x = request(k2, mallory, TAG.transfer, { ...at, seq: 2 }, newCoinKey().id)
    const y = request(k2, mallory, TAG.deposit, { ...at, seq: 2 }, newCoinKey().id)
    const c = checkEvidence(verifier, { cert: cert.b64, a: x, b: y, bindings: [b2.b64] }, broker.id)
    assert.equal(c.seq, 2)
    throwsCode(
      () => checkEvidence(verifier, { cert: cert.b64, a: x, b: y, bindings: [b1.b64] }, broker.id),
      ErrorCode.WRONG_HOLDER
    )
  })

  it('refuses: same request twice, same destination, other seqs, other keys, other coin, other broker', () => {
    const code = (e: unknown, c: string): void => void throwsCode(() => checkEvidence(verifier, e, broker.id), c)
    code({ cert: cert.b64, a, b: a }, WhopayErrorCode.NOT_CONFLICT)
    const dest = newCoinKey().id
    const same1 = request(key, mallory, TAG.transfer, at, dest, 1)
    const same2 = request(key, mallory, TAG.transfer, at, dest, 2)
    code({ cert: cert.b64, a: same1, b: same2 }, WhopayErrorCode.NOT_CONFLICT)
    code(
      { cert: cert.b64, a, b: request(key, mallory, TAG.transfer, { ...at, seq: 1 }, dest) },
      WhopayErrorCode.NOT_CONFLICT
    )
    const other = newCoinKey()
    code({ cert: cert.b64, a, b: request(other, mallory, TAG.transfer, at, dest) }, WhopayErrorCode.NOT_CONFLICT)
    const { cert: cert2, key: key2 } = certFor(broker, owner)
    const a2 = request(key2, mallory, TAG.transfer, { ...at, coin: cert2.coin }, dest)
    const b2 = request(key2, mallory, TAG.deposit, { ...at, coin: cert2.coin }, dest)
    code({ cert: cert.b64, a: a2, b: b2 }, WhopayErrorCode.NO_SUCH_COIN)
    code({ cert: cert.b64, a: { ...a, env: a.env }, b, extra: 1 }, ErrorCode.BAD_REQUEST)
    throwsCode(() => checkEvidence(verifier, { cert: cert.b64, a, b }, owner.id), ErrorCode.WRONG_BROKER)
    // at seq 0 only the coin key holds the coin
    const k = newCoinKey()
    code(
      { cert: cert.b64, a: request(k, mallory, TAG.transfer, at, dest), b: request(k, mallory, TAG.deposit, at, dest) },
      ErrorCode.WRONG_HOLDER
    )
  })

  it('refuses tampered bytes: a flipped byte in a request or the certificate', () => {
    const env = fromB64(a.env)
    env[env.byteLength - 80] ^= 1
    throwsCode(
      () => checkEvidence(verifier, { cert: cert.b64, a: { ...a, env: toB64(env) }, b }, broker.id),
      ErrorCode.BAD_SIGNATURE
    )
    const c = fromB64(cert.b64)
    c[c.byteLength - 80] ^= 1
    throwsCode(() => checkEvidence(verifier, { cert: toB64(c), a, b }, broker.id), ErrorCode.BAD_SIGNATURE)
  })
})

describe('owner evidence', () => {
  const { cert } = certFor(broker, owner)

  it('two issues at seq 1 to different holders convict the owner; the same twice does not', () => {
    const x = signIssue(owner.signer, cert, newCoinKey().id)
    const y = signIssue(owner.signer, cert, newCoinKey().id)
    const c = checkOwnerEvidence(verifier, { cert: cert.b64, a: x.b64, b: y.b64 }, broker.id)
    assert.equal(c.owner, owner.id)
    throwsCode(
      () => checkOwnerEvidence(verifier, { cert: cert.b64, a: x.b64, b: x.b64 }, broker.id),
      WhopayErrorCode.NOT_CONFLICT
    )
  })

  it("two answers to one key's conflicting requests are the holder's double spend, not the owner's", () => {
    const k1 = newCoinKey()
    signIssue(owner.signer, cert, k1.id)
    const at = { coin: cert.coin, gen: 0, seq: 1 }
    const r1 = openHolder(
      verifier,
      request(k1, mallory, TAG.transfer, at, newCoinKey().id),
      TAG.transfer,
      'whopay-transfer'
    )
    const r2 = openHolder(
      verifier,
      request(k1, mallory, TAG.transfer, at, newCoinKey().id),
      TAG.transfer,
      'whopay-transfer'
    )
    const x = signAnswer(owner.signer, 'owner', cert, r1, 'whopay-transfer')
    const y = signAnswer(owner.signer, 'owner', cert, r2, 'whopay-transfer')
    throwsCode(
      () => checkOwnerEvidence(verifier, { cert: cert.b64, a: x.b64, b: y.b64 }, broker.id),
      WhopayErrorCode.NOT_CONFLICT
    )
    const e = holderEvidenceOf(cert, x, y)
    assert.ok(e !== undefined)
    const c = checkEvidence(verifier, e, broker.id)
    assert.equal(c.holderKey, k1.id)
    assert.equal(openSig(c.sigs[0]), memberIdOf(mallory))
  })
})
