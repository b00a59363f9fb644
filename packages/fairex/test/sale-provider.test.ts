// The provider's side of a purchase: P refuses bad requests and certificates
// with clear codes (1.2 refuse), and replays; it throws on its own
// inconsistent inputs; it hands over the key only for D's countersignature.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { ErrorCode, fromB64, randomId, sha256Hex, toB64 } from '@p2pay/core'
import { signManifest } from '../src/core/manifest.ts'
import { FAIREX_TAG, acceptCheque, openCheque, signCheque, type ChequeBody } from '../src/core/messages.ts'
import { type SaleForm } from '../src/core/sale-messages.ts'
import { acceptRequest, chequeMessage, onChequeAccepted } from '../src/core/sale-provider.ts'
import { onCheque, onKey } from '../src/core/sale-downloader.ts'
import { throwsCode } from '@p2pay/test-utils'
import {
  verifier,
  T0,
  SKEW,
  PIECE,
  PRICE,
  signatures,
  world,
  certFor,
  accept,
  accepted,
  negotiateAndDownload,
  message11,
  refusedWith
} from './sale-fixtures.ts'

describe('P refuses a bad request (message 1.2 refuse)', () => {
  it(
    'another file, another price, another provider, an unaccepted TTP, a ' + 'stale or future request, a forged one',
    async () => {
      const w = await world()
      refusedWith(accept(w, message11(w, { fileId: sha256Hex(randomBytes(8)) })), ErrorCode.NOT_FOUND)
      const priced = accept(w, message11(w, { price: PRICE - 1 }))
      refusedWith(priced, ErrorCode.BAD_REQUEST)
      assert.match(('refuse' in priced && priced.refuse.message) || '', /price 11 is not the price 12/)
      refusedWith(accept(w, message11(w, { price: PRICE + 1 })), ErrorCode.BAD_REQUEST)
      refusedWith(accept(w, message11(w, { provider: w.X.id })), ErrorCode.BAD_REQUEST)
      refusedWith(accept(w, message11(w), { ttps: [w.X.id] }), ErrorCode.BAD_REQUEST)
      accepted(accept(w, message11(w), { ttps: [w.X.id, w.T.id] }))
      refusedWith(accept(w, message11(w, { ts: T0 + 500 - SKEW - 1 })), ErrorCode.CLOCK_SKEW)
      refusedWith(accept(w, message11(w, { ts: T0 + 500 + SKEW + 1 })), ErrorCode.CLOCK_SKEW)
      refusedWith(accept(w, message11(w, {}, w.cert, w.X)), ErrorCode.WRONG_SIGNER)
      const req = fromB64(message11(w).request)
      req[req.byteLength - 1] ^= 1
      refusedWith(accept(w, { request: toB64(req), certificate: w.cert }), ErrorCode.BAD_SIGNATURE)
      for (const junk of [null, 'x', {}, { request: 'x', certificate: w.cert }, { ...message11(w), extra: 1 }])
        refusedWith(accept(w, junk), ErrorCode.BAD_REQUEST)
      assert.equal(signatures(w.P), 0)
    }
  )

  it('a downloader whose clock is 6 min ahead or behind: CLOCK_SKEW naming both clocks, no sale', async () => {
    const w = await world()
    const now = T0 + 500
    const skewed = { maxSkewMs: 5 * 60_000, now }
    for (const off of [6 * 60_000, -6 * 60_000]) {
      const message = refusedWith(accept(w, message11(w, { ts: now + off }), skewed), ErrorCode.CLOCK_SKEW)
      // both clocks, so the user sees which one is off (not a malformed request)
      assert.ok(message.includes(new Date(now + off).toISOString()), message)
      assert.ok(message.includes(new Date(now).toISOString()), message)
      assert.match(message, off > 0 ? /6 min ahead of this clock/ : /6 min behind this clock/)
    }
    // within the window the same request is a sale
    accepted(accept(w, message11(w, { ts: now + 4 * 60_000 }), skewed))
    assert.equal(signatures(w.P), 0)
  })

  it("an expired certificate, one below the price, another peer's, another AC's, a forged one", async () => {
    const w = await world()
    refusedWith(accept(w, message11(w, {}, certFor(w, w.D, { expiry: T0 }))), ErrorCode.EXPIRED)
    refusedWith(accept(w, message11(w, {}, certFor(w, w.D, { max: PRICE - 1 }))), ErrorCode.INSUFFICIENT_FUNDS)
    accepted(accept(w, message11(w, {}, certFor(w, w.D, { max: PRICE }))))
    refusedWith(accept(w, message11(w, {}, certFor(w, w.D2))), ErrorCode.WRONG_OWNER)
    refusedWith(accept(w, message11(w, {}, certFor(w, w.D, { ac: w.X }))), ErrorCode.WRONG_BROKER)
    const forged = toB64(
      w.X.signer.sign(
        FAIREX_TAG.capitalCert,
        { ac: w.AC.id, peer: w.D.id, max: 100, expiry: T0 + 60_000, serial: randomId(16) },
        'test'
      ).bytes
    )
    refusedWith(accept(w, message11(w, {}, forged)), ErrorCode.WRONG_SIGNER)
    refusedWith(accept(w, message11(w, {}, message11(w).request)), ErrorCode.WRONG_TAG)
  })

  it("P's own inconsistent inputs throw instead: they are not D's fault", async () => {
    const w = await world()
    const m = message11(w)
    throwsCode(() => accept(w, m, { pieceHashes: w.hashes.slice(1) }), ErrorCode.BAD_REQUEST)
    throwsCode(() => accept(w, m, { pieceHashes: [...w.hashes].reverse() }), ErrorCode.BAD_REQUEST)
    throwsCode(
      () =>
        accept(w, m, {
          manifest: signManifest(w.X.signer, {
            fileId: w.fileId,
            name: 'f',
            size: w.data.byteLength,
            pieceSize: PIECE,
            price: PRICE,
            createdAt: T0
          })
        }),
      ErrorCode.WRONG_SIGNER
    )
    throwsCode(() => accept(w, m, { judge: 'nobody' }), ErrorCode.BAD_REQUEST)
    throwsCode(() => accept(w, m, { form: 'other' as SaleForm }), ErrorCode.BAD_REQUEST)
  })

  it(
    'replay: the service remembers accepted serials per downloader, and ' + 'forgets them once the request is stale',
    async () => {
      const w = await world()
      // the service's table (in LevelDB, written with the sale): chequeKey(downloader, chequeSn)
      const seen = new Set<string>()
      const service = (m: unknown, now = T0 + 500): ReturnType<typeof acceptRequest> => {
        const r = accept(w, m, { seen: k => seen.has(k), now })
        if ('sale' in r) seen.add(r.sale.serial)
        return r
      }
      const first = message11(w)
      const { sale } = accepted(service(first))
      assert.equal(sale.serial, `${w.D.id}|${sale.req.body.chequeSn}`)
      // the same 1.1 again, and a fresh request that reuses the serial
      refusedWith(service(first), ErrorCode.REPLAY)
      refusedWith(service(message11(w, { chequeSn: sale.req.body.chequeSn, ts: T0 + 100 })), ErrorCode.REPLAY)
      // serials are the downloader's own: another downloader may pick the same one
      accepted(service(message11(w, { downloader: w.D2.id, chequeSn: sale.req.body.chequeSn }, certFor(w, w.D2), w.D2)))
      // a request older than the skew window is stale whatever the table says, so the service
      // need keep a serial only until its request ts + maxSkewMs
      seen.clear()
      refusedWith(service(first, T0 + SKEW + 1), ErrorCode.CLOCK_SKEW)
      accepted(service(first))
    }
  )
})

describe('P checks 2.3', () => {
  it('an acceptance of another cheque, or not signed by D, gets no key', async () => {
    const w = await world()
    const { state, sale } = negotiateAndDownload(w, 'fixed')
    throwsCode(() => onChequeAccepted(sale, { accept: 'AAAA' }), ErrorCode.BAD_REQUEST) // no cheque yet
    const m22 = chequeMessage(sale, { now: T0 + 2000 })
    const cheque = openCheque(verifier, m22.cheque)
    const otherBody = { ...cheque.body, price: PRICE + 1 } as ChequeBody
    const other = signCheque(w.P.signer, otherBody)
    throwsCode(
      () => onChequeAccepted(sale, { accept: toB64(acceptCheque(w.D.signer, other).bytes) }),
      ErrorCode.BAD_REQUEST
    )
    const byX = w.X.signer.sign(
      FAIREX_TAG.chequeAccept,
      { cheque: cheque.hash, provider: w.P.id, downloader: w.D.id, chequeSn: cheque.body.chequeSn },
      'test'
    )
    throwsCode(() => onChequeAccepted(sale, { accept: toB64(byX.bytes) }), ErrorCode.WRONG_SIGNER)
    throwsCode(() => onChequeAccepted(sale, {}), ErrorCode.BAD_REQUEST)
    assert.equal(sale.phase, 'chequeSent')
    const { message2_4 } = onChequeAccepted(sale, onCheque(state, m22))
    assert.ok(onKey(state, message2_4.key).ok)
  })
})
