// Payment requests: a payee's signed ask for an amount in one scheme, as one
// line of text (`p2pay:` + base64url of the signed envelope) or a QR code of
// it. The signature is the payee node's identity key under its own domain tag,
// checked against the bytes received; the request id becomes the payment id,
// so a request is paid once however often it is presented.
import { ErrorCode, P2payError, fail } from '../errors.ts'
import type { Signer, Verifier } from '../crypto/signed.ts'
import { randomId } from '../bytes.ts'
import { checkAddrs } from '../validate.ts'

export const REQUEST_TAG = 'p2pay/request/v1'
export const REQUEST_PREFIX = 'p2pay:'
/** the metrics kind a request's signature is counted under */
export const REQUEST_KIND = 'request'
/** the schemes a request may name: each has a plain pay-an-amount operation */
export const REQUEST_SCHEMES = ['ppay', 'aggsign', 'whopay', 'karma'] as const
export type RequestScheme = (typeof REQUEST_SCHEMES)[number]
/** a request lives at most this long */
export const MAX_REQUEST_TTL_MS = 30 * 24 * 3600_000
const MAX_MEMO = 200
/** a request's text, past which it is not read at all */
const MAX_REQUEST_TEXT = 8192

export interface PaymentRequest {
  /** random: the payment id of paying it */
  id: string
  scheme: RequestScheme
  amount: number
  /** the payee: the signer's own peer id */
  payee: string
  /** where the payee listens */
  addrs: string[]
  memo?: string
  created: number
  expires: number
}

export function makeRequest(
  signer: Signer<any>,
  ask: { scheme: unknown; amount: unknown; memo?: unknown; expiresInMs?: unknown; addrs: string[]; now?: number }
): { text: string; request: PaymentRequest } {
  const scheme = ask.scheme
  if (typeof scheme !== 'string' || !(REQUEST_SCHEMES as readonly string[]).includes(scheme))
    fail(ErrorCode.BAD_REQUEST, `scheme must be one of ${REQUEST_SCHEMES.join(', ')}`)
  if (!Number.isSafeInteger(ask.amount) || (ask.amount as number) < 1)
    fail(ErrorCode.BAD_REQUEST, 'amount must be a positive integer')
  if (ask.memo != null && (typeof ask.memo !== 'string' || ask.memo.length > MAX_MEMO))
    fail(ErrorCode.BAD_REQUEST, `memo must be text of at most ${MAX_MEMO} characters`)
  const ttl = ask.expiresInMs ?? 15 * 60_000
  if (!Number.isSafeInteger(ttl) || (ttl as number) < 1000 || (ttl as number) > MAX_REQUEST_TTL_MS)
    fail(ErrorCode.BAD_REQUEST, `expiresInMs must be 1000..${MAX_REQUEST_TTL_MS}`)
  const now = ask.now ?? Date.now()
  const request: PaymentRequest = {
    id: `req-${randomId(16)}`,
    scheme: scheme as RequestScheme,
    amount: ask.amount as number,
    payee: signer.peerId,
    addrs: ask.addrs,
    ...(ask.memo != null && ask.memo !== '' ? { memo: ask.memo as string } : {}),
    created: now,
    expires: now + (ttl as number)
  }
  const signed = signer.sign(REQUEST_TAG, request, REQUEST_KIND)
  return { text: REQUEST_PREFIX + Buffer.from(signed.bytes).toString('base64url'), request }
}

/**
 * Reads a request's text: its signature over the bytes received, its fields,
 * its expiry. BAD_REQUEST for text that is no request, BAD_SIGNATURE for a
 * changed one, EXPIRED past its expiry.
 */
export function openRequest(verifier: Verifier<any>, text: unknown, now = Date.now()): PaymentRequest {
  if (typeof text !== 'string' || text.length > MAX_REQUEST_TEXT || !text.trim().startsWith(REQUEST_PREFIX))
    fail(ErrorCode.BAD_REQUEST, `a payment request is one line starting with ${REQUEST_PREFIX}`)
  const b64 = text.trim().slice(REQUEST_PREFIX.length)
  if (!/^[A-Za-z0-9_-]+$/.test(b64)) fail(ErrorCode.BAD_REQUEST, 'a payment request is base64url after p2pay:')
  const bytes = new Uint8Array(Buffer.from(b64, 'base64url'))
  const opened = verifier.open<PaymentRequest>(bytes, REQUEST_TAG, REQUEST_KIND)
  const r = opened.body
  if (r.payee !== opened.signer) fail(ErrorCode.WRONG_SIGNER, 'the request is not signed by its payee')
  if (typeof r.id !== 'string' || !/^req-[0-9a-f]{32}$/.test(r.id)) fail(ErrorCode.BAD_FRAME, 'bad request id')
  if (!(REQUEST_SCHEMES as readonly string[]).includes(r.scheme))
    fail(ErrorCode.BAD_REQUEST, `unknown scheme ${String(r.scheme).slice(0, 20)}`)
  if (!Number.isSafeInteger(r.amount) || r.amount < 1) fail(ErrorCode.BAD_FRAME, 'bad amount')
  if (!Number.isSafeInteger(r.created) || !Number.isSafeInteger(r.expires)) fail(ErrorCode.BAD_FRAME, 'bad times')
  if (r.memo != null && (typeof r.memo !== 'string' || r.memo.length > MAX_MEMO)) fail(ErrorCode.BAD_FRAME, 'bad memo')
  try {
    checkAddrs(r.addrs, 'addrs')
  } catch (err) {
    throw new P2payError(ErrorCode.BAD_FRAME, `bad addresses in the request: ${(err as Error).message}`)
  }
  if (now >= r.expires)
    fail(ErrorCode.EXPIRED, `the payment request expired ${new Date(r.expires).toISOString()}`, {
      expires: r.expires
    })
  return r
}
