// The owner issuing its coin while its coin key spends it at seq 0 (two issues: ledger-downtime.test.ts): refused
// FRAUD with owner evidence checkOwnerEvidence accepts; conviction pays the honest holder from the owner's account;
// refusals leave the tables as they were; money is conserved.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { rejects, throwsCode } from '@p2pay/test-utils'
import { WhopayErrorCode } from '../src/errors.ts'
import { checkOwnerEvidence } from '../src/core/evidence.ts'
import { newCoinKey } from '../src/core/holder.ts'
import { TAG } from '../src/core/messages.ts'
import { member, peer, request, verifier } from './core-fixtures.ts'
import { ask, buy, conserved, issued, tables, topup, world, type Holding } from './ledger-fixtures.ts'

async function start() {
  const w = await world()
  const owner = await peer()
  topup(w, owner, 100)
  const { cert, key } = buy(w, owner, 20)
  const own: Holding = { cert, key, seq: 0, m: member() }
  return { w, owner, cert, own }
}

describe("the owner's frauds", () => {
  it('issues its coin, then deposits it itself: the holder is paid from the owner after conviction', async () => {
    const { w, owner, cert, own } = await start()
    const h1 = issued(owner, cert)
    w.ledger.deposit(ask(w, own, TAG.deposit, newCoinKey().id))
    conserved(w)
    const purse = newCoinKey().id
    const honest = ask(w, h1, TAG.deposit, purse)
    const err = rejects(tables(w), () => w.ledger.deposit(honest), ErrorCode.FRAUD)
    assert.equal(err.details?.compensate, true)
    const c = checkOwnerEvidence(verifier, err.details?.ownerEvidence, w.broker.id)
    assert.equal(c.owner, owner.id)
    assert.equal(c.seq, 0)
    const f = w.ledger.convict({ evidence: c, cheater: owner.id, honest })
    assert.equal(f.kind, 'owner')
    assert.deepEqual(f.compensated, [{ purse, value: 20, from: owner.id }])
    assert.equal(w.ledger.books.purse(purse), 20)
    // 100 - 20 bought + 20 its own seq-0 deposit paid into its account - 20 paid to the holder
    assert.equal(w.ledger.books.balance(owner.id), 80)
    conserved(w)
  })

  it('its coin key spending at seq 0 after the broker learnt the issue: FRAUD, nothing paid', async () => {
    const { w, owner, cert, own } = await start()
    const h1 = issued(owner, cert)
    assert.equal(w.ledger.adoptBinding(h1.binding).advanced, true)
    const err = rejects(tables(w), () => w.ledger.deposit(ask(w, own, TAG.deposit, newCoinKey().id)), ErrorCode.FRAUD)
    assert.equal(err.details?.compensate, false)
    checkOwnerEvidence(verifier, err.details?.ownerEvidence, w.broker.id)
    // a seq-0 transfer to the very holder it issued to is no conflict, only stale
    rejects(tables(w), () => w.ledger.downtimeTransfer(ask(w, own, TAG.transfer, h1.key.id)), ErrorCode.STALE_SEQ)
    conserved(w)
  })

  it('owner evidence is refused when the seq-0 spend passes the coin on to the issued holder, or is not', async () => {
    const { w, owner, cert, own } = await start()
    const h1 = issued(owner, cert)
    const at = { coin: cert.coin, gen: 0, seq: 0 }
    const consistent = request(own.key, own.m, TAG.transfer, at, h1.key.id)
    const e = (spend: unknown) => () =>
      checkOwnerEvidence(verifier, { cert: cert.b64, a: h1.binding, spend }, w.broker.id)
    throwsCode(e(consistent), WhopayErrorCode.NOT_CONFLICT)
    throwsCode(e(request(newCoinKey(), own.m, TAG.deposit, at, newCoinKey().id)), WhopayErrorCode.NOT_CONFLICT)
    throwsCode(
      e(request(own.key, own.m, TAG.deposit, { ...at, seq: 1 }, newCoinKey().id)),
      WhopayErrorCode.NOT_CONFLICT
    )
    const both = { cert: cert.b64, a: h1.binding, b: h1.binding, spend: consistent }
    throwsCode(() => checkOwnerEvidence(verifier, both, w.broker.id), ErrorCode.BAD_REQUEST)
    assert.equal(
      checkOwnerEvidence(
        verifier,
        { cert: cert.b64, a: h1.binding, spend: request(own.key, own.m, TAG.deposit, at, newCoinKey().id) },
        w.broker.id
      ).owner,
      owner.id
    )
  })
})
