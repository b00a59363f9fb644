// The judge's opener envelope and the broker's group envelope as a member reads them, without mcl-wasm: signer,
// shape, sizes, and that the group's (h, u, v) are byte for byte the judge's part. Whether the points are on the
// curve, in their subgroups and on the standard generators is checked where BBS04 is loaded (opener.ts and
// group-record.ts on this thread, or GroupCrypto's checkGroup in a worker); a group is trusted only after both.
import { ErrorCode, bytesEqual, fail, fromB64, toB64, type Verifier } from '@p2pay/core'
import type { WhopayKind } from '../kinds.ts'
import { G1_BYTES, G2_BYTES, GPK_BYTES, OPENER_PART_BYTES } from './bbs04-params.ts'
import { TAG, checkB64, type GroupBody, type OpenerBody } from './messages.ts'

/** a compressed G1 point in base64 */
const G1_B64 = 64
/** an opener envelope: three points and the envelope's own ~170 bytes */
export const OPENER_ENV_B64 = 1024
/** a group envelope: the gpk (384 bytes) and two ids, base64 */
export const GROUP_ENV_B64 = 2048
/** where h, u, v sit in an encoded gpk (g1, g2, h, u, v, w) */
const PART_AT = G1_BYTES + G2_BYTES

/** The judge's opener envelope, its signer and shape checked; `partBytes` are h | u | v, compressed. */
export interface OpenerEnvelope {
  partBytes: Uint8Array
  /** the judge's peer id */
  judge: string
  /** the envelope's hash: the group record names it */
  hash: string
  /** the envelope, base64 */
  b64: string
}

/** A group record both sides checked. */
export interface GroupRecord {
  /** the encoded group public key, what GroupCrypto takes */
  gpk: Uint8Array
  broker: string
  judge: string
  /** the judge's opener envelope hash it names */
  opener: string
  hash: string
  b64: string
}

/** An opener envelope signed by `judge` naming three 48-byte points. WRONG_SIGNER, BAD_REQUEST otherwise. */
export function openOpenerEnvelope(verifier: Verifier<WhopayKind>, b64: unknown, judge: string): OpenerEnvelope {
  const bytes = fromB64(checkB64(b64, 'opener envelope', OPENER_ENV_B64))
  const env = verifier.open<OpenerBody>(bytes, TAG.opener, 'whopay-open')
  if (env.signer !== judge) fail(ErrorCode.WRONG_SIGNER, 'the opener part is not signed by this judge')
  const body = env.body
  const keys = Object.keys(body).sort().join(',')
  if (keys !== 'h,u,v') fail(ErrorCode.BAD_REQUEST, 'an opener part is {h, u, v}')
  const points = [body.h, body.u, body.v].map((p, i) => fromB64(checkB64(p, `opener ${'huv'[i]}`, G1_B64)))
  if (points.some(p => p.byteLength !== G1_BYTES)) fail(ErrorCode.BAD_REQUEST, 'an opener point is 48 bytes')
  const partBytes = new Uint8Array(OPENER_PART_BYTES)
  points.forEach((p, i) => partBytes.set(p, i * G1_BYTES))
  return { partBytes, judge, hash: env.hash, b64: toB64(env.bytes) }
}

/**
 * A group envelope signed by `broker`, naming the judge of `opener` and its envelope hash, with a gpk of the right
 * size whose (h, u, v) are the opener's bytes. WRONG_SIGNER, BAD_REQUEST otherwise.
 */
export function openGroupEnvelope(
  verifier: Verifier<WhopayKind>,
  b64: unknown,
  broker: string,
  opener: OpenerEnvelope
): GroupRecord {
  const bytes = fromB64(checkB64(b64, 'group envelope', GROUP_ENV_B64))
  const env = verifier.open<GroupBody>(bytes, TAG.group, 'whopay-join')
  if (env.signer !== broker) fail(ErrorCode.WRONG_SIGNER, 'the group is not signed by this broker')
  const body = env.body
  if (Object.keys(body).sort().join(',') !== 'gpk,judge,opener')
    fail(ErrorCode.BAD_REQUEST, 'a group is {gpk, judge, opener}')
  if (body.judge !== opener.judge) fail(ErrorCode.WRONG_SIGNER, 'the group names another judge')
  if (body.opener !== opener.hash)
    fail(ErrorCode.BAD_REQUEST, "the group names another opener envelope than the judge's")
  const gpk = fromB64(checkB64(body.gpk, 'group gpk', GROUP_ENV_B64))
  if (gpk.byteLength !== GPK_BYTES) fail(ErrorCode.BAD_REQUEST, `a group public key is ${GPK_BYTES} bytes`)
  if (!bytesEqual(gpk.subarray(PART_AT, PART_AT + OPENER_PART_BYTES), opener.partBytes))
    fail(ErrorCode.BAD_REQUEST, "the group's (h, u, v) are not the judge's opener part")
  return { gpk, broker, judge: body.judge, opener: body.opener, hash: env.hash, b64: toB64(env.bytes) }
}
