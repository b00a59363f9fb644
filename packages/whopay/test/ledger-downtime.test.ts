// The broker's ledger on the downtime path, renewals, what it learns from bindings, and fraud: each double spend
// is refused FRAUD with evidence checkEvidence accepts, convict pays the honest holder from the cheater's account
// never below zero, refusals leave the tables as they were, and money is conserved after each step.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { rejects, throwsCode } from '@p2pay/test-utils'
import { WhopayErrorCode } from '../src/errors.ts'
import { openBinding } from '../src/core/coin.ts'
import { checkEvidence, checkOwnerEvidence } from '../src/core/evidence.ts'
import { newCoinKey } from '../src/core/holder.ts'
import { TAG } from '../src/core/messages.ts'
import { groupVerify, member, memberIdOf, openSig, peer, verifier } from './core-fixtures.ts'
import {
  ask,
  buy,
  certOf,
  conserved,
  issued,
  tables,
  topup,
  viaBroker,
  viaOwner,
  world,
  type Holding
} from './ledger-fixtures.ts'

async function start(value = 20) {
  const w = await world()
  const owner = await peer()
  topup(w, owner, 100)
  const { cert, key } = buy(w, owner, value)
  return { w, owner, cert, key }
}

describe('downtime path', () => {
  it('the broker answers the seq-1 holder with its binding at seq 2; the new holder deposits with it', async () => {
    const { w, owner, cert } = await start()
    const h1 = issued(owner, cert)
    const h2 = viaBroker(w, h1)
    const b = openBinding(verifier, h2.binding, cert, 'whopay-transfer', h1.key.id)
    assert.equal(b.by, 'broker')
    assert.equal(b.seq, 2)
    assert.equal(b.holder, h2.key.id)
    assert.equal(w.ledger.coin(cert.coin).seq, 2)
    conserved(w)
    const purse = newCoinKey().id
    assert.equal(w.ledger.deposit(ask(w, h2, TAG.deposit, purse)).value, 20)
    assert.equal(w.ledger.books.purse(purse), 20)
    conserved(w)
  })

  it('a retry gets the same binding; the old holder spending again is FRAUD, evidence names its member', async () => {
    const { w, owner, cert } = await start()
    const mallory = member()
    const h1 = { ...issued(owner, cert), m: mallory }
    const to = newCoinKey().id
    const s = ask(w, h1, TAG.transfer, to)
    const first = w.ledger.downtimeTransfer(s)
    assert.deepEqual(w.ledger.downtimeTransfer(s), first)
    const again = ask(w, h1, TAG.transfer, newCoinKey().id)
    const err = rejects(tables(w), () => w.ledger.downtimeTransfer(again), ErrorCode.FRAUD)
    const c = checkEvidence(verifier, err.details?.evidence, w.broker.id)
    for (let i = 0; i < 2; i++) {
      assert.ok(groupVerify(c.digests[i], c.sigs[i]))
      assert.equal(openSig(c.sigs[i]), memberIdOf(mallory))
    }
    // and a deposit by the same key at the same seq, too
    const dep = ask(w, h1, TAG.deposit, newCoinKey().id)
    const err2 = rejects(tables(w), () => w.ledger.deposit(dep), ErrorCode.FRAUD)
    checkEvidence(verifier, err2.details?.evidence, w.broker.id)
    conserved(w)
  })

  it('refuses a stale seq, an expired coin, a deposit request, a coin deposited already', async () => {
    const { w, owner, cert } = await start()
    const h1 = issued(owner, cert)
    const h2 = viaBroker(w, h1)
    viaBroker(w, h2)
    // the seq-1 holder again, with a request the broker has no twin of at seq 1? it has: the seq-1 transfer
    // the seq-2 holder is stale now (the broker knows seq 3) and its request at seq 2 has a twin: FRAUD
    rejects(tables(w), () => w.ledger.downtimeTransfer(ask(w, h2, TAG.transfer, newCoinKey().id)), ErrorCode.FRAUD)
    rejects(tables(w), () => w.ledger.downtimeTransfer(ask(w, h2, TAG.deposit, newCoinKey().id)), ErrorCode.WRONG_TAG)
    const { cert: c2 } = buy(w, owner, 5)
    const g1 = issued(owner, c2)
    w.clock.advance(c2.expiry - w.clock.t + 1)
    rejects(tables(w), () => w.ledger.downtimeTransfer(ask(w, g1, TAG.transfer, newCoinKey().id)), ErrorCode.EXPIRED)
    conserved(w)
  })

  it('a binding the broker never saw the request of: older seq is STALE_SEQ', async () => {
    const { w, owner, cert } = await start()
    const h1 = issued(owner, cert)
    const { holding: h2 } = viaOwner(w, owner, h1)
    const { holding: h3 } = viaOwner(w, owner, h2)
    // the broker learns the seq-3 binding only (it names the seq-2 request, not the seq-1 one)
    assert.deepEqual(w.ledger.adoptBinding(h3.binding), { advanced: true })
    assert.equal(w.ledger.coin(cert.coin).seq, 3)
    rejects(tables(w), () => w.ledger.downtimeTransfer(ask(w, h1, TAG.transfer, newCoinKey().id)), ErrorCode.STALE_SEQ)
    // the seq-2 holder's second spend conflicts with the request the seq-3 binding answers
    rejects(tables(w), () => w.ledger.deposit(ask(w, h2, TAG.deposit, newCoinKey().id)), ErrorCode.FRAUD)
    // adopting the same again, or an older one, changes nothing
    const before = JSON.stringify(w.ledger.coin(cert.coin))
    assert.deepEqual(w.ledger.adoptBinding(h3.binding), { advanced: false })
    assert.equal(JSON.stringify(w.ledger.coin(cert.coin)), before)
    conserved(w)
  })
})

describe('what the broker learns from the bindings shown', () => {
  it("remembers the request a shown owner binding answers: that holder's later deposit is FRAUD", async () => {
    const { w, owner, cert } = await start()
    const h1 = issued(owner, cert)
    const { holding: h2 } = viaOwner(w, owner, h1)
    viaBroker(w, h2)
    const err = rejects(tables(w), () => w.ledger.deposit(ask(w, h1, TAG.deposit, newCoinKey().id)), ErrorCode.FRAUD)
    assert.equal(checkEvidence(verifier, err.details?.evidence, w.broker.id).holderKey, h1.key.id)
    conserved(w)
  })

  it('a renewal or downtime transfer on a chain that lost is FRAUD without compensation', async () => {
    const { w, owner, cert } = await start()
    const h1 = issued(owner, cert)
    const { holding: h2 } = viaOwner(w, owner, h1)
    w.ledger.deposit(ask(w, h1, TAG.deposit, newCoinKey().id))
    for (const tag of [TAG.renew, TAG.transfer]) {
      const err = rejects(
        tables(w),
        () => {
          const s = ask(w, h2, tag, newCoinKey().id)
          return tag === TAG.renew ? w.ledger.renew(s) : w.ledger.downtimeTransfer(s)
        },
        ErrorCode.FRAUD
      )
      assert.equal(err.details?.compensate, false)
      checkEvidence(verifier, err.details?.evidence, w.broker.id)
    }
    conserved(w)
  })
})

describe('lost chains and conviction', () => {
  it("a holder deposits after passing the coin on: the payee's deposit is FRAUD, paid from its purse", async () => {
    const { w, owner, cert } = await start(20)
    const cheater = await peer()
    topup(w, cheater, 15)
    const mallory = member()
    const h1: Holding = { ...issued(owner, cert), m: mallory }
    const { holding: h2 } = viaOwner(w, owner, h1)
    // the broker never heard of the transfer (no DHT): it pays h1's deposit
    const cheaterPurse = newCoinKey().id
    w.ledger.deposit(ask(w, h1, TAG.deposit, cheaterPurse))
    conserved(w)
    const purse = newCoinKey().id
    const honest = ask(w, h2, TAG.deposit, purse)
    const err = rejects(tables(w), () => w.ledger.deposit(honest), ErrorCode.FRAUD)
    assert.equal(err.details?.compensate, true)
    const c = checkEvidence(verifier, err.details?.evidence, w.broker.id)
    assert.equal(c.holderKey, h1.key.id)
    assert.ok(c.sigs.every((s, i) => groupVerify(c.digests[i], s) && openSig(s) === memberIdOf(mallory)))
    // the registry maps mallory's member id to `cheater`; the purse its own deposit credited pays back first
    // (the cheater's purse withdrawn first, and its account short: ledger-conviction.test.ts)
    const f = w.ledger.convict({ evidence: c, cheater: cheater.id, openings: [], honest })
    assert.deepEqual(f.reclaimed, [{ from: cheaterPurse, purse, value: 20 }])
    assert.deepEqual(f.compensated, [])
    assert.deepEqual(f.shortfall, [])
    assert.equal(w.ledger.books.balance(cheater.id), 15)
    assert.equal(w.ledger.books.purse(cheaterPurse), 0)
    assert.equal(w.ledger.books.purse(purse), 20)
    conserved(w)
    // once per case: convicting again, or the deposit retried, pays nothing more
    w.ledger.convict({ evidence: c, cheater: cheater.id, openings: [], honest })
    const r = w.ledger.deposit(honest)
    assert.equal(r.from, 'compensation')
    assert.equal(r.value, 20)
    assert.equal(w.ledger.books.purse(purse), 20)
    assert.equal(w.ledger.audit().frauds, 1)
    conserved(w)
  })

  it('without the DHT a double transfer (owner and broker) is found at deposit; both payees end up paid', async () => {
    const { w, owner, cert } = await start(20)
    const cheater = await peer()
    topup(w, cheater, 50)
    const h1 = issued(owner, cert)
    const { holding: viaTheOwner } = viaOwner(w, owner, h1)
    const viaTheBroker = viaBroker(w, h1)
    // the broker's payee deposits first: from custody
    const p1 = newCoinKey().id
    assert.equal(w.ledger.deposit(ask(w, viaTheBroker, TAG.deposit, p1)).from, 'coin')
    // the owner's payee's chain lost: FRAUD, and once convicted it is paid from the cheater
    const p2 = newCoinKey().id
    const honest = ask(w, viaTheOwner, TAG.deposit, p2)
    const err = throwsCode(() => w.ledger.deposit(honest), ErrorCode.FRAUD)
    assert.equal(err.details?.compensate, true)
    const c = checkEvidence(verifier, err.details?.evidence, w.broker.id)
    w.ledger.convict({ evidence: c, cheater: cheater.id, honest })
    assert.deepEqual([w.ledger.books.purse(p1), w.ledger.books.purse(p2)], [20, 20])
    assert.equal(w.ledger.books.balance(cheater.id), 30)
    conserved(w)
  })

  it('convict refuses another peer for a case already decided, and a deposit not on the case', async () => {
    const { w, owner, cert } = await start(20)
    const cheater = await peer()
    const h1 = issued(owner, cert)
    const { holding: h2 } = viaOwner(w, owner, h1)
    w.ledger.deposit(ask(w, h1, TAG.deposit, newCoinKey().id))
    const err = throwsCode(() => w.ledger.deposit(ask(w, h2, TAG.deposit, newCoinKey().id)), ErrorCode.FRAUD)
    const c = checkEvidence(verifier, err.details?.evidence, w.broker.id)
    w.ledger.convict({ evidence: c, cheater: cheater.id })
    rejects(tables(w), () => w.ledger.convict({ evidence: c, cheater: owner.id }), ErrorCode.BAD_REQUEST)
    const { cert: other } = buy(w, owner, 5)
    const stray = ask(w, issued(owner, other), TAG.deposit, newCoinKey().id)
    rejects(
      tables(w),
      () => w.ledger.convict({ evidence: c, cheater: cheater.id, honest: stray }),
      WhopayErrorCode.NO_SUCH_COIN
    )
    conserved(w)
  })

  it('an owner binding one seq to two holders: FRAUD with owner evidence; the owner pays the loser', async () => {
    const { w, owner, cert } = await start(20)
    const a = issued(owner, cert)
    const b = issued(owner, cert)
    assert.deepEqual(w.ledger.adoptBinding(a.binding), { advanced: true })
    const purse = newCoinKey().id
    const honest = ask(w, b, TAG.deposit, purse)
    const err = rejects(tables(w), () => w.ledger.deposit(honest), ErrorCode.FRAUD)
    assert.equal(err.details?.compensate, true)
    const c = checkOwnerEvidence(verifier, err.details?.ownerEvidence, w.broker.id)
    assert.equal(c.owner, owner.id)
    const before = w.ledger.books.balance(owner.id)
    const f = w.ledger.convict({ evidence: c, cheater: owner.id, honest })
    assert.equal(f.kind, 'owner')
    assert.equal(w.ledger.books.balance(owner.id), before - 20)
    assert.equal(w.ledger.books.purse(purse), 20)
    const stranger = (await peer()).id
    rejects(tables(w), () => w.ledger.convict({ evidence: c, cheater: stranger }), ErrorCode.BAD_REQUEST)
    conserved(w)
  })

  it('adoptBinding returns, and does not store, a binding that conflicts with what the broker saw', async () => {
    const { w, owner, cert } = await start()
    const h1 = issued(owner, cert)
    viaBroker(w, h1)
    // the owner (online after all) answered another transfer by the same key: the holder's double spend
    const { holding: other } = viaOwner(w, owner, h1)
    const snap = JSON.stringify([...w.ledger.t.requests.entries(), ...w.ledger.t.coins.entries()])
    const r = w.ledger.adoptBinding(other.binding)
    assert.equal(r.advanced, false)
    checkEvidence(verifier, r.evidence, w.broker.id)
    assert.equal(JSON.stringify([...w.ledger.t.requests.entries(), ...w.ledger.t.coins.entries()]), snap)
    conserved(w)
  })
})

describe('renewal', () => {
  it('a new certificate gen + 1 and a broker binding to the fresh key; the old generation is spent', async () => {
    const { w, owner, cert } = await start(20)
    const h1 = issued(owner, cert)
    const fresh = newCoinKey()
    const s = ask(w, h1, TAG.renew, fresh.id)
    const r = w.ledger.renew(s)
    assert.deepEqual(w.ledger.renew(s), r)
    const cert1 = certOf(w, r.cert)
    assert.equal(cert1.gen, 1)
    assert.equal(cert1.coin, cert.coin)
    assert.equal(cert1.owner, owner.id)
    assert.ok(cert1.expiry >= cert.expiry)
    const b = openBinding(verifier, r.binding, cert1, 'whopay-renew', h1.key.id)
    assert.equal(b.seq, 2)
    assert.equal(b.holder, fresh.id)
    assert.equal(w.ledger.spentRecord(cert.coin, 0), r.spent)
    conserved(w)
    // the old generation moves no more: another holder of it is refused, the renewing key is a double spender
    rejects(tables(w), () => w.ledger.deposit(ask(w, h1, TAG.deposit, newCoinKey().id)), ErrorCode.FRAUD)
    const stray = issued(owner, cert)
    rejects(tables(w), () => w.ledger.deposit(ask(w, stray, TAG.deposit, newCoinKey().id)), WhopayErrorCode.COIN_SPENT)
    // the new generation moves on and is deposited
    const h2: Holding = { cert: cert1, key: fresh, seq: 2, binding: r.binding, m: member() }
    const h3 = viaBroker(w, h2)
    assert.equal(w.ledger.deposit(ask(w, h3, TAG.deposit, newCoinKey().id)).value, 20)
    assert.equal(w.ledger.audit().outstanding, 0)
    conserved(w)
  })
})
