// The payer's side of a held coin in the core wallet: the binding an owner (or the broker) answers a transfer
// with is checked before it is kept (signer, the payee's key, the next seq, the very request sent), a spend that
// ended with no binding to anyone puts the coin back to held (then it deposits), and a coin that would expire
// within a payment's deadline is not offered for one. Every refusal leaves the tables as they were.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, memoryTables, table, toB64 } from '@p2pay/core'
import { rejects } from '@p2pay/test-utils'
import { signAnswer, signIssue } from '../src/core/coin.ts'
import { holderSigned, newCoinKey } from '../src/core/holder.ts'
import { TAG, type BindingBody } from '../src/core/messages.ts'
import { Wallet, type WalletHeld, type WalletInvoice, type WalletPurse } from '../src/core/wallet.ts'
import { backend, groupSign, member, peer, verifier } from './core-fixtures.ts'
import { buy, conserved, show, topup, world } from './ledger-fixtures.ts'

const KIND = 'whopay-ack' as never

async function holding() {
  const w = await world()
  const owner = await peer()
  topup(w, owner, 100)
  const t = memoryTables({
    invoices: table<WalletInvoice>('whopay-p-invoices', 'test'),
    held: table<WalletHeld>('whopay-p-held', 'test'),
    purse: table<WalletPurse>('whopay-p-purse', 'test')
  })
  const wallet = new Wallet(t, { verifier, backend, broker: w.broker.id, now: w.clock.now })
  const inv = wallet.invoice(20)
  const { cert } = buy(w, owner, 20)
  const h = wallet.accept(cert.b64, signIssue(owner.signer, cert, inv.key).b64)
  const m = member()
  /** a transfer of the held coin to a fresh payee key, signed and recorded as spending */
  const spend = (to = newCoinKey().id) => {
    const r = wallet.request(h.key, TAG.transfer, to)
    const signed = holderSigned(r.env.bytes, groupSign(m, r.digest))
    wallet.spending(h.key, signed)
    return { to, signed, shown: show(w, cert, h.binding, signed, [TAG.transfer]) }
  }
  return { w, owner, t, wallet, cert, h, m, spend }
}

describe('wallet: the payer checks the binding it is given before it keeps it', () => {
  it("takes the owner's answer and the broker's downtime answer to its own request", async () => {
    const { w, owner, wallet, cert, h, spend } = await holding()
    const { to, shown } = spend()
    const b = signAnswer(owner.signer, 'owner', cert, shown.request, 'whopay-transfer')
    assert.equal(wallet.checkAnswer(h.key, b.b64, to, KIND).seq, 2)
    const d = w.ledger.downtimeTransfer(shown)
    assert.equal(wallet.checkAnswer(h.key, d.binding, to, KIND).by, 'broker')
    assert.equal(wallet.held(h.key).status, 'spending')
  })

  it('refuses a binding not by the owner, to another key, at another seq, or answering another request', async () => {
    const { wallet, t, owner, cert, h, spend } = await holding()
    // a request of the same key this wallet signed and never sent
    const other = wallet.request(h.key, TAG.transfer, newCoinKey().id)
    const { to, signed, shown } = spend()
    const good = signAnswer(owner.signer, 'owner', cert, shown.request, 'whopay-transfer')
    const strip = ({ coin, gen, seq, holder, request, group, by }: BindingBody): BindingBody => ({
      coin,
      gen,
      seq,
      holder,
      ...(request !== undefined ? { request } : {}),
      ...(group !== undefined ? { group } : {}),
      by
    })
    const forged = (body: Partial<BindingBody>, by = owner): string =>
      toB64(
        by.signer.sign<BindingBody>(TAG.binding, strip({ ...(good as BindingBody), ...body }), 'whopay-transfer').bytes
      )
    const body = strip(good)
    const stranger = await peer()
    rejects(
      t,
      () =>
        wallet.checkAnswer(h.key, toB64(stranger.signer.sign(TAG.binding, body, 'whopay-transfer').bytes), to, KIND),
      ErrorCode.WRONG_SIGNER
    )
    // a binding to the owner's own key answering nothing (the malicious owner's)
    rejects(
      t,
      () => wallet.checkAnswer(h.key, forged({ ...body, holder: newCoinKey().id }), to, KIND),
      ErrorCode.WRONG_HOLDER
    )
    rejects(t, () => wallet.checkAnswer(h.key, forged({ ...body, seq: 5 }), to, KIND), ErrorCode.STALE_SEQ)
    rejects(
      t,
      () => wallet.checkAnswer(h.key, forged({ ...body, request: toB64(other.env.bytes) }), to, KIND),
      ErrorCode.BAD_REQUEST
    )
    assert.equal(wallet.held(h.key).request?.env, signed.env)
  })
})

describe('wallet: a spend that ended with no binding', () => {
  it('puts the coin back to held, free to pay again or to deposit', async () => {
    const { w, t, wallet, cert, h, m, spend } = await holding()
    const { signed } = spend()
    assert.equal(wallet.spendable().length, 0)
    // only the spend of exactly that request is undone
    rejects(t, () => wallet.unspend(h.key, { ...signed, group: toB64(new Uint8Array(8)) }), ErrorCode.BAD_REQUEST)
    const back = wallet.unspend(h.key, signed)
    assert.equal(back.status, 'held')
    assert.equal(back.request, undefined)
    assert.deepEqual(
      wallet.spendable().map(x => x.key),
      [h.key]
    )
    const purse = wallet.purse()
    const d = wallet.request(h.key, TAG.deposit, purse.key)
    const ds = holderSigned(d.env.bytes, groupSign(m, d.digest))
    wallet.spending(h.key, ds)
    const res = w.ledger.deposit(show(w, cert, h.binding, ds, [TAG.deposit]))
    assert.equal(res.value, 20)
    assert.equal(wallet.settled(h.key, 'deposited').status, 'deposited')
    conserved(w)
  })

  it('a coin spent and bound stays spent: nothing undoes it', async () => {
    const { t, wallet, h, spend } = await holding()
    const { signed } = spend()
    wallet.settled(h.key, 'spent')
    rejects(t, () => wallet.unspend(h.key, signed), ErrorCode.BAD_REQUEST)
  })
})

describe('wallet: a coin close to its expiry is not offered for a payment', () => {
  it('spendable(validFor) leaves out a coin that would expire within it', async () => {
    const { w, wallet, h } = await holding()
    const left = h.expiry - w.clock.now()
    assert.deepEqual(
      wallet.spendable(left - 1).map(x => x.key),
      [h.key]
    )
    assert.deepEqual(wallet.spendable(left), [])
    w.clock.advance(left - 1000)
    assert.deepEqual(wallet.spendable(1000), [])
    assert.equal(wallet.spendable().length, 1, 'still held: a renewal may take it')
  })
})

describe("wallet: where a held coin's owner listens", () => {
  it('is kept from the delivery (without /p2p/), carried over a renewal; a bad list is left out', async () => {
    const { w, wallet, cert, h, m, owner } = await holding()
    for (const bad of [['not a multiaddr'], Array(9).fill('/ip4/127.0.0.1/tcp/1'), 'x', []])
      assert.equal(wallet.ownerAt(h.key, bad).ownerAddrs, undefined)
    assert.deepEqual(wallet.held(h.key), h)
    const kept = wallet.ownerAt(h.key, [`/ip4/127.0.0.1/tcp/4001/p2p/${owner.id}`])
    assert.deepEqual(kept.ownerAddrs, ['/ip4/127.0.0.1/tcp/4001'])
    const fresh = wallet.renewalKey(h.key)
    const r = wallet.request(h.key, TAG.renew, fresh.key)
    const signed = holderSigned(r.env.bytes, groupSign(m, r.digest))
    wallet.spending(h.key, signed)
    const ans = w.ledger.renew(show(w, cert, h.binding, signed, [TAG.renew]))
    assert.deepEqual(wallet.renewed(h.key, ans.cert, ans.binding).ownerAddrs, ['/ip4/127.0.0.1/tcp/4001'])
    assert.deepEqual(wallet.held(fresh.key).ownerAddrs, ['/ip4/127.0.0.1/tcp/4001'])
  })
})
