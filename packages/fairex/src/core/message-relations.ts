// How the signed objects of a purchase relate: P checks D's certificate against
// D's request (1.1); D, the TTP and the judge check a cheque against its
// request and against what the checking party holds itself.
import { ErrorCode, fail, type Opened } from '@p2pay/core'
import type { CapitalCertBody, ChequeBody, RequestBody } from './messages.ts'

/**
 * P's check of message 1.1: the certificate is D's, not expired, and covers the
 * price. It proves only that `max` was escrowed; whether enough of it is left
 * is known to the AC alone (it pays cheques in deposit order).
 */
export function checkCertificateForRequest(cert: Opened<CapitalCertBody>, req: Opened<RequestBody>, now: number): void {
  if (cert.body.peer !== req.body.downloader) fail(ErrorCode.WRONG_OWNER, 'capital certificate belongs to another peer')
  if (now > cert.body.expiry) fail(ErrorCode.EXPIRED, 'capital certificate expired')
  if (cert.body.max < req.body.price)
    fail(ErrorCode.INSUFFICIENT_FUNDS, `certificate covers ${cert.body.max} < price ${req.body.price}`)
}

/** What the checking party saw itself, beyond the request: the hashes of SEK(KP), Z and KP, and D's certificate. */
export interface ChequeExpectations {
  hSEK?: string
  z?: string
  hKP?: string
  certificate?: string
}

/**
 * D's check of message 2.2 (and the judge's of COMP): the cheque is for this
 * request's parties, serial and price, dated no earlier than the request, and
 * (in the fixed form) signs this very REQ envelope. An original cheque carries
 * no REQ: only the copied fields can be compared, which is the paper's flaw.
 */
export function checkChequeAgainstRequest(
  cheque: Opened<ChequeBody>,
  req: Opened<RequestBody>,
  expect: ChequeExpectations = {}
): void {
  const c = cheque.body
  const r = req.body
  for (const f of ['provider', 'downloader', 'ttp', 'chequeSn', 'price'] as const) {
    if (c[f] !== r[f]) fail(ErrorCode.BAD_REQUEST, `cheque ${f} does not match the request`)
  }
  if (c.ts < r.ts) fail(ErrorCode.BAD_REQUEST, 'cheque dated before its request')
  if (c.form === 'fixed' && c.req !== req.hash) fail(ErrorCode.BAD_REQUEST, 'cheque signs another request')
  if (expect.hSEK !== undefined && c.hSEK !== expect.hSEK)
    fail(ErrorCode.BAD_REQUEST, 'cheque hSEK does not match the encrypted key piece')
  if (expect.z !== undefined && c.z !== expect.z) fail(ErrorCode.BAD_REQUEST, 'cheque z does not match Z')
  if (expect.hKP !== undefined && (c.form !== 'original' || c.hKP !== expect.hKP))
    fail(ErrorCode.BAD_REQUEST, 'cheque hKP does not match the key piece')
  if (expect.certificate !== undefined && (c.form !== 'fixed' || c.certificate !== expect.certificate))
    fail(ErrorCode.BAD_REQUEST, 'cheque names another capital certificate')
}
