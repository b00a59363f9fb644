// The broker's ledger: purchase, deposit and withdrawal; every refusal leaves the tables as they were, and money is
// conserved after each step (balances + custody = what was topped up).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, P2payError, randomId, toB64 } from '@p2pay/core'
import { rejects } from '@p2pay/test-utils'
import { WhopayErrorCode } from '../src/errors.ts'
import { checkEvidence } from '../src/core/evidence.ts'
import { coinSigner, newCoinKey } from '../src/core/holder.ts'
import { TAG, type WithdrawBody } from '../src/core/messages.ts'
import { backend, certFor, member, peer, verifier } from './core-fixtures.ts'
import { DEPOSIT_GRACE, ask, buy, conserved, issued, tables, topup, world } from './ledger-fixtures.ts'

describe('purchase', () => {
  it('debits the owner, signs a certificate of its coin key; the same purchase again gets the same bytes', async () => {
    const w = await world()
    const owner = await peer()
    topup(w, owner, 100)
    const key = newCoinKey()
    const r = w.ledger.purchase(owner.id, key.id, 30)
    assert.equal(w.ledger.books.balance(owner.id), 70)
    assert.equal(w.ledger.audit().outstanding, 30)
    conserved(w)
    assert.deepEqual(w.ledger.purchase(owner.id, key.id, 30), r)
    assert.equal(w.ledger.books.balance(owner.id), 70)
    conserved(w)
  })

  it('refuses without funds, a bad value, a bad key, the key again with other terms or another owner', async () => {
    const w = await world()
    const owner = await peer()
    const other = await peer()
    topup(w, owner, 100)
    const key = newCoinKey()
    w.ledger.purchase(owner.id, key.id, 30)
    rejects(tables(w), () => w.ledger.purchase(owner.id, newCoinKey().id, 101), ErrorCode.INSUFFICIENT_FUNDS)
    rejects(tables(w), () => w.ledger.purchase(owner.id, newCoinKey().id, 0), ErrorCode.BAD_REQUEST)
    rejects(tables(w), () => w.ledger.purchase(owner.id, newCoinKey().id, 1.5), ErrorCode.BAD_REQUEST)
    rejects(tables(w), () => w.ledger.purchase(owner.id, newCoinKey().id, 2_000_000), ErrorCode.BAD_REQUEST)
    rejects(tables(w), () => w.ledger.purchase(owner.id, 'not-a-key', 1), ErrorCode.BAD_REQUEST)
    rejects(tables(w), () => w.ledger.purchase(owner.id, key.id, 31), ErrorCode.REPLAY)
    rejects(tables(w), () => w.ledger.purchase(other.id, key.id, 30), ErrorCode.REPLAY)
    conserved(w)
  })
})

describe('deposit', () => {
  it("the owner deposits its own coin at seq 0: custody moves into the owner's account, no purse", async () => {
    const w = await world()
    const owner = await peer()
    topup(w, owner, 50)
    const { cert, key } = buy(w, owner, 20)
    const purse = newCoinKey()
    const s = ask(w, { cert, key, seq: 0, m: member() }, TAG.deposit, purse.id)
    const r = w.ledger.deposit(s)
    assert.equal(r.value, 20)
    assert.equal(r.from, 'coin')
    assert.equal(r.account, owner.id)
    // a purse credited here would be linked to the owner's long-term id the certificate names
    assert.equal(w.ledger.t.purses.has(purse.id), false)
    assert.equal(w.ledger.books.balance(owner.id), 50)
    assert.equal(w.ledger.audit().outstanding, 0)
    assert.ok(r.spent.length > 0)
    assert.equal(w.ledger.spentRecord(cert.coin), r.spent)
    conserved(w)
    // a retry of the same request gets the same answer and moves nothing
    assert.deepEqual(w.ledger.deposit(s), r)
    assert.equal(w.ledger.books.balance(owner.id), 50)
    assert.equal(w.ledger.t.purses.has(purse.id), false)
    conserved(w)
  })

  it('the first holder deposits with its binding; a second different deposit is FRAUD with evidence', async () => {
    const w = await world()
    const owner = await peer()
    topup(w, owner, 50)
    const { cert } = buy(w, owner, 20)
    const h = issued(owner, cert)
    w.ledger.deposit(ask(w, h, TAG.deposit, newCoinKey().id))
    conserved(w)
    const second = ask(w, h, TAG.deposit, newCoinKey().id)
    const err = rejects(tables(w), () => w.ledger.deposit(second), ErrorCode.FRAUD)
    const c = checkEvidence(verifier, err.details?.evidence, w.broker.id)
    assert.equal(c.holderKey, h.key.id)
    assert.equal(c.seq, 1)
    assert.equal(err.details?.compensate, false)
    // the same spend signed again (same purse, another time) is no conflict: the coin is simply deposited already
    const purse = newCoinKey().id
    const w2 = await world()
    topup(w2, owner, 50)
    const { cert: c2 } = buy(w2, owner, 20)
    const h2 = issued(owner, c2)
    w2.ledger.deposit(ask(w2, h2, TAG.deposit, purse, 1))
    rejects(tables(w2), () => w2.ledger.deposit(ask(w2, h2, TAG.deposit, purse, 2)), ErrorCode.ALREADY_CASHED)
    conserved(w)
    conserved(w2)
  })

  it('refuses a request not by the bound holder, another coin, an expired coin, another broker', async () => {
    const w = await world()
    const owner = await peer()
    topup(w, owner, 50)
    const { cert } = buy(w, owner, 20)
    const { cert: cert2 } = buy(w, owner, 20)
    const h = issued(owner, cert)
    const h2 = issued(owner, cert2)
    // signed by a key the binding does not name
    const stranger = { ...h, key: newCoinKey() }
    assert.throws(
      () => ask(w, stranger, TAG.deposit, newCoinKey().id),
      (e: unknown) => e instanceof P2payError && e.code === ErrorCode.WRONG_HOLDER
    )
    // the binding of another coin
    assert.throws(
      () => ask(w, { ...h, binding: h2.binding }, TAG.deposit, newCoinKey().id),
      (e: unknown) => e instanceof P2payError && e.code === WhopayErrorCode.NO_SUCH_COIN
    )
    // a coin of another broker
    const w2 = await world()
    topup(w2, owner, 50)
    const { cert: foreign } = buy(w2, owner, 20)
    const hf = issued(owner, foreign)
    const sf = ask(w2, hf, TAG.deposit, newCoinKey().id)
    rejects(tables(w), () => w.ledger.deposit(sf), WhopayErrorCode.NO_SUCH_COIN)
    // expired past the grace
    const s = ask(w, h, TAG.deposit, newCoinKey().id)
    w.clock.advance(cert.expiry - w.clock.t + DEPOSIT_GRACE + 1)
    rejects(tables(w), () => w.ledger.deposit(s), ErrorCode.EXPIRED)
    // a transfer is not a deposit
    const t = ask(w, h, TAG.transfer, newCoinKey().id)
    rejects(tables(w), () => w.ledger.deposit(t), ErrorCode.WRONG_TAG)
    conserved(w)
  })

  it('refuses a certificate the broker never issued for the coin: another generation, other terms', async () => {
    const w = await world()
    const owner = await peer()
    topup(w, owner, 50)
    const { cert, key } = buy(w, owner, 20)
    // signed by the broker's key but not by its ledger: a generation it never renewed to, another value
    const gen1 = certFor(w.broker, owner, 20, { key, gen: 1 }).cert
    const h1 = issued(owner, gen1)
    rejects(tables(w), () => w.ledger.deposit(ask(w, h1, TAG.deposit, newCoinKey().id)), WhopayErrorCode.WRONG_GEN)
    const rich = certFor(w.broker, owner, 2000, { key }).cert
    const h2 = issued(owner, rich)
    rejects(tables(w), () => w.ledger.deposit(ask(w, h2, TAG.deposit, newCoinKey().id)), ErrorCode.BAD_REQUEST)
    assert.equal(cert.value, 20)
    conserved(w)
  })

  it('within the grace an expired coin is still deposited', async () => {
    const w = await world()
    const owner = await peer()
    topup(w, owner, 50)
    const { cert } = buy(w, owner, 20)
    const h = issued(owner, cert)
    w.clock.advance(cert.expiry - w.clock.t + DEPOSIT_GRACE - 1)
    assert.equal(w.ledger.deposit(ask(w, h, TAG.deposit, newCoinKey().id)).value, 20)
    conserved(w)
  })
})

describe('withdraw', () => {
  const withdrawal = (purse: ReturnType<typeof newCoinKey>, body: Partial<WithdrawBody>): string =>
    toB64(
      coinSigner(purse, backend).sign<WithdrawBody>(
        TAG.withdraw,
        { purse: purse.id, account: body.account!, amount: body.amount!, nonce: body.nonce ?? randomId(8) },
        'whopay-deposit'
      ).bytes
    )

  it('moves purse money to the named account once per nonce; the same envelope again: same answer', async () => {
    const w = await world()
    const owner = await peer()
    const payee = await peer()
    topup(w, owner, 50)
    const { cert } = buy(w, owner, 20)
    const purse = newCoinKey()
    w.ledger.deposit(ask(w, issued(owner, cert), TAG.deposit, purse.id))
    const env = withdrawal(purse, { account: payee.id, amount: 15, nonce: 'nonce-0001' })
    const r = w.ledger.withdraw(env)
    assert.equal(r.balance, 5)
    assert.equal(w.ledger.books.balance(payee.id), 15)
    conserved(w)
    assert.deepEqual(w.ledger.withdraw(env), r)
    assert.equal(w.ledger.books.balance(payee.id), 15)
    rejects(
      tables(w),
      () => w.ledger.withdraw(withdrawal(purse, { account: payee.id, amount: 1, nonce: 'nonce-0001' })),
      ErrorCode.REPLAY
    )
    rejects(
      tables(w),
      () => w.ledger.withdraw(withdrawal(purse, { account: payee.id, amount: 6 })),
      ErrorCode.INSUFFICIENT_FUNDS
    )
    rejects(
      tables(w),
      () => w.ledger.withdraw(withdrawal(newCoinKey(), { account: payee.id, amount: 1 })),
      WhopayErrorCode.NO_SUCH_PURSE
    )
    // signed by another key than the purse it names
    const other = newCoinKey()
    const forged = toB64(
      coinSigner(other, backend).sign<WithdrawBody>(
        TAG.withdraw,
        { purse: purse.id, account: payee.id, amount: 1, nonce: randomId(8) },
        'whopay-deposit'
      ).bytes
    )
    rejects(tables(w), () => w.ledger.withdraw(forged), ErrorCode.WRONG_SIGNER)
    const bytes = Buffer.from(withdrawal(purse, { account: payee.id, amount: 1 }), 'base64')
    bytes[bytes.byteLength - 70] ^= 1
    rejects(tables(w), () => w.ledger.withdraw(bytes.toString('base64')), ErrorCode.BAD_SIGNATURE)
    conserved(w)
  })
})

describe('audit', () => {
  it('fails when money appears or vanishes outside the ledger calls', async () => {
    const w = await world()
    const owner = await peer()
    topup(w, owner, 50)
    const { cert } = buy(w, owner, 20)
    const purse = newCoinKey().id
    w.ledger.deposit(ask(w, issued(owner, cert), TAG.deposit, purse))
    const a = w.ledger.audit()
    assert.ok(a.holds)
    assert.deepEqual([a.balances, a.outstanding, a.purses, a.custody], [30, 0, 20, 20])
    w.ledger.t.purses.set(purse, { balance: 21 })
    assert.equal(w.ledger.audit().holds, false)
    w.ledger.t.purses.set(purse, { balance: 20 })
    const { cert: c2 } = buy(w, owner, 5)
    w.ledger.t.coins.set(c2.coin, { ...w.ledger.coin(c2.coin), value: 6 })
    assert.equal(w.ledger.audit().holds, false)
  })
})
