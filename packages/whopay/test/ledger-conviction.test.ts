// Conviction at the broker's ledger: an owner that issued one coin to two payees is convicted when the second
// deposits after the first (not refused as already cashed); the honest purse is paid back first from the purse the
// cheater's own deposit credited, then from the cheaters' accounts in turn (two when a coin key was shared between
// members), the rest recorded short; every case carries the broker's signed `whopay/conviction`. Refusals leave
// the tables as they were; money is conserved after each step.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64, randomId, sha256Hex, toB64 } from '@p2pay/core'
import { rejects } from '@p2pay/test-utils'
import { checkEvidence, checkOwnerEvidence } from '../src/core/evidence.ts'
import { coinSigner, newCoinKey, type CoinKey } from '../src/core/holder.ts'
import { TAG, type ConvictionBody, type OpeningBody, type WithdrawBody } from '../src/core/messages.ts'
import { backend, member, memberIdOf, openSig, peer, verifier } from './core-fixtures.ts'
import {
  ask,
  buy,
  conserved,
  issued,
  tables,
  topup,
  viaBroker,
  viaOwner,
  world,
  type Holding,
  type World
} from './ledger-fixtures.ts'

function withdraw(w: World, purse: CoinKey, account: string, amount: number): void {
  const body: WithdrawBody = { purse: purse.id, account, amount, nonce: randomId(8) }
  w.ledger.withdraw(toB64(coinSigner(purse, backend).sign<WithdrawBody>(TAG.withdraw, body, 'whopay-deposit').bytes))
}

function conviction(w: World, b64: string | undefined): ConvictionBody {
  assert.ok(b64 !== undefined, 'the fraud record carries the conviction')
  const env = verifier.open<ConvictionBody>(fromB64(b64), TAG.conviction, 'whopay-open')
  assert.equal(env.signer, w.broker.id)
  return env.body
}

describe('an owner that issues one coin to two payees', () => {
  async function twoIssues(ownerFunds: number) {
    const w = await world()
    const owner = await peer()
    topup(w, owner, ownerFunds)
    const { cert } = buy(w, owner, 20)
    const p1 = issued(owner, cert)
    const p2 = issued(owner, cert)
    const purse1 = newCoinKey().id
    w.ledger.deposit(ask(w, p1, TAG.deposit, purse1))
    conserved(w)
    const purse2 = newCoinKey().id
    const honest = ask(w, p2, TAG.deposit, purse2)
    const err = rejects(tables(w), () => w.ledger.deposit(honest), ErrorCode.FRAUD)
    assert.equal(err.details?.compensate, true)
    const c = checkOwnerEvidence(verifier, err.details?.ownerEvidence, w.broker.id)
    assert.equal(c.owner, owner.id)
    assert.equal(c.seq, 1)
    conserved(w)
    return { w, owner, purse1, purse2, honest, c }
  }

  it("the second deposit is FRAUD with the owner's two bindings; the owner pays it", async () => {
    const { w, owner, purse1, purse2, honest, c } = await twoIssues(100)
    const f = w.ledger.convict({ evidence: c, cheater: owner.id, honest })
    assert.equal(f.kind, 'owner')
    assert.deepEqual(f.cheaters, [owner.id])
    assert.deepEqual(f.compensated, [{ purse: purse2, value: 20, from: owner.id }])
    assert.deepEqual([w.ledger.books.purse(purse1), w.ledger.books.purse(purse2)], [20, 20])
    assert.equal(w.ledger.books.balance(owner.id), 60)
    const body = conviction(w, f.conviction)
    assert.deepEqual(body, { case: f.id, openings: [], members: [], cheaters: [owner.id], coin: f.coin, seq: 1 })
    conserved(w)
    // the deposit retried gets its compensation; nothing moves again
    const r = w.ledger.deposit(honest)
    assert.equal(r.from, 'compensation')
    assert.equal(r.value, 20)
    assert.equal(w.ledger.books.balance(owner.id), 60)
    assert.equal(w.ledger.audit().frauds, 1)
    conserved(w)
  })

  it('an owner short of funds pays what it has, never below zero; the rest is recorded short', async () => {
    const { w, owner, purse2, honest, c } = await twoIssues(30)
    const f = w.ledger.convict({ evidence: c, cheater: owner.id, honest })
    assert.deepEqual(f.compensated, [{ purse: purse2, value: 10, from: owner.id }])
    assert.deepEqual(f.shortfall, [{ purse: purse2, value: 10 }])
    assert.equal(w.ledger.books.balance(owner.id), 0)
    assert.equal(w.ledger.books.purse(purse2), 10)
    conserved(w)
  })
})

describe("compensation for a holder's double spend", () => {
  it("takes back from the purse the cheater's deposit credited, then its account; the rest short", async () => {
    const w = await world()
    const owner = await peer()
    const cheater = await peer()
    const accomplice = await peer()
    topup(w, owner, 50)
    topup(w, cheater, 5)
    const { cert } = buy(w, owner, 20)
    const h1: Holding = { ...issued(owner, cert), m: member() }
    const { holding: h2 } = viaOwner(w, owner, h1)
    // the broker never heard of the transfer: it pays h1's deposit into the cheater's purse, which sends 12 away
    const cheaterPurse = newCoinKey()
    w.ledger.deposit(ask(w, h1, TAG.deposit, cheaterPurse.id))
    withdraw(w, cheaterPurse, accomplice.id, 12)
    conserved(w)
    const purse = newCoinKey().id
    const honest = ask(w, h2, TAG.deposit, purse)
    const err = rejects(tables(w), () => w.ledger.deposit(honest), ErrorCode.FRAUD)
    const c = checkEvidence(verifier, err.details?.evidence, w.broker.id)
    const f = w.ledger.convict({ evidence: c, cheater: cheater.id, honest })
    assert.deepEqual(f.reclaimed, [{ from: cheaterPurse.id, purse, value: 8 }])
    assert.deepEqual(f.compensated, [{ purse, value: 5, from: cheater.id }])
    assert.deepEqual(f.shortfall, [{ purse, value: 7 }])
    assert.equal(w.ledger.books.purse(cheaterPurse.id), 0)
    assert.equal(w.ledger.books.balance(cheater.id), 0)
    assert.equal(w.ledger.books.purse(purse), 13)
    assert.equal(w.ledger.deposit(honest).value, 13)
    conserved(w)
  })
})

describe('a coin key shared between two members', () => {
  it('both are convicted, the first pays then the second; the signed conviction names both', async () => {
    const w = await world()
    const owner = await peer()
    const [c1, c2, judge] = [await peer(), await peer(), await peer()]
    topup(w, owner, 50)
    topup(w, c1, 5)
    topup(w, c2, 30)
    const { cert } = buy(w, owner, 20)
    const h1 = issued(owner, cert)
    const [m1, m2] = [member(), member()]
    // m1 passes the coin on through the owner, m2 with the same coin key through the broker
    const { holding: viaTheOwner } = viaOwner(w, owner, { ...h1, m: m1 })
    const viaTheBroker = viaBroker(w, { ...h1, m: m2 })
    w.ledger.deposit(ask(w, viaTheBroker, TAG.deposit, newCoinKey().id))
    const purse = newCoinKey().id
    const honest = ask(w, viaTheOwner, TAG.deposit, purse)
    const err = rejects(tables(w), () => w.ledger.deposit(honest), ErrorCode.FRAUD)
    const c = checkEvidence(verifier, err.details?.evidence, w.broker.id)
    const members = c.sigs.map(openSig)
    assert.deepEqual(new Set(members), new Set([memberIdOf(m1), memberIdOf(m2)]))
    // the judge's openings as the broker gets them (the registry maps m1 -> c1, m2 -> c2)
    const openings = c.sigs.map((sig, i) => {
      const body: OpeningBody = { case: c.hash, signature: sha256Hex(sig), member: members[i] }
      return toB64(judge.signer.sign<OpeningBody>(TAG.opening, body, 'whopay-open').bytes)
    })
    const cheaters = [c1.id, c2.id]
    const f = w.ledger.convict({ evidence: c, cheater: c1.id, cheaters, members, openings, honest })
    assert.deepEqual(f.cheaters, cheaters)
    assert.deepEqual(f.compensated, [
      { purse, value: 5, from: c1.id },
      { purse, value: 15, from: c2.id }
    ])
    assert.deepEqual(f.shortfall, [])
    assert.deepEqual([w.ledger.books.balance(c1.id), w.ledger.books.balance(c2.id)], [0, 15])
    assert.equal(w.ledger.books.purse(purse), 20)
    const body = conviction(w, f.conviction)
    assert.deepEqual(body, {
      case: c.hash,
      openings: openings.map(o => sha256Hex(fromB64(o))),
      members,
      cheaters,
      coin: cert.coin,
      seq: 1
    })
    conserved(w)
  })
})
