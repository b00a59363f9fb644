// The DHT record rule: a newer place replaces, an older one is kept out, the same request is kept, and two
// records at one place answering different requests of one key are a conflict whose evidence checkEvidence accepts
// (two issues: owner evidence). Records are checked against the bytes received.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64, toB64 } from '@p2pay/core'
import { throwsCode } from '@p2pay/test-utils'
import { decideState, openState, type OpenedState } from '../src/core/coin-state.ts'
import { checkEvidence, checkOwnerEvidence } from '../src/core/evidence.ts'
import { newCoinKey } from '../src/core/holder.ts'
import { TAG } from '../src/core/messages.ts'
import { member, memberIdOf, openSig, peer, verifier } from './core-fixtures.ts'
import { ask, buy, certOf, issued, topup, viaOwner, world, type World } from './ledger-fixtures.ts'

const state = (w: World, cert: string, env: string): OpenedState =>
  openState(verifier, { cert, env }, w.broker.id, 'whopay-transfer')

async function setup() {
  const w = await world()
  const owner = await peer()
  topup(w, owner, 100)
  const { cert } = buy(w, owner, 20)
  return { w, owner, cert }
}

describe('coin state records', () => {
  it('a newer binding replaces, an older is kept out, the same is kept; a spent after a binding replaces', async () => {
    const { w, owner, cert } = await setup()
    const h1 = issued(owner, cert)
    const { holding: h2 } = viaOwner(w, owner, h1)
    const s1 = state(w, cert.b64, h1.binding!)
    const s2 = state(w, cert.b64, h2.binding!)
    assert.equal(s1.at, 0)
    assert.equal(s2.at, 1)
    assert.deepEqual(decideState(undefined, s1), { action: 'replace' })
    assert.deepEqual(decideState(s1, s2), { action: 'replace' })
    assert.deepEqual(decideState(s2, s1), { action: 'keep' })
    assert.deepEqual(decideState(s2, s2), { action: 'keep' })
    const dep = w.ledger.deposit(ask(w, h2, TAG.deposit, newCoinKey().id))
    const sp = state(w, cert.b64, dep.spent)
    assert.equal(sp.kind, 'spent')
    assert.equal(sp.at, 2)
    assert.deepEqual(decideState(s2, sp), { action: 'replace' })
    assert.deepEqual(decideState(sp, s2), { action: 'keep' })
  })

  it('a renewal (gen + 1) replaces the spent record of the generation before', async () => {
    const { w, owner, cert } = await setup()
    const h1 = issued(owner, cert)
    const r = w.ledger.renew(ask(w, h1, TAG.renew, newCoinKey().id))
    const spent = state(w, cert.b64, r.spent)
    const renewed = state(w, r.cert, r.binding)
    assert.equal(renewed.gen, 1)
    assert.deepEqual(decideState(spent, renewed), { action: 'replace' })
    assert.deepEqual(decideState(renewed, spent), { action: 'keep' })
    assert.equal(certOf(w, r.cert).gen, 1)
  })

  it('a transfer and a deposit by one key at one seq conflict, with evidence naming the signer', async () => {
    const { w, owner, cert } = await setup()
    const mallory = member()
    const h1 = { ...issued(owner, cert), m: mallory }
    const { holding: h2 } = viaOwner(w, owner, h1)
    const dep = w.ledger.deposit(ask(w, h1, TAG.deposit, newCoinKey().id))
    const d = decideState(state(w, cert.b64, dep.spent), state(w, cert.b64, h2.binding!))
    assert.equal(d.action, 'conflict')
    assert.ok(d.action === 'conflict' && d.evidence !== undefined)
    const c = checkEvidence(verifier, d.evidence, w.broker.id)
    assert.equal(openSig(c.sigs[0]), memberIdOf(mallory))
  })

  it('two issues by the owner conflict with owner evidence', async () => {
    const { w, owner, cert } = await setup()
    const a = state(w, cert.b64, issued(owner, cert).binding!)
    const b = state(w, cert.b64, issued(owner, cert).binding!)
    const d = decideState(a, b)
    assert.ok(d.action === 'conflict' && d.ownerEvidence !== undefined)
    assert.equal(checkOwnerEvidence(verifier, d.ownerEvidence, w.broker.id).owner, owner.id)
  })

  it('refuses tampered bytes, a certificate of another broker, a spent not signed by the broker', async () => {
    const { w, owner, cert } = await setup()
    const h1 = issued(owner, cert)
    const b = fromB64(h1.binding!)
    b[b.byteLength - 70] ^= 1
    throwsCode(() => state(w, cert.b64, toB64(b)), ErrorCode.BAD_SIGNATURE)
    const other = await world()
    throwsCode(
      () => openState(verifier, { cert: cert.b64, env: h1.binding }, other.broker.id, 'whopay-transfer'),
      ErrorCode.WRONG_BROKER
    )
    // a spent envelope signed by the owner
    const dep = w.ledger.deposit(ask(w, h1, TAG.deposit, newCoinKey().id))
    const body = verifier.open<object>(fromB64(dep.spent), TAG.spent, 'whopay-deposit').body
    const forged = toB64(owner.signer.sign(TAG.spent, body, 'whopay-deposit').bytes)
    throwsCode(() => state(w, cert.b64, forged), ErrorCode.WRONG_SIGNER)
    throwsCode(() => openState(verifier, null, w.broker.id, 'whopay-transfer'), ErrorCode.BAD_REQUEST)
  })
})
