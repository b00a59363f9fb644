// The Accounting Centre: capital certificates with escrow and batched cheque
// deposits with a fee, with the conservation of money it shares with the PPay
// ledger (same accounts table). Voids, reservations and expiry: accounting-void.test.ts.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64, randomId, toB64 } from '@p2pay/core'
import { FINAL_REFUSALS } from '../src/core/deposit-outcome.ts'
import { FAIREX_TAG, acceptCheque, openCertificate, signCheque, signRequest } from '../src/core/messages.ts'
import {
  verifier,
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
  depositRequest,
  deposit,
  refusedItem
} from './accounting-fixtures.ts'

describe('capital certificates', () => {
  it(
    'issuing moves max from the balance into escrow; the certificate names ' + 'the AC, the peer, max and expiry',
    async () => {
      const w = await world()
      w.ledger.topup(w.D.id, 120)
      const r = w.acct.issueCertificate(certRequest(w, w.D, 100))
      const c = openCertificate(verifier, r.certificate, w.ac.id)
      assert.deepEqual(c.body, { ac: w.ac.id, peer: w.D.id, max: 100, expiry: T0 + CERT_TTL, serial: r.serial })
      assert.equal(c.hash, r.hash)
      assert.deepEqual([r.max, r.expiry], [100, T0 + CERT_TTL])
      assert.equal(bal(w, w.D), 20)
      assert.equal(escrow(w, r), 100)
      assert.equal(w.acct.audit().escrow, 100)
      assertHolds(w)
    }
  )

  it(
    'the same request again returns the same certificate and changes ' +
      'nothing; its nonce with other content is REPLAY',
    async () => {
      const w = await world()
      w.ledger.topup(w.D.id, 300)
      const req = certRequest(w, w.D, 100, 'nonce-0001')
      const first = w.acct.issueCertificate(req)
      const before = snapshot(w)
      assert.deepEqual(w.acct.issueCertificate(req), first)
      assert.equal(snapshot(w), before)
      rejects(w, () => w.acct.issueCertificate(certRequest(w, w.D, 150, 'nonce-0001')), ErrorCode.REPLAY)
      // another peer may use the same nonce: nonces are per peer
      w.ledger.topup(w.D2.id, 10)
      w.acct.issueCertificate(certRequest(w, w.D2, 10, 'nonce-0001'))
      assert.equal(bal(w, w.D), 200)
      assertHolds(w)
    }
  )

  it('refusals change nothing: INSUFFICIENT_FUNDS, over the cap, another AC, not signed by the peer', async () => {
    const w = await world()
    w.ledger.topup(w.D.id, 99)
    rejects(w, () => w.acct.issueCertificate(certRequest(w, w.D, 100)), ErrorCode.INSUFFICIENT_FUNDS)
    rejects(w, () => w.acct.issueCertificate(certRequest(w, w.D2, 1)), ErrorCode.INSUFFICIENT_FUNDS)
    w.ledger.topup(w.D.id, 5000)
    rejects(w, () => w.acct.issueCertificate(certRequest(w, w.D, 1001)), ErrorCode.BAD_REQUEST)
    rejects(w, () => w.acct.issueCertificate(certRequest(w, w.D, 10, randomId(8), w.X.id)), ErrorCode.WRONG_BROKER)
    const forged = toB64(
      w.X.signer.sign(FAIREX_TAG.certRequest, { ac: w.ac.id, peer: w.D.id, max: 10, nonce: randomId(8) }, 'test').bytes
    )
    rejects(w, () => w.acct.issueCertificate(forged), ErrorCode.WRONG_SIGNER)
    rejects(w, () => w.acct.issueCertificate('not base64!'), ErrorCode.BAD_REQUEST)
    assertHolds(w)
  })
})

describe('deposit', () => {
  it(
    'a batch pays each cheque from its escrow, charges the fee once and ' +
      'credits it to the AC; a retry gets the same answer',
    async () => {
      const w = await world()
      const c1 = issue(w, w.D, 100)
      const c2 = issue(w, w.D2, 50)
      const items = [
        purchase(w, { P: w.P, D: w.D, cert: c1, price: 10 }),
        purchase(w, { P: w.P, D: w.D, cert: c1, price: 20, form: 'original' }),
        purchase(w, { P: w.P, D: w.D2, cert: c2, price: 15 })
      ].map(p => p.item)
      const req = depositRequest(w, w.P, items, 'batch-0001')
      const r = w.acct.deposit(req, items)
      assert.deepEqual(
        r.results.map(x => [x.status, x.status === 'paid' ? x.price : 0]),
        [
          ['paid', 10],
          ['paid', 20],
          ['paid', 15]
        ]
      )
      assert.deepEqual([r.paid, r.fee, r.provider], [45, FEE, w.P.id])
      assert.equal(bal(w, w.P), 45 - FEE)
      assert.equal(bal(w, w.ac), FEE)
      assert.deepEqual([escrow(w, c1), escrow(w, c2)], [70, 35])
      const rec = w.acct.cheque(w.P.id, w.D.id, (r.results[0] as { chequeSn: string }).chequeSn)!
      assert.deepEqual(
        [rec.status, rec.provider, rec.price, rec.certificate, rec.deposited?.deposit],
        ['paid', w.P.id, 10, c1.hash, r.deposit]
      )
      assertHolds(w)

      const before = snapshot(w)
      assert.deepEqual(w.acct.deposit(req, items), r)
      assert.equal(snapshot(w), before)
      rejects(
        w,
        () => w.acct.deposit(depositRequest(w, w.P, items.slice(0, 2), 'batch-0001'), items.slice(0, 2)),
        ErrorCode.REPLAY
      )
    }
  )

  it('batching pays: the fee is per batch, so one cheque at a time costs a fee each', async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    deposit(w, w.P, [purchase(w, { P: w.P, D: w.D, cert: c, price: 10 }).item])
    deposit(w, w.P, [purchase(w, { P: w.P, D: w.D, cert: c, price: 10 }).item])
    deposit(
      w,
      w.P2,
      [10, 10].map(price => purchase(w, { P: w.P2, D: w.D, cert: c, price }).item)
    )
    assert.deepEqual([bal(w, w.P), bal(w, w.P2), bal(w, w.ac)], [20 - 2 * FEE, 20 - FEE, 3 * FEE])
    assertHolds(w)
  })

  it('the fee is never more than was paid; a batch that paid nothing charges nothing and leaves no trace', async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    const r = deposit(w, w.P, [purchase(w, { P: w.P, D: w.D, cert: c, price: 2 }).item])
    assert.deepEqual([r.paid, r.fee, bal(w, w.P), bal(w, w.ac)], [2, 2, 0, 2])
    // never reserved: nothing can pay it
    const bad = purchase(w, { P: w.P, D: w.D, cert: c, price: 5, reserve: false }).item
    const before = snapshot(w)
    const none = deposit(w, w.P, [bad, bad])
    assert.deepEqual([none.paid, none.fee, none.results.map(x => x.status)], [0, 0, ['refused', 'refused']])
    assert.equal(snapshot(w), before)
    assertHolds(w)
  })

  it('one bad cheque does not sink the batch; a serial twice in one batch pays once', async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    const good = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
    const overdrawn = purchase(w, { P: w.P, D: w.D, cert: c, price: 101, reserve: false })
    const unsigned = purchase(w, { P: w.P, D: w.D, cert: c, price: 5 })
    unsigned.item.accept = b64(
      w.X.signer.sign(
        FAIREX_TAG.chequeAccept,
        { cheque: unsigned.cheque.hash, provider: w.P.id, downloader: w.D.id, chequeSn: unsigned.cheque.body.chequeSn },
        'test'
      )
    )
    const r = deposit(w, w.P, [overdrawn.item, good.item, unsigned.item, good.item])
    assert.deepEqual(
      r.results.map(x => ('code' in x ? x.code : x.status)),
      [ErrorCode.NOT_FOUND, 'paid', ErrorCode.WRONG_SIGNER, ErrorCode.ALREADY_CASHED]
    )
    assert.deepEqual(
      r.results.map(x => x.cheque),
      [overdrawn.cheque.hash, good.cheque.hash, unsigned.cheque.hash, good.cheque.hash]
    )
    assert.deepEqual([r.paid, r.fee, bal(w, w.P), escrow(w, c)], [10, FEE, 10 - FEE, 90])
    assertHolds(w)
  })

  it(
    'a second deposit of a paid serial is ALREADY_CASHED and changes ' + 'nothing, whether the same cheque or another',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 100)
      const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      deposit(w, w.P, [p.item])
      refusedItem(w, w.P, p.item, ErrorCode.ALREADY_CASHED)
      // D signed the serial twice (another request and cheque, same serial): the AC will not
      // reserve it again, and the sale it has pays once
      rejects(
        w,
        () => purchase(w, { P: w.P, D: w.D, cert: c, price: 10, sn: p.cheque.body.chequeSn }),
        ErrorCode.REPLAY
      )
      const again = purchase(w, { P: w.P, D: w.D, cert: c, price: 10, sn: p.cheque.body.chequeSn, reserve: false })
      refusedItem(w, w.P, again.item, ErrorCode.ALREADY_CASHED)
      // serials are the downloader's: another downloader may use the same one
      const c2 = issue(w, w.D2, 10)
      assert.equal(
        deposit(w, w.P, [purchase(w, { P: w.P, D: w.D2, cert: c2, price: 10, sn: p.cheque.body.chequeSn }).item]).paid,
        10
      )
      assertHolds(w)
    }
  )

  it(
    'a sale over what the certificate has not promised yet is refused at ' + 'reservation, before any piece is sent',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 10, 50)
      const first = purchase(w, { P: w.P, D: w.D, cert: c, price: 7 })
      // reserved, not yet deposited: already promised. D's balance (40) does not count either
      rejects(w, () => purchase(w, { P: w.P2, D: w.D, cert: c, price: 4 }), ErrorCode.INSUFFICIENT_FUNDS)
      deposit(w, w.P, [first.item])
      rejects(w, () => purchase(w, { P: w.P2, D: w.D, cert: c, price: 4 }), ErrorCode.INSUFFICIENT_FUNDS)
      assert.equal(deposit(w, w.P2, [purchase(w, { P: w.P2, D: w.D, cert: c, price: 3 }).item]).paid, 3)
      assert.equal(escrow(w, c), 0)
      assertHolds(w)
    }
  )

  it(
    'expiry: no reservation after the certificate expired; a sale reserved ' +
      'in time is paid until expiry + grace, then EXPIRED',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 100)
      w.clock.t = T0 + CERT_TTL
      const inTime = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      const lateToo = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      w.clock.t = T0 + CERT_TTL + 1
      rejects(w, () => purchase(w, { P: w.P2, D: w.D, cert: c, price: 10 }), ErrorCode.EXPIRED)
      w.clock.t = T0 + CERT_TTL + GRACE
      assert.equal(deposit(w, w.P, [inTime.item]).paid, 10)
      w.clock.t = T0 + CERT_TTL + GRACE + 1
      refusedItem(w, w.P, lateToo.item, ErrorCode.EXPIRED)
      assertHolds(w)
    }
  )

  it('a sale reserved before expiry is paid although its cheque is dated after expiry (a long download)', async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    const req = signRequest(w.D.signer, {
      provider: w.P.id,
      downloader: w.D.id,
      ttp: w.T.id,
      fileId: hex(),
      chequeSn: randomId(16),
      ts: T0,
      price: 10
    })
    w.acct.reserve(b64(req), c.certificate)
    w.clock.t = T0 + CERT_TTL + 5
    const cheque = signCheque(w.P.signer, {
      form: 'fixed',
      provider: w.P.id,
      downloader: w.D.id,
      ttp: w.T.id,
      chequeSn: req.body.chequeSn,
      price: 10,
      ts: w.clock.t,
      hSEK: hex(),
      z: hex(),
      req: req.hash,
      certificate: c.hash,
      judge: w.J.id,
      manifest: hex(),
      keyIndex: 0
    })
    const item = { cheque: b64(cheque), accept: b64(acceptCheque(w.D.signer, cheque)), certificate: c.certificate }
    assert.equal(deposit(w, w.P, [item]).paid, 10)
    assertHolds(w)
  })

  it("a provider clock ahead of the AC's: its cheque is CLOCK_SKEW, not final, and changes nothing", async () => {
    const w = await world()
    const c = issue(w, w.D, 100)
    const ahead = purchase(w, { P: w.P, D: w.D, cert: c, price: 10, ts: T0 + 5_001 }).item
    refusedItem(w, w.P, ahead, ErrorCode.CLOCK_SKEW)
    // the provider keeps it queued: once the AC's clock has caught up it pays
    assert.ok(!FINAL_REFUSALS.includes(ErrorCode.CLOCK_SKEW))
    assert.equal(deposit(w, w.P, [purchase(w, { P: w.P, D: w.D, cert: c, price: 10, ts: T0 + 5_000 }).item]).paid, 10)
    w.clock.advance(1)
    assert.equal(deposit(w, w.P, [ahead]).paid, 10)
    assertHolds(w)
  })

  it(
    'who signed what: cheque not signed by P, acceptance not signed by D, ' +
      "depositor not P, certificate not D's or not this AC's",
    async () => {
      const w = await world()
      const c = issue(w, w.D, 100)
      const c2 = issue(w, w.D2, 100)

      // a cheque naming P but signed by D (a downloader cannot write itself a cheque)
      const p1 = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      const byD = w.D.signer.sign(FAIREX_TAG.cheque, p1.cheque.body, 'test')
      refusedItem(
        w,
        w.P,
        { ...p1.item, cheque: b64(byD), accept: b64(acceptCheque(w.D.signer, byD)) },
        ErrorCode.WRONG_SIGNER
      )

      // the acceptance signed by P itself, or by a third party
      const p2 = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      const acceptBody = {
        cheque: p2.cheque.hash,
        provider: w.P.id,
        downloader: w.D.id,
        chequeSn: p2.cheque.body.chequeSn
      }
      refusedItem(
        w,
        w.P,
        { ...p2.item, accept: b64(w.P.signer.sign(FAIREX_TAG.chequeAccept, acceptBody, 'test')) },
        ErrorCode.WRONG_SIGNER
      )
      refusedItem(
        w,
        w.P,
        { ...p2.item, accept: b64(w.X.signer.sign(FAIREX_TAG.chequeAccept, acceptBody, 'test')) },
        ErrorCode.WRONG_SIGNER
      )
      // an acceptance of another cheque, or none
      const p3 = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      refusedItem(w, w.P, { ...p2.item, accept: p3.item.accept }, ErrorCode.BAD_REQUEST)
      refusedItem(w, w.P, { ...p2.item, accept: undefined as unknown as string }, ErrorCode.BAD_REQUEST)

      // X deposits P's cheque (in X's own signed batch)
      refusedItem(w, w.X, p2.item, ErrorCode.WRONG_HOLDER)

      // D2's certificate under D's cheque; a certificate by another AC; a certificate forged in the AC's name
      refusedItem(
        w,
        w.P,
        { ...purchase(w, { P: w.P, D: w.D, cert: c, price: 10, form: 'original' }).item, certificate: c2.certificate },
        ErrorCode.BAD_REQUEST
      )
      const foreign = b64(
        w.X.signer.sign(
          FAIREX_TAG.capitalCert,
          { ac: w.X.id, peer: w.D.id, max: 100, expiry: T0 + CERT_TTL, serial: randomId(16) },
          'test'
        )
      )
      refusedItem(
        w,
        w.P,
        { ...purchase(w, { P: w.P, D: w.D, cert: c, price: 10, form: 'original' }).item, certificate: foreign },
        ErrorCode.WRONG_BROKER
      )
      const forged = b64(
        w.X.signer.sign(
          FAIREX_TAG.capitalCert,
          { ac: w.ac.id, peer: w.D.id, max: 100, expiry: T0 + CERT_TTL, serial: randomId(16) },
          'test'
        )
      )
      refusedItem(
        w,
        w.P,
        { ...purchase(w, { P: w.P, D: w.D, cert: c, price: 10, form: 'original' }).item, certificate: forged },
        ErrorCode.WRONG_SIGNER
      )
      // a fixed cheque names its certificate: presenting another of D's is refused
      const c3 = issue(w, w.D, 100)
      refusedItem(w, w.P, { ...p3.item, certificate: c3.certificate }, ErrorCode.BAD_REQUEST)

      // and the honest versions pay
      assert.equal(deposit(w, w.P, [p2.item, p3.item]).paid, 20)
      assertHolds(w)
    }
  )

  it(
    'tampered bytes are BAD_SIGNATURE; a batch that is not what its ' +
      'request lists, or a bad request, is refused whole',
    async () => {
      const w = await world()
      const c = issue(w, w.D, 100)
      const p = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      const flip = (s: string, back: number): string => {
        const b = fromB64(s)
        b[b.byteLength - back] ^= 1
        return toB64(b)
      }
      // cheque body (price digits sit in it)
      refusedItem(w, w.P, { ...p.item, cheque: flip(p.item.cheque, 70) }, ErrorCode.BAD_SIGNATURE)
      refusedItem(w, w.P, { ...p.item, cheque: flip(p.item.cheque, 1) }, ErrorCode.BAD_SIGNATURE) // P's signature
      refusedItem(w, w.P, { ...p.item, accept: flip(p.item.accept, 70) }, ErrorCode.BAD_SIGNATURE)
      refusedItem(w, w.P, { ...p.item, certificate: flip(p.item.certificate, 70) }, ErrorCode.BAD_SIGNATURE)

      const other = purchase(w, { P: w.P, D: w.D, cert: c, price: 10 })
      // the request lists `p`, the batch carries `other`
      rejects(w, () => w.acct.deposit(depositRequest(w, w.P, [p.item]), [other.item]), ErrorCode.BAD_REQUEST)
      rejects(w, () => w.acct.deposit(depositRequest(w, w.P, [p.item, other.item]), [p.item]), ErrorCode.BAD_REQUEST)
      rejects(w, () => w.acct.deposit(depositRequest(w, w.P, [p.item]), 'nope'), ErrorCode.BAD_REQUEST)
      rejects(w, () => w.acct.deposit(depositRequest(w, w.P, [p.item]), [null]), ErrorCode.BAD_REQUEST)
      rejects(w, () => w.acct.deposit(flip(depositRequest(w, w.P, [p.item]), 1), [p.item]), ErrorCode.BAD_SIGNATURE)
      rejects(
        w,
        () => w.acct.deposit(depositRequest(w, w.X, [p.item], randomId(8), w.P.id), [p.item]),
        ErrorCode.WRONG_SIGNER
      )
      rejects(
        w,
        () => w.acct.deposit(depositRequest(w, w.P, [p.item], randomId(8), w.P.id, w.X.id), [p.item]),
        ErrorCode.WRONG_BROKER
      )
      const nine = Array.from({ length: 9 }, () => p.item)
      rejects(w, () => w.acct.deposit(depositRequest(w, w.P, nine), nine), ErrorCode.BAD_REQUEST)
      assert.equal(deposit(w, w.P, [p.item]).paid, 10)
      assertHolds(w)
    }
  )
})
