// Certifying BLS keys at the broker: the proof of possession, escrow from the
// balance, idempotent repeats, and every refusal leaving the tables as they were.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode } from '@p2pay/core'
import { rejects, snapshot } from '@p2pay/test-utils'
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { aggregateVerify, proveKey, sign } from '../src/core/bls.ts'
import { openCertificate } from '../src/core/certificate.ts'
import { AggsignErrorCode } from '../src/errors.ts'
import { CERT_TTL, T0, peer, verifier } from './fixtures.ts'
import { b64, bal, conserved, topup, world } from './ledger-fixtures.ts'
import { g1Point, infinity } from './bls-points.ts'

const EXP = T0 + CERT_TTL

describe('certify', () => {
  it('escrows the limit and returns a certificate the broker signed, binding key and peer', async () => {
    const w = await world()
    const p = await peer()
    topup(w, p, 100)
    const r = w.ledger.certify(p.id, b64(p.bls.publicKey), b64(proveKey(p.bls.secretKey, p.id)), 60, EXP)
    assert.deepEqual(r.counts, { messages: 1, signed: 1, verified: 1 })
    const c = openCertificate(verifier, r.certificate, w.broker.id, 'aggsign-certify')
    assert.deepEqual([c.peer, c.key, c.limit, c.expiry, c.hash], [p.id, b64(p.bls.publicKey), 60, EXP, r.hash])
    assert.equal(bal(w, p), 40)
    assert.equal(w.ledger.t.certs.get(r.hash)!.escrow, 60)
    conserved(w)
  })

  it('the same request again returns the same certificate and changes nothing', async () => {
    const w = await world()
    const p = await peer()
    topup(w, p, 100)
    const args = [p.id, b64(p.bls.publicKey), b64(proveKey(p.bls.secretKey, p.id)), 60, EXP] as const
    const first = w.ledger.certify(...args)
    const before = snapshot(w.ledger.t)
    const again = w.ledger.certify(...args)
    assert.equal(again.certificate, first.certificate)
    assert.equal(snapshot(w.ledger.t), before)
    conserved(w)
  })

  it('a key that receives only (limit 0) needs no balance', async () => {
    const w = await world()
    const p = await peer()
    const r = w.ledger.certify(p.id, b64(p.bls.publicKey), b64(proveKey(p.bls.secretKey, p.id)), 0, EXP)
    assert.equal(w.ledger.t.certs.get(r.hash)!.escrow, 0)
    conserved(w)
  })

  it('refuses, changing nothing: short balance, other terms, another peer, bad times and bad bytes', async () => {
    const w = await world()
    const [p, q] = [await peer(), await peer()]
    topup(w, p, 100)
    const key = b64(p.bls.publicKey)
    const pop = b64(proveKey(p.bls.secretKey, p.id))
    w.ledger.certify(p.id, key, pop, 10, EXP)
    const t = w.ledger.t
    const other = await peer()
    topup(w, other, 5)
    const otherPop = b64(proveKey(other.bls.secretKey, other.id))
    rejects(
      t,
      () => w.ledger.certify(other.id, b64(other.bls.publicKey), otherPop, 6, EXP),
      ErrorCode.INSUFFICIENT_FUNDS
    )
    rejects(t, () => w.ledger.certify(p.id, key, pop, 11, EXP), ErrorCode.REPLAY)
    rejects(t, () => w.ledger.certify(p.id, key, pop, 10, EXP + 1), ErrorCode.REPLAY)
    // q brings p's key with p's proof: the proof names p, so it does not verify for q
    rejects(t, () => w.ledger.certify(q.id, key, pop, 0, EXP), AggsignErrorCode.BAD_POP)
    rejects(t, () => w.ledger.certify(other.id, b64(other.bls.publicKey), otherPop, 1, T0), ErrorCode.EXPIRED)
    rejects(
      t,
      () => w.ledger.certify(other.id, b64(other.bls.publicKey), otherPop, 1, T0 + 8 * CERT_TTL),
      ErrorCode.BAD_REQUEST
    )
    rejects(t, () => w.ledger.certify(other.id, b64(infinity(48)), otherPop, 0, EXP), ErrorCode.BAD_REQUEST)
    rejects(t, () => w.ledger.certify(other.id, b64(g1Point(3n)), otherPop, 0, EXP), ErrorCode.BAD_REQUEST)
    rejects(
      t,
      () => w.ledger.certify(other.id, b64(other.bls.publicKey), b64(infinity(96)), 0, EXP),
      ErrorCode.BAD_REQUEST
    )
    rejects(t, () => w.ledger.certify(other.id, b64(other.bls.publicKey), otherPop, -1, EXP), ErrorCode.BAD_REQUEST)
    rejects(t, () => w.ledger.certify('not-a-peer', b64(other.bls.publicKey), otherPop, 0, EXP), ErrorCode.BAD_REQUEST)
    // a signature of the key under the message domain is no proof of possession
    const bare = b64(sign(other.bls.secretKey, other.bls.publicKey))
    rejects(t, () => w.ledger.certify(other.id, b64(other.bls.publicKey), bare, 0, EXP), AggsignErrorCode.BAD_POP)
    conserved(w)
  })

  it('a rogue key (pk_attacker - pk_victim) cannot be certified: nobody can make its proof of possession', async () => {
    const w = await world()
    const [victim, attacker] = [await peer(), await peer()]
    const G1 = bls12_381.G1.Point
    const rogue = G1.fromBytes(attacker.bls.publicKey).subtract(G1.fromBytes(victim.bls.publicKey)).toBytes()
    // what the rogue key would do: with the victim's key it "co-signs" anything the attacker alone signs
    const msg = new TextEncoder().encode('p2pay/aggsign/test/v1\0rogue')
    assert.ok(aggregateVerify([msg, msg], [victim.bls.publicKey, rogue], sign(attacker.bls.secretKey, msg)))
    const t = w.ledger.t
    // the attacker can only prove possession of its own key, or replay the victim's proof
    for (const pop of [proveKey(attacker.bls.secretKey, attacker.id), proveKey(victim.bls.secretKey, victim.id)])
      rejects(t, () => w.ledger.certify(attacker.id, b64(rogue), b64(pop), 0, EXP), AggsignErrorCode.BAD_POP)
    assert.equal(t.certs.size, 0)
    conserved(w)
  })
})
