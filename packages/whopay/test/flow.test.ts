// One coin's life through the pure cores, every party with its own verifier, counters and cache of what it
// verified: purchase, issue, a transfer via the owner (counted against the paper's Table I row: 3 signatures
// generated, 4 verified), the DHT record rule, a double transfer caught by the broker after it learnt the
// owner's binding from the DHT and convicted after opening, the deposit and the withdrawal; money conserved.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { ErrorCode, Metrics, VerifiedCache, Verifier, memoryTables, signerFor, type Signer } from '@p2pay/core'
import { rejects } from '@p2pay/test-utils'
import { openShown } from '../src/core/coin.ts'
import { decideState, openState, type OpenedState } from '../src/core/coin-state.ts'
import { checkEvidence } from '../src/core/evidence.ts'
import { holderSigned, newCoinKey } from '../src/core/holder.ts'
import { TAG } from '../src/core/messages.ts'
import { OwnerBook } from '../src/core/owner.ts'
import { Wallet } from '../src/core/wallet.ts'
import type { WhopayKind } from '../src/kinds.ts'
import { OWNER_TABLES, WALLET_TABLES } from '../src/tables.ts'
import { backend, groupSign, groupVerify, member, memberIdOf, openSig, verifier } from './core-fixtures.ts'
import { conserved, tables, topup, world } from './ledger-fixtures.ts'

interface Party {
  id: string
  signer: Signer<WhopayKind>
  verifier: Verifier<WhopayKind>
  metrics: Metrics
}

async function party(): Promise<Party> {
  const metrics = new Metrics()
  const cache = new VerifiedCache()
  const signer = signerFor(await generateKeyPair('Ed25519'), backend, metrics, cache) as Signer<WhopayKind>
  return { id: signer.peerId, signer, verifier: new Verifier<WhopayKind>(backend, metrics, cache), metrics }
}

const count = (p: Party, what: 'generated' | 'verified', kind: WhopayKind = 'whopay-transfer'): number =>
  p.metrics.snapshot()[`signatures_${what}_total{kind="${kind}"}`] ?? 0

describe('a coin through the cores', () => {
  it('issue, transfer via the owner (3 generated, 4 verified), a double transfer convicted, deposit', async () => {
    const w = await world()
    const [owner, alice, bob] = await Promise.all([party(), party(), party()])
    const mAlice = member()
    const mBob = member()
    const registry = new Map([
      [memberIdOf(mAlice), alice.id],
      [memberIdOf(mBob), bob.id]
    ])
    topup(w, owner, 100)
    const wallet = (p: Party): Wallet =>
      new Wallet(memoryTables(WALLET_TABLES), {
        verifier: p.verifier,
        backend,
        broker: w.broker.id,
        now: w.clock.now,
        metrics: p.metrics
      })
    const [aliceW, bobW] = [wallet(alice), wallet(bob)]
    const book = new OwnerBook(memoryTables(OWNER_TABLES), owner.signer, owner.verifier, w.broker.id, w.clock.now)

    // purchase and issue to alice's invoiced key
    const inv = aliceW.invoice(10)
    const coinKey = newCoinKey()
    const bought = w.ledger.purchase(owner.id, coinKey.id, 10)
    book.add(bought.cert, coinKey.seed)
    const issue = book.issue(coinKey.id, inv.key)
    const held = aliceW.accept(bought.cert, issue.b64)

    // the DHT keeps the newest record
    const keeper = (env: string): OpenedState =>
      openState(verifier, { cert: bought.cert, env }, w.broker.id, 'whopay-transfer')
    let kept = keeper(issue.b64)

    // alice pays bob through the owner: what each party signs and verifies in it
    const before = [owner, alice, bob].map(p => [count(p, 'generated'), count(p, 'verified')])
    const invB = bobW.invoice(10)
    const req = aliceW.request(held.key, TAG.transfer, invB.key)
    const signed = holderSigned(req.env.bytes, groupSign(mAlice, req.digest))
    alice.metrics.signed('whopay-transfer') // the group signature, counted by hand as the services do
    aliceW.spending(held.key, signed)
    const shown = openShown(
      owner.verifier,
      { cert: bought.cert, binding: held.binding, request: signed },
      { broker: w.broker.id },
      TAG.transfer,
      'whopay-transfer'
    )
    assert.ok(groupVerify(shown.groups[0].digest, shown.groups[0].sig))
    owner.metrics.verified('whopay-transfer')
    const b2 = book.transfer(shown)
    // the payee verifies the certificate and the binding (it counts them under the delivery it accepts)
    const bobHeld = bobW.accept(bought.cert, b2.b64)
    aliceW.settled(held.key, 'spent')
    const after = [owner, alice, bob].map(p => [count(p, 'generated'), count(p, 'verified')])
    const delta = after.map((a, i) => [a[0] - before[i][0], a[1] - before[i][1]])
    const generated = delta.reduce((n, d) => n + d[0], 0)
    const verifiedByOwner = delta[0][1]
    assert.equal(generated, 3, 'coin-key signature + group signature + owner binding')
    assert.equal(
      verifiedByOwner,
      2,
      'the owner verifies the coin-key and the group signature (cert and its own issue cached)'
    )
    assert.equal(count(bob, 'verified', 'whopay-deliver'), 2, 'the payee verifies the certificate and the binding')
    assert.equal(verifiedByOwner + count(bob, 'verified', 'whopay-deliver'), 4, 'Table I: 4 verified per transfer')

    const next = keeper(b2.b64)
    assert.deepEqual(decideState(kept, next), { action: 'replace' })
    kept = next

    // alice cheats: the same holding key, the same seq, to carol through the broker (owner "offline")
    const carol = newCoinKey()
    aliceW.t.held.set(held.key, { ...aliceW.held(held.key), status: 'held' }) // a wallet that forgets it spent
    const r2 = aliceW.request(held.key, TAG.transfer, carol.id)
    const again = holderSigned(r2.env.bytes, groupSign(mAlice, r2.digest))
    const s2 = openShown(
      verifier,
      { cert: bought.cert, binding: held.binding, request: again },
      { broker: w.broker.id },
      TAG.transfer,
      'whopay-transfer'
    )
    // real time: the broker reads the coin's state in the DHT first and learns bob's binding
    assert.equal(w.ledger.adoptBinding(kept.record.env).advanced, true)
    const err = rejects(tables(w), () => w.ledger.downtimeTransfer(s2), ErrorCode.FRAUD)
    const c = checkEvidence(verifier, err.details?.evidence, w.broker.id)
    assert.ok(c.sigs.every((sig, i) => groupVerify(c.digests[i], sig)))
    const named = c.sigs.map(openSig).map(a => registry.get(a))
    assert.deepEqual(named, [alice.id, alice.id])
    const f = w.ledger.convict({ evidence: c, cheater: alice.id, openings: [] })
    assert.equal(f.cheater, alice.id)
    conserved(w)

    // bob deposits into his purse and withdraws to his account
    const purse = bobW.purse()
    const d = bobW.request(bobHeld.key, TAG.deposit, purse.key)
    const ds = holderSigned(d.env.bytes, groupSign(mBob, d.digest))
    bobW.spending(bobHeld.key, ds)
    const sd = openShown(
      verifier,
      { cert: bought.cert, binding: bobHeld.binding, request: ds },
      { broker: w.broker.id },
      TAG.deposit,
      'whopay-deposit'
    )
    assert.equal(w.ledger.deposit(sd).value, 10)
    bobW.settled(bobHeld.key, 'deposited')
    w.ledger.withdraw(bobW.withdrawal(bob.id, 10))
    assert.equal(w.ledger.books.balance(bob.id), 10)
    assert.equal(w.ledger.audit().custody, 0)
    conserved(w)
  })
})
