// The purchase protocol's signed objects: request (1.1), cheque in both forms
// (2.2), D's acceptance (2.3), capital certificate, and the AC requests; field
// validation, who must sign what, and the checks that tie them together.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, fromB64, randomId, toB64 } from '@p2pay/core'
import {
  FAIREX_TAG,
  acceptCheque,
  checkChequeBody,
  checkRequestBody,
  decodeEnvelope,
  openCertificate,
  openCheque,
  openChequeAccept,
  openRequest,
  signCheque,
  signRequest,
  type ChequeBody,
  type FixedChequeBody,
  type RequestBody
} from '../src/core/messages.ts'
import { throwsCode } from '@p2pay/test-utils'
import {
  verifier,
  b64,
  raw,
  hex,
  encodable,
  flipFromEnd,
  parties,
  reqBody,
  fixedFor,
  originalFor
} from './messages-fixtures.ts'

describe('envelopes', () => {
  it('decodeEnvelope rejects non-strings, empty, oversized and non-canonical base64', () => {
    for (const bad of [undefined, null, 42, {}, '', 'A'.repeat(8193), 'AB=C', 'AQI'])
      throwsCode(() => decodeEnvelope(bad, 'x'), ErrorCode.BAD_REQUEST)
    assert.deepEqual([...decodeEnvelope('AQID', 'x')], [1, 2, 3])
  })

  it('one tag per object: an envelope opened as another kind is WRONG_TAG', async () => {
    const s = await parties()
    const req = signRequest(s.D.signer, reqBody(s))
    throwsCode(() => openCheque(verifier, b64(req)), ErrorCode.WRONG_TAG)
    throwsCode(() => openCertificate(verifier, b64(req)), ErrorCode.WRONG_TAG)
    const cheque = signCheque(s.P.signer, originalFor(req))
    throwsCode(() => openRequest(verifier, b64(cheque)), ErrorCode.WRONG_TAG)
    throwsCode(() => openChequeAccept(verifier, b64(cheque), cheque), ErrorCode.WRONG_TAG)
  })

  it('tampered bytes are BAD_SIGNATURE, an unknown version UNKNOWN_VERSION, truncation BAD_FRAME', async () => {
    const s = await parties()
    const req = b64(signRequest(s.D.signer, reqBody(s)))
    throwsCode(() => openRequest(verifier, flipFromEnd(req, 1)), ErrorCode.BAD_SIGNATURE) // signature
    throwsCode(() => openRequest(verifier, flipFromEnd(req, 70)), ErrorCode.BAD_SIGNATURE) // body
    const v = fromB64(req)
    v[0] = 2
    throwsCode(() => openRequest(verifier, toB64(v)), ErrorCode.UNKNOWN_VERSION)
    throwsCode(() => openRequest(verifier, toB64(fromB64(req).subarray(0, 60))), ErrorCode.BAD_FRAME)
  })
})

describe('download request (1.1)', () => {
  it('signed by D, opens to the same body and hash', async () => {
    const s = await parties()
    const body = reqBody(s)
    const req = signRequest(s.D.signer, body)
    const o = openRequest(verifier, b64(req))
    assert.deepEqual(o.body, body)
    assert.equal(o.signer, s.D.id)
    assert.equal(o.tag, FAIREX_TAG.request)
    assert.equal(o.hash, req.hash)
  })

  it('only the downloader signs it: the helper refuses, and a request signed by another is WRONG_SIGNER', async () => {
    const s = await parties()
    throwsCode(() => signRequest(s.P.signer, reqBody(s)), ErrorCode.WRONG_SIGNER)
    throwsCode(() => openRequest(verifier, raw(s.P, FAIREX_TAG.request, reqBody(s))), ErrorCode.WRONG_SIGNER)
  })

  it('every field is checked (BAD_REQUEST)', async () => {
    const s = await parties()
    const bad: Array<Partial<RequestBody> & Record<string, unknown>> = [
      { provider: 'not-a-peer' },
      { downloader: '' },
      { ttp: 'x'.repeat(200) },
      { provider: s.D.id },
      { fileId: 'ab' },
      { fileId: hex().toUpperCase() },
      { chequeSn: 'short' },
      { chequeSn: 'has|pipe-in-it' },
      { chequeSn: 'x'.repeat(65) },
      { ts: -1 },
      { ts: 1.5 },
      { price: 0 },
      { price: -3 },
      { price: 2.5 },
      { price: 1e13 },
      { extra: 1 }
    ]
    for (const over of bad) {
      throwsCode(() => checkRequestBody(reqBody(s, over as Partial<RequestBody>)), ErrorCode.BAD_REQUEST)
      // a signer only writes canonical JSON (integers): the wire cannot carry 1.5 at all
      if (encodable(over))
        throwsCode(
          () => openRequest(verifier, raw(s.D, FAIREX_TAG.request, reqBody(s, over as Partial<RequestBody>))),
          ErrorCode.BAD_REQUEST
        )
    }
    const missing: Record<string, unknown> = { ...reqBody(s) }
    delete missing.ttp
    throwsCode(() => openRequest(verifier, raw(s.D, FAIREX_TAG.request, missing)), ErrorCode.BAD_REQUEST)
  })
})

describe('cheque (2.2) and acceptance (2.3)', () => {
  it('both forms round-trip, signed by P; D countersigns the exact envelope', async () => {
    const s = await parties()
    const req = signRequest(s.D.signer, reqBody(s))
    for (const body of [originalFor(req), fixedFor(s, req, hex())] as ChequeBody[]) {
      const cheque = signCheque(s.P.signer, body)
      const o = openCheque(verifier, b64(cheque))
      assert.deepEqual(o.body, body)
      assert.equal(o.signer, s.P.id)
      const acc = acceptCheque(s.D.signer, o)
      assert.deepEqual(acc.body, { cheque: cheque.hash, provider: s.P.id, downloader: s.D.id, chequeSn: body.chequeSn })
      const a = openChequeAccept(verifier, b64(acc), o)
      assert.equal(a.signer, s.D.id)
    }
  })

  it(
    'a cheque not signed by its provider is WRONG_SIGNER; an acceptance ' +
      'not signed by its downloader is WRONG_SIGNER',
    async () => {
      const s = await parties()
      const req = signRequest(s.D.signer, reqBody(s))
      throwsCode(() => signCheque(s.D.signer, fixedFor(s, req, hex())), ErrorCode.WRONG_SIGNER)
      throwsCode(
        () => openCheque(verifier, raw(s.D, FAIREX_TAG.cheque, fixedFor(s, req, hex()))),
        ErrorCode.WRONG_SIGNER
      )
      const cheque = signCheque(s.P.signer, fixedFor(s, req, hex()))
      throwsCode(() => acceptCheque(s.P.signer, cheque), ErrorCode.WRONG_SIGNER)
      const byP = raw(s.P, FAIREX_TAG.chequeAccept, {
        cheque: cheque.hash,
        provider: s.P.id,
        downloader: s.D.id,
        chequeSn: cheque.body.chequeSn
      })
      throwsCode(() => openChequeAccept(verifier, byP, cheque), ErrorCode.WRONG_SIGNER)
    }
  )

  it('an acceptance of another cheque does not accept this one', async () => {
    const s = await parties()
    const req = signRequest(s.D.signer, reqBody(s))
    const c1 = signCheque(s.P.signer, fixedFor(s, req, hex()))
    const c2 = signCheque(s.P.signer, fixedFor(s, req, hex()))
    const acc1 = b64(acceptCheque(s.D.signer, c1))
    throwsCode(() => openChequeAccept(verifier, acc1, c2), ErrorCode.BAD_REQUEST)
    const wrongSn = raw(s.D, FAIREX_TAG.chequeAccept, {
      cheque: c1.hash,
      provider: s.P.id,
      downloader: s.D.id,
      chequeSn: randomId(16)
    })
    throwsCode(() => openChequeAccept(verifier, wrongSn, c1), ErrorCode.BAD_REQUEST)
  })

  it("every field of both forms is checked, and one form never carries the other's fields", async () => {
    const s = await parties()
    const req = signRequest(s.D.signer, reqBody(s))
    const common: Array<Record<string, unknown>> = [
      { provider: 'nope' },
      { downloader: s.P.id },
      { ttp: 42 },
      { chequeSn: 'a b c d e f' },
      { price: 0 },
      { price: 1.5 },
      { ts: -5 },
      { hSEK: 'zz' },
      { z: hex().slice(1) },
      { form: 'other' },
      { form: undefined }
    ]
    for (const over of [
      ...common,
      { hKP: 'x' },
      { req: hex() },
      { certificate: hex() },
      { judge: s.J.id },
      { manifest: hex() },
      { keyIndex: 0 }
    ]) {
      throwsCode(() => checkChequeBody({ ...originalFor(req), ...over } as ChequeBody), ErrorCode.BAD_REQUEST)
    }
    for (const over of [
      ...common,
      { req: 'x' },
      { certificate: '' },
      { hKP: hex() },
      { judge: 'nope' },
      { manifest: 'x' },
      { keyIndex: -1 }
    ]) {
      throwsCode(() => checkChequeBody({ ...fixedFor(s, req, hex()), ...over } as ChequeBody), ErrorCode.BAD_REQUEST)
      if (encodable(over))
        throwsCode(
          () => openCheque(verifier, raw(s.P, FAIREX_TAG.cheque, { ...fixedFor(s, req, hex()), ...over })),
          ErrorCode.BAD_REQUEST
        )
    }
    const noCert: Record<string, unknown> = { ...fixedFor(s, req, hex()) }
    delete noCert.certificate
    throwsCode(() => openCheque(verifier, raw(s.P, FAIREX_TAG.cheque, noCert)), ErrorCode.BAD_REQUEST)
  })

  it(
    'a fixed cheque without judge, manifest or keyIndex, or with a ' + 'keyIndex that is not a piece index, is refused',
    async () => {
      const s = await parties()
      const req = signRequest(s.D.signer, reqBody(s))
      for (const field of ['judge', 'manifest', 'keyIndex']) {
        const body: Record<string, unknown> = { ...fixedFor(s, req, hex()) }
        delete body[field]
        throwsCode(() => signCheque(s.P.signer, body as unknown as ChequeBody), ErrorCode.BAD_REQUEST)
        throwsCode(() => openCheque(verifier, raw(s.P, FAIREX_TAG.cheque, body)), ErrorCode.BAD_REQUEST)
      }
      // 1.5 cannot even be signed (canonical JSON is integers only); the rest reach the wire and are refused there
      for (const keyIndex of [-1, 1.5, '0', null, true, 2 ** 53, [0]] as unknown[]) {
        const body = { ...fixedFor(s, req, hex()), keyIndex } as unknown as ChequeBody
        throwsCode(() => signCheque(s.P.signer, body), ErrorCode.BAD_REQUEST)
        if (encodable(body))
          throwsCode(() => openCheque(verifier, raw(s.P, FAIREX_TAG.cheque, body)), ErrorCode.BAD_REQUEST)
      }
      // the judge is a peer someone can sign for, and the manifest a hash
      for (const over of [
        { judge: '' },
        { judge: 'x'.repeat(129) },
        { manifest: hex().toUpperCase() },
        { manifest: 7 }
      ]) {
        throwsCode(
          () => openCheque(verifier, raw(s.P, FAIREX_TAG.cheque, { ...fixedFor(s, req, hex()), ...over })),
          ErrorCode.BAD_REQUEST
        )
      }
      // 0 (the first piece) is an index like any other
      assert.equal(
        (
          openCheque(verifier, b64(signCheque(s.P.signer, fixedFor(s, req, hex(), { keyIndex: 0 }))))
            .body as FixedChequeBody
        ).keyIndex,
        0
      )
    }
  )
})
