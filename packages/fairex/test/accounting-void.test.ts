// The Accounting Centre: voiding on the judge's verdict, reservations (the
// provider's, before any piece), the complaint window and expiry, with the
// conservation of money it shares with the PPay ledger.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64, randomId, toB64, type Opened } from '@p2pay/core'
import { TAG as PPAY_TAG } from '@p2pay/ppay'
import {
  FAIREX_TAG,
  saleKey,
  signCheque,
  signRequest,
  type ChequeBody,
  type RequestBody
} from '../src/core/messages.ts'
import {
  T0,
  CERT_TTL,
  GRACE,
  FEE,
  world,
  snapshot,
  bal,
  escrow,
  assertHolds,
  rejects,
  hex,
  b64,
  certRequest,
  issue,
  purchase,
  deposit,
  refusedItem,
  type World,
  type Ident
} from './accounting-fixtures.ts'

describe('void (the judge ruled providerBan)', () => {
  const verdict = (): string => hex()

  it('before deposit: the price leaves the escrow for D, and the serial can never be deposited (FRAUD)', async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 30 })
    const v = verdict()
    const r = w.acct.voidCheque(p.item.cheque, v)
    assert.deepEqual(
      [r.from, r.refunded, r.shortfall, r.verdict, r.cheque, r.key, r.price],
      ['escrow', 30, 0, v, p.cheque.hash, saleKey(w.P.id, w.D.id, p.cheque.body.chequeSn), 30]
    )
    assert.deepEqual([bal(w, w.D), escrow(w, c), bal(w, w.P)], [30, 70, 0])
    refusedItem(w, w.P, p.item, ErrorCode.FRAUD)
    assertHolds(w)
    assert.equal(w.acct.audit().voids, 1)
  })

  it(
    'after deposit: the price is taken back from P and returned to D; ' +
      'conservation holds with coins outstanding too',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 100, 150)
      // D also holds PPay coins: the broker's conservation spans both schemes
      const buy = toB64(
        w.D.signer.sign(
          PPAY_TAG.buy,
          { broker: w.ac.id, account: w.D.id, count: 2, value: 5, nonce: randomId(8) },
          'test'
        ).bytes
      )
      w.ledger.buy(buy)
      const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 30 })
      const p2 = purchase(w, { P: w.P, D: w.D, cert: c, price: 20 })
      deposit(w, w.P, [p.item, p2.item])
      assert.deepEqual([bal(w, w.P), bal(w, w.D)], [50 - FEE, 40])
      assertHolds(w)
      const r = w.acct.voidCheque(p.item.cheque, verdict())
      assert.deepEqual([r.from, r.refunded, r.shortfall], ['provider', 30, 0])
      assert.deepEqual([bal(w, w.P), bal(w, w.D), escrow(w, c), bal(w, w.ac)], [20 - FEE, 70, 50, FEE])
      const rec = w.acct.cheque(w.P.id, w.D.id, p.cheque.body.chequeSn)!
      assert.equal(rec.status, 'void')
      assert.ok(rec.deposited != null && rec.paidAt != null, 'the payment stays on the record')
      refusedItem(w, w.P, p.item, ErrorCode.FRAUD)
      assert.equal(w.ledger.audit().outstanding, 10)
      assertHolds(w)
    }
  )

  it(
    'after deposit, when P has spent its earnings: what is left is taken ' + 'back and the shortfall recorded',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 100)
      const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      deposit(w, w.P, [p.item])
      assert.equal(bal(w, w.P), 10 - FEE)
      issue(w, w.P, 4, 0) // P moves 4 of its 7 into escrow of its own
      const r = w.acct.voidCheque(p.item.cheque, verdict())
      assert.deepEqual([r.from, r.refunded, r.shortfall], ['provider', 3, 7])
      assert.deepEqual([bal(w, w.P), bal(w, w.D)], [0, 3])
      assert.deepEqual([w.acct.audit().meta.clawedBack, w.acct.audit().meta.shortfall], [3, 7])
      assertHolds(w)
    }
  )

  it(
    'voiding again returns the same record and changes nothing; ' +
      'conflicting or bad voids are refused without change',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 100)
      const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      const v = verdict()
      const first = w.acct.voidCheque(p.item.cheque, v)
      const before = snapshot(w)
      assert.deepEqual(w.acct.voidCheque(p.item.cheque, v), first)
      assert.deepEqual(
        w.acct.voidCheque(p.item.cheque, verdict()),
        first,
        'one cheque is voided once, whatever the verdict reference'
      )
      assert.equal(snapshot(w), before)

      // another cheque of P for the same sale (same request), after the void
      const other = signCheque(w.P.signer, { ...p.cheque.body, z: hex() } as ChequeBody)
      rejects(w, () => w.acct.voidCheque(b64(other), v), ErrorCode.REPLAY)
      // P's cheque naming another request than the one reserved for that sale
      const paid = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      rejects(
        w,
        () => w.acct.voidCheque(b64(signCheque(w.P.signer, { ...paid.cheque.body, req: hex() } as ChequeBody)), v),
        ErrorCode.BAD_REQUEST
      )
      // malformed verdict reference; an original-form cheque (no judge in that protocol); a cheque P did not sign
      const q = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      for (const bad of [undefined, '', 'abc', hex().toUpperCase()])
        rejects(w, () => w.acct.voidCheque(q.item.cheque, bad), ErrorCode.BAD_REQUEST)
      rejects(
        w,
        () =>
          w.acct.voidCheque(
            purchase(w, { P: w.P, D: w.D, cert: c, price: 10, form: 'original', reserve: false }).item.cheque,
            v
          ),
        ErrorCode.BAD_REQUEST
      )
      rejects(
        w,
        () => w.acct.voidCheque(b64(w.D.signer.sign(FAIREX_TAG.cheque, q.cheque.body, 'test')), v),
        ErrorCode.WRONG_SIGNER
      )
      assertHolds(w)
    }
  )

  it('a cheque of a sale never reserved: nothing to refund, and that sale can never be reserved or paid', async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 10, reserve: false })
    const r = w.acct.voidCheque(p.item.cheque, verdict())
    assert.deepEqual([r.from, r.refunded, bal(w, w.D), escrow(w, c)], ['escrow', 0, 0, 100])
    rejects(w, () => w.acct.reserve(b64(p.req), c.certificate), ErrorCode.FRAUD)
    refusedItem(w, w.P, p.item, ErrorCode.FRAUD)
    assertHolds(w)
  })
})

describe("reservation (the provider, with D's message 1.1, before it sends pieces)", () => {
  const request = (w: World, P: Ident, D: Ident, price: number, sn = randomId(16)): Opened<RequestBody> =>
    signRequest(D.signer, {
      provider: P.id,
      downloader: D.id,
      ttp: w.T.id,
      fileId: hex(),
      chequeSn: sn,
      ts: w.clock.t,
      price
    })

  it(
    'promises the price to this sale only; the same request again returns ' +
      'the same reservation and changes nothing',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 50)
      const req = request(w, w.P, w.D, 30)
      const r = w.acct.reserve(b64(req), c.certificate)
      assert.deepEqual(
        [r.key, r.price, r.certificate, r.until],
        [saleKey(w.P.id, w.D.id, req.body.chequeSn), 30, c.hash, T0 + CERT_TTL + GRACE]
      )
      assert.deepEqual([w.acct.certificate(c.hash)!.reserved, escrow(w, c), bal(w, w.D)], [30, 50, 0])
      const before = snapshot(w)
      assert.deepEqual(w.acct.reserve(b64(req), c.certificate), r)
      assert.equal(snapshot(w), before)
      assertHolds(w)
    }
  )

  it(
    'refusals change nothing: not enough left, another request on the serial, ' +
      "another peer's or unknown certificate, forged or tampered request",
    async () => {
      const w = await world()
      const c = issue(w, w.D, 50)
      const c2 = issue(w, w.D2, 50)
      const req = request(w, w.P, w.D, 30)
      w.acct.reserve(b64(req), c.certificate)
      rejects(w, () => w.acct.reserve(b64(request(w, w.P2, w.D, 21)), c.certificate), ErrorCode.INSUFFICIENT_FUNDS)
      rejects(w, () => w.acct.reserve(b64(request(w, w.P, w.D, 5, req.body.chequeSn)), c.certificate), ErrorCode.REPLAY)
      rejects(w, () => w.acct.reserve(b64(req), c2.certificate), ErrorCode.WRONG_OWNER)
      const unknown = b64(
        w.ac.signer.sign(
          FAIREX_TAG.capitalCert,
          { ac: w.ac.id, peer: w.D.id, max: 100, expiry: T0 + CERT_TTL, serial: randomId(16) },
          'test'
        )
      )
      rejects(w, () => w.acct.reserve(b64(request(w, w.P, w.D, 5)), unknown), ErrorCode.NOT_FOUND)
      const forged = w.X.signer.sign(FAIREX_TAG.request, { ...request(w, w.P, w.D, 5).body }, 'test')
      rejects(w, () => w.acct.reserve(b64(forged), c.certificate), ErrorCode.WRONG_SIGNER)
      const flip = (s: string): string => {
        const b = fromB64(s)
        b[b.byteLength - 70] ^= 1
        return toB64(b)
      }
      rejects(w, () => w.acct.reserve(flip(b64(request(w, w.P, w.D, 5))), c.certificate), ErrorCode.BAD_SIGNATURE)
      rejects(w, () => w.acct.reserve('%%%', c.certificate), ErrorCode.BAD_REQUEST)
      assert.equal(w.acct.reserve(b64(request(w, w.P2, w.D, 20)), c.certificate).price, 20)
      assertHolds(w)
    }
  )

  it(
    'attack: one certificate shown to two providers. The second is refused ' +
      'before it sends anything; the first is paid in full',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 10)
      const first = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      rejects(w, () => purchase(w, { P: w.P2, D: w.D, cert: c, price: 10 }), ErrorCode.INSUFFICIENT_FUNDS)
      assert.equal(deposit(w, w.P, [first.item]).paid, 10)
      assert.deepEqual([bal(w, w.P), bal(w, w.P2), bal(w, w.D), escrow(w, c)], [10 - FEE, 0, 0, 0])
      assertHolds(w)
    }
  )

  it(
    "attack: D and a sybil provider P2 reuse the serial of D's honest " +
      "purchase from P; a verdict against P2 voids only P2's sale",
    async () => {
      const w = await world()
      const c = issue(w, w.D, 40)
      const honest = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      const sn = honest.cheque.body.chequeSn
      // P2 "cheats" on purpose and D complains: the judge bans P2
      const sybil = purchase(w, { P: w.P2, D: w.D, cert: c, price: 10, sn })
      const v = w.acct.voidCheque(sybil.item.cheque, hex())
      assert.deepEqual([v.provider, v.refunded], [w.P2.id, 10])
      // P's sale is untouched: deposited and paid
      assert.equal(w.acct.cheque(w.P.id, w.D.id, sn)!.status, 'reserved')
      assert.equal(deposit(w, w.P, [honest.item]).paid, 10)
      assert.deepEqual([bal(w, w.P), bal(w, w.P2), bal(w, w.D), escrow(w, c)], [10 - FEE, 0, 10, 20])
      assertHolds(w)
    }
  )
})

describe('complaint window (holdMs)', () => {
  const HOLD = 5_000

  it('a deposited fixed cheque is held, then paid with the batch fee; an original one is paid at once', async () => {
    const w = await world({ holdMs: HOLD })
    const c = issue(w, w.D, 100)
    const fixed = [
      purchase(w, { P: w.P, D: w.D, cert: c, price: 10 }),
      purchase(w, { P: w.P, D: w.D, cert: c, price: 20 })
    ]
    const r = deposit(
      w,
      w.P,
      fixed.map(p => p.item)
    )
    assert.deepEqual(
      [r.results.map(x => x.status), r.paid, r.held, r.fee, r.releaseAt],
      [['held', 'held'], 0, 30, 0, T0 + HOLD]
    )
    assert.deepEqual(
      [bal(w, w.P), escrow(w, c), w.acct.certificate(c.hash)!.held, w.acct.audit().held],
      [0, 100, 30, 30]
    )
    assertHolds(w)
    const before = snapshot(w)
    assert.deepEqual(w.acct.releaseHeld(T0 + HOLD - 1), [])
    assert.equal(snapshot(w), before)
    w.clock.t = T0 + HOLD
    assert.deepEqual(w.acct.releaseHeld(), [{ deposit: r.deposit, provider: w.P.id, paid: 30, fee: FEE }])
    assert.deepEqual(
      [bal(w, w.P), bal(w, w.ac), escrow(w, c), w.acct.cheque(w.P.id, w.D.id, fixed[0].cheque.body.chequeSn)!.status],
      [30 - FEE, FEE, 70, 'paid']
    )
    assert.deepEqual(w.acct.releaseHeld(), [], 'released once')
    assertHolds(w)
    const orig = deposit(w, w.P2, [purchase(w, { P: w.P2, D: w.D, cert: c, price: 5, form: 'original' }).item])
    assert.deepEqual([orig.paid, orig.held, bal(w, w.P2)], [5, 0, 5 - FEE])
    assertHolds(w)
  })

  it(
    'attack: P deposits and tries to move the proceeds at once; a ' +
      'providerBan inside the window refunds D in full from the escrow',
    async () => {
      const w = await world({ holdMs: HOLD })
      const c = issue(w, w.D, 100)
      const cheat = purchase(w, { P: w.P, D: w.D, cert: c, price: 40 })
      const honest = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      deposit(w, w.P, [cheat.item, honest.item])
      // nothing to spend: a certificate of its own is refused
      rejects(w, () => w.acct.issueCertificate(certRequest(w, w.P, 1)), ErrorCode.INSUFFICIENT_FUNDS)
      w.clock.advance(HOLD - 1)
      const v = w.acct.voidCheque(cheat.item.cheque, hex())
      assert.deepEqual([v.from, v.refunded, v.shortfall], ['escrow', 40, 0])
      assert.deepEqual([bal(w, w.D), bal(w, w.P)], [40, 0])
      assertHolds(w)
      w.clock.advance(1)
      assert.deepEqual(
        w.acct.releaseHeld().map(h => [h.paid, h.fee]),
        [[10, FEE]]
      )
      assert.deepEqual([bal(w, w.P), bal(w, w.D), escrow(w, c)], [10 - FEE, 40, 50])
      assertHolds(w)
    }
  )

  it("held proceeds survive the certificate's expiry; only what was neither held nor paid goes back", async () => {
    const w = await world({ holdMs: GRACE * 3 })
    const c = issue(w, w.D, 100)
    const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 25 })
    purchase(w, { P: w.P2, D: w.D, cert: c, price: 5 }) // reserved, never deposited: lapses
    w.clock.t = T0 + CERT_TTL
    deposit(w, w.P, [p.item])
    assert.deepEqual(w.acct.releaseExpired(T0 + CERT_TTL + GRACE + 1), [
      { certificate: c.hash, peer: w.D.id, amount: 75 }
    ])
    assert.deepEqual([bal(w, w.D), escrow(w, c)], [75, 25])
    assertHolds(w)
    w.clock.t = T0 + CERT_TTL + GRACE * 3
    assert.equal(w.acct.releaseHeld()[0].paid, 25)
    assert.deepEqual([bal(w, w.P), escrow(w, c)], [25 - FEE, 0])
    assertHolds(w)
  })
})

describe('releaseExpired', () => {
  it(
    'returns unused escrow after expiry + grace, once; later deposits ' + 'under that certificate are EXPIRED',
    async () => {
      const w = await world()
      const c1 = issue(w, w.D, 100)
      w.clock.advance(30_000)
      const c2 = issue(w, w.D2, 50)
      const p = purchase(w, { P: w.P, D: w.D, cert: c1, price: 40 })
      deposit(w, w.P, [p.item])
      const unpaid = purchase(w, { P: w.P, D: w.D, cert: c1, price: 10 })

      const before = snapshot(w)
      assert.deepEqual(w.acct.releaseExpired(T0 + CERT_TTL + GRACE), [])
      assert.equal(snapshot(w), before)

      const out = w.acct.releaseExpired(T0 + CERT_TTL + GRACE + 1)
      assert.deepEqual(out, [{ certificate: c1.hash, peer: w.D.id, amount: 60 }])
      assert.deepEqual([bal(w, w.D), escrow(w, c1), escrow(w, c2)], [60, 0, 50])
      assert.deepEqual(w.acct.certificate(c1.hash)!.released, { amount: 60, at: T0 + CERT_TTL + GRACE + 1 })
      assertHolds(w)
      assert.deepEqual(w.acct.releaseExpired(T0 + CERT_TTL + GRACE + 1), [], 'released once')

      // the clock of the deposit is still inside the grace, but the escrow is gone
      refusedItem(w, w.P, unpaid.item, ErrorCode.EXPIRED)
      // a void of an undeposited cheque now finds no escrow: D already has it back
      const r = w.acct.voidCheque(unpaid.item.cheque, hex())
      assert.deepEqual([r.refunded, bal(w, w.D)], [0, 60])

      w.clock.t = T0 + 30_000 + CERT_TTL + GRACE + 1
      assert.deepEqual(w.acct.releaseExpired(), [{ certificate: c2.hash, peer: w.D2.id, amount: 50 }])
      assert.equal(w.acct.audit().escrow, 0)
      assertHolds(w)
    }
  )
})
