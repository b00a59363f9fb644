// Signed objects: field validation, signer binding, domain tags, the join
// puzzle, and the notice defects a lying bank member can produce.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, MAX_MONEY, fromB64, toB64, sha256, utf8 } from '@p2pay/core'
import {
  TAG,
  MAX_KARMA,
  makeTransfer,
  openTransfer,
  makeNotice,
  openNotice,
  noticeFor,
  makeReceipt,
  openReceipt,
  seal,
  type TransferBody,
  type NoticeBody
} from '../src/core/messages.ts'
import { makeJoin, openJoin, makeBalance, openBalance, makeState, openState } from '../src/core/state-messages.ts'
import { leadingZeroBits, powHash, powValid, solvePow, MAX_DIFFICULTY } from '../src/core/pow.ts'
import { idents, verifier, throwsCode } from './fixtures.ts'

describe('join puzzle', () => {
  it('counts leading zero bits', () => {
    assert.equal(leadingZeroBits(new Uint8Array([0x80])), 0)
    assert.equal(leadingZeroBits(new Uint8Array([0x01])), 7)
    assert.equal(leadingZeroBits(new Uint8Array([0, 0x10])), 11)
    assert.equal(leadingZeroBits(new Uint8Array(32)), 256)
  })

  it('a solution is sha256(peer|nonce) with enough zero bits, bound to the peer', async () => {
    const [a, b] = await idents(2)
    const nonce = solvePow(a.id, 12)
    assert.deepEqual(powHash(a.id, nonce), sha256(utf8(`${a.id}|${nonce}`)))
    assert.ok(leadingZeroBits(powHash(a.id, nonce)) >= 12)
    assert.ok(powValid(a.id, nonce, 12))
    // smallest solution: nothing below it works
    for (let n = 0; n < nonce; n++) assert.ok(!powValid(a.id, n, 12))
    // another peer cannot reuse it (with overwhelming probability for 12 bits)
    assert.equal(powValid(b.id, nonce, 12) && solvePow(b.id, 12) === nonce, false)
    throwsCode(() => solvePow(a.id, MAX_DIFFICULTY + 1), ErrorCode.BAD_REQUEST)
  })

  it('a join proof verifies only with valid work, signed by the joining peer', async () => {
    const [a, b] = await idents(2)
    const nonce = solvePow(a.id, 10)
    const proof = makeJoin(a.signer, nonce, 10)
    assert.deepEqual(openJoin(verifier, proof.b64).body, { peer: a.id, nonce, difficulty: 10 })
    let bad = nonce + 1
    while (powValid(a.id, bad, 10)) bad++
    throwsCode(() => makeJoin(a.signer, bad, 10), ErrorCode.BAD_REQUEST)
    throwsCode(
      () => openJoin(verifier, seal(a.signer, TAG.join, { peer: a.id, nonce: bad, difficulty: 10 }, 't').b64),
      ErrorCode.BAD_REQUEST
    )
    // b signs a's valid proof: a join is the peer's own statement
    throwsCode(
      () => openJoin(verifier, seal(b.signer, TAG.join, { peer: a.id, nonce, difficulty: 10 }, 't').b64),
      ErrorCode.WRONG_SIGNER
    )
  })
})

describe('transfer request', () => {
  it("names signer (from), counterparty (to), A's nonce and the epoch of its units", async () => {
    const [a, b] = await idents(2)
    const req = makeTransfer(a.signer, { to: b.id, amount: 5, nonce: 1, epoch: 0, ts: 1 })
    const o = openTransfer(verifier, req.b64)
    assert.deepEqual(o.body, { from: a.id, to: b.id, amount: 5, nonce: 1, epoch: 0, ts: 1 })
    assert.equal(o.hash, req.hash)
    assert.equal(o.signer, a.id)
  })

  it('refuses self-transfers, non-positive or fractional amounts, bad nonces and extra fields', async () => {
    const [a, b] = await idents(2)
    const base: TransferBody = { from: a.id, to: b.id, amount: 5, nonce: 1, epoch: 0, ts: 1 }
    assert.equal(MAX_KARMA, MAX_MONEY, "karma's limit is core's one bound on money")
    const bad: Array<Record<string, unknown>> = [
      { to: a.id },
      { amount: 0 },
      { amount: -1 },
      { amount: MAX_KARMA + 1 },
      { amount: '5' },
      { nonce: 0 },
      { nonce: -1 },
      { epoch: -1 },
      { ts: -1 },
      { to: 'bob' },
      { extra: 1 }
    ]
    for (const over of bad) {
      throwsCode(
        () => openTransfer(verifier, seal(a.signer, TAG.transfer, { ...base, ...over }, 't').b64),
        ErrorCode.BAD_REQUEST
      )
    }
    throwsCode(() => makeTransfer(a.signer, { ...base, to: a.id }), ErrorCode.BAD_REQUEST)
    // fractions cannot even be signed (canonical JSON is integers only); the builder says why first
    throwsCode(() => makeTransfer(a.signer, { ...base, amount: 1.5 }), ErrorCode.BAD_REQUEST)
  })

  it("must be signed by A; another domain's signature does not pass", async () => {
    const [a, b, c] = await idents(3)
    const forged = seal(c.signer, TAG.transfer, { from: a.id, to: b.id, amount: 5, nonce: 1, epoch: 0, ts: 1 }, 't')
    throwsCode(() => openTransfer(verifier, forged.b64), ErrorCode.WRONG_SIGNER)
    const other = seal(a.signer, TAG.receipt, { from: a.id, to: b.id, amount: 5, nonce: 1, epoch: 0, ts: 1 }, 't')
    throwsCode(() => openTransfer(verifier, other.b64), ErrorCode.WRONG_TAG)
    const req = makeTransfer(a.signer, { to: b.id, amount: 5, nonce: 1, epoch: 0, ts: 1 })
    const bytes = fromB64(req.b64)
    bytes[bytes.length - 1] ^= 1
    throwsCode(() => openTransfer(verifier, toB64(bytes)), ErrorCode.BAD_SIGNATURE)
    throwsCode(() => openTransfer(verifier, 42), ErrorCode.BAD_REQUEST)
  })
})

describe('debit notice', () => {
  it("carries A's request; a well-formed notice opens without defect", async () => {
    const [a, b, m] = await idents(3)
    const req = makeTransfer(a.signer, { to: b.id, amount: 5, nonce: 1, epoch: 0, ts: 1 })
    const n = makeNotice(m.signer, req)
    const o = openNotice(verifier, n.b64)
    assert.equal(o.defect, undefined)
    assert.equal(o.request?.hash, req.hash)
    assert.deepEqual(o.notice.body, {
      member: m.id,
      from: a.id,
      to: b.id,
      amount: 5,
      nonce: 1,
      epoch: 0,
      requestHash: req.hash,
      request: req.b64
    })
  })

  it("a member's lies come back as defects: another amount (mismatch), a request A never signed (forged)", async () => {
    const [a, b, m] = await idents(3)
    const req = makeTransfer(a.signer, { to: b.id, amount: 5, nonce: 1, epoch: 0, ts: 1 })
    const lie = (body: NoticeBody): string => seal(m.signer, TAG.notice, body, 't').b64
    assert.equal(openNotice(verifier, lie({ ...noticeFor(m.id, req), amount: 500 })).defect, 'mismatch')
    assert.equal(
      openNotice(verifier, lie({ ...noticeFor(m.id, req), requestHash: '00'.repeat(32) })).defect,
      'mismatch'
    )
    const madeUp = seal(m.signer, TAG.transfer, { from: a.id, to: b.id, amount: 500, nonce: 1, epoch: 0, ts: 1 }, 't')
    assert.equal(openNotice(verifier, lie(noticeFor(m.id, madeUp))).defect, 'forged')
    assert.equal(openNotice(verifier, lie({ ...noticeFor(m.id, req), request: 'AAAA' })).defect, 'forged')
    // the envelope itself must be the member's
    throwsCode(
      () => openNotice(verifier, seal(b.signer, TAG.notice, noticeFor(m.id, req), 't').b64),
      ErrorCode.WRONG_SIGNER
    )
  })
})

describe('receipts, balance answers, state exports', () => {
  it('a receipt names member, account, request and side', async () => {
    const [a, m] = await idents(2)
    const r = makeReceipt(m.signer, {
      account: a.id,
      requestHash: 'ab'.repeat(32),
      side: 'credit',
      epoch: 0,
      balanceAfter: 7
    })
    assert.deepEqual(openReceipt(verifier, r.b64).body, {
      member: m.id,
      account: a.id,
      requestHash: 'ab'.repeat(32),
      side: 'credit',
      epoch: 0,
      balanceAfter: 7
    })
    const noBalance = makeReceipt(m.signer, { account: a.id, requestHash: 'ab'.repeat(32), side: 'debit', epoch: 0 })
    assert.equal(openReceipt(verifier, noBalance.b64).body.balanceAfter, undefined)
    throwsCode(
      () => openReceipt(verifier, seal(m.signer, TAG.receipt, { ...r.body, side: 'both' }, 't').b64),
      ErrorCode.BAD_REQUEST
    )
  })

  it("a balance answer is for one question: another reader's or an old challenge is a REPLAY", async () => {
    const [a, m, reader, other] = await idents(4)
    const ans = makeBalance(m.signer, {
      account: a.id,
      balance: 9,
      nonce: 2,
      epoch: 0,
      asker: reader.id,
      challenge: 'abcdefgh'
    })
    assert.equal(
      openBalance(verifier, ans.b64, { account: a.id, asker: reader.id, challenge: 'abcdefgh' }).body.balance,
      9
    )
    throwsCode(
      () => openBalance(verifier, ans.b64, { account: a.id, asker: other.id, challenge: 'abcdefgh' }),
      ErrorCode.REPLAY
    )
    throwsCode(
      () => openBalance(verifier, ans.b64, { account: a.id, asker: reader.id, challenge: 'zzzzzzzz' }),
      ErrorCode.REPLAY
    )
    throwsCode(() => makeBalance(m.signer, { ...ans.body, challenge: 'short' }), ErrorCode.BAD_REQUEST)
  })

  it('a state export is for one account and one new member; credited hashes sorted and distinct', async () => {
    const [a, m, n, other] = await idents(4)
    const s = makeState(m.signer, {
      account: a.id,
      to: n.id,
      epoch: 0,
      balance: 3,
      rem: 0,
      nonce: 1,
      lastRequest: 'cd'.repeat(32),
      joined: true,
      credited: ['01'.repeat(32), 'ff'.repeat(32)]
    })
    assert.equal(openState(verifier, s.b64, { account: a.id, to: n.id }).body.balance, 3)
    throwsCode(() => openState(verifier, s.b64, { account: a.id, to: other.id }), ErrorCode.REPLAY)
    throwsCode(
      () => makeState(m.signer, { ...s.body, credited: ['ff'.repeat(32), '01'.repeat(32)] }),
      ErrorCode.BAD_REQUEST
    )
    throwsCode(() => makeState(m.signer, { ...s.body, lastRequest: null }), ErrorCode.BAD_REQUEST)
  })
})
