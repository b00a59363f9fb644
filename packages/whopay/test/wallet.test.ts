// The holder's and payee's wallet: a coin is accepted only on a key it invoiced, for the invoiced value, by the
// broker's certificate and an owner or broker binding checked against the bytes received; held coins are spent
// once; renewals and the purse. Every refusal leaves the tables as they were.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64, memoryTables, table, toB64 } from '@p2pay/core'
import { rejects } from '@p2pay/test-utils'
import { WhopayErrorCode } from '../src/errors.ts'
import { signIssue } from '../src/core/coin.ts'
import { holderSigned, newCoinKey } from '../src/core/holder.ts'
import { TAG } from '../src/core/messages.ts'
import { Wallet, type WalletHeld, type WalletInvoice, type WalletPurse } from '../src/core/wallet.ts'
import { backend, groupSign, member, peer, verifier } from './core-fixtures.ts'
import { buy, certOf, show, topup, world } from './ledger-fixtures.ts'

async function setup() {
  const w = await world()
  const owner = await peer()
  topup(w, owner, 100)
  const t = memoryTables({
    invoices: table<WalletInvoice>('whopay-w-invoices', 'test'),
    held: table<WalletHeld>('whopay-w-held', 'test'),
    purse: table<WalletPurse>('whopay-w-purse', 'test')
  })
  const wallet = new Wallet(t, { verifier, backend, broker: w.broker.id, now: w.clock.now })
  return { w, owner, t, wallet }
}

const flip = (b64: string): string => {
  const b = fromB64(b64)
  b[b.byteLength - 70] ^= 1
  return toB64(b)
}

describe('wallet: accepting a coin', () => {
  it('on an invoiced key for the invoiced value; the same delivery again is the same coin', async () => {
    const { w, owner, wallet } = await setup()
    const inv = wallet.invoice(20)
    const { cert } = buy(w, owner, 20)
    const b = signIssue(owner.signer, cert, inv.key)
    const h = wallet.accept(cert.b64, b.b64)
    assert.deepEqual([h.coin, h.seq, h.status, h.value], [cert.coin, 1, 'held', 20])
    assert.deepEqual(wallet.accept(cert.b64, b.b64), h)
    assert.equal(wallet.t.invoices.get(inv.key)?.coin, cert.coin)
  })

  it('refuses a key never invoiced, another value, a key paid already, tampered bytes, an expired coin', async () => {
    const { w, owner, t, wallet } = await setup()
    const inv = wallet.invoice(20)
    const { cert } = buy(w, owner, 20)
    const { cert: small } = buy(w, owner, 5)
    rejects(
      t,
      () => wallet.accept(cert.b64, signIssue(owner.signer, cert, newCoinKey().id).b64),
      WhopayErrorCode.NOT_INVOICED
    )
    rejects(
      t,
      () => wallet.accept(small.b64, signIssue(owner.signer, small, inv.key).b64),
      WhopayErrorCode.NOT_INVOICED
    )
    const b = signIssue(owner.signer, cert, inv.key)
    rejects(t, () => wallet.accept(flip(cert.b64), b.b64), ErrorCode.BAD_SIGNATURE)
    rejects(t, () => wallet.accept(cert.b64, flip(b.b64)), ErrorCode.BAD_SIGNATURE)
    // a binding signed by someone who is neither the owner nor the broker
    const stranger = await peer()
    rejects(
      t,
      () => wallet.accept(cert.b64, signIssue(stranger.signer, { ...cert, owner: stranger.id }, inv.key).b64),
      ErrorCode.WRONG_SIGNER
    )
    wallet.accept(cert.b64, b.b64)
    const { cert: again } = buy(w, owner, 20)
    rejects(
      t,
      () => wallet.accept(again.b64, signIssue(owner.signer, again, inv.key).b64),
      WhopayErrorCode.NOT_INVOICED
    )
    const inv2 = wallet.invoice(20)
    const { cert: late } = buy(w, owner, 20)
    w.clock.advance(late.expiry - w.clock.t)
    rejects(t, () => wallet.accept(late.b64, signIssue(owner.signer, late, inv2.key).b64), ErrorCode.EXPIRED)
    rejects(t, () => wallet.invoice(0), ErrorCode.BAD_REQUEST)
  })
})

describe('wallet: spending', () => {
  it('signs a transfer the owner can open, spends a coin once, and a retry records the same bytes', async () => {
    const { w, owner, t, wallet } = await setup()
    const inv = wallet.invoice(20)
    const { cert } = buy(w, owner, 20)
    const h = wallet.accept(cert.b64, signIssue(owner.signer, cert, inv.key).b64)
    const to = newCoinKey().id
    const m = member()
    const r = wallet.request(h.key, TAG.transfer, to)
    const signed = holderSigned(r.env.bytes, groupSign(m, r.digest))
    const s = show(w, cert, h.binding, signed, [TAG.transfer])
    assert.equal(s.request.holder, h.key)
    assert.equal(s.request.body.seq, 1)
    wallet.spending(h.key, signed)
    assert.equal(wallet.spending(h.key, signed).status, 'spending')
    rejects(t, () => wallet.request(h.key, TAG.deposit, newCoinKey().id), WhopayErrorCode.COIN_SPENT)
    const r2 = holderSigned(r.env.bytes, groupSign(m, r.digest))
    rejects(t, () => wallet.spending(h.key, r2), WhopayErrorCode.COIN_SPENT)
    assert.equal(wallet.settled(h.key, 'spent').status, 'spent')
    assert.equal(wallet.spendable().length, 0)
  })

  it('renews onto a fresh key of its own, deposits into its purse, withdraws with the purse key', async () => {
    const { w, owner, wallet } = await setup()
    const inv = wallet.invoice(20)
    const { cert } = buy(w, owner, 20)
    const h = wallet.accept(cert.b64, signIssue(owner.signer, cert, inv.key).b64)
    const fresh = wallet.renewalKey(h.key)
    const m = member()
    const r = wallet.request(h.key, TAG.renew, fresh.key)
    const signed = holderSigned(r.env.bytes, groupSign(m, r.digest))
    wallet.spending(h.key, signed)
    const ans = w.ledger.renew(show(w, cert, h.binding, signed, [TAG.renew]))
    const h2 = wallet.renewed(h.key, ans.cert, ans.binding)
    assert.equal(h2.gen, 1)
    assert.equal(wallet.held(h.key).status, 'renewed')
    assert.equal(certOf(w, h2.cert).gen, 1)
    const purse = wallet.purse()
    assert.equal(wallet.purse().key, purse.key)
    const d = wallet.request(h2.key, TAG.deposit, purse.key)
    const ds = holderSigned(d.env.bytes, groupSign(m, d.digest))
    wallet.spending(h2.key, ds)
    w.ledger.deposit(show(w, certOf(w, h2.cert), h2.binding, ds, [TAG.deposit]))
    wallet.settled(h2.key, 'deposited')
    const wd = w.ledger.withdraw(wallet.withdrawal(owner.id, 20))
    assert.equal(wd.balance, 0)
    assert.equal(w.ledger.books.balance(owner.id), 100)
  })
})
