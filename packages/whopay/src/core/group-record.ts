// The group as the broker publishes it: a `whopay/group` envelope by the broker naming the group public key, the
// judge and the hash of the judge's opener envelope. A member (or the judge) trusts a group only when the judge it
// knows signed the opener part and the gpk carries exactly that part, on the standard generators: then only that
// judge can open its signatures, and the broker, which holds gamma, cannot.
import { ErrorCode, fail, fromB64, toB64, type Signer, type Verifier } from '@p2pay/core'
import type { WhopayKind } from '../kinds.ts'
import * as bbs from './bbs04.ts'
import { TAG, checkB64, type GroupBody } from './messages.ts'
import type { OpenerRecord } from './opener.ts'

const KIND: WhopayKind = 'whopay-join'
/** a group envelope: the gpk (384 bytes) and two ids, base64 */
export const GROUP_ENV_B64 = 2048

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

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0

/** The broker signs the group it built on the judge's part with its gamma. */
export function signGroupRecord(
  broker: Signer<WhopayKind>,
  gpk: bbs.GroupPublicKey,
  opener: OpenerRecord
): GroupRecord {
  const gpkBytes = bbs.encodeGroupPublicKey(gpk)
  checkOnPart(gpkBytes, opener)
  const body: GroupBody = { gpk: toB64(gpkBytes), judge: opener.judge, opener: opener.hash }
  const env = broker.sign<GroupBody>(TAG.group, body, KIND)
  return {
    gpk: gpkBytes,
    broker: env.signer,
    judge: opener.judge,
    opener: opener.hash,
    hash: env.hash,
    b64: toB64(env.bytes)
  }
}

/** The gpk is well formed, on the standard generators, and carries the judge's (h, u, v). */
function checkOnPart(gpkBytes: Uint8Array, opener: OpenerRecord): bbs.GroupPublicKey {
  const gpk = bbs.decodeGroupPublicKey(gpkBytes)
  const { g1, g2 } = bbs.generators()
  if (!gpk.g1.isEqual(g1) || !gpk.g2.isEqual(g2)) fail(ErrorCode.BAD_REQUEST, 'a group on other generators')
  if (!same(bbs.encodeOpenerPart(bbs.openerPartOf(gpk)), opener.partBytes))
    fail(ErrorCode.BAD_REQUEST, "the group's (h, u, v) are not the judge's opener part")
  return gpk
}

/**
 * Opens a group envelope: signed by `broker`, naming the judge of `opener` and its envelope hash, with a gpk on
 * that opener part. WRONG_SIGNER, BAD_REQUEST otherwise.
 */
export function openGroupRecord(
  verifier: Verifier<WhopayKind>,
  b64: unknown,
  broker: string,
  opener: OpenerRecord
): GroupRecord {
  const bytes = fromB64(checkB64(b64, 'group envelope', GROUP_ENV_B64))
  const env = verifier.open<GroupBody>(bytes, TAG.group, KIND)
  if (env.signer !== broker) fail(ErrorCode.WRONG_SIGNER, 'the group is not signed by this broker')
  const body = env.body
  if (Object.keys(body).sort().join(',') !== 'gpk,judge,opener')
    fail(ErrorCode.BAD_REQUEST, 'a group is {gpk, judge, opener}')
  if (body.judge !== opener.judge) fail(ErrorCode.WRONG_SIGNER, 'the group names another judge')
  if (body.opener !== opener.hash)
    fail(ErrorCode.BAD_REQUEST, "the group names another opener envelope than the judge's")
  const gpk = fromB64(checkB64(body.gpk, 'group gpk', GROUP_ENV_B64))
  checkOnPart(gpk, opener)
  return { gpk, broker, judge: body.judge, opener: body.opener, hash: env.hash, b64: toB64(env.bytes) }
}
