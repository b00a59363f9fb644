// The purchase protocol's signed objects: request (1.1), cheque in both forms
// (2.2), D's acceptance (2.3), capital certificate, and the AC requests; field
// validation, who must sign what, and the checks that tie them together.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import {
  ErrorCode,
  P2payError,
  Verifier,
  canonicalJson,
  fromB64,
  nodeEd25519,
  randomId,
  sha256Hex,
  signerFor,
  toB64,
  type Opened,
  type Signer
} from '@p2pay/core'
import {
  FAIREX_TAG,
  acceptCheque,
  checkCertificateForRequest,
  checkChequeAgainstRequest,
  checkChequeBody,
  checkRequestBody,
  decodeEnvelope,
  openCertRequest,
  openCertificate,
  openCheque,
  openChequeAccept,
  openDepositRequest,
  openRequest,
  signCertRequest,
  signCertificate,
  signCheque,
  signDepositRequest,
  signRequest,
  type ChequeBody,
  type FixedChequeBody,
  type OriginalChequeBody,
  type RequestBody
} from '../src/messages.ts'

const verifier = new Verifier(nodeEd25519())
const T0 = 1_700_000_000_000

interface Ident {
  signer: Signer
  id: string
}
async function ident(): Promise<Ident> {
  const signer = signerFor(await generateKeyPair('Ed25519'), nodeEd25519())
  return { signer, id: signer.peerId }
}

function throwsCode(fn: () => unknown, code: string): P2payError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  assert.ok(
    caught instanceof P2payError,
    `expected P2payError ${code}, got ${caught === undefined ? 'no throw' : String(caught)}`
  )
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`)
  return caught
}

const b64 = (o: Opened<unknown>): string => toB64(o.bytes)
/** Signs any body with any tag, bypassing the helpers' checks. */
const raw = (who: Ident, tag: string, body: unknown): string => toB64(who.signer.sign(tag, body, 'test').bytes)
const hex = (): string => sha256Hex(new TextEncoder().encode(randomId(16)))
function encodable(v: unknown): boolean {
  try {
    canonicalJson(v)
    return true
  } catch {
    return false
  }
}
/** Flips one bit of the byte at `offset` from the end. */
function flipFromEnd(s: string, back: number): string {
  const b = fromB64(s)
  b[b.byteLength - back] ^= 0x01
  return toB64(b)
}

interface Parties {
  P: Ident
  D: Ident
  T: Ident
  J: Ident
  AC: Ident
  X: Ident
}
async function parties(): Promise<Parties> {
  const [P, D, T, J, AC, X] = await Promise.all([ident(), ident(), ident(), ident(), ident(), ident()])
  return { P, D, T, J, AC, X }
}

function reqBody(s: Parties, over: Partial<RequestBody> = {}): RequestBody {
  return {
    provider: s.P.id,
    downloader: s.D.id,
    ttp: s.T.id,
    fileId: hex(),
    chequeSn: randomId(16),
    ts: T0,
    price: 7,
    ...over
  }
}

function fixedFor(
  s: Parties,
  req: Opened<RequestBody>,
  certificate: string,
  over: Partial<FixedChequeBody> = {}
): FixedChequeBody {
  const r = req.body
  return {
    form: 'fixed',
    provider: r.provider,
    downloader: r.downloader,
    ttp: r.ttp,
    chequeSn: r.chequeSn,
    price: r.price,
    ts: r.ts + 1000,
    hSEK: hex(),
    req: req.hash,
    z: hex(),
    certificate,
    judge: s.J.id,
    manifest: hex(),
    keyIndex: 3,
    ...over
  }
}

function originalFor(req: Opened<RequestBody>, over: Partial<OriginalChequeBody> = {}): OriginalChequeBody {
  const r = req.body
  return {
    form: 'original',
    provider: r.provider,
    downloader: r.downloader,
    ttp: r.ttp,
    chequeSn: r.chequeSn,
    price: r.price,
    ts: r.ts + 1000,
    hKP: hex(),
    hSEK: hex(),
    z: hex(),
    ...over
  }
}

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

  it("REQ' (same parties, serial and price, another file): the fixed cheque exposes it, the original cannot", async () => {
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
  })
})

describe('capital certificate and AC requests', () => {
  it("a certificate opens for its AC; another AC's is WRONG_BROKER; one signed by another key WRONG_SIGNER", async () => {
    const s = await parties()
    const body = { ac: s.AC.id, peer: s.D.id, max: 100, expiry: T0 + 60_000, serial: randomId(16) }
    const cert = b64(signCertificate(s.AC.signer, body))
    assert.deepEqual(openCertificate(verifier, cert, s.AC.id).body, body)
    assert.deepEqual(openCertificate(verifier, cert).body, body)
    throwsCode(() => openCertificate(verifier, cert, s.X.id), ErrorCode.WRONG_BROKER)
    throwsCode(() => signCertificate(s.X.signer, body), ErrorCode.WRONG_SIGNER)
    throwsCode(() => openCertificate(verifier, raw(s.X, FAIREX_TAG.capitalCert, body), s.AC.id), ErrorCode.WRONG_SIGNER)
    for (const over of [{ max: 0 }, { expiry: -1 }, { serial: 'x' }, { peer: 'p' }, { extra: true }]) {
      throwsCode(
        () => openCertificate(verifier, raw(s.AC, FAIREX_TAG.capitalCert, { ...body, ...over })),
        ErrorCode.BAD_REQUEST
      )
    }
  })

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
