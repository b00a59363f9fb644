// Batches: many payments, requests, owner answers and cash requests under one
// signature each, every object still checked and refused on its own.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { BATCH_ENVELOPE_VERSION, ErrorCode, P2payError, fromB64 } from '@p2pay/core'
import { buyCoins, info, world, type World } from './fixtures.ts'

const versionOf = (b64: string): number => fromB64(b64)[0]
/** The 64 signature bytes of an envelope (they follow the body in both layouts), as hex. */
function sigOf(b64: string): string {
  const b = fromB64(b64)
  const o = 2 + b[1] + 32
  const len = new DataView(b.buffer, b.byteOffset + o, 4).getUint32(0)
  return Buffer.from(b.subarray(o + 4 + len, o + 4 + len + 64)).toString('hex')
}

/** X pays Y `n` coins in one batch; Y accepts them all. */
function payBatch(w: World, n: number) {
  const coins = buyCoins(w, w.X, n, 1)
  const proofs = w.X.wallet.ownerPayMany(
    coins.map(c => c.sn),
    w.Y.id
  )
  const keys = proofs.map(p => w.Y.wallet.accept(p, w.X.id).holding.key)
  return { coins, proofs, keys }
}

describe('batches', () => {
  it('a purchase of many coins is one batch; each coin opens on its own', async () => {
    const w = await world()
    const coins = buyCoins(w, w.X, 5, 2)
    assert.equal(coins.length, 5)
    for (const c of coins) assert.equal(versionOf(c.coin), BATCH_ENVELOPE_VERSION)
    assert.equal(versionOf(buyCoins(w, w.X, 1, 2)[0].coin), 1, 'a single coin is a single envelope')
  })

  it('ownerPayMany: one signature for all, each proof accepted by the payee on its own', async () => {
    const w = await world()
    const { proofs } = payBatch(w, 4)
    const sigs = new Set(proofs.map(p => sigOf(p.chain![0].assign)))
    assert.equal(sigs.size, 1, 'one signature')
    for (const p of proofs) {
      assert.equal(versionOf(p.chain![0].assign), BATCH_ENVELOPE_VERSION)
      assert.equal(info(w, p).holder, w.Y.id)
      assert.equal(w.X.wallet.trailOf(info(w, p).sn).length, 1)
    }
    assert.equal(w.Y.wallet.spendableHeld().length, 4)
  })

  it('ownerPayMany refuses a coin named twice and signs nothing', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 2, 1)
    assert.throws(
      () => w.X.wallet.ownerPayMany([c.sn, c.sn], w.Y.id),
      (e: unknown) => {
        return e instanceof P2payError && e.code === ErrorCode.BAD_REQUEST
      }
    )
  })

  it('ownerReassignMany: each request alone; a coin twice in one call is STALE_SEQ, a bad one refused', async () => {
    const w = await world()
    const { proofs, keys } = payBatch(w, 4)
    const reqs = w.Y.wallet.beginSpendMany(keys, w.Z.id)
    assert.equal(versionOf(reqs[0].request), BATCH_ENVELOPE_VERSION)
    const items = proofs.map((proof, i) => ({ proof, request: reqs[i].request }))
    // the second copy of coin 0's request, and coin 3's request under coin 2's proof
    const asked = [...items, items[0], { proof: proofs[2], request: reqs[3].request }]
    const out = w.X.wallet.ownerReassignMany(asked)
    assert.equal(out.length, 6)
    for (let i = 0; i < 4; i++) {
      const r = out[i]
      assert.ok(!('error' in r), JSON.stringify(r))
      assert.equal(info(w, r.proof).holder, w.Z.id)
      assert.equal(r.to, w.Z.id, 'the new holder, as its assignment names it')
      w.Y.wallet.finishSpend(keys[i], r.proof)
      w.Z.wallet.accept(r.proof, w.X.id, 'reassign')
    }
    assert.equal('error' in out[4] && out[4].error.code, ErrorCode.STALE_SEQ)
    assert.ok('error' in out[5])
    // the owner assigned each coin exactly once more
    for (const p of proofs) assert.equal(w.X.wallet.t.owned.get(info(w, p).sn)!.seq, 2)
    // a replay after the call gets the same assignments
    const again = w.X.wallet.ownerReassignMany(items)
    again.forEach((r, i) => assert.deepEqual('proof' in r && r.proof, 'proof' in out[i] && out[i].proof))
    again.forEach(r => assert.deepEqual('to' in r && [r.replay, r.to], [true, w.Z.id]))
  })

  it('beginCashMany: new requests as one batch, those signed before kept; the broker pays each once', async () => {
    const w = await world()
    const { keys } = payBatch(w, 3)
    const first = w.Y.wallet.beginCashMany([keys[0]])
    const all = w.Y.wallet.beginCashMany(keys)
    assert.equal(all[0].cash, first[0].cash, 'a retry sends the same bytes')
    assert.equal(versionOf(all[1].cash), BATCH_ENVELOPE_VERSION)
    for (const c of all) assert.equal(w.ledger.cash(c.proof, c.cash).status, 'paid')
    for (const c of all) assert.equal(w.ledger.cash(c.proof, c.cash).status, 'paid', 'a repeat gets the first answer')
    assert.equal(w.ledger.balance(w.Y.id), 3)
    assert.equal(w.ledger.audit().holds, true)
  })
})
