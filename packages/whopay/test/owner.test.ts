// The owner's book: it issues once, answers each holder's transfer once per seq (a retry gets the same binding),
// refuses a second spend at a seq with evidence checkEvidence accepts, refuses stale and stranger requests, and
// adopts the broker's bindings (downtime path, renewal). Every refusal leaves its table as it was.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, memoryTables, table } from '@p2pay/core'
import { rejects } from '@p2pay/test-utils'
import { WhopayErrorCode } from '../src/errors.ts'
import { openBinding } from '../src/core/coin.ts'
import { checkEvidence } from '../src/core/evidence.ts'
import { newCoinKey } from '../src/core/holder.ts'
import { TAG } from '../src/core/messages.ts'
import { OwnerBook, type OwnerCoin } from '../src/core/owner.ts'
import { member, memberIdOf, openSig, peer, verifier } from './core-fixtures.ts'
import { ask, buy, certOf, topup, world, type Holding } from './ledger-fixtures.ts'

async function setup() {
  const w = await world()
  const owner = await peer()
  topup(w, owner, 100)
  const { cert, key } = buy(w, owner, 20)
  const t = memoryTables({ coins: table<OwnerCoin>('whopay-owner-coins', 'test') })
  const book = new OwnerBook(t, owner.signer, verifier, w.broker.id, w.clock.now)
  book.add(cert.b64, key.seed)
  return { w, owner, cert, key, book, t }
}

const holding = (h: Omit<Holding, 'm'>, m = member()): Holding => ({ ...h, m })

describe('owner book', () => {
  it('books only its own certificate with the seed of its key', async () => {
    const { w, owner, cert, book, t } = await setup()
    rejects(t, () => book.add(cert.b64, newCoinKey().seed), ErrorCode.BAD_REQUEST)
    const other = await peer()
    topup(w, other, 10)
    const { cert: theirs, key } = buy(w, other, 5)
    rejects(t, () => book.add(theirs.b64, key.seed), ErrorCode.WRONG_OWNER)
    assert.equal(book.coin(cert.coin).holder, cert.coin)
    assert.equal(book.coin(cert.coin).seq, 0)
    assert.equal(owner.id, cert.owner)
  })

  it('issues once: the same key again gets the same binding, another key is refused', async () => {
    const { cert, book, t } = await setup()
    const k1 = newCoinKey()
    const b = book.issue(cert.coin, k1.id)
    assert.equal(book.issue(cert.coin, k1.id).b64, b.b64)
    rejects(t, () => book.issue(cert.coin, newCoinKey().id), WhopayErrorCode.COIN_SPENT)
    rejects(t, () => book.issue(newCoinKey().id, k1.id), WhopayErrorCode.NO_SUCH_COIN)
  })

  it('answers transfers along the chain; a retry gets the same binding', async () => {
    const { w, cert, book } = await setup()
    const k1 = newCoinKey()
    let h = holding({ cert, key: k1, seq: 1, binding: book.issue(cert.coin, k1.id).b64 })
    for (let i = 0; i < 3; i++) {
      const next = newCoinKey()
      const s = ask(w, h, TAG.transfer, next.id)
      const b = book.transfer(s)
      assert.equal(book.transfer(s).b64, b.b64)
      const o = openBinding(verifier, b.b64, cert, 'whopay-deliver', h.key.id)
      assert.equal(o.seq, h.seq + 1)
      h = holding({ cert, key: next, seq: o.seq, binding: b.b64 })
    }
    assert.equal(book.coin(cert.coin).seq, 4)
    assert.equal(book.coin(cert.coin).holder, h.key.id)
  })

  it('a second transfer by the same holder key is FRAUD with evidence that opens to the holder', async () => {
    const { w, cert, book, t } = await setup()
    const mallory = member()
    const k1 = newCoinKey()
    const h = holding({ cert, key: k1, seq: 1, binding: book.issue(cert.coin, k1.id).b64 }, mallory)
    book.transfer(ask(w, h, TAG.transfer, newCoinKey().id))
    const err = rejects(t, () => book.transfer(ask(w, h, TAG.transfer, newCoinKey().id)), ErrorCode.FRAUD)
    const c = checkEvidence(verifier, err.details?.evidence, w.broker.id)
    assert.equal(c.holderKey, k1.id)
    assert.equal(openSig(c.sigs[1]), memberIdOf(mallory))
  })

  it('refuses a stale seq, a deposit, an expired coin; refusals change nothing', async () => {
    const { w, cert, book, t } = await setup()
    const k1 = newCoinKey()
    const h1 = holding({ cert, key: k1, seq: 1, binding: book.issue(cert.coin, k1.id).b64 })
    const k2 = newCoinKey()
    const h2 = holding({ cert, key: k2, seq: 2, binding: book.transfer(ask(w, h1, TAG.transfer, k2.id)).b64 })
    // the owner's own coin key at seq 0 is stale once the coin is issued
    const own = holding({ cert, key: { id: cert.coin, seed: book.seed(cert.coin) }, seq: 0 })
    rejects(t, () => book.transfer(ask(w, own, TAG.transfer, newCoinKey().id)), ErrorCode.STALE_SEQ)
    rejects(t, () => book.transfer(ask(w, h2, TAG.deposit, newCoinKey().id)), ErrorCode.WRONG_TAG)
    const s = ask(w, h2, TAG.transfer, newCoinKey().id)
    w.clock.advance(cert.expiry - w.clock.t)
    rejects(t, () => book.transfer(s), ErrorCode.EXPIRED)
  })

  it("adopts the broker's downtime binding, directly or shown by the next holder, and its renewal", async () => {
    const { w, cert, book, t } = await setup()
    const k1 = newCoinKey()
    const h1 = holding({ cert, key: k1, seq: 1, binding: book.issue(cert.coin, k1.id).b64 })
    // owner offline: the broker answers h1, then the new holder comes to the owner with the broker's binding
    const k2 = newCoinKey()
    const viaBroker = w.ledger.downtimeTransfer(ask(w, h1, TAG.transfer, k2.id))
    const h2 = holding({ cert, key: k2, seq: 2, binding: viaBroker.binding })
    const k3 = newCoinKey()
    const b3 = book.transfer(ask(w, h2, TAG.transfer, k3.id))
    assert.equal(b3.seq, 3)
    // h1 spending again at the owner: FRAUD, its first spend is known from the broker's binding
    const err = rejects(t, () => book.transfer(ask(w, h1, TAG.transfer, newCoinKey().id)), ErrorCode.FRAUD)
    checkEvidence(verifier, err.details?.evidence, w.broker.id)
    // renewal at the broker by h3: the owner adopts the new certificate and the broker's binding
    const h3 = holding({ cert, key: k3, seq: 3, binding: b3.b64 })
    const fresh = newCoinKey()
    const r = w.ledger.renew(ask(w, h3, TAG.renew, fresh.id))
    const cert1 = certOf(w, r.cert)
    const h4 = holding({ cert: cert1, key: fresh, seq: 4, binding: r.binding })
    // before it adopts, the owner knows generation 0 only
    rejects(t, () => book.transfer(ask(w, h4, TAG.transfer, newCoinKey().id)), WhopayErrorCode.WRONG_GEN)
    assert.deepEqual(book.adopt(r.binding, r.cert), { advanced: true })
    assert.equal(book.coin(cert.coin).gen, 1)
    assert.equal(book.transfer(ask(w, h4, TAG.transfer, newCoinKey().id)).seq, 5)
    assert.deepEqual(book.adopt(r.binding, r.cert).advanced, false)
  })

  it('a broker binding answering a second spend the owner answered otherwise: evidence, not adopted', async () => {
    const { w, cert, book, t } = await setup()
    const k1 = newCoinKey()
    const h1 = holding({ cert, key: k1, seq: 1, binding: book.issue(cert.coin, k1.id).b64 })
    book.transfer(ask(w, h1, TAG.transfer, newCoinKey().id))
    const viaBroker = w.ledger.downtimeTransfer(ask(w, h1, TAG.transfer, newCoinKey().id))
    const before = JSON.stringify([...t.coins.entries()])
    const r = book.adopt(viaBroker.binding)
    assert.equal(r.advanced, false)
    assert.equal(checkEvidence(verifier, r.evidence, w.broker.id).holderKey, k1.id)
    assert.equal(JSON.stringify([...t.coins.entries()]), before)
  })
})
