// The signed objects that tie a purchase together: a cheque checked against its
// request and what the checking party holds, the capital certificate, and the
// requests that move money at the AC (certificate, deposit).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, randomId, type Opened } from '@p2pay/core'
import {
  FAIREX_TAG,
  openCertRequest,
  openCertificate,
  openDepositRequest,
  signCertRequest,
  signCertificate,
  signCheque,
  signDepositRequest,
  signRequest,
  type FixedChequeBody
} from '../src/core/messages.ts'
import { checkCertificateForRequest, checkChequeAgainstRequest } from '../src/core/message-relations.ts'
import { throwsCode } from '@p2pay/test-utils'
import { verifier, T0, b64, raw, hex, parties, reqBody, fixedFor, originalFor } from './messages-fixtures.ts'

describe('checkChequeAgainstRequest', () => {
  it('a fixed cheque made for the request passes, with what D saw itself', async () => {
    const s = await parties()
    const req = signRequest(s.D.signer, reqBody(s))
    const cert = hex()
    const body = fixedFor(s, req, cert)
    const cheque = signCheque(s.P.signer, body)
    checkChequeAgainstRequest(cheque, req, { hSEK: body.hSEK, z: body.z, certificate: cert })
  })

  it('each copied field, the date and the signed REQ must match (BAD_REQUEST)', async () => {
    const s = await parties()
    const req = signRequest(s.D.signer, reqBody(s))
    const cases: Array<Partial<FixedChequeBody>> = [
      { provider: s.X.id },
      { downloader: s.X.id },
      { ttp: s.X.id },
      { chequeSn: randomId(16) },
      { price: 8 },
      { ts: T0 - 1 },
      { req: hex() }
    ]
    for (const over of cases) {
      const signer = over.provider === s.X.id ? s.X.signer : s.P.signer
      const cheque = signCheque(signer, fixedFor(s, req, hex(), over))
      throwsCode(() => checkChequeAgainstRequest(cheque, req), ErrorCode.BAD_REQUEST)
    }
    const body = fixedFor(s, req, hex())
    const cheque = signCheque(s.P.signer, body)
    throwsCode(() => checkChequeAgainstRequest(cheque, req, { hSEK: hex() }), ErrorCode.BAD_REQUEST)
    throwsCode(() => checkChequeAgainstRequest(cheque, req, { z: hex() }), ErrorCode.BAD_REQUEST)
    throwsCode(() => checkChequeAgainstRequest(cheque, req, { certificate: hex() }), ErrorCode.BAD_REQUEST)
    throwsCode(() => checkChequeAgainstRequest(cheque, req, { hKP: hex() }), ErrorCode.BAD_REQUEST)
  })

  it(
    "REQ' (same parties, serial and price, another file): the " + 'fixed cheque exposes it, the original cannot',
    async () => {
      const s = await parties()
      const body = reqBody(s)
      const req = signRequest(s.D.signer, body)
      const reqPrime = signRequest(s.D.signer, { ...body, fileId: hex() })
      const fixed = signCheque(s.P.signer, fixedFor(s, req, hex()))
      checkChequeAgainstRequest(fixed, req)
      throwsCode(() => checkChequeAgainstRequest(fixed, reqPrime), ErrorCode.BAD_REQUEST)
      // the paper's flaw: C binds no request, so a lying downloader's REQ' fits it as well as REQ
      const original = signCheque(s.P.signer, originalFor(req))
      checkChequeAgainstRequest(original, req)
      checkChequeAgainstRequest(original, reqPrime)
    }
  )
})

describe('capital certificate and AC requests', () => {
  it(
    "a certificate opens for its AC; another AC's is " + 'WRONG_BROKER; one signed by another key WRONG_SIGNER',
    async () => {
      const s = await parties()
      const body = { ac: s.AC.id, peer: s.D.id, max: 100, expiry: T0 + 60_000, serial: randomId(16) }
      const cert = b64(signCertificate(s.AC.signer, body))
      assert.deepEqual(openCertificate(verifier, cert, s.AC.id).body, body)
      assert.deepEqual(openCertificate(verifier, cert).body, body)
      throwsCode(() => openCertificate(verifier, cert, s.X.id), ErrorCode.WRONG_BROKER)
      throwsCode(() => signCertificate(s.X.signer, body), ErrorCode.WRONG_SIGNER)
      throwsCode(
        () => openCertificate(verifier, raw(s.X, FAIREX_TAG.capitalCert, body), s.AC.id),
        ErrorCode.WRONG_SIGNER
      )
      for (const over of [{ max: 0 }, { expiry: -1 }, { serial: 'x' }, { peer: 'p' }, { extra: true }]) {
        throwsCode(
          () => openCertificate(verifier, raw(s.AC, FAIREX_TAG.capitalCert, { ...body, ...over })),
          ErrorCode.BAD_REQUEST
        )
      }
    }
  )

  it("P's check of 1.1: the certificate is D's, unexpired and covers the price", async () => {
    const s = await parties()
    const req = signRequest(s.D.signer, reqBody(s, { price: 50 }))
    const cert = (over: object = {}): Opened<any> =>
      openCertificate(
        verifier,
        b64(
          signCertificate(s.AC.signer, {
            ac: s.AC.id,
            peer: s.D.id,
            max: 50,
            expiry: T0 + 1000,
            serial: randomId(16),
            ...over
          })
        )
      )
    checkCertificateForRequest(cert(), req, T0 + 1000)
    throwsCode(() => checkCertificateForRequest(cert(), req, T0 + 1001), ErrorCode.EXPIRED)
    throwsCode(() => checkCertificateForRequest(cert({ peer: s.X.id }), req, T0), ErrorCode.WRONG_OWNER)
    throwsCode(() => checkCertificateForRequest(cert({ max: 49 }), req, T0), ErrorCode.INSUFFICIENT_FUNDS)
  })

  it('certificate and deposit requests are signed by the peer they name, with valid fields', async () => {
    const s = await parties()
    const cr = { ac: s.AC.id, peer: s.D.id, max: 10, nonce: randomId(8) }
    assert.deepEqual(openCertRequest(verifier, b64(signCertRequest(s.D.signer, cr))).body, cr)
    throwsCode(() => signCertRequest(s.X.signer, cr), ErrorCode.WRONG_SIGNER)
    throwsCode(() => openCertRequest(verifier, raw(s.X, FAIREX_TAG.certRequest, cr)), ErrorCode.WRONG_SIGNER)
    throwsCode(
      () => openCertRequest(verifier, raw(s.D, FAIREX_TAG.certRequest, { ...cr, nonce: 'n' })),
      ErrorCode.BAD_REQUEST
    )
    const dr = { ac: s.AC.id, provider: s.P.id, nonce: randomId(8), cheques: [hex(), hex()] }
    assert.deepEqual(openDepositRequest(verifier, b64(signDepositRequest(s.P.signer, dr))).body, dr)
    throwsCode(() => openDepositRequest(verifier, raw(s.X, FAIREX_TAG.deposit, dr)), ErrorCode.WRONG_SIGNER)
    for (const cheques of [[], ['x'], 'abc', Array.from({ length: 513 }, hex)]) {
      throwsCode(
        () => openDepositRequest(verifier, raw(s.P, FAIREX_TAG.deposit, { ...dr, cheques })),
        ErrorCode.BAD_REQUEST
      )
    }
  })
})
