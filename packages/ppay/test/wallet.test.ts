// The wallet: what an owner signs and records, what a holder accepts, spends,
// layers and cashes, and every refusal leaving the wallet's tables untouched.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64, type Table } from '@p2pay/core'
import { TAG, type AssignBody, type CoinProof } from '../src/types.ts'
import { verifyCoin } from '../src/verify.ts'
import { Wallet, pickExact, holdingKey } from '../src/wallet.ts'
import {
  world, ident, party, sign, verifier, info, requestFor, layerFor, chainToZ, buyCoins, buyRequest, walletTables, accept, flip, layout, withVersion,
  rejects, throwsCode, snapshot, T0, COIN_TTL, type World
} from './fixtures.ts'

function assignTo (w: World, sn: string, holder: string, over: Partial<AssignBody> = {}): CoinProof {
  const coin = w.X.wallet.t.owned.get(sn)!.coin
  const hash = verifyCoin(verifier, coin, w.broker.id, 't').hash
  return { coin, assign: sign<AssignBody>(w.X, TAG.assign, { sn, coin: hash, owner: w.X.id, seq: 1, holder, request: null, ...over }) }
}

describe('buying', () => {
  it('stores bought coins once, checks them, and clears the pending purchase', async () => {
    const w = await world()
    w.ledger.topup(w.X.id, 50)
    w.X.wallet.t.pendingBuys.set('n0nce-123', { nonce: 'n0nce-123', buy: 'b', at: 0 })
    const { coins } = w.ledger.buy(buyRequest(w, w.X, 3, 5, 'n0nce-123'))
    const owned = w.X.wallet.addBoughtCoins(coins, 'n0nce-123')
    assert.equal(owned.length, 3)
    assert.equal(w.X.wallet.t.owned.size, 3)
    assert.equal(w.X.wallet.t.pendingBuys.has('n0nce-123'), false)
    for (const c of owned) assert.deepEqual([c.seq, c.holder, c.value, c.expiry, c.assign], [0, w.X.id, 5, T0 + COIN_TTL, null])
    // idempotent
    const again = w.X.wallet.addBoughtCoins(coins, 'n0nce-123')
    assert.deepEqual(again, owned)
    assert.equal(w.X.wallet.t.owned.size, 3)
    assert.deepEqual(w.X.wallet.spendableOwned().map(c => c.sn).sort(), owned.map(c => c.sn).sort())
  })

  it('refuses coins owned by someone else (WRONG_OWNER) or not signed by its broker (WRONG_BROKER)', async () => {
    const w = await world()
    const [forY] = buyCoins(w, w.Y, 1, 5)
    rejects(w.X.wallet.t, () => w.X.wallet.addBoughtCoins([forY.coin], 'n'), ErrorCode.WRONG_OWNER)
    const mallory = await ident()
    const fake = sign(mallory, TAG.coin, { broker: w.broker.id, owner: w.X.id, sn: 'ab'.repeat(16), value: 5, expiry: T0 + COIN_TTL })
    rejects(w.X.wallet.t, () => w.X.wallet.addBoughtCoins([fake], 'n'), ErrorCode.WRONG_BROKER)
  })

  it('a list with a bad coin after good ones throws, and is only atomic through Table.rollback', async () => {
    const w = await world()
    const [mine] = buyCoins(w, w.X, 1, 5)
    const [forY] = buyCoins(w, w.Y, 1, 5)
    // a second wallet of X's key with empty tables
    const X2 = { wallet: new Wallet(walletTables(), w.X.signer, verifier, w.X.wallet.cfg) }
    const tables = Object.values(X2.wallet.t) as Table[]
    for (const t of tables) t.settle()
    const before = snapshot(X2.wallet.t)
    throwsCode(() => X2.wallet.addBoughtCoins([mine.coin, forY.coin], 'n'), ErrorCode.WRONG_OWNER)
    // the good coin was stored before the bad one was seen: the caller must roll back
    assert.equal(X2.wallet.t.owned.size, 1)
    for (const t of tables) t.rollback()
    assert.equal(snapshot(X2.wallet.t), before)
  })
})

describe('owner side', () => {
  it('ownerPay signs seq 1 to the payee and records it in owned and trail', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const i = info(w, p1, false)
    assert.deepEqual([i.seq, i.holder, i.owner, i.value], [1, w.Y.id, w.X.id, 10])
    const rec = w.X.wallet.t.owned.get(c.sn)!
    assert.deepEqual([rec.seq, rec.holder, rec.assign, rec.assignHash], [1, w.Y.id, p1.assign, i.assign!.hash])
    const trail = w.X.wallet.trailOf(c.sn)
    assert.equal(trail.length, 1)
    assert.deepEqual([trail[0].seq, trail[0].holder, trail[0].request, trail[0].by, trail[0].assign], [1, w.Y.id, null, 'owner', p1.assign])
    assert.deepEqual(w.X.wallet.spendableOwned(), [])
  })

  it('ownerPay refusals: unknown coin, already assigned, refunded, expired, paying oneself', async () => {
    const w = await world()
    const [a, b, c, d] = buyCoins(w, w.X, 4, 10)
    const t = w.X.wallet.t
    rejects(t, () => w.X.wallet.ownerPay('nope', w.Y.id), ErrorCode.NO_SUCH_COIN)
    w.X.wallet.ownerPay(a.sn, w.Y.id)
    rejects(t, () => w.X.wallet.ownerPay(a.sn, w.Z.id), ErrorCode.STALE_SEQ)
    w.X.wallet.beginRefund(b.sn)
    rejects(t, () => w.X.wallet.ownerPay(b.sn, w.Z.id), ErrorCode.STALE_SEQ)
    rejects(t, () => w.X.wallet.ownerPay(c.sn, w.X.id), ErrorCode.BAD_REQUEST)
    w.clock.t = d.expiry - 1
    assert.equal(w.X.wallet.spendableOwned().length, 2)
    w.clock.t = d.expiry + 1
    assert.equal(w.X.wallet.spendableOwned().length, 0)
    rejects(t, () => w.X.wallet.ownerPay(d.sn, w.Y.id), ErrorCode.EXPIRED)
  })

  it('ownerReassign: seq 2 to the requested payee, the request kept in the trail', async () => {
    const w = await world()
    const { sn, p1, p2, request, keyY } = chainToZ(w)
    const i2 = info(w, p2, false)
    assert.deepEqual([i2.seq, i2.holder, i2.request?.body.from], [2, w.Z.id, w.Y.id])
    assert.equal(p2.request, request)
    assert.equal(i2.assign!.body.request, i2.request!.hash)
    const rec = w.X.wallet.t.owned.get(sn)!
    assert.deepEqual([rec.seq, rec.holder, rec.assign], [2, w.Z.id, p2.assign])
    const trail = w.X.wallet.trailOf(sn)
    assert.deepEqual(trail.map(e => [e.seq, e.holder, e.request, e.by]), [[1, w.Y.id, null, 'owner'], [2, w.Z.id, request, 'owner']])
    assert.equal(w.Y.wallet.t.held.get(keyY)!.status, 'spent')
    assert.equal(info(w, p1).seq, 1)
  })

  it('a replayed request gets the same assignment with replay=true and no new trail entry', async () => {
    const w = await world()
    const { p1, p2, request } = chainToZ(w)
    const before = snapshot(w.X.wallet.t)
    const again = w.X.wallet.ownerReassign(p1, request)
    assert.equal(again.replay, true)
    assert.deepEqual(again.proof, p2)
    assert.equal(snapshot(w.X.wallet.t), before)
  })

  it('a request the owner cannot honour leaves its tables unchanged', async () => {
    const w = await world()
    const { sn, p1, p2 } = chainToZ(w)
    const t = w.X.wallet.t
    // Y asks again for the position it already gave to Z
    rejects(t, () => w.X.wallet.ownerReassign(p1, requestFor(w, w.Y, p1, w.W.id)), ErrorCode.STALE_SEQ)
    // Z asks with the right tip but a stale seq
    rejects(t, () => w.X.wallet.ownerReassign(p2, requestFor(w, w.Z, p2, w.W.id, { seq: 1 })), ErrorCode.STALE_SEQ)
    // W (not the holder) signs a request for Z's coin
    rejects(t, () => w.X.wallet.ownerReassign(p2, requestFor(w, w.W, p2, w.Y.id)), ErrorCode.WRONG_HOLDER)
    rejects(t, () => w.X.wallet.ownerReassign(p2, requestFor(w, w.W, p2, w.Y.id, { from: w.Z.id })), ErrorCode.WRONG_HOLDER)
    // a node that is not the owner is asked
    rejects(w.Y.wallet.t, () => w.Y.wallet.ownerReassign(p2, requestFor(w, w.Z, p2, w.W.id)), ErrorCode.WRONG_OWNER)
    // tampered, re-versioned, mis-tagged objects
    const req = requestFor(w, w.Z, p2, w.W.id)
    rejects(t, () => w.X.wallet.ownerReassign(p2, flip(req, layout(req).bodyStart + 5)), ErrorCode.BAD_SIGNATURE)
    rejects(t, () => w.X.wallet.ownerReassign({ ...p2, assign: flip(p2.assign!, layout(p2.assign!).sigStart + 7) }, req), ErrorCode.BAD_SIGNATURE)
    rejects(t, () => w.X.wallet.ownerReassign(p2, withVersion(req, 2)), ErrorCode.UNKNOWN_VERSION)
    rejects(t, () => w.X.wallet.ownerReassign(p2, p2.assign!), ErrorCode.WRONG_TAG)
    // expired
    w.clock.t = info(w, p2).expiry + 1
    rejects(t, () => w.X.wallet.ownerReassign(p2, req), ErrorCode.EXPIRED)
    w.clock.t = T0
    assert.deepEqual(w.X.wallet.ownerReassign(p2, req).replay, false)
    assert.equal(w.X.wallet.t.owned.get(sn)!.holder, w.W.id)
  })

  it('a holder of a second seq-1 assignment the owner signed is not the current holder (WRONG_HOLDER)', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    w.X.wallet.ownerPay(c.sn, w.Y.id)
    const pz = assignTo(w, c.sn, w.Z.id)
    rejects(w.X.wallet.t, () => w.X.wallet.ownerReassign(pz, requestFor(w, w.Z, pz, w.W.id)), ErrorCode.WRONG_HOLDER)
  })

  it('adopts a broker (downtime) assignment it has not synced yet, then reassigns on top of it', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const keyY = accept(w.Y, p1, w.X.id).key
    const { request } = w.Y.wallet.beginSpend(keyY, w.Z.id)
    const dt = w.ledger.downtimeReassign(p1, request)
    assert.equal(dt.status, 'ok')
    if (dt.status !== 'ok') return
    const pz: CoinProof = { coin: p1.coin, assign: dt.assign, request: dt.request }
    w.Y.wallet.finishSpend(keyY, pz)
    const keyZ = accept(w.Z, pz, w.Y.id).key
    const { request: reqW } = w.Z.wallet.beginSpend(keyZ, w.W.id)
    const r = w.X.wallet.ownerReassign(pz, reqW)
    assert.equal(r.replay, false)
    assert.equal(info(w, r.proof).seq, 3)
    assert.deepEqual(w.X.wallet.trailOf(c.sn).map(e => [e.seq, e.holder, e.by]), [[1, w.Y.id, 'owner'], [2, w.Z.id, 'broker'], [3, w.W.id, 'owner']])
    // syncing the log afterwards adopts nothing new and finds no conflict
    const [entry] = w.ledger.downtimeLog(w.X.id, 0)
    assert.deepEqual(w.X.wallet.applyDowntime(entry), { adopted: false })
    assert.equal(w.X.wallet.t.meta.get('meta')!.downtimeCursor, 1)
  })

  it('applyDowntime adopts the next assignment, and ignores entries for coins it does not own', async () => {
    const w = await world()
    const { sn, p2 } = chainToZ(w)
    const req = requestFor(w, w.Z, p2, w.W.id)
    assert.equal(w.ledger.downtimeReassign(p2, req).status, 'ok')
    const [entry] = w.ledger.downtimeLog(w.X.id, 0)
    assert.equal(entry.n, 1)
    // a stranger syncing X's log: nothing adopted, cursor advanced
    const other = await party(w.broker.id, w.clock)
    assert.deepEqual(other.wallet.applyDowntime(entry), { adopted: false })
    assert.equal(other.wallet.t.owned.size, 0)
    assert.deepEqual(w.X.wallet.applyDowntime(entry), { adopted: true })
    const rec = w.X.wallet.t.owned.get(sn)!
    assert.deepEqual([rec.seq, rec.holder, rec.assign], [3, w.W.id, entry.assign])
    assert.equal(w.X.wallet.trailOf(sn)[2].by, 'broker')
    assert.deepEqual(w.X.wallet.applyDowntime(entry), { adopted: false }, 're-applying is a no-op')
    // a forged entry (not signed by the broker) is refused
    const forged = sign(w.X, TAG.downtimeAssign, verifier.open<AssignBody>(fromB64(entry.assign), TAG.downtimeAssign, 't').body)
    rejects(w.X.wallet.t, () => w.X.wallet.applyDowntime({ ...entry, assign: forged }), ErrorCode.WRONG_SIGNER)
    rejects(w.X.wallet.t, () => w.X.wallet.applyDowntime({ ...entry, request: requestFor(w, w.Z, p2, w.Y.id) }), ErrorCode.BAD_REQUEST)
  })

  it('refund: signs a seq-0 cash once; refused after the coin was assigned', async () => {
    const w = await world()
    const [a, b] = buyCoins(w, w.X, 2, 10)
    const r1 = w.X.wallet.beginRefund(a.sn)
    assert.deepEqual(r1.proof, { coin: a.coin })
    assert.deepEqual(w.X.wallet.beginRefund(a.sn), r1, 'a retry sends the same bytes')
    const cash = verifier.open<any>(fromB64(r1.cash), TAG.cash, 't')
    assert.deepEqual([cash.body.seq, cash.body.depth, cash.body.holder, cash.signer], [0, 0, w.X.id, w.X.id])
    w.X.wallet.ownerPay(b.sn, w.Y.id)
    rejects(w.X.wallet.t, () => w.X.wallet.beginRefund(b.sn), ErrorCode.STALE_SEQ)
    rejects(w.X.wallet.t, () => w.X.wallet.beginRefund('nope'), ErrorCode.NO_SUCH_COIN)
  })
})

describe('holder side', () => {
  it('accept stores the holding once; a duplicate is reported as such', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const r = w.Y.wallet.accept(p1, w.X.id)
    assert.equal(r.duplicate, false)
    assert.deepEqual([r.holding.key, r.holding.seq, r.holding.depth, r.holding.status, r.holding.value, r.holding.from], [holdingKey({ sn: c.sn, seq: 1, depth: 0 }), 1, 0, 'held', 10, w.X.id])
    const before = snapshot(w.Y.wallet.t)
    assert.equal(w.Y.wallet.accept(p1, w.X.id).duplicate, true)
    assert.equal(snapshot(w.Y.wallet.t), before)
    assert.deepEqual(w.Y.wallet.spendableHeld().map(h => h.key), [r.holding.key])
  })

  it('accept refusals leave the wallet unchanged', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const t = w.Y.wallet.t
    rejects(w.Z.wallet.t, () => w.Z.wallet.accept(p1, w.X.id), ErrorCode.WRONG_HOLDER)
    rejects(t, () => w.Y.wallet.accept({ ...p1, assign: flip(p1.assign!, layout(p1.assign!).bodyStart + 3) }, w.X.id), ErrorCode.BAD_SIGNATURE)
    rejects(t, () => w.Y.wallet.accept({ ...p1, coin: flip(p1.coin, layout(p1.coin).sigStart) }, w.X.id), ErrorCode.BAD_SIGNATURE)
    rejects(t, () => w.Y.wallet.accept({ ...p1, assign: withVersion(p1.assign!, 7) }, w.X.id), ErrorCode.UNKNOWN_VERSION)
    rejects(t, () => w.Y.wallet.accept({ ...p1, coin: p1.assign! }, w.X.id), ErrorCode.WRONG_TAG)
    const mallory = await ident()
    const fakeCoin = sign(mallory, TAG.coin, { broker: w.broker.id, owner: w.X.id, sn: c.sn, value: 1000, expiry: T0 + COIN_TTL })
    rejects(t, () => w.Y.wallet.accept({ ...p1, coin: fakeCoin }, w.X.id), ErrorCode.WRONG_BROKER)
    w.clock.t = c.expiry + 1
    rejects(t, () => w.Y.wallet.accept(p1, w.X.id), ErrorCode.EXPIRED)
    assert.equal(t.held.size, 0)
  })

  it('beginSpend signs once per holding; a different payee is STALE_SEQ; finishSpend checks the answer', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const p1 = w.X.wallet.ownerPay(c.sn, w.Y.id)
    const key = accept(w.Y, p1, w.X.id).key
    const t = w.Y.wallet.t
    rejects(t, () => w.Y.wallet.beginSpend(key, w.Y.id), ErrorCode.BAD_REQUEST)
    rejects(t, () => w.Y.wallet.beginSpend('nope', w.Z.id), ErrorCode.NO_SUCH_COIN)
    const s1 = w.Y.wallet.beginSpend(key, w.Z.id)
    assert.equal(s1.holding.status, 'spending')
    assert.deepEqual(w.Y.wallet.beginSpend(key, w.Z.id).request, s1.request)
    rejects(t, () => w.Y.wallet.beginSpend(key, w.W.id), ErrorCode.STALE_SEQ)
    rejects(t, () => w.Y.wallet.layer(key, w.W.id), ErrorCode.STALE_SEQ)
    rejects(t, () => w.Y.wallet.beginCash(key), ErrorCode.STALE_SEQ)
    const { proof: p2 } = w.X.wallet.ownerReassign(p1, s1.request)
    // an answer for another request is not accepted
    rejects(t, () => w.Y.wallet.finishSpend(key, p1), ErrorCode.BAD_REQUEST)
    assert.deepEqual(w.Y.wallet.finishSpend(key, p2), p2)
    assert.equal(t.held.get(key)!.status, 'spent')
    assert.deepEqual(w.Y.wallet.finishSpend(key, p2), p2, 'idempotent')
    rejects(t, () => w.Y.wallet.beginSpend(key, w.Z.id), ErrorCode.STALE_SEQ)
  })

  it('beginSpend on an expired holding is EXPIRED and signs nothing', async () => {
    const w = await world()
    const [c] = buyCoins(w, w.X, 1, 10)
    const key = accept(w.Y, w.X.wallet.ownerPay(c.sn, w.Y.id), w.X.id).key
    w.clock.t = c.expiry + 1
    assert.deepEqual(w.Y.wallet.spendableHeld(), [])
    rejects(w.Y.wallet.t, () => w.Y.wallet.beginSpend(key, w.Z.id), ErrorCode.EXPIRED)
  })

  it('layering: Z layers to W (depth 1), W to Y (depth 2); a third layer is LAYER_DEPTH', async () => {
    const w = await world()
    const { keyZ } = chainToZ(w)
    const pW = w.Z.wallet.layer(keyZ, w.W.id)
    assert.equal(w.Z.wallet.t.held.get(keyZ)!.status, 'spent')
    assert.equal(w.Z.wallet.t.held.get(keyZ)!.layer?.to, w.W.id)
    const hW = accept(w.W, pW, w.Z.id)
    assert.deepEqual([hW.seq, hW.depth], [2, 1])
    rejects(w.W.wallet.t, () => w.W.wallet.beginSpend(hW.key, w.Y.id), ErrorCode.BAD_REQUEST)
    const pY = w.W.wallet.layer(hW.key, w.Y.id)
    const hY = accept(w.Y, pY, w.W.id)
    assert.equal(hY.depth, 2)
    rejects(w.Y.wallet.t, () => w.Y.wallet.layer(hY.key, w.Z.id), ErrorCode.LAYER_DEPTH)
    // a hand-made third layer is refused by the verifier too
    rejects(w.Z.wallet.t, () => w.Z.wallet.accept(layerFor(w, w.Y, pY, w.Z.id), w.Y.id), ErrorCode.LAYER_DEPTH)
    rejects(w.Z.wallet.t, () => w.Z.wallet.layer(keyZ, w.Y.id), ErrorCode.STALE_SEQ)
  })

  it('beginCash signs once (retries send the same bytes), works within the grace period, and finishCash records the result', async () => {
    const w = await world()
    const { keyZ, keyY } = chainToZ(w)
    w.clock.t = T0 + COIN_TTL + 1 // expired, still cashable
    const c1 = w.Z.wallet.beginCash(keyZ)
    assert.equal(w.Z.wallet.t.held.get(keyZ)!.status, 'cashing')
    assert.deepEqual(w.Z.wallet.beginCash(keyZ), c1)
    rejects(w.Z.wallet.t, () => w.Z.wallet.layer(keyZ, w.W.id), ErrorCode.STALE_SEQ)
    w.Z.wallet.finishCash(keyZ, { status: 'paid' })
    assert.equal(w.Z.wallet.t.held.get(keyZ)!.status, 'cashed')
    rejects(w.Z.wallet.t, () => w.Z.wallet.beginCash(keyZ), ErrorCode.STALE_SEQ)
    // a spent holding cannot be marked cashed
    rejects(w.Y.wallet.t, () => w.Y.wallet.finishCash(keyY, { status: 'paid' }), ErrorCode.STALE_SEQ)
  })
})

describe('pickExact', () => {
  const coins = (...vs: number[]) => vs.map((value, i) => ({ value, id: i }))
  const sum = (cs: Array<{ value: number }> | null) => cs == null ? null : cs.reduce((n, c) => n + c.value, 0)

  it('greedy exact combinations', () => {
    const pool = coins(1, 2, 5, 10, 10)
    for (const amount of [1, 3, 7, 12, 17, 28]) {
      const p = pickExact(pool, amount)
      assert.equal(sum(p), amount, `amount ${amount}`)
      assert.equal(new Set(p!.map(c => c.id)).size, p!.length, 'no coin picked twice')
    }
    assert.deepEqual(pickExact(pool, 10)!.map(c => c.value), [10])
    assert.deepEqual(pickExact(pool, 28)!.map(c => c.value).sort((a, b) => a - b), [1, 2, 5, 10, 10])
  })

  it('finds subsets greedy misses: 6 from {5,3,3}, 8 from {6,4,4}', () => {
    assert.deepEqual(pickExact(coins(5, 3, 3), 6)!.map(c => c.value), [3, 3])
    assert.deepEqual(pickExact(coins(4, 6, 4), 8)!.map(c => c.value), [4, 4])
  })

  it('returns the caller\'s objects and does not reorder the input', () => {
    const pool = coins(3, 5, 3)
    const p = pickExact(pool, 6)!
    for (const c of p) assert.ok(pool.includes(c))
    assert.deepEqual(pool.map(c => c.value), [3, 5, 3])
  })

  it('impossible amounts are null', () => {
    assert.equal(pickExact(coins(5, 3, 3), 4), null)
    assert.equal(pickExact(coins(5, 3, 3), 12), null)
    assert.equal(pickExact(coins(2, 4, 6), 7), null)
    assert.equal(pickExact([], 5), null)
    assert.equal(pickExact(coins(5), -5), null)
  })

  it('the subset search is bounded by `limit`', () => {
    assert.equal(pickExact(coins(5, 5, 3, 3), 6, 2), null)
    assert.equal(sum(pickExact(coins(5, 5, 3, 3), 6, 4)), 6)
  })
})
