// The real-time checks of an owner and a payee against the DHT's newest record of a coin, on records signed the
// way the services sign them: a payee refuses a coin the DHT shows issued to another key at the same place (an
// issue carries no request) with owner evidence the broker takes, and an owner refuses a transfer once the coin's
// generation is spent at any seq, with holder evidence when its book answered another request there.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { memoryTables } from '@p2pay/core'
import { openBinding } from '../src/core/coin.ts'
import { checkEvidence, checkOwnerEvidence, type Evidence, type OwnerEvidence } from '../src/core/evidence.ts'
import { newCoinKey } from '../src/core/holder.ts'
import { OwnerBook } from '../src/core/owner.ts'
import { OWNER_TABLES } from '../src/tables.ts'
import { evidenceOf, openRecord, ownerVerdict, payeeVerdict, placeOf } from '../src/net/coin-state-record.ts'
import { Clock, member, memberIdOf, openSig, peer, verifier } from './core-fixtures.ts'
import { TAG, ask, buy, issued, topup, viaOwner, world } from './ledger-fixtures.ts'

async function setup() {
  const w = await world()
  const owner = await peer()
  topup(w, owner, 100)
  const { cert, key } = buy(w, owner, 20)
  const rec = (env: string, c = cert.b64) => openRecord(verifier, w.broker.id, { cert: c, env })
  return { w, owner, cert, key, rec }
}

describe('a payee against the DHT', () => {
  it('refuses a coin the DHT shows issued to another key at seq 1, with owner evidence', async () => {
    const { w, owner, cert, rec } = await setup()
    const toP1 = issued(owner, cert)
    const toP2 = issued(owner, cert)
    const delivered = openBinding(verifier, toP2.binding!, cert, 'whopay-deliver')
    assert.equal(payeeVerdict(rec(toP1.binding!), placeOf(delivered)), 'conflict')
    const e = evidenceOf(verifier, w.broker.id, rec(toP1.binding!), rec(toP2.binding!)) as OwnerEvidence
    assert.equal(checkOwnerEvidence(verifier, e, w.broker.id).owner, owner.id)
    // the same issue, a coin not in the DHT yet: taken; a record past it: the coin moved on
    assert.equal(payeeVerdict(rec(toP2.binding!), placeOf(delivered)), 'ok')
    assert.equal(payeeVerdict(undefined, placeOf(delivered)), 'ok')
    const { holding } = viaOwner(w, owner, toP2)
    assert.equal(payeeVerdict(rec(holding.binding!), placeOf(delivered)), 'moved')
  })

  it('refuses an issue when the owner deposited the coin at seq 0, with owner evidence of the spend', async () => {
    const { w, owner, cert, key, rec } = await setup()
    const toP1 = issued(owner, cert)
    const self = { cert, key, seq: 0, m: member() }
    const dep = w.ledger.deposit(ask(w, self, TAG.deposit, newCoinKey().id))
    const delivered = openBinding(verifier, toP1.binding!, cert, 'whopay-deliver')
    assert.equal(payeeVerdict(rec(dep.spent), placeOf(delivered)), 'conflict')
    const e = evidenceOf(verifier, w.broker.id, rec(dep.spent), rec(toP1.binding!)) as OwnerEvidence
    assert.ok(e.spend != null)
    assert.equal(checkOwnerEvidence(verifier, e, w.broker.id).owner, owner.id)
  })

  it('refuses a transfer the DHT shows answered by another request of the same key, with holder evidence', async () => {
    const { w, owner, cert, rec } = await setup()
    const mallory = member()
    const h1 = { ...issued(owner, cert), m: mallory }
    const a = viaOwner(w, owner, h1).holding
    const b = viaOwner(w, owner, h1).holding
    const delivered = openBinding(verifier, b.binding!, cert, 'whopay-deliver')
    assert.equal(payeeVerdict(rec(a.binding!), placeOf(delivered)), 'conflict')
    const e = evidenceOf(verifier, w.broker.id, rec(a.binding!), rec(b.binding!)) as Evidence
    assert.equal(openSig(checkEvidence(verifier, e, w.broker.id).sigs[0]), memberIdOf(mallory))
  })
})

describe('an owner against the DHT', () => {
  it('refuses a transfer once the generation is spent at an older seq, with the evidence its book holds', async () => {
    const { w, owner, cert, key, rec } = await setup()
    const clock = new Clock()
    const book = new OwnerBook(memoryTables(OWNER_TABLES), owner.signer, verifier, w.broker.id, clock.now)
    book.add(cert.b64, key.seed)
    const next = newCoinKey()
    const mallory = member()
    const h1 = { cert, key: next, seq: 1, binding: book.issue(cert.coin, next.id).b64, m: mallory }
    // h1 passes the coin on through the owner (seq 2), then deposits it at seq 1 too: the DHT shows it spent at 1
    const h2Key = newCoinKey()
    const b2 = book.transfer(ask(w, h1, TAG.transfer, h2Key.id))
    const dep = w.ledger.deposit(ask(w, h1, TAG.deposit, newCoinKey().id))
    const spent = rec(dep.spent)
    assert.equal(spent.at, 1)
    const answered = (gen: number, seq: number) => book.coin(cert.coin).answered[`${gen}|${seq}`]
    const v = ownerVerdict(spent, 0, answered)
    assert.ok(v.spent && v.evidence != null)
    assert.equal(openSig(checkEvidence(verifier, v.evidence, w.broker.id).sigs[0]), memberIdOf(mallory))
    // a binding is no spent; a spent of the generation before (a renewal) does not stop the next one
    assert.deepEqual(ownerVerdict(rec(b2.b64), 0, answered), { spent: false })
    assert.deepEqual(ownerVerdict(spent, 1, answered), { spent: false })
    // spent with no other request answered there: refused, no evidence
    assert.deepEqual(
      ownerVerdict(spent, 0, () => undefined),
      { spent: true }
    )
  })
})
